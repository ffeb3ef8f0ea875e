import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { parse, parseAllDocuments } from 'yaml';
import {
  KubeconfigScriptError,
  operatorKubeconfigPaths,
  parseKubeconfigArgs,
  planSecretWrite,
  redactedToken,
  relayIdentity,
  tokenFromSecret,
} from '../../lib/kube/scoped-kubeconfig';
import { parseSecretRef, selectKey } from '../../lib/secrets/ref';
import { main } from '../../scripts/kubeconfig';
import { KubeApiTestServer, type RbacRule } from '../support/kube-api-server';
import { captureOutput, gitRepository, relayUser, useSecretsManager } from '../support/relay-harness';
import { SecretsManagerTestServer } from '../support/secrets-manager-server';

/** The rules of the first Role/ClusterRole in a manifest, as the test API server's RBAC (namespaces: like RoleBindings). */
function rulesFrom(file: string, namespaces?: string[]): RbacRule[] {
  const docs = parseAllDocuments(readFileSync(join('infra/kubernetes', file), 'utf8')).map(
    (d) => d.toJS() as { kind: string; rules?: RbacRule[] },
  );
  const role = docs.find((d) => d.kind === 'ClusterRole' || d.kind === 'Role');
  if (!role?.rules) throw new Error(`${file} has no role`);
  return role.rules.map((r) => ({
    apiGroups: r.apiGroups,
    resources: r.resources,
    verbs: r.verbs,
    ...(namespaces ? { namespaces } : {}),
  }));
}

const token = () => `eyJhbGciOiJSUzI1NiJ9.${randomBytes(24).toString('base64url')}`;
const adminToken = token();
const relayToken = token();
const rotatedToken = token();
const scopedToken = token();
const weakToken = token();
/** Everything that must never be printed. */
const secrets = [adminToken, relayToken, rotatedToken, scopedToken, weakToken];

let cluster: KubeApiTestServer;
let sm: SecretsManagerTestServer;
let kubeconfigEnv: string;

function putTokenSecret(name: string, serviceAccount: string, value: string): void {
  cluster.putSecret(
    relayIdentity.namespace,
    name,
    { token: value, 'ca.crt': cluster.caPem, namespace: relayIdentity.namespace },
    {
      type: 'kubernetes.io/service-account-token',
      annotations: { 'kubernetes.io/service-account.name': serviceAccount },
    },
  );
}

beforeAll(async () => {
  [cluster, sm] = await Promise.all([KubeApiTestServer.start(), SecretsManagerTestServer.start()]);
  useSecretsManager(sm);
  cluster.addServiceAccount(adminToken, 'kubernetes-admin', [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }]);
  // The cluster-wide variant, and the namespaced one bound in flux-system and apps only.
  cluster.addServiceAccount(relayToken, relayUser, rulesFrom('relay-rbac.yaml'));
  cluster.addServiceAccount(
    scopedToken,
    'system:serviceaccount:flux-system:relay-scoped',
    rulesFrom('relay-role.yaml', ['flux-system', 'apps']),
  );
  // May record events but not list anything.
  cluster.addServiceAccount(weakToken, 'system:serviceaccount:flux-system:weak', [
    { apiGroups: [''], resources: ['events'], verbs: ['create'] },
  ]);
  putTokenSecret(relayIdentity.tokenSecret, relayIdentity.serviceAccount, relayToken);
  putTokenSecret('relay-scoped-token', 'relay-scoped', scopedToken);
  putTokenSecret('weak-token', 'weak', weakToken);
  cluster.put(gitRepository('flux-system', 'app', 'https://github.com/acme/app', { branch: 'main' }));
  cluster.put(gitRepository('apps', 'web', 'https://github.com/acme/web', { branch: 'main' }));
  cluster.put(gitRepository('other', 'x', 'https://github.com/acme/x', { branch: 'main' }));

  // The operator's KUBECONFIG: two files, as kubectl merges them; the second holds the target context.
  const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-script-'));
  writeFileSync(
    join(dir, 'other'),
    cluster.kubeconfig(token(), { context: 'dev' }).replace(/"https:\/\/127\.0\.0\.1:\d+"/, '"https://127.0.0.1:1"'),
  );
  writeFileSync(join(dir, 'prod'), cluster.kubeconfig(adminToken, { context: 'prod-admin', namespace: 'default' }));
  kubeconfigEnv = [join(dir, 'other'), join(dir, 'prod')].join(delimiter);
});

