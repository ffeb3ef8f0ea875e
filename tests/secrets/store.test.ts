import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSecretRef } from '../../lib/secrets/ref';
import { SecretStore, type SecretBackend, type SecretStage } from '../../lib/secrets/store';

test.each([
  ['flux-relay/github', { scheme: 'aws-sm', id: 'flux-relay/github' }],
  ['aws-sm:flux-relay/github#token', { scheme: 'aws-sm', id: 'flux-relay/github', key: 'token' }],
  [
    'arn:aws:secretsmanager:eu-west-1:123456789012:secret:gh-AbCdEf',
    { scheme: 'aws-sm', id: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:gh-AbCdEf' },
  ],
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
  const values: Record<SecretStage, string | undefined> = {
    current: 'new-secret-value-0001',
    previous: 'old-secret-value-0001',
  };
  const { backend, reads } = fakeBackend(values);
  const store = new SecretStore({ awsSecretsManager: backend, clock: () => now, ttlMs: 1000 });
  const ref = parseSecretRef('s');
  const first = await store.candidates(ref).next();
  expect(first.value).toBe('new-secret-value-0001');
  expect(reads).toEqual(['current']);
  now = 500n * 1_000_000n;
  expect((await store.current(ref)).value).toBe('new-secret-value-0001');
  expect(reads).toEqual(['current']);
  now = 1500n * 1_000_000n;
  await store.current(ref);
  expect(reads).toEqual(['current', 'current']);
});

test('a failed read is not cached', async () => {
  const { backend, reads, failOnce } = fakeBackend({ current: 'v', previous: undefined });
  const store = new SecretStore({ awsSecretsManager: backend, clock: () => 0n, ttlMs: 60_000 });
  failOnce();
  await expect(store.current(parseSecretRef('s'))).rejects.toThrow('throttled');
  expect((await store.current(parseSecretRef('s'))).value).toBe('v');
  expect(reads).toEqual(['current', 'current']);
});

test('when nothing matched, one forced re-read per interval, and duplicates are not offered twice', async () => {
  let now = 0n;
  const { backend, reads } = fakeBackend({ current: 'a-secret-value-0001', previous: undefined });
  const store = new SecretStore({ awsSecretsManager: backend, clock: () => now, ttlMs: 60_000 });
  const ref = parseSecretRef('s');
  expect(await all(store.candidates(ref))).toEqual(['a-secret-value-0001']);
  expect(reads).toEqual(['current', 'previous', 'current', 'previous']);
  expect(await all(store.candidates(ref))).toEqual(['a-secret-value-0001']);
  expect(reads).toHaveLength(4);
  now = 31_000n * 1_000_000n;
  await all(store.candidates(ref));
  expect(reads).toHaveLength(6);
});

test('#key selects from a JSON secret, with a clear error when it cannot', async () => {
  const { backend } = fakeBackend({ current: JSON.stringify({ token: 't0k' }), previous: undefined });
  const store = new SecretStore({ awsSecretsManager: backend, clock: () => 0n, ttlMs: 1 });
  expect((await store.current(parseSecretRef('s#token'))).value).toBe('t0k');
  await expect(store.current(parseSecretRef('s#missing'))).rejects.toThrow('key missing is missing');
});

test('env: and file: secrets read locally', async () => {
  process.env.RELAY_TEST_SECRET = 'from-env';
  const store = new SecretStore({ clock: () => 0n, ttlMs: 1 });
  expect((await store.current(parseSecretRef('env:RELAY_TEST_SECRET'))).value).toBe('from-env');
  expect((await store.current(parseSecretRef(`file:${__filename}`))).value).toContain(
    'env: and file: secrets read locally',
  );
  await expect(store.current(parseSecretRef('env:RELAY_TEST_UNSET'))).rejects.toThrow('RELAY_TEST_UNSET is not set');
  await expect(store.current(parseSecretRef('aws-sm:x'))).rejects.toThrow('no AWS Secrets Manager backend');
});

test('a file: secret loses the one trailing newline an editor adds, and nothing else', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'secret-'));
  writeFileSync(join(dir, 's'), ' token \n');
  const store = new SecretStore({ clock: () => 0n, ttlMs: 1 });
  expect((await store.current(parseSecretRef(`file:${dir}/s`))).value).toBe(' token ');
});

