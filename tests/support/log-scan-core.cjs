'use strict';
// The whole-run log scan (jest.config.cjs): every test worker appends what it writes to process.stdout/stderr to
// `<dir>/output-<pid>.log` (log-scan-capture.cjs, plus captureOutput's intercepted lines), and every secret the test
// fixtures create to `<dir>/secrets-<pid>.jsonl` (log-scan.ts registerTestSecret). After the run, `scanLogs` looks for
// every secret in every line. Plain CommonJS: it runs in the reporter and globalTeardown, outside Jest's transform.
const { existsSync, readdirSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

/** Secrets shorter than this are not scanned for: they occur in ordinary output by chance (`v1`, `token`). */
const minSecretLength = 8;

/** Reads every registered secret (deduplicated, with the origin of its first registration) and every captured file. */
function collect(dir) {
  const secrets = new Map();
  const outputs = [];
  if (!dir || !existsSync(dir)) return { secrets: [], outputs };
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (name.startsWith('secrets-') && name.endsWith('.jsonl')) {
      for (const line of readFileSync(path, 'utf8').split('\n')) {
        if (!line) continue;
        const { value, origin } = JSON.parse(line);
        if (typeof value === 'string' && value.length >= minSecretLength && !secrets.has(value))
          secrets.set(value, origin);
      }
    } else if (name.startsWith('output-') && name.endsWith('.log')) {
      outputs.push({ file: name, text: readFileSync(path, 'utf8') });
    }
  }
  return { secrets: [...secrets].map(([value, origin]) => ({ value, origin })), outputs };
}

/**
 * Finds every line of `outputs` that contains one of `secrets`. Each secret is searched in each whole file first
 * (one native substring search), and lines are only split out for the rare file that has a hit, so a run's
 * megabytes of JSON log lines cost one pass per secret. Leaks are reported with the secret itself replaced.
 */
function scanLogs(outputs, secrets) {
  let lines = 0;
  const leaks = [];
  for (const { file, text } of outputs) {
    const fileLines = text.split('\n');
    lines += fileLines.filter((l) => l.trim() !== '').length;
    for (const [index, { value, origin }] of secrets.entries()) {
      if (!value || !text.includes(value)) continue;
      fileLines.forEach((line, i) => {
        if (line.includes(value))
          leaks.push({
            file,
            line: i + 1,
            secret: `#${index} (${origin ?? 'unknown'}, ${value.length} chars)`,
            excerpt: redactLine(line, secrets),
          });
      });
    }
  }
  return { lines, secrets: secrets.length, leaks };
}

/** The line with every secret replaced and cut to 300 characters, so the report itself leaks nothing. */
function redactLine(line, secrets) {
  let out = line;
  for (const [index, { value }] of secrets.entries())
    if (value && out.includes(value)) out = out.split(value).join(`[SECRET #${index}]`);
  return out.length > 300 ? `${out.slice(0, 300)}…` : out;
}

function describeLeaks(result) {
  return result.leaks.map((l) => `  ${l.file}:${l.line} secret ${l.secret}: ${l.excerpt}`).join('\n');
}

module.exports = { collect, scanLogs, redactLine, describeLeaks, minSecretLength };
