'use strict';
// A Jest reporter (next to 'default' in jest.config.cjs): after the run, prints every figure the tests recorded
// (figures.ts recordFigure) as a short table, and the whole-run log scan (log-scan-core.cjs). Reporters' onRunComplete
// runs before globalTeardown, so the scan happens here, its result is saved for log-scan-teardown.cjs (which fails the
// run on a leak), and the line is printed with the other figures.
const { existsSync, readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { collect, describeLeaks, scanLogs } = require('./log-scan-core.cjs');

class FiguresReporter {
  onRunComplete(_contexts, results) {
    const rows = [];
    const file = process.env.RELAY_TEST_FIGURES;
    if (file && existsSync(file)) {
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        if (!line) continue;
        const { name, figures } = JSON.parse(line);
        rows.push([
          name,
          Object.entries(figures)
            .map(([k, v]) => `${k} ${v}`)
            .join(', '),
        ]);
      }
    }
    const dir = process.env.RELAY_LOG_SCAN_DIR;
    let leaks = '';
    let scan = '';
    if (dir) {
      const { outputs, secrets } = collect(dir);
      const result = scanLogs(outputs, secrets);
      writeFileSync(join(dir, 'log-scan-result.json'), JSON.stringify(result));
      scan = `log scan: ${result.lines} lines, ${result.secrets} secrets, ${result.leaks.length} leaks`;
      if (result.leaks.length > 0) leaks = describeLeaks(result);
    }
    const out = [''];
    if (rows.length > 0) {
      const width = Math.max(...rows.map(([name]) => name.length));
      out.push('Figures:', ...rows.map(([name, text]) => `  ${name.padEnd(width)}  ${text}`));
    }
    if (scan) out.push(scan);
    if (leaks) out.push('Leaked secrets (values replaced):', leaks);
    // The tests' own output (the relay's log lines) is kept out of the terminal (log-scan-capture.cjs); when something
    // failed, say where it is.
    if (dir && results && (results.numFailedTests > 0 || results.numRuntimeErrorTestSuites > 0)) {
      out.push(`output of the tests: ${join(dir, 'output-*.log')} (or run again with RELAY_TEST_OUTPUT=show)`);
    }
    process.stderr.write(`${out.join('\n')}\n`);
  }
}

module.exports = FiguresReporter;
