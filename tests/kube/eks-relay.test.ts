import { EksTestServer, StsTestServer } from '../support/eks-sts-servers';
import { KubeApiTestServer } from '../support/kube-api-server';
import { SecretsManagerTestServer } from '../support/secrets-manager-server';
import {
  gitRepository,
  githubWebhookSecret,
  type Handler,
  loadRelayHandler,
  loadRelayModule,
  patchRequests,
  relayRules,
  signedBranchPush,
  useSecretsManager,
} from '../support/relay-harness';

// The relay reaching EKS clusters with its own IAM identity only: DescribeCluster on the loopback EKS, tokens signed
// by the relay and verified by the loopback API server (signature re-computed with the SDK's signer, cluster name,
// expiry), RBAC by the access entry's group. Secrets Manager holds the webhook secret and nothing about the cluster.

const region = 'eu-west-1';
const group = 'flux-webhook-relay';
const lambdaRole = 'arn:aws:iam::123456789012:role/flux-webhook-relay-prod-relay';
/** What Lambda puts in the function's environment: the execution role's session credentials. */
const lambdaCredentials = {
  accessKeyId: 'ASIALAMBDAEXAMPLE',
  secretAccessKey: 'lambda/Secret+Key/EXAMPLEKEYexamplekey01',
  sessionToken: 'lambda-session-token-EXAMPLE',
};
const crossAccountRole = 'arn:aws:iam::210987654321:role/flux-webhook-relay-access';
const assumedCredentials = {
  accessKeyId: 'ASIAASSUMEDEXAMPLE',
  secretAccessKey: 'assumed/Secret+Key/EXAMPLEKEYexample02',
  sessionToken: 'assumed-session-token-EXAMPLE',
};

let prod: KubeApiTestServer;
let other: KubeApiTestServer;
let eks: EksTestServer;
let sts: StsTestServer;
let sm: SecretsManagerTestServer;

beforeAll(async () => {
  [prod, other, eks, sts, sm] = await Promise.all([
    KubeApiTestServer.start(),
    KubeApiTestServer.start(),
    EksTestServer.start(),
    StsTestServer.start(),
    SecretsManagerTestServer.start(),
  ]);
  for (const [server, name, principal, credentials] of [
    [prod, 'prod-eks', lambdaRole, lambdaCredentials],
    [other, 'other-eks', crossAccountRole, assumedCredentials],
  ] as const) {
    server.eksAuthentication({ clusterName: name });
    server.addEksAccessEntry({ credentials, principalArn: principal, groups: [group] });
    server.bindGroup(group, relayRules);
    server.put(
      gitRepository('flux-system', 'hello', 'https://github.com/Codertocat/Hello-World', { branch: 'master' }),
    );
    eks.put({ name, endpoint: server.url, caPem: server.caPem });
  }
  eks.addCredentials(lambdaCredentials);
  eks.addCredentials(assumedCredentials);
  sts.addCredentials(lambdaCredentials);
  sts.addRole(crossAccountRole, { trusted: [lambdaCredentials.accessKeyId], credentials: assumedCredentials });
  sm.put('relay/github', githubWebhookSecret);
  useSecretsManager(sm);
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: lambdaCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: lambdaCredentials.secretAccessKey,
    AWS_SESSION_TOKEN: lambdaCredentials.sessionToken,
    AWS_REGION: region,
    AWS_ENDPOINT_URL_EKS: eks.endpoint,
    AWS_ENDPOINT_URL_STS: sts.endpoint,
  });
});

afterAll(async () => {
  delete process.env.AWS_LAMBDA_INITIALIZATION_TYPE;
  await Promise.all([prod.close(), other.close(), eks.close(), sts.close(), sm.close()]);
});