afterAll(async () => {
  await Promise.all([cluster.close(), sm.close()]);
});

/** Runs the script in-process; fails the test if any token reached its output or the process's stdout/stderr. */
async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const { result: code, lines } = await captureOutput(() =>
    main(args, { ...process.env, KUBECONFIG: kubeconfigEnv }, { out: (t) => out.push(t), err: (t) => err.push(t) }),
  );
  const printed = [...out, ...err, ...lines].join('\n');
  for (const secret of secrets) expect(printed).not.toContain(secret);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

interface Kubeconfig {
  clusters: Array<{ name: string; cluster: Record<string, unknown> }>;
  users: Array<{ name: string; user: Record<string, unknown> }>;
  contexts: Array<{ name: string; context: { cluster: string; user: string; namespace?: string } }>;
  'current-context': string;
}

async function listWithClientNode(kubeconfigYaml: string): Promise<string[]> {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfigYaml);
  const list = (await kc
    .makeApiClient(CustomObjectsApi)
    .listClusterCustomObject({ group: 'source.toolkit.fluxcd.io', version: 'v1', plural: 'gitrepositories' })) as {
    items: Array<{ metadata: { namespace: string; name: string } }>;
  };
  return list.items.map((i) => `${i.metadata.namespace}/${i.metadata.name}`);
}

