import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const root = join(__dirname, '..', '..');

export interface ToolRun {
  status: number | null;
  /** stdout and stderr, interleaved as they came. */
  output: string;
}

/**
 * Runs one of the project's own CLIs (node_modules/.bin: osls, tsx) in `cwd` as CI does: no AWS credentials at all,
 * HOME a scratch dir so nothing from ~/.aws or ~/.serverless is used, no telemetry, no prompts.
 */
export function runTool(
  command: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<ToolRun> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && k !== 'RELAY_CONFIG'),
  );
  const child = spawn(join(root, 'node_modules', '.bin', command), args, {
    cwd: options.cwd ?? root,
    env: {
      ...clean,
      HOME: mkdtempSync(join(tmpdir(), 'relay-home-')),
      CI: 'true',
      SLS_TELEMETRY_DISABLED: '1',
      SLS_NOTIFICATIONS_MODE: 'off',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
  });
  return collectOutput(child);
}

/** A child's exit status and its stdout and stderr interleaved, once it has closed (spawned with both piped). */
export function collectOutput(child: ChildProcess): Promise<ToolRun> {
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, output }));
  });
}
