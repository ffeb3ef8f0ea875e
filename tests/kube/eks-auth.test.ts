import https from 'node:https';
import aws4 from 'aws4';
import { parseConfig } from '../../lib/config/load';
import { eksToken, tokenRenewAfterMs } from '../../lib/kube/eks-auth';
import { HttpsCluster } from '../../lib/kube/https-cluster';
import { ClusterRegistry } from '../../lib/kube/registry';
import type { SecretStore } from '../../lib/secrets/store';
import { EksTestServer, StsTestServer } from '../support/eks-sts-servers';
import { KubeApiTestServer } from '../support/kube-api-server';
import { relayRules } from '../support/relay-harness';

// The loopback API server's EKS authentication (what the relay's tokens are checked against), the token's wire
// format, and the relay renewing tokens and assumed-role credentials across their expiry on an injected clock.

const region = 'eu-west-1';
const group = 'flux-webhook-relay';
const credentials = {
  accessKeyId: 'ASIARELAYEXAMPLE',
  secretAccessKey: 'relay/Secret+Key/EXAMPLEKEYexamplekey03',
  sessionToken: 'relay-session-token-EXAMPLE',
};
const unmapped = { accessKeyId: 'ASIAUNMAPPEDEXAMPLE', secretAccessKey: 'unmapped/Secret+Key/EXAMPLEKEYexample04' };
const role = 'arn:aws:iam::210987654321:role/relay-access';
const sessions = [
  {
    accessKeyId: 'ASIASESSIONONE',
    secretAccessKey: 'session/One+Secret/EXAMPLEKEYexample05',
    sessionToken: 'session-one-token',
  },
  {
    accessKeyId: 'ASIASESSIONTWO',
    secretAccessKey: 'session/Two+Secret/EXAMPLEKEYexample06',
    sessionToken: 'session-two-token',
  },
];
const t0 = Date.parse('2026-12-03T08:00:00Z');
const minutes = (n: number) => n * 60_000;

let kube: KubeApiTestServer;
let eks: EksTestServer;
let sts: StsTestServer;
let now = t0;

beforeAll(async () => {
  [kube, eks, sts] = await Promise.all([KubeApiTestServer.start(), EksTestServer.start(), StsTestServer.start()]);
  for (const server of [kube, eks, sts]) server.now = () => now;
  kube.eksAuthentication({ clusterName: 'prod-eks' });
  kube.addEksAccessEntry({ credentials, principalArn: 'arn:aws:iam::123456789012:role/relay', groups: [group] });
  kube.addEksAccessEntry({
    credentials: unmapped,
    principalArn: 'arn:aws:iam::123456789012:role/someone-else',
    groups: ['nobody'],
  });
  kube.addEksAccessEntry({ credentials: sessions[0]!, principalArn: role, username: 'session-one', groups: [group] });
  kube.addEksAccessEntry({ credentials: sessions[1]!, principalArn: role, username: 'session-two', groups: [group] });
  kube.bindGroup(group, relayRules);
  eks.put({ name: 'prod-eks', endpoint: kube.url, caPem: kube.caPem });
  for (const c of [credentials, ...sessions]) eks.addCredentials(c);
  sts.addCredentials(credentials);
  sts.addRole(role, { trusted: [credentials.accessKeyId], credentials: sessions });
});

afterAll(() => Promise.all([kube.close(), eks.close(), sts.close()]));

beforeEach(() => {
  now = t0;
  kube.clearRequests();
});