describe('npm run kubeconfig', () => {
  test('stores a kubeconfig with only the relay identity, which lists GitRepositories with the real client-node', async () => {
    cluster.clearRequests();
    const { code, out, err } = await run('--context', 'prod-admin', '--secret', 'flux-relay/prod-kubeconfig');
    expect({ code, err }).toMatchObject({ code: 0 });
    expect(out).toContain('created secret flux-relay/prod-kubeconfig');
    expect(out).toContain('kubeconfig: aws-sm:flux-relay/prod-kubeconfig');
    expect(err).toContain('lists GitRepositories cluster-wide (3 found)');
    expect(sm.calls.map((c) => c.target)).toEqual(['secretsmanager.GetSecretValue', 'secretsmanager.CreateSecret']);

    const versions = sm.versions('flux-relay/prod-kubeconfig');
    expect(versions.map((v) => v.stages)).toEqual([['AWSCURRENT']]);
    const stored = versions[0]!.secretString;
    const doc = parse(stored) as Kubeconfig;
    expect(doc.clusters).toEqual([
      {
        name: 'prod-admin',
        cluster: { server: cluster.url, 'certificate-authority-data': Buffer.from(cluster.caPem).toString('base64') },
      },
    ]);
    expect(doc.users).toEqual([{ name: 'flux-webhook-relay', user: { token: relayToken } }]);
    expect(doc.contexts).toEqual([
      {
        name: 'flux-webhook-relay@prod-admin',
        context: { cluster: 'prod-admin', user: 'flux-webhook-relay', namespace: 'flux-system' },
      },
    ]);
    expect(doc['current-context']).toBe('flux-webhook-relay@prod-admin');
    expect(stored).not.toContain(adminToken);

    // The operator read the token Secret; the verification list ran as the relay's ServiceAccount (its client opens
    // two spare connections beside its first list with GET /version, as the relay does).
    const requests = cluster.requests.map((r) => [r.method, r.path, r.user, r.status]);
    expect(requests.filter(([, path]) => path !== '/version')).toEqual([
      ['GET', '/api/v1/namespaces/flux-system/secrets/flux-webhook-relay-token', 'kubernetes-admin', 200],
      ['GET', '/apis/source.toolkit.fluxcd.io/v1/gitrepositories', relayUser, 200],
    ]);
    expect(requests.filter(([, path]) => path === '/version')).toEqual([
      ['GET', '/version', relayUser, 200],
      ['GET', '/version', relayUser, 200],
    ]);
    expect(await listWithClientNode(stored)).toEqual(['apps/web', 'flux-system/app', 'other/x']);
  });

  test('a second run after a token rotation puts a new AWSCURRENT version; the previous one becomes AWSPREVIOUS', async () => {
    const first = sm.value('flux-relay/prod-kubeconfig')!;
    cluster.addServiceAccount(rotatedToken, relayUser, rulesFrom('relay-rbac.yaml'));
    putTokenSecret(relayIdentity.tokenSecret, relayIdentity.serviceAccount, rotatedToken);
    sm.calls.length = 0;
    const { code, out } = await run('--context', 'prod-admin', '--secret', 'flux-relay/prod-kubeconfig');
    expect(code).toBe(0);
    expect(out).toContain('updated secret flux-relay/prod-kubeconfig');
    expect(sm.calls.map((c) => c.target)).toEqual(['secretsmanager.GetSecretValue', 'secretsmanager.PutSecretValue']);
    expect(sm.versions('flux-relay/prod-kubeconfig').map((v) => v.stages)).toEqual([['AWSPREVIOUS'], ['AWSCURRENT']]);
    expect(sm.value('flux-relay/prod-kubeconfig', 'AWSPREVIOUS')).toBe(first);
    const current = sm.value('flux-relay/prod-kubeconfig')!;
    expect((parse(current) as Kubeconfig).users).toEqual([
      { name: 'flux-webhook-relay', user: { token: rotatedToken } },
    ]);
    expect(await listWithClientNode(current)).toHaveLength(3);

    // Nothing changed since: nothing is written, and AWSPREVIOUS keeps the last real previous value.
    sm.calls.length = 0;
    const again = await run('--context', 'prod-admin', '--secret', 'flux-relay/prod-kubeconfig');
    expect(again.code).toBe(0);
    expect(again.out).toContain('already holds this kubeconfig; nothing stored');
    expect(sm.calls.map((c) => c.target)).toEqual(['secretsmanager.GetSecretValue']);
    expect(sm.versions('flux-relay/prod-kubeconfig')).toHaveLength(2);
  });

  test('--key merges the kubeconfig into a JSON secret, keeping its other keys, as the relay reads aws-sm:<name>#<key>', async () => {
    sm.put('flux-relay/kubeconfigs', JSON.stringify({ staging: 'apiVersion: v1\nkind: Config\n' }));
    const { code, out } = await run('--context', 'prod-admin', '--secret', 'flux-relay/kubeconfigs', '--key', 'prod');
    expect(code).toBe(0);
    expect(out).toContain('updated key prod of secret flux-relay/kubeconfigs');
    expect(out).toContain('kubeconfig: aws-sm:flux-relay/kubeconfigs#prod');
    const value = JSON.parse(sm.value('flux-relay/kubeconfigs')!) as Record<string, string>;
    expect(Object.keys(value)).toEqual(['staging', 'prod']);
    expect(value.staging).toBe('apiVersion: v1\nkind: Config\n');
    expect(sm.value('flux-relay/kubeconfigs', 'AWSPREVIOUS')).toBe(
      JSON.stringify({ staging: 'apiVersion: v1\nkind: Config\n' }),
    );
    const prod = selectKey(parseSecretRef('aws-sm:flux-relay/kubeconfigs#prod'), sm.value('flux-relay/kubeconfigs')!);
    expect(await listWithClientNode(prod)).toHaveLength(3);

    // A new secret is created as a JSON object with that key.
    expect((await run('--context', 'prod-admin', '--secret', 'flux-relay/new-json', '--key', 'prod')).code).toBe(0);
    expect(Object.keys(JSON.parse(sm.value('flux-relay/new-json')!) as object)).toEqual(['prod']);
  });

  test('without --key, a JSON secret of other keys is refused rather than overwritten', async () => {
    const before = sm.versions('flux-relay/kubeconfigs');
    const { code, err } = await run('--context', 'prod-admin', '--secret', 'flux-relay/kubeconfigs');
    expect(code).toBe(1);
    expect(err).toContain(
      'error: secret flux-relay/kubeconfigs holds a JSON object (keys: staging, prod), not a kubeconfig; pass --key',
    );
    expect(sm.versions('flux-relay/kubeconfigs')).toEqual(before);
  });

  test('--dry-run verifies and prints the kubeconfig with the token redacted, and stores nothing', async () => {
    const requests = sm.requests.length;
    const { code, out, err } = await run('--context', 'prod-admin', '--dry-run');
    expect(code).toBe(0);
    const doc = parse(out) as Kubeconfig;
    expect(doc.users).toEqual([{ name: 'flux-webhook-relay', user: { token: redactedToken } }]);
    expect(doc.clusters).toHaveLength(1);
    expect(doc.contexts).toHaveLength(1);
    expect(err).toContain('dry run: nothing stored');
    expect(sm.requests.length).toBe(requests);
    // --secret with --dry-run stores nothing either.
    expect((await run('--context', 'prod-admin', '--secret', 'flux-relay/dry', '--dry-run')).code).toBe(0);
    expect(sm.requests.length).toBe(requests);
    expect(sm.has('flux-relay/dry')).toBe(false);
  });

  test('the namespaced variant verifies with --namespaces, and fails cluster-wide with the RBAC message', async () => {
    const scoped = ['--context', 'prod-admin', '--secret-name', 'relay-scoped-token', '--secret', 'flux-relay/scoped'];
    const ok = await run(...scoped, '--namespaces', 'flux-system,apps');
    expect(ok.code).toBe(0);
    expect(ok.err).toContain('lists GitRepositories in namespaces flux-system, apps (2 found)');
    expect((parse(sm.value('flux-relay/scoped')!) as Kubeconfig).users).toEqual([
      { name: 'relay-scoped', user: { token: scopedToken } },
    ]);

    const wide = await run(...scoped.slice(0, 4), '--secret', 'flux-relay/scoped-wide');
    expect(wide.code).toBe(1);
    expect(wide.err).toContain(
      "error: verification failed: the relay's kubeconfig cannot list GitRepositories cluster-wide: RBAC denies it",
    );
    expect(wide.err).toContain(
      'HTTP 403 Forbidden: gitrepositories.source.toolkit.fluxcd.io is forbidden: User "system:serviceaccount:flux-system:relay-scoped" cannot list resource "gitrepositories"',
    );
    expect(wide.err).toContain('pass --namespaces');
    expect(sm.has('flux-relay/scoped-wide')).toBe(false);
  });

  test('a CA file becomes certificate-authority-data, and tls-server-name is kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-script-'));
    writeFileSync(join(dir, 'ca.pem'), cluster.caPem);
    const operator = cluster
      .kubeconfig(adminToken, { context: 'sni' })
      .replace(/certificate-authority-data: .*/, 'certificate-authority: ca.pem\n    tls-server-name: localhost');
    writeFileSync(join(dir, 'config'), operator);
    const out: string[] = [];
    const code = await main(
      ['--context', 'sni', '--dry-run'],
      { ...process.env, KUBECONFIG: join(dir, 'config') },
      { out: (t) => out.push(t), err: () => undefined },
    );
    expect(code).toBe(0);
    expect((parse(out.join('')) as Kubeconfig).clusters).toEqual([
      {
        name: 'sni',
        cluster: {
          server: cluster.url,
          'certificate-authority-data': Buffer.from(cluster.caPem).toString('base64'),
          'tls-server-name': 'localhost',
        },
      },
    ]);
  });

  describe('failures name what failed and store nothing', () => {
    let requests: number;
    beforeEach(() => {
      requests = sm.requests.length;
    });
    afterEach(() => {
      expect(sm.requests.length).toBe(requests);
    });

    test('a context the kubeconfig does not have', async () => {
      const { code, err } = await run('--context', 'prod', '--secret', 'flux-relay/x');
      expect(code).toBe(1);
      expect(err).toMatch(/^error: kubeconfig .*other, .*prod has no context prod \(contexts: dev, prod-admin\)$/);
    });

    test('a token Secret that does not exist', async () => {
      const { code, err } = await run('--context', 'prod-admin', '--secret', 'flux-relay/x', '--secret-name', 'nope');
      expect(code).toBe(1);
      expect(err).toContain(
        'error: Secret flux-system/nope not found on context prod-admin (HTTP 404 NotFound: secrets "nope" not found): apply infra/kubernetes/relay-rbac.yaml (or relay-serviceaccount.yaml) and relay-token.yaml first',
      );
    });

    test('a token Secret the token controller has not filled', async () => {
      cluster.putSecret(
        'flux-system',
        'empty-token',
        {},
        { type: 'kubernetes.io/service-account-token', annotations: { 'kubernetes.io/service-account.name': 'ghost' } },
      );
      const { code, err } = await run(
        '--context',
        'prod-admin',
        '--secret',
        'flux-relay/x',
        '--secret-name',
        'empty-token',
      );
      expect(code).toBe(1);
      expect(err).toContain(
        'error: Secret flux-system/empty-token has an empty token: Kubernetes fills data.token only when ServiceAccount ghost exists',
      );
    });

    test('operator credentials that may not read the Secret', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-script-'));
      writeFileSync(join(dir, 'config'), cluster.kubeconfig(weakToken, { context: 'weak' }));
      const out: string[] = [];
      const code = await main(
        ['--context', 'weak', '--secret', 'flux-relay/x'],
        { ...process.env, KUBECONFIG: join(dir, 'config') },
        { out: (t) => out.push(t), err: (t) => out.push(t) },
      );
      expect(code).toBe(1);
      expect(out.join('\n')).toContain(
        'error: your credentials for context weak cannot read Secret flux-system/flux-webhook-relay-token (HTTP 403 Forbidden: secrets "flux-webhook-relay-token" is forbidden',
      );
      expect(out.join('\n')).not.toContain(weakToken);
    });

    test('a ServiceAccount without list permission', async () => {
      const { code, err } = await run(
        '--context',
        'prod-admin',
        '--secret',
        'flux-relay/x',
        '--secret-name',
        'weak-token',
      );
      expect(code).toBe(1);
      expect(err).toContain(
        "error: verification failed: the relay's kubeconfig cannot list GitRepositories cluster-wide: RBAC denies it (list GitRepositories: HTTP 403 Forbidden",
      );
      expect(err).toContain(
        'cannot list resource "gitrepositories" in API group "source.toolkit.fluxcd.io" at the cluster scope); apply infra/kubernetes/relay-rbac.yaml',
      );
    });

    test('bad arguments', async () => {
      expect((await run('--secret', 'flux-relay/x')).err).toContain('--context is required');
      expect((await run('--context', 'prod-admin')).err).toContain('--secret is required');
      const hash = await run('--context', 'prod-admin', '--secret', 'flux-relay/kubeconfigs#prod');
      expect(hash).toMatchObject({ code: 2 });
      expect(hash.err).toContain('pass --secret <name> --key <key>');
    });
  });

  test('a Secrets Manager error is reported with its AWS error name', async () => {
    sm.fault({
      status: 400,
      type: 'AccessDeniedException',
      message: 'User: arn:aws:iam::123456789012:user/ops is not authorized to perform: secretsmanager:GetSecretValue',
      times: 1,
    });
    const { code, err } = await run('--context', 'prod-admin', '--secret', 'flux-relay/denied');
    expect(code).toBe(1);
    expect(err).toContain(
      'error: Secrets Manager GetSecretValue on flux-relay/denied failed: AccessDeniedException: User: arn:aws:iam::123456789012:user/ops is not authorized',
    );
    expect(sm.has('flux-relay/denied')).toBe(false);
  });
});

