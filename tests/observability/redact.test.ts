import {
  clearRegisteredSecrets,
  redact,
  redactDeep,
  registerSecret,
  registeredSecretCount,
} from '../../lib/observability/redact';
import { loggableSummary, maxLoggedChars, type DeliverySummary } from '../../lib/observability/delivery-log';
import { SecretStore } from '../../lib/secrets/store';
import { parseSecretRef } from '../../lib/secrets/ref';
import { KubeApiTestServer } from '../support/kube-api-server';

afterEach(() => clearRegisteredSecrets());

const R = '[REDACTED]';

describe('credential shapes', () => {
  test.each([
    [
      'a bearer token',
      'request failed: Authorization header Bearer abc.DEF-123_x~+/= was refused',
      `request failed: Authorization header Bearer ${R} was refused`,
    ],
    [
      'an Authorization: header value',
      'sent Authorization: token ghp_0123456789 to the API',
      `sent Authorization: ${R}`,
    ],
    [
      'an authorization JSON field',
      '{"authorization":"Basic Zmx1eDpzM2NyZXQ=","x":1}',
      `{"authorization":"${R}","x":1}`,
    ],
    ['Basic credentials', 'tried basic Zmx1eDpzM2NyZXQ= and failed', `tried basic ${R} and failed`],
    [
      'a PEM block',
      'bad key -----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAK\nabc\n-----END RSA PRIVATE KEY----- end',
      `bad key ${R} end`,
    ],
    ['a PEM block cut off', 'bad key -----BEGIN PRIVATE KEY-----\nMIIBOgIBAAJBAK', `bad key ${R}`],
    [
      'two PEM blocks',
      'a -----BEGIN CERTIFICATE-----x-----END CERTIFICATE----- b -----BEGIN CERTIFICATE-----y-----END CERTIFICATE----- c',
      `a ${R} b ${R} c`,
    ],
    ['a JWT', 'token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJl expired', `token ${R} expired`],
    ['an unsigned JWT', 'got eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0. back', `got ${R} back`],
    ['token=', 'GET https://api.example/x?token=abc123&page=2', `GET https://api.example/x?token=${R}&page=2`],
    ['private_token=', 'GET /api/v4/projects?private_token=glpat-xyz', `GET /api/v4/projects?private_token=${R}`],
    ['access_token=', 'POST /hooks#access_token=ya29.abc', `POST /hooks#access_token=${R}`],
    [
      'a password in URL userinfo',
      'clone https://flux:hunter2hunter2@git.example/org/repo failed',
      `clone https://flux:${R}@git.example/org/repo failed`,
    ],
    [
      'a token as URL user',
      'clone https://ghp_0123456789abcdefghij0123456789abcdefgh@github.com/o/r',
      `clone https://${R}@github.com/o/r`,
    ],
    ['an AWS access key id', 'credentials AKIAIOSFODNN7EXAMPLE and ASIAY34FZKBOKMUTVV7A', `credentials ${R} and ${R}`],
  ])('%s', (_name, input, expected) => {
    expect(redact(input)).toBe(expected);
  });

  test.each([
    ['plain text', 'cluster prod unreachable (ECONNREFUSED)'],
    ['an ssh user', 'ssh://git@github.com/org/repo.git'],
    ['our own error messages', 'Authorization must be Bearer <token>'],
    ['basic prose', 'basic checks failed'],
    ['a commit id', 'at 6113728f27ae82c7b1a177c8d03f9e96e0adf246'],
    ['an HTTP status', 'HTTP 403 Forbidden: gitrepositories.source.toolkit.fluxcd.io "x" is forbidden'],
  ])('leaves %s alone', (_name, input) => {
    expect(redact(input)).toBe(input);
  });
});