/** GET the GitRepository collection with `Authorization: Bearer <token>`: the status and what the server recorded. */
function list(token: string): Promise<{ status: number; rejected?: string; user?: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL('/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/gitrepositories', kube.url);
    const req = https.request(url, { ca: kube.caPem, headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.resume();
      res.on('end', () => {
        const rec = kube.requests.at(-1);
        resolve({
          status: res.statusCode ?? 0,
          ...(rec?.eksToken?.rejected ? { rejected: rec.eksToken.rejected } : {}),
          ...(rec?.user ? { user: rec.user } : {}),
        });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** A presigned STS URL made by hand (aws4), to build the tokens a correct client would never send. */
function handmade(options: {
  host?: string;
  query?: string;
  headers?: Record<string, string>;
  with?: typeof credentials | typeof unmapped;
  at?: number;
}): string {
  const host = options.host ?? `sts.${region}.amazonaws.com`;
  const date = new Date(options.at ?? now).toISOString().replace(/[:-]|\.\d{3}/g, '');
  const signed = aws4.sign(
    {
      host,
      path: `/?${options.query ?? 'Action=GetCallerIdentity&Version=2011-06-15'}&X-Amz-Expires=60&X-Amz-Date=${date}`,
      method: 'GET',
      service: 'sts',
      region,
      signQuery: true,
      headers: options.headers ?? { 'x-k8s-aws-id': 'prod-eks' },
    },
    options.with ?? credentials,
  );
  return `k8s-aws-v1.${Buffer.from(`https://${host}${signed.path}`).toString('base64url')}`;
}

describe('the loopback API server authenticates EKS tokens as aws-iam-authenticator and STS would', () => {
  test("the relay's token has the format of aws eks get-token and aws-iam-authenticator", () => {
    const token = eksToken({ cluster: 'prod-eks', region, credentials, now });
    expect(token).toMatch(/^k8s-aws-v1\.[A-Za-z0-9_-]+$/);
    const url = new URL(Buffer.from(token.slice('k8s-aws-v1.'.length), 'base64url').toString('utf8'));
    expect(url.origin).toBe('https://sts.eu-west-1.amazonaws.com');
    expect(url.pathname).toBe('/');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      Action: 'GetCallerIdentity',
      Version: '2011-06-15',
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': `${credentials.accessKeyId}/20261203/eu-west-1/sts/aws4_request`,
      'X-Amz-Date': '20261203T080000Z',
      'X-Amz-Expires': '60',
      'X-Amz-SignedHeaders': 'host;x-k8s-aws-id',
      'X-Amz-Security-Token': credentials.sessionToken,
      'X-Amz-Signature': expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  test('a valid token authenticates as the access entry, authorized by its group', async () => {
    expect(await list(eksToken({ cluster: 'prod-eks', region, credentials, now }))).toEqual({
      status: 200,
      user: 'arn:aws:iam::123456789012:role/relay',
    });
    expect(kube.requests.at(-1)).toMatchObject({ authentication: 'eks', groups: [group] });
    // Authenticated, but its group has no binding: RBAC refuses.
    expect((await list(eksToken({ cluster: 'prod-eks', region, credentials: unmapped, now }))).status).toBe(403);
  });

  test.each<[string, () => string, RegExp]>([
    [
      'a token for another cluster',
      () => eksToken({ cluster: 'staging-eks', region, credentials, now }),
      /SignatureDoesNotMatch/,
    ],
    [
      'a token signed more than 15 minutes ago',
      () => eksToken({ cluster: 'prod-eks', region, credentials, now: now - minutes(15) - 1000 }),
      /expired/,
    ],
    [
      'a token without the signed x-k8s-aws-id header',
      () => handmade({ headers: {} }),
      /did not sign the x-k8s-aws-id header/,
    ],
    [
      'a token for a host that is not STS',
      () => handmade({ host: 'sts.eu-west-1.amazonaws.com.attacker.example' }),
      /unexpected hostname/,
    ],
    [
      'a token for another STS action',
      () => handmade({ query: 'Action=GetSessionToken&Version=2011-06-15' }),
      /unexpected action/,
    ],
    [
      'a token with an extra query parameter',
      () => handmade({ query: 'Action=GetCallerIdentity&Version=2011-06-15&Foo=bar' }),
      /non-whitelisted query parameter/,
    ],
    [
      'a token signed with a wrong secret key',
      () => handmade({ with: { ...credentials, secretAccessKey: 'not/the/right/key' } }),
      /SignatureDoesNotMatch/,
    ],
    [
      'a token without the session token of its credentials',
      () => handmade({ with: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey } }),
      /security token/,
    ],
    [
      'a token in padded base64',
      () => `${eksToken({ cluster: 'prod-eks', region, credentials, now })}==`,
      /unpadded base64url/,
    ],
    [
      'a token in standard base64',
      () => eksToken({ cluster: 'prod-eks', region, credentials, now }).replace(/-/g, '+').replace(/_/g, '/') + '+/',
      /unpadded base64url/,
    ],
    [
      'a token without the prefix',
      () => eksToken({ cluster: 'prod-eks', region, credentials, now }).slice('k8s-aws-v1.'.length),
      /.*/,
    ],
  ])('%s is refused with 401', async (_, make, reason) => {
    const result = await list(make());
    expect(result.status).toBe(401);
    expect(result.user).toBeUndefined();
    if (make().startsWith('k8s-aws-v1.')) expect(result.rejected).toMatch(reason);
  });

  test('the expiry is measured on the server clock: 14 minutes old is fine, 16 is not', async () => {
    const token = eksToken({ cluster: 'prod-eks', region, credentials, now: t0 });
    now = t0 + minutes(14);
    expect((await list(token)).status).toBe(200);
    now = t0 + minutes(16);
    expect(await list(token)).toMatchObject({ status: 401, rejected: expect.stringMatching(/expired/) });
  });
});

describe('the relay renews what expires, on an injected clock', () => {
  const env = (): NodeJS.ProcessEnv => ({
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_SESSION_TOKEN: credentials.sessionToken,
    AWS_REGION: region,
    AWS_ENDPOINT_URL_EKS: eks.endpoint,
    AWS_ENDPOINT_URL_STS: sts.endpoint,
  });
  // The registry never reads a secret for an EKS cluster: any use of the store would throw here.
  const noSecrets = new Proxy(
    {},
    {
      get: () => {
        throw new Error('Secrets Manager must not be used for an EKS cluster');
      },
    },
  ) as SecretStore;
  const registryFor = (eksYaml: string) =>
    new ClusterRegistry(
      parseConfig(
        `clusters:\n  prod:\n    eks: ${eksYaml}\nreceivers:\n  r: { provider: github, secret: env:X }\n`,
        'test',
      ).clusters,
      noSecrets,
      (o) => new HttpsCluster({ ...o, index: false }),
      { env: env(), now: () => now },
    );
  const signedAt = () => kube.requests.at(-1)?.eksToken?.signedAt;

  test('a token is reused while young, re-signed before it expires, and the API server accepts each', async () => {
    const registry = registryFor(`{ cluster: prod-eks }`);
    const client = await registry.clientFor('prod');
    const signal = new AbortController().signal;
    await client.listGitRepositories(signal);
    expect(signedAt()).toBe('20261203T080000Z');
    now = t0 + tokenRenewAfterMs - 1000;
    await client.listGitRepositories(signal);
    expect(signedAt()).toBe('20261203T080000Z');
    // Past the renewal age, still inside the 15 minutes: a new token, signed now; the old one would expire soon.
    now = t0 + tokenRenewAfterMs + 1000;
    await client.listGitRepositories(signal);
    expect(signedAt()).toBe('20261203T081001Z');
    now = t0 + minutes(24);
    await client.listGitRepositories(signal);
    expect(signedAt()).toBe('20261203T082400Z');
    // Four lists and the first list's two spare connections (GET /version), each accepted.
    expect(kube.requests.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
  });

  test('assumed-role credentials are renewed in the background before they expire, without holding a request', async () => {
    sts.calls.length = 0;
    const registry = registryFor(`{ cluster: prod-eks, roleArn: "${role}" }`);
    const client = await registry.clientFor('prod');
    const signal = new AbortController().signal;
    await client.listGitRepositories(signal);
    expect(kube.requests.at(-1)?.user).toBe('session-one');
    expect(sts.calls).toHaveLength(1);
    // 56 minutes in (the session ends at 60): this request still goes out with the first session, and the renewal
    // starts beside it.
    now = t0 + minutes(56);
    await client.listGitRepositories(signal);
    expect(kube.requests.at(-1)?.user).toBe('session-one');
    for (let i = 0; i < 100 && sts.calls.length < 2; i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(sts.calls).toHaveLength(2);
    // The token signed at minute 56 is re-signed once past its renewal age, with the new session.
    now = t0 + minutes(67);
    await client.listGitRepositories(signal);
    expect(kube.requests.at(-1)).toMatchObject({ user: 'session-two', status: 200 });
    expect(sts.calls).toHaveLength(2);
  });
});
