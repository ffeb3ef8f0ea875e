import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ClusterCallError } from '../../lib/kube/cluster-client';
import { readKubeconfig } from '../../lib/kube/kubeconfig';

const token = 'sa-token-0123456789-secret';
const pem = (label: string) =>
  `-----BEGIN CERTIFICATE-----\n${Buffer.from(label).toString('base64')}\n-----END CERTIFICATE-----\n`;
const b64 = (text: string) => Buffer.from(text).toString('base64');

function kubeconfig(
  opts: {
    cluster?: Record<string, unknown>;
    user?: Record<string, unknown>;
    current?: string;
    extraContexts?: boolean;
  } = {},
): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'prod',
        cluster: {
          server: 'https://api.prod.example:6443',
          'certificate-authority-data': b64(pem('prod-ca')),
          ...opts.cluster,
        },
      },
      { name: 'dev', cluster: { server: 'https://dev.example/k8s/clusters/c-1/' } },
    ],
    users: [
      { name: 'relay', user: { token, ...opts.user } },
      { name: 'dev-user', user: { token: 'dev-token' } },
    ],
    contexts: [
      { name: 'prod', context: { cluster: 'prod', user: 'relay', namespace: 'flux-system' } },
      { name: 'dev', context: { cluster: 'dev', user: 'dev-user' } },
      { name: 'anonymous', context: { cluster: 'dev' } },
    ],
    'current-context': opts.current ?? 'prod',
  });
}

function refusal(yaml: string, context?: string): ClusterCallError {
  try {
    readKubeconfig(yaml, { name: 'prod', ...(context ? { context } : {}) });
  } catch (error) {
    expect(error).toBeInstanceOf(ClusterCallError);
    const e = error as ClusterCallError;
    expect(e.failure).toBe('config');
    expect(e.retryable).toBe(false);
    expect(e.message).not.toContain(token);
    expect(e.message).not.toContain(b64(pem('prod-ca')));
    return e;
  }
  throw new Error('expected the kubeconfig to be refused');
}

test('current-context: server, CA data, bearer token', () => {
  const endpoint = readKubeconfig(kubeconfig(), { name: 'prod' });
  expect(endpoint.server.href).toBe('https://api.prod.example:6443/');
  expect(endpoint.tls.ca?.toString()).toBe(pem('prod-ca'));
  expect(endpoint.tls.rejectUnauthorized).toBe(true);
  expect(endpoint.token).toBe(token);
  expect(endpoint.tokenFile).toBeUndefined();
});

test('a named context wins over current-context; a server path prefix is kept', () => {
  const endpoint = readKubeconfig(kubeconfig(), { name: 'dev', context: 'dev' });
  expect(endpoint.server.pathname).toBe('/k8s/clusters/c-1/');
  expect(endpoint.token).toBe('dev-token');
  expect(endpoint.tls.ca).toBeUndefined();
  expect(readKubeconfig(kubeconfig(), { name: 'dev', context: 'anonymous' }).token).toBeUndefined();
});

test('CA, client certificate and key from files; -data wins over the file; tls-server-name', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-'));
  writeFileSync(join(dir, 'ca.pem'), pem('file-ca'));
  writeFileSync(join(dir, 'client.pem'), pem('client-cert'));
  writeFileSync(join(dir, 'client.key'), 'KEY');
  const endpoint = readKubeconfig(
    kubeconfig({
      cluster: {
        'certificate-authority-data': null,
        'certificate-authority': join(dir, 'ca.pem'),
        'tls-server-name': 'kubernetes.default',
      },
      user: { token: null, 'client-certificate': join(dir, 'client.pem'), 'client-key': join(dir, 'client.key') },
    }),
    { name: 'prod' },
  );
  expect(endpoint.tls).toEqual({
    ca: Buffer.from(pem('file-ca')),
    cert: Buffer.from(pem('client-cert')),
    key: Buffer.from('KEY'),
    servername: 'kubernetes.default',
    rejectUnauthorized: true,
  });
  expect(endpoint.token).toBeUndefined();

  const both = readKubeconfig(
    kubeconfig({
      cluster: { 'certificate-authority': join(dir, 'ca.pem') },
      user: { 'client-certificate-data': b64('DATA-CERT'), 'client-key-data': b64('DATA-KEY') },
    }),
    { name: 'prod' },
  );
  expect(both.tls.ca?.toString()).toBe(pem('prod-ca'));
  expect(both.tls.cert?.toString()).toBe('DATA-CERT');
  expect(both.tls.key?.toString()).toBe('DATA-KEY');
});