describe('registered values', () => {
  test('a registered value is scrubbed wherever it appears; short values are not registered', () => {
    registerSecret('gh-webhook-s3cret-value');
    registerSecret('short');
    expect(redact('secret gh-webhook-s3cret-value and again gh-webhook-s3cret-value')).toBe(
      `secret ${R} and again ${R}`,
    );
    expect(redact('a short word')).toBe('a short word');
  });

  test('the fields of a JSON secret are registered, and a kubeconfig stored under a key too', () => {
    const kubeconfig = [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: c',
      `  cluster: { server: "https://k.example", certificate-authority-data: ${Buffer.from('-----BEGIN CERTIFICATE-----\nQ0FDRVJUSUZJQ0FURUxJTkUx\nQ0FDRVJUSUZJQ0FURUxJTkUy\n-----END CERTIFICATE-----\n').toString('base64')} }`,
      'users:',
      '- name: u',
      '  user:',
      '    token: sa-token-in-yaml-0123',
      `    client-key-data: ${Buffer.from('-----BEGIN PRIVATE KEY-----\nS0VZTElORUtFWUxJTkUx\n-----END PRIVATE KEY-----\n').toString('base64')}`,
      '    password: yaml-password-456',
      'contexts: []',
    ].join('\n');
    registerSecret(JSON.stringify({ webhook: 'json-field-secret-1', kubeconfig }));
    expect(redact('x json-field-secret-1 y')).toBe(`x ${R} y`);
    expect(redact('token sa-token-in-yaml-0123 rejected')).toBe(`token ${R} rejected`);
    expect(redact('password yaml-password-456')).toBe(`password ${R}`);
    // A PEM line quoted on its own (no BEGIN/END around it) still matches.
    expect(redact('cert line Q0FDRVJUSUZJQ0FURUxJTkUy here')).toBe(`cert line ${R} here`);
    expect(redact('key line S0VZTElORUtFWUxJTkUx here')).toBe(`key line ${R} here`);
  });

  test('the SecretStore registers every value it reads, before the caller gets it', async () => {
    const cluster = await KubeApiTestServer.start();
    try {
      const token = 'store-registered-sa-token';
      const secrets: Record<string, string> = {
        hook: JSON.stringify({ secret: 'store-registered-webhook' }),
        kube: cluster.kubeconfig(token),
      };
      const store = new SecretStore({
        awsSecretsManager: {
          read: async (ref, stage) => (stage === 'current' ? { value: secrets[ref.id]! } : undefined),
        },
        clock: () => 0n,
        ttlMs: 1000,
      });
      expect(registeredSecretCount()).toBe(0);
      for await (const candidate of store.candidates(parseSecretRef('aws-sm:hook#secret')))
        expect(redact(candidate)).toBe(R);
      await store.current(parseSecretRef('aws-sm:kube'));
      expect(redact(`Bearer-less ${token}`)).toBe(`Bearer-less ${R}`);
      const caLine = cluster.caPem.split('\n')[1]!;
      expect(redact(`ca ${caLine}`)).toBe(`ca ${R}`);
    } finally {
      await cluster.close();
    }
  });
});

test('redactDeep scrubs every string of an answer, nested failures included, and keeps the rest', () => {
  registerSecret('answer-secret-value');
  const answer = {
    outcome: 'failed',
    matched: ['c/ns/GitRepository/x'],
    failed: [{ target: 'c/*', error: 'bad answer-secret-value Bearer abcdef' }],
    n: 3,
  };
  expect(redactDeep(answer)).toEqual({
    outcome: 'failed',
    matched: ['c/ns/GitRepository/x'],
    failed: [{ target: 'c/*', error: `bad ${R} Bearer ${R}` }],
    n: 3,
  });
  expect(answer.failed[0]!.error).toContain('answer-secret-value');
});

test('a log summary is redacted and every string is bounded', () => {
  registerSecret('summary-secret-value');
  const summary: DeliverySummary = {
    receiver: 'r'.repeat(10_000),
    matched: [],
    patched: [],
    failed: [{ target: 'c/*', error: 'kubeconfig summary-secret-value could not be parsed' }],
    outcome: 'failed',
    reason: 'x',
    status: 502,
    duration_ms: 1,
  };
  const logged = loggableSummary(summary);
  expect(logged.failed[0]!.error).toBe(`kubeconfig ${R} could not be parsed`);
  expect(logged.receiver.length).toBeLessThan(maxLoggedChars + 30);
  expect(logged.receiver.startsWith('r'.repeat(maxLoggedChars))).toBe(true);
  expect(logged.status).toBe(502);
});

test('pathological inputs stay linear: long runs of every trigger are redacted quickly', () => {
  // Not a timing assertion: each input would take minutes with a backtracking pattern; these must simply finish.
  const inputs = [
    'eyJ-'.repeat(50_000),
    `${'a'.repeat(100_000)}token`,
    `https://${'a'.repeat(100_000)}`,
    '-----BEGIN '.repeat(10_000),
    `authorization${' '.repeat(100_000)}`,
    'Bearer '.repeat(20_000),
  ];
  for (const input of inputs) expect(typeof redact(input)).toBe('string');
  expect(redact('-----BEGIN '.repeat(3))).toBe(R);
});