beforeEach(async () => {
  // A relay loaded by the previous test opens its watch after its first list: let that arrive before counting.
  let seen = -1;
  while (seen !== prod.requests.length + other.requests.length) {
    seen = prod.requests.length + other.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  prod.clearRequests();
  other.clearRequests();
  eks.calls.length = 0;
  sts.calls.length = 0;
  sm.calls.length = 0;
  prod.fault(undefined);
  eks.fail(undefined);
});

/** One EKS cluster, named `name` in the configuration, and the GitHub receiver. */
const config = (eksSettings: string, name = 'prod') => `
clusters:
  ${name}:
    eks: ${eksSettings}
receivers:
  github: { provider: github, secret: relay/github }
`;

function body(result: { body?: string }): Record<string, unknown> {
  return JSON.parse(result.body as string) as Record<string, unknown>;
}

test('a push reconciles through the real handler on a cluster reached by signed token only; Secrets Manager is asked for the webhook secret alone', async () => {
  const handler: Handler = loadRelayHandler(config(`{ cluster: prod-eks, region: ${region} }`));
  const first = await handler(signedBranchPush());
  expect(first.statusCode).toBe(200);
  expect(body(first)).toMatchObject({ outcome: 'patched', patched: ['prod/flux-system/GitRepository/hello'] });
  expect((await handler(signedBranchPush())).statusCode).toBe(200);

  // Every API request authenticated by an EKS token, as the access entry's principal with its group.
  expect(prod.requests.length).toBeGreaterThanOrEqual(4);
  // (relayRules has no `watch`: the GitRepository watch is refused by RBAC, after authentication, and the client lists.)
  for (const r of prod.requests)
    expect(r).toMatchObject({
      authorized: r.verb !== 'watch',
      authentication: 'eks',
      user: lambdaRole,
      groups: [group],
    });
  expect(patchRequests(prod).map((r) => r.status)).toEqual([200, 200]);
  // DescribeCluster once per container, signed with the Lambda's own credentials; no AssumeRole without roleArn.
  expect(eks.calls).toEqual([{ cluster: 'prod-eks', accessKeyId: lambdaCredentials.accessKeyId }]);
  expect(sts.calls).toEqual([]);
  expect(sm.calls.map((c) => c.secretId)).toEqual(['relay/github']);
});

test('with endpoint and certificateAuthority in the configuration, DescribeCluster is not called', async () => {
  const ca = Buffer.from(prod.caPem).toString('base64');
  const handler = loadRelayHandler(
    config(`{ cluster: prod-eks, region: ${region}, endpoint: "${prod.url}", certificateAuthority: "${ca}" }`),
  );
  expect((await handler(signedBranchPush())).statusCode).toBe(200);
  expect(eks.calls).toEqual([]);
  expect(patchRequests(prod).map((r) => r.authentication)).toEqual(['eks']);
});

test('a 401 from the API server makes the relay sign a new token and send the request once more', async () => {
  const handler = loadRelayHandler(config(`{ cluster: prod-eks, region: ${region} }`));
  prod.fault({ match: (r) => r.method === 'PATCH', status: 401, times: 1 });
  const result = await handler(signedBranchPush());
  expect(result.statusCode).toBe(200);
  expect(body(result)).toMatchObject({ outcome: 'patched', failed: [] });
  expect(patchRequests(prod).map((r) => r.status)).toEqual([401, 200]);
});

test('an API server that refuses every token is a failure after one renewal, not a loop', async () => {
  const handler = loadRelayHandler(config(`{ cluster: prod-eks, region: ${region} }`));
  prod.fault({ match: (r) => r.method === 'PATCH', status: 401 });
  const result = await handler(signedBranchPush());
  expect(result.statusCode).toBe(502);
  expect(body(result).failed).toEqual([
    { target: 'prod/flux-system/GitRepository/hello', error: expect.stringMatching(/HTTP 401/) },
  ]);
  expect(patchRequests(prod).map((r) => r.status)).toEqual([401, 401]);
});

test("DescribeCluster failing: the 502 names the cluster and AWS's reason, and nothing is patched", async () => {
  const handler = loadRelayHandler(config(`{ cluster: no-such-eks, region: ${region} }`));
  const result = await handler(signedBranchPush());
  expect(result.statusCode).toBe(502);
  expect(body(result).failed).toEqual([
    {
      target: 'prod/*',
      error:
        'cluster prod: eks:DescribeCluster of no-such-eks in eu-west-1 failed (ResourceNotFoundException: No cluster found for name: no-such-eks.)',
    },
  ]);
  expect(prod.requests).toEqual([]);

  // Access denied is reported the same way (the role lacks eks:DescribeCluster on the cluster).
  eks.fail({
    status: 403,
    code: 'AccessDeniedException',
    message: 'User is not authorized to perform: eks:DescribeCluster',
  });
  const denied = await loadRelayHandler(config(`{ cluster: prod-eks, region: ${region} }`))(signedBranchPush());
  expect(denied.statusCode).toBe(502);
  expect(body(denied).failed).toEqual([
    {
      target: 'prod/*',
      error: expect.stringContaining(
        'cluster prod: eks:DescribeCluster of prod-eks in eu-west-1 failed (AccessDeniedException: User is not authorized',
      ),
    },
  ]);
});

test('a cluster in another account: AssumeRole first (signed with the Lambda credentials), then DescribeCluster and tokens as that role', async () => {
  const handler = loadRelayHandler(
    config(`{ cluster: other-eks, region: ${region}, roleArn: "${crossAccountRole}" }`, 'other'),
  );
  expect((await handler(signedBranchPush())).statusCode).toBe(200);
  expect((await handler(signedBranchPush())).statusCode).toBe(200);
  // Assumed once and cached (the session lasts an hour).
  expect(sts.calls).toEqual([
    {
      action: 'AssumeRole',
      accessKeyId: lambdaCredentials.accessKeyId,
      roleArn: crossAccountRole,
      roleSessionName: 'flux-webhook-relay',
      durationSeconds: 3600,
    },
  ]);
  expect(eks.calls).toEqual([{ cluster: 'other-eks', accessKeyId: assumedCredentials.accessKeyId }]);
  expect(patchRequests(other).map((r) => [r.status, r.user])).toEqual([
    [200, crossAccountRole],
    [200, crossAccountRole],
  ]);
});

test("AssumeRole refused: the 502 names the cluster, the role and STS's reason", async () => {
  const handler = loadRelayHandler(
    config(
      `{ cluster: other-eks, region: ${region}, roleArn: "arn:aws:iam::210987654321:role/not-trusting-us" }`,
      'other',
    ),
  );
  const result = await handler(signedBranchPush());
  expect(result.statusCode).toBe(502);
  expect(body(result).failed).toEqual([
    {
      target: 'other/*',
      error: expect.stringMatching(
        /^cluster other: sts:AssumeRole of arn:aws:iam::210987654321:role\/not-trusting-us failed \(AccessDenied: User: .* is not authorized to perform: sts:AssumeRole/,
      ),
    },
  ]);
  expect(other.requests).toEqual([]);
});

test('in Lambda init, the warm-up describes the EKS cluster and opens the connection with a token', async () => {
  process.env.AWS_LAMBDA_INITIALIZATION_TYPE = 'on-demand';
  try {
    const { handler, warmedUp } = loadRelayModule(config(`{ cluster: prod-eks, region: ${region} }`));
    await warmedUp;
    expect(eks.calls).toHaveLength(1);
    const list = prod.requests.find((r) => r.verb === 'list');
    expect(list).toMatchObject({ status: 200, authentication: 'eks' });
    expect((await handler(signedBranchPush())).statusCode).toBe(200);
    expect(eks.calls).toHaveLength(1);
  } finally {
    delete process.env.AWS_LAMBDA_INITIALIZATION_TYPE;
  }
});