describe('scoped-kubeconfig (pure parts)', () => {
  test('arguments and their defaults', () => {
    expect(parseKubeconfigArgs(['--context', 'c', '--secret', 's'])).toEqual({
      context: 'c',
      secret: 's',
      namespace: 'flux-system',
      secretName: 'flux-webhook-relay-token',
      dryRun: false,
    });
    expect(
      parseKubeconfigArgs([
        '--context',
        'c',
        '--dry-run',
        '--namespaces',
        'a, b,,a',
        '--key',
        'k',
        '--region',
        'eu-west-1',
      ]),
    ).toEqual({
      context: 'c',
      key: 'k',
      namespaces: ['a', 'b'],
      namespace: 'flux-system',
      secretName: 'flux-webhook-relay-token',
      region: 'eu-west-1',
      dryRun: true,
    });
    expect(parseKubeconfigArgs(['-h'])).toBe('help');
    for (const bad of [
      ['--context', 'c', '--secret', 'aws-sm:s'],
      ['--context', 'c', '--dry-run', '--namespaces', 'Apps'],
      ['--context', 'c', '--dry-run', '--nope'],
      ['pos'],
    ]) {
      expect(() => parseKubeconfigArgs(bad)).toThrow(KubeconfigScriptError);
    }
  });

  test('kubeconfig paths follow kubectl', () => {
    expect(operatorKubeconfigPaths({}, '/home/u')).toEqual([join('/home/u', '.kube', 'config')]);
    expect(operatorKubeconfigPaths({ KUBECONFIG: `a${delimiter}${delimiter}b` }, '/home/u')).toEqual(['a', 'b']);
  });

  test('the token Secret must be a filled service-account token', () => {
    const annotations = { 'kubernetes.io/service-account.name': 'sa' };
    expect(
      tokenFromSecret(
        {
          type: 'kubernetes.io/service-account-token',
          metadata: { annotations },
          data: { token: Buffer.from('t0k').toString('base64') },
        },
        'ns/s',
      ),
    ).toEqual({
      token: 't0k',
      serviceAccount: 'sa',
    });
    expect(() => tokenFromSecret({ type: 'Opaque', metadata: { annotations }, data: {} }, 'ns/s')).toThrow(
      'Secret ns/s is of type Opaque, not kubernetes.io/service-account-token',
    );
  });

  test('planSecretWrite', () => {
    expect(planSecretWrite(undefined, 'kc', 's')).toEqual({ action: 'create', value: 'kc' });
    expect(planSecretWrite('kc', 'kc', 's')).toEqual({ action: 'unchanged' });
    expect(planSecretWrite('old', 'kc', 's')).toEqual({ action: 'update', value: 'kc' });
    // A kubeconfig written as JSON is still a kubeconfig.
    expect(planSecretWrite('{"clusters":[]}', 'kc', 's')).toEqual({ action: 'update', value: 'kc' });
    expect(planSecretWrite(undefined, 'kc', 's', 'k')).toEqual({ action: 'create', value: '{"k":"kc"}' });
    expect(planSecretWrite('{"a":"1","k":"old"}', 'kc', 's', 'k')).toEqual({
      action: 'update',
      value: '{"a":"1","k":"kc"}',
    });
    expect(planSecretWrite('{"k":"kc"}', 'kc', 's', 'k')).toEqual({ action: 'unchanged' });
    expect(() => planSecretWrite('apiVersion: v1', 'kc', 's', 'k')).toThrow(
      'secret s is not a JSON object, so --key k cannot be stored in it',
    );
  });
});