test('tokenFile is passed on (token wins when both are set, as in client-go)', () => {
  expect(
    readKubeconfig(kubeconfig({ user: { token: null, tokenFile: '/var/run/token' } }), { name: 'prod' }),
  ).toMatchObject({ tokenFile: '/var/run/token' });
  const both = readKubeconfig(kubeconfig({ user: { tokenFile: '/var/run/token' } }), { name: 'prod' });
  expect(both.token).toBe(token);
  expect(both.tokenFile).toBeUndefined();
});

test('insecure-skip-tls-verify turns verification off, and is refused together with a CA (as client-go does)', () => {
  expect(
    readKubeconfig(kubeconfig({ cluster: { 'certificate-authority-data': null, 'insecure-skip-tls-verify': true } }), {
      name: 'prod',
    }).tls.rejectUnauthorized,
  ).toBe(false);
  expect(refusal(kubeconfig({ cluster: { 'insecure-skip-tls-verify': true } })).message).toBe(
    'cluster prod: kubeconfig clusters[prod] sets both insecure-skip-tls-verify and a certificate authority',
  );
});

test.each([
  [
    'exec',
    { exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: 'aws', args: ['eks', 'get-token'] } },
    'users[relay].exec',
  ],
  [
    'auth-provider',
    { 'auth-provider': { name: 'oidc', config: { 'id-token': 'secret-id-token' } } },
    'users[relay].auth-provider',
  ],
  ['username/password', { username: 'admin', password: 'hunter2' }, 'users[relay].username'],
  ['impersonation', { as: 'system:admin' }, 'users[relay].as'],
])('user auth the relay does not implement is refused, naming the cluster and field: %s', (_, user, field) => {
  const e = refusal(kubeconfig({ user }));
  expect(e.message).toBe(
    `cluster prod: kubeconfig ${field} is not supported by the relay; make a service-account token kubeconfig with \`npm run kubeconfig\``,
  );
  expect(e.message).not.toContain('hunter2');
  expect(e.message).not.toContain('secret-id-token');
});

test('proxy-url is refused', () => {
  expect(refusal(kubeconfig({ cluster: { 'proxy-url': 'http://proxy:3128' } })).message).toContain(
    'clusters[prod].proxy-url is not supported by the relay',
  );
});

test('broken kubeconfigs are refused without quoting them', () => {
  expect(refusal(`apiVersion: v1\nusers:\n- name: x\n  user:\n    token: ${token}\n   bad: [\n`).message).toMatch(
    /^cluster prod: kubeconfig is not valid YAML \([A-Z_]+ at line \d+, column \d+\)$/,
  );
  expect(refusal('just a string').message).toBe('cluster prod: kubeconfig is not a YAML mapping');
  expect(refusal(kubeconfig({ current: 'nope' })).message).toBe('cluster prod: kubeconfig has no context nope');
  expect(refusal(kubeconfig(), 'missing').message).toBe('cluster prod: kubeconfig has no context missing');
  expect(refusal(kubeconfig({ cluster: { server: 'http://api.prod.example' } })).message).toBe(
    'cluster prod: kubeconfig clusters[prod].server is not an https:// URL',
  );
  expect(
    refusal(
      kubeconfig({ cluster: { 'certificate-authority-data': null, 'certificate-authority': '/nonexistent/ca.pem' } }),
    ).message,
  ).toBe(
    'cluster prod: kubeconfig clusters[prod].certificate-authority /nonexistent/ca.pem could not be read (ENOENT)',
  );
  expect(refusal(kubeconfig({ user: { 'client-certificate-data': b64('C') } })).message).toContain(
    'client certificate without its key',
  );
});