describe('hardening', () => {
  const ms = (n: number) => BigInt(n) * 1_000_000n;
  const long = (n: number) => `a-long-enough-secret-${n}`;

  /** A backend whose versions and failures the test sets, counting reads; versions carry ids so warnings dedupe. */
  function scriptedBackend() {
    const state = {
      values: { current: undefined, previous: undefined } as Record<SecretStage, string | undefined>,
      failing: false,
      reads: 0,
    };
    const backend: SecretBackend = {
      async read(_ref, stage) {
        state.reads += 1;
        if (state.failing) throw new Error('Secrets Manager is down');
        const value = state.values[stage];
        return value === undefined ? undefined : { value, versionId: `${stage}:${value}` };
      },
    };
    return { backend, state };
  }

  function storeWith(backend: SecretBackend, clock: () => bigint, ttlMs = 300_000) {
    const warnings: Array<{ message: string; fields: Record<string, unknown> }> = [];
    const store = new SecretStore({
      awsSecretsManager: backend,
      clock,
      ttlMs,
      warn: (message, fields) => warnings.push({ message, fields }),
    });
    return { store, warnings };
  }

  test.each([
    ['empty', ''],
    ['15 bytes', 'x'.repeat(15)],
    ['15 bytes of which 5 characters', 'ééééééé€'.slice(0, 5) + 'x'.repeat(5)],
  ])(
    'a %s value is never offered, in any stage, and the warning names the reference, not the value',
    async (_name, weak) => {
      expect(Buffer.byteLength(weak)).toBeLessThan(16);
      let now = 0n;
      const { backend, state } = scriptedBackend();
      const { store, warnings } = storeWith(backend, () => now);
      const ref = parseSecretRef('aws-sm:hooks#github');
      state.values = { current: JSON.stringify({ github: weak }), previous: JSON.stringify({ github: weak }) };
      expect(await all(store.candidates(ref))).toEqual([]);
      expect(warnings.map((w) => w.fields)).toEqual([
        {
          secret: 'aws-sm:hooks#github',
          stage: 'AWSCURRENT',
          reason: weak === '' ? 'the value is empty' : 'the value is shorter than 16 bytes',
        },
        {
          secret: 'aws-sm:hooks#github',
          stage: 'AWSPREVIOUS',
          reason: weak === '' ? 'the value is empty' : 'the value is shorter than 16 bytes',
        },
      ]);
      // Reported once per version, not on every delivery that meets it.
      expect(await all(store.candidates(ref))).toEqual([]);
      expect(warnings).toHaveLength(2);
      // The forced re-read is checked too: a weak value that arrives by a rotation is refused like a cached one.
      state.values = { current: long(1), previous: undefined };
      now = ms(31_000);
      expect(await all(store.candidates(parseSecretRef('aws-sm:plain')))).toEqual([long(1)]);
      state.values = { current: weak, previous: long(1) };
      now = ms(62_000);
      expect(await all(store.candidates(parseSecretRef('aws-sm:plain')))).toEqual([long(1)]);
      expect(warnings.at(-1)).toMatchObject({
        message: 'webhook secret version refused',
        fields: { secret: 'aws-sm:plain', stage: 'AWSCURRENT' },
      });
      if (weak !== '') expect(JSON.stringify(warnings)).not.toContain(weak);
    },
  );

  test('exactly 16 bytes is offered; env: and file: secrets obey the same minimum', async () => {
    const { backend, state } = scriptedBackend();
    state.values.current = 'x'.repeat(16);
    expect(await all(storeWith(backend, () => 0n).store.candidates(parseSecretRef('s')))).toEqual(['x'.repeat(16)]);
    process.env.RELAY_TEST_SHORT_SECRET = 'short';
    const { store, warnings } = storeWith(backend, () => 0n);
    expect(await all(store.candidates(parseSecretRef('env:RELAY_TEST_SHORT_SECRET')))).toEqual([]);
    expect(warnings[0]!.fields).toEqual({
      secret: 'env:RELAY_TEST_SHORT_SECRET',
      stage: 'current',
      reason: 'the value is shorter than 16 bytes',
    });
  });

  test('a previous version without the #key (or not JSON) is no previous version; the current one lacking it is an error', async () => {
    let now = 0n;
    const { backend, state } = scriptedBackend();
    const { store, warnings } = storeWith(backend, () => now);
    const ref = parseSecretRef('hooks#github');
    state.values = {
      current: JSON.stringify({ github: long(1), gitlab: long(2) }),
      previous: JSON.stringify({ gitlab: long(2) }),
    };
    expect(await all(store.candidates(ref))).toEqual([long(1)]);
    expect(warnings[0]).toEqual({
      message: 'previous webhook secret version ignored',
      fields: {
        secret: 'hooks#github',
        stage: 'AWSPREVIOUS',
        reason: 'secret hooks#github: key github is missing or not a string',
      },
    });
    // A rotation after the keyless previous version was cached: once the re-read interval allows, the new one verifies.
    state.values = { current: JSON.stringify({ github: long(3) }), previous: state.values.current };
    now = ms(31_000);
    expect(await all(store.candidates(ref))).toEqual([long(1), long(3)]);
    state.values = { current: JSON.stringify({ github: long(4) }), previous: 'not json' };
    now = ms(62_000);
    expect(await all(store.candidates(ref))).toEqual([long(3), long(1), long(4)]);
    expect(warnings.at(-1)).toMatchObject({
      message: 'previous webhook secret version ignored',
      fields: { reason: expect.stringContaining('not a JSON object') },
    });
    state.values = { current: JSON.stringify({ gitlab: long(2) }), previous: undefined };
    const fresh = storeWith(backend, () => now).store;
    await expect(all(fresh.candidates(ref))).rejects.toThrow('key github is missing');
  });

  test('a forced re-read that fails keeps the cached versions, ends the candidates without an error, and warns', async () => {
    const { backend, state } = scriptedBackend();
    const { store, warnings } = storeWith(backend, () => 0n);
    const ref = parseSecretRef('s');
    state.values = { current: long(1), previous: long(0) };
    expect(await all(store.candidates(ref))).toEqual([long(1), long(0)]);
    state.failing = true;
    const reads = state.reads;
    // The call above used the re-read interval of `s`; another reference to the same secret has its own limit and
    // shares the cache.
    const again = parseSecretRef('aws-sm:s');
    expect(await all(store.candidates(again))).toEqual([long(1), long(0)]);
    expect(state.reads).toBe(reads + 1);
    expect(warnings).toEqual([
      {
        message: 'webhook secret could not be re-read; the cached versions stay in use',
        fields: { secret: 'aws-sm:s', stage: 'AWSCURRENT', reason: 'Error: Secrets Manager is down' },
      },
    ]);
    // Still cached: no read, no error.
    expect(await all(store.candidates(ref))).toEqual([long(1), long(0)]);
    expect((await store.current(ref)).value).toBe(long(1));
    expect(state.reads).toBe(reads + 1);
  });

  test('the forced re-read interval is 30 s whatever the TTL, 0 included', async () => {
    let now = 0n;
    const { backend, state } = scriptedBackend();
    const { store } = storeWith(backend, () => now, 0);
    state.values = { current: long(1), previous: undefined };
    const ref = parseSecretRef('s');
    for (let i = 0; i < 10; i += 1) await all(store.candidates(ref));
    // Every call reads both stages (TTL 0); only the first re-reads them once more.
    expect(state.reads).toBe(10 * 2 + 2);
    now = ms(29_999);
    await all(store.candidates(ref));
    expect(state.reads).toBe(24);
    now = ms(30_000);
    await all(store.candidates(ref));
    expect(state.reads).toBe(28);
    expect(store.invalidate(ref)).toBe(false);
  });
});
