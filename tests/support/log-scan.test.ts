import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The scanner is plain CommonJS (it runs in the reporter and globalTeardown, outside Jest's transform).
// eslint-style note: require with a local type, since the .cjs module has no declarations.
const core = require('./log-scan-core.cjs') as {
  collect(dir: string): {
    secrets: Array<{ value: string; origin?: string }>;
    outputs: Array<{ file: string; text: string }>;
  };
  scanLogs(
    outputs: Array<{ file: string; text: string }>,
    secrets: Array<{ value: string; origin?: string }>,
  ): { lines: number; secrets: number; leaks: Array<{ file: string; line: number; secret: string; excerpt: string }> };
  describeLeaks(result: ReturnType<typeof core.scanLogs>): string;
};
const teardown = require('./log-scan-teardown.cjs') as () => Promise<void>;

const secret = 'sa-token-0123456789abcdef';

test('a line carrying a registered secret is a leak, reported by file and line with the secret replaced', () => {
  const result = core.scanLogs(
    [
      { file: 'output-1.log', text: '{"message":"delivery","status":200}\n' },
      { file: 'output-2.log', text: `first\n{"error":"token ${secret} rejected"}\nlast\n` },
    ],
    [{ value: secret, origin: 'kube-api-server service account token' }, { value: 'never-printed-secret' }],
  );
  expect(result).toMatchObject({ lines: 4, secrets: 2 });
  expect(result.leaks).toEqual([
    {
      file: 'output-2.log',
      line: 2,
      secret: '#0 (kube-api-server service account token, 25 chars)',
      excerpt: '{"error":"token [SECRET #0] rejected"}',
    },
  ]);
  expect(core.describeLeaks(result)).not.toContain(secret);
});

test('clean output has no leaks', () => {
  expect(core.scanLogs([{ file: 'o.log', text: 'token [REDACTED] rejected\n' }], [{ value: secret }]).leaks).toEqual(
    [],
  );
});

test('collect reads every worker file, deduplicates secrets and ignores values too short to scan for', () => {
  const dir = mkdtempSync(join(tmpdir(), 'log-scan-test-'));
  writeFileSync(
    join(dir, 'secrets-1.jsonl'),
    `${JSON.stringify({ value: secret, origin: 'a' })}\n${JSON.stringify({ value: 'v1', origin: 'short' })}\n`,
  );
  writeFileSync(join(dir, 'secrets-2.jsonl'), `${JSON.stringify({ value: secret, origin: 'b' })}\n`);
  writeFileSync(join(dir, 'output-1.log'), `x ${secret}\n`);
  const { secrets, outputs } = core.collect(dir);
  expect(secrets).toEqual([{ value: secret, origin: 'a' }]);
  expect(outputs).toEqual([{ file: 'output-1.log', text: `x ${secret}\n` }]);
});

test('the globalTeardown throws on a leak, which makes Jest exit non-zero', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'log-scan-test-'));
  writeFileSync(join(dir, 'secrets-1.jsonl'), `${JSON.stringify({ value: secret, origin: 'a' })}\n`);
  writeFileSync(join(dir, 'output-1.log'), `x ${secret}\n`);
  const saved = process.env.RELAY_LOG_SCAN_DIR;
  process.env.RELAY_LOG_SCAN_DIR = dir;
  try {
    await expect(teardown()).rejects.toThrow(
      'log scan: 1 captured line(s) carry a test secret:\n  output-1.log:1 secret #0 (a, 25 chars): x [SECRET #0]',
    );
    writeFileSync(join(dir, 'output-1.log'), 'x clean\n');
    await expect(teardown()).resolves.toBeUndefined();
  } finally {
    process.env.RELAY_LOG_SCAN_DIR = saved;
  }
});
