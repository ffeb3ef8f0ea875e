import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSecretRef } from '../../lib/secrets/ref';
import { SecretStore, type SecretBackend, type SecretStage } from '../../lib/secrets/store';

test.each([
  ['flux-relay/github', { scheme: 'aws-sm', id: 'flux-relay/github' }],
  ['aws-sm:flux-relay/github#token', { scheme: 'aws-sm', id: 'flux-relay/github', key: 'token' }],
  ['arn:aws:secretsmanager:eu-west-1:123456789012:secret:gh-AbCdEf', { scheme: 'aws-sm', id: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:gh-AbCdEf' }],
  ['env:GITHUB_SECRET', { scheme: 'env', id: 'GITHUB_SECRET' }],
  ['file:~/.kube/config', { scheme: 'file', id: '~/.kube/config' }],
])('%s parses', (text, expected) => {
  expect(parseSecretRef(text)).toMatchObject(expected);
});

test.each(['', 'aws-sm:', 'env:', 'vault:secret/x', 'name#'])('%j is refused', (text) => {
  expect(() => parseSecretRef(text)).toThrow();
});

function fakeBackend(values: Record<SecretStage, string | undefined>) {
  const reads: SecretStage[] = [];
  let failNext = false;
  const backend: SecretBackend = {
    async read(_ref, stage) {
      reads.push(stage);
      if (failNext) {
        failNext = false;
        throw new Error('throttled');
      }
      const value = values[stage];
      return value === undefined ? undefined : { value };
    },
  };
  return { backend, reads, failOnce: () => (failNext = true) };
}

async function all(gen: AsyncGenerator<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const v of gen) out.push(v);
  return out;
}

test('candidates are current then previous, fetched lazily, cached for the TTL', async () => {
  let now = 0n;
  const values: Record<SecretStage, string | undefined> = { current: 'new', previous: 'old' };
  const { backend, reads } = fakeBackend(values);
  const store = new SecretStore({ awsSecretsManager: backend, clock: () => now, ttlMs: 1000, refreshAfterFailureMs: 1000 });
  const ref = parseSecretRef('s');
  const first = await store.candidates(ref).next();
  expect(first.value).toBe('new');
  expect(reads).toEqual(['current']);
  now = 500n * 1_000_000n;
  expect((await store.current(ref)).value).toBe('new');
  expect(reads).toEqual(['current']);
  now = 1500n * 1_000_000n;
  await store.current(ref);
  expect(reads).toEqual(['current', 'current']);
});

test('a failed read is not cached', async () => {
  const { backend, reads, failOnce } = fakeBackend({ current: 'v', previous: undefined });
  const store = new SecretStore({ awsSecretsManager: backend, clock: () => 0n, ttlMs: 60_000, refreshAfterFailureMs: 1000 });
  failOnce();
  await expect(store.current(parseSecretRef('s'))).rejects.toThrow('throttled');
  expect((await store.current(parseSecretRef('s'))).value).toBe('v');
  expect(reads).toEqual(['current', 'current']);
});

test('when nothing matched, one forced re-read per interval, and duplicates are not offered twice', async () => {
  let now = 0n;
  const { backend, reads } = fakeBackend({ current: 'a', previous: undefined });
  const store = new SecretStore({ awsSecretsManager: backend, clock: () => now, ttlMs: 60_000, refreshAfterFailureMs: 1000 });
  const ref = parseSecretRef('s');
  expect(await all(store.candidates(ref))).toEqual(['a']);
  expect(reads).toEqual(['current', 'previous', 'current', 'previous']);
  expect(await all(store.candidates(ref))).toEqual(['a']);
  expect(reads).toHaveLength(4);
  now = 2000n * 1_000_000n;
  await all(store.candidates(ref));
  expect(reads).toHaveLength(6);
});

test('#key selects from a JSON secret, with a clear error when it cannot', async () => {
  const { backend } = fakeBackend({ current: JSON.stringify({ token: 't0k' }), previous: undefined });
  const store = new SecretStore({ awsSecretsManager: backend, clock: () => 0n, ttlMs: 1, refreshAfterFailureMs: 1 });
  expect((await store.current(parseSecretRef('s#token'))).value).toBe('t0k');
  await expect(store.current(parseSecretRef('s#missing'))).rejects.toThrow('key missing is missing');
});

test('env: and file: secrets read locally', async () => {
  process.env.RELAY_TEST_SECRET = 'from-env';
  const store = new SecretStore({ clock: () => 0n, ttlMs: 1, refreshAfterFailureMs: 1 });
  expect((await store.current(parseSecretRef('env:RELAY_TEST_SECRET'))).value).toBe('from-env');
  expect((await store.current(parseSecretRef(`file:${__filename}`))).value).toContain('env: and file: secrets read locally');
  await expect(store.current(parseSecretRef('env:RELAY_TEST_UNSET'))).rejects.toThrow('RELAY_TEST_UNSET is not set');
  await expect(store.current(parseSecretRef('aws-sm:x'))).rejects.toThrow('no AWS Secrets Manager backend');
});

test('a file: secret loses the one trailing newline an editor adds, and nothing else', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'secret-'));
  writeFileSync(join(dir, 's'), ' token \n');
  const store = new SecretStore({ clock: () => 0n, ttlMs: 1, refreshAfterFailureMs: 1 });
  expect((await store.current(parseSecretRef(`file:${dir}/s`))).value).toBe(' token ');
});
