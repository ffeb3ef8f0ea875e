import { systemClock } from '../../lib/time/clock';
import type { KubeApiTestServer } from '../support/kube-api-server';
import type { SecretsManagerTestServer } from '../support/secrets-manager-server';
import {
  apiGatewayEvent,
  captureOutput,
  deliveryLines,
  type Handler,
  loadRelayHandler,
  loadRelayModule,
  logLines,
  patchRequests,
  signedBranchPush,
  startGitHubRelayFixture,
} from '../support/relay-harness';
import { loadRelayHandlerWithClock } from '../retry/support';

/*
 * Webhook secrets that must not authenticate anything (empty or short values, in any stage), a previous version
 * without the receiver's `#key`, a Secrets Manager outage while a bad signature arrives, and the forced re-read's
 * rate limit with a cache TTL of 0. Every delivery goes through the real handler and the loopback Secrets Manager.
 */

let cluster: KubeApiTestServer;
let sm: SecretsManagerTestServer;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ cluster, sm, close } = await startGitHubRelayFixture());
});

afterEach(() => sm.fault(undefined));
afterAll(() => close());

/** A relay whose `github` receiver reads `secret` (a fresh container: nothing cached). */
function relayWith(secret: string, limits = ''): Handler {
  return loadRelayHandler(`
clusters:
  prod: { kubeconfig: relay/kubeconfig }
receivers:
  github: { provider: github, secret: ${secret} }
${limits}`);
}

const callsFor = (secretId: string) => sm.calls.filter((c) => c.secretId === secretId);
const longSecret = 'a-long-enough-webhook-secret-0001';
const rotatedSecret = 'a-long-enough-webhook-secret-0002';

describe('empty and short webhook secrets verify nothing', () => {
  test('a placeholder {"github": ""} left as AWSPREVIOUS does not verify a delivery signed with the empty key', async () => {
    sm.put('relay/placeholder', JSON.stringify({ github: '' }));
    sm.put('relay/placeholder', JSON.stringify({ github: longSecret }));
    const handler = relayWith('relay/placeholder#github');
    cluster.clearRequests();
    const { result, lines } = await captureOutput(() => handler(signedBranchPush('')));
    expect(result.statusCode).toBe(401);
    expect(JSON.parse(result.body as string).reason).toBe('bad_signature');
    expect(patchRequests(cluster)).toHaveLength(0);
    // The operator learns which secret is unusable (by reference, never by value).
    const warnings = logLines(lines, 'webhook secret version refused');
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings[0]).toMatchObject({ level: 'WARN', secret: 'relay/placeholder#github', stage: 'AWSPREVIOUS' });
    // The real secret still verifies.
    expect((await handler(signedBranchPush(longSecret))).statusCode).toBe(200);
  });

  test('a current secret shorter than 16 bytes is refused: the delivery signed with it is a 401 naming no secret, the log line names it', async () => {
    const short = 'fifteen-bytes!!';
    expect(Buffer.byteLength(short)).toBe(15);
    sm.put('relay/short', short);
    const handler = relayWith('relay/short');
    cluster.clearRequests();
    const { result, lines } = await captureOutput(() => handler(signedBranchPush(short)));
    expect(result.statusCode).toBe(401);
    expect(JSON.parse(result.body as string).reason).toBe('bad_signature');
    expect(result.body).not.toContain('relay/short');
    expect(patchRequests(cluster)).toHaveLength(0);
    expect(logLines(lines, 'webhook secret version refused')[0]).toMatchObject({
      secret: 'relay/short',
      stage: 'AWSCURRENT',
    });
    expect(String(deliveryLines(lines)[0]!.reason)).toMatch(/webhook secret relay\/short has no usable value/);
  });

  test('exactly 16 bytes is enough', async () => {
    const sixteen = 'sixteen-bytes-ok';
    sm.put('relay/sixteen', sixteen);
    expect((await relayWith('relay/sixteen')(signedBranchPush(sixteen))).statusCode).toBe(200);
  });

  test('a value the forced re-read brings in is checked too', async () => {
    sm.put('relay/forced', longSecret);
    const handler = relayWith('relay/forced');
    expect((await handler(signedBranchPush(longSecret))).statusCode).toBe(200);
    // Rotated to an empty value while cached: the delivery signed with it makes the relay re-read, and refuse it.
    sm.put('relay/forced', '');
    cluster.clearRequests();
    const { result, lines } = await captureOutput(() => handler(signedBranchPush('')));
    expect(result.statusCode).toBe(401);
    expect(patchRequests(cluster)).toHaveLength(0);
    expect(logLines(lines, 'webhook secret version refused')[0]).toMatchObject({
      secret: 'relay/forced',
      stage: 'AWSCURRENT',
    });
  });

  test('a local (env:) secret the relay will refuse is reported when it starts, before any delivery', async () => {
    process.env.RELAY_TEST_SHORT_WEBHOOK_SECRET = 'too-short';
    try {
      const before = sm.calls.length;
      const { lines } = await captureOutput(async () => {
        const { warmedUp } = loadRelayModule(`
clusters:
  prod: { kubeconfig: relay/kubeconfig }
receivers:
  github: { provider: github, secret: env:RELAY_TEST_SHORT_WEBHOOK_SECRET }
`);
        await warmedUp;
      });
      expect(logLines(lines, 'webhook secret version refused')).toEqual([
        expect.objectContaining({
          level: 'WARN',
          secret: 'env:RELAY_TEST_SHORT_WEBHOOK_SECRET',
          stage: 'current',
          reason: 'the value is shorter than 16 bytes',
        }),
      ]);
      // Outside Lambda's init, Secrets Manager is not called at start.
      expect(sm.calls).toHaveLength(before);
    } finally {
      delete process.env.RELAY_TEST_SHORT_WEBHOOK_SECRET;
    }
  });

  test('a short generic bearer token and a short azure-devops user:password are refused alike', async () => {
    sm.put('relay/short-token', 'tok');
    sm.put('relay/short-basic', 'u:p');
    const handler = loadRelayHandler(`
clusters:
  prod: { kubeconfig: relay/kubeconfig }
receivers:
  trigger:
    provider: generic
    secret: relay/short-token
    targets: [{ cluster: prod, kind: GitRepository, name: hello, namespace: flux-system }]
  azure: { provider: azure-devops, secret: relay/short-basic }
`);
    cluster.clearRequests();
    const bearer = await handler(
      apiGatewayEvent({ receiver: 'trigger', body: '', headers: { authorization: 'Bearer tok' } }),
    );
    expect(bearer.statusCode).toBe(401);
    const basic = await handler(
      apiGatewayEvent({
        receiver: 'azure',
        body: JSON.stringify({ eventType: 'git.push' }),
        headers: {
          'content-type': 'application/json',
          authorization: `Basic ${Buffer.from('u:p').toString('base64')}`,
        },
      }),
    );
    expect(basic.statusCode).toBe(401);
    expect(patchRequests(cluster)).toHaveLength(0);
  });
});

describe('a previous version without the #key', () => {
  test('means "no previous version": a bad signature is a 401, and after a rotation the new secret verifies at once', async () => {
    // The JSON secret gained the `github` key in its current version; AWSPREVIOUS does not have it.
    sm.put('relay/gained-key', JSON.stringify({ gitlab: 'a-long-enough-gitlab-token-0001' }));
    sm.put('relay/gained-key', JSON.stringify({ gitlab: 'a-long-enough-gitlab-token-0001', github: longSecret }));
    const handler = relayWith('relay/gained-key#github');
    const { result, lines } = await captureOutput(() => handler(signedBranchPush('never-the-secret-value')));
    expect(result.statusCode).toBe(401);
    expect(JSON.parse(result.body as string).reason).toBe('bad_signature');
    expect(logLines(lines, 'previous webhook secret version ignored')[0]).toMatchObject({
      secret: 'relay/gained-key#github',
      stage: 'AWSPREVIOUS',
    });
    expect((await handler(signedBranchPush(longSecret))).statusCode).toBe(200);
  });

  test('after a rotation, the cached keyless previous version does not block the new secret (no 503 until the TTL ends)', async () => {
    let offsetNs = 0n;
    const handler = loadRelayHandlerWithClock(
      `
clusters:
  prod: { kubeconfig: relay/kubeconfig }
receivers:
  github: { provider: github, secret: relay/rotated-key#github }
`,
      () => systemClock() + offsetNs,
    );
    sm.put('relay/rotated-key', JSON.stringify({ gitlab: 'a-long-enough-gitlab-token-0001' }));
    sm.put('relay/rotated-key', JSON.stringify({ gitlab: 'a-long-enough-gitlab-token-0001', github: longSecret }));
    // A bad signature caches both stages, the keyless previous one included (and uses the forced re-read).
    expect((await handler(signedBranchPush('never-the-secret-value'))).statusCode).toBe(401);
    sm.put('relay/rotated-key', JSON.stringify({ github: rotatedSecret }));
    // Once the re-read interval (30 s) has passed, the delivery signed with the new secret makes the relay re-read.
    offsetNs += 31_000_000_000n;
    expect((await handler(signedBranchPush(rotatedSecret))).statusCode).toBe(200);
    // And the provider not yet re-keyed, signing with the version before (now AWSPREVIOUS), verifies too: the cached
    // keyless previous version went with the current one it belonged to.
    expect((await handler(signedBranchPush(longSecret))).statusCode).toBe(200);
  });

  test('the current version lacking the key is still a 503 secret_unavailable', async () => {
    sm.put('relay/keyless-current', JSON.stringify({ gitlab: 'a-long-enough-gitlab-token-0001' }));
    const result = await relayWith('relay/keyless-current#github')(signedBranchPush(longSecret));
    expect(result.statusCode).toBe(503);
    expect(JSON.parse(result.body as string).reason).toBe('secret_unavailable');
  });
});

describe('a Secrets Manager outage', () => {
  test('a bad signature during it is a 401 and does not evict the cached secret: correctly signed deliveries keep verifying', async () => {
    sm.put('relay/outage', rotatedSecret);
    sm.put('relay/outage', longSecret);
    const handler = relayWith('relay/outage');
    // Signed with the previous version: both stages are read and cached, without a forced re-read.
    expect((await handler(signedBranchPush(rotatedSecret))).statusCode).toBe(200);
    expect(callsFor('relay/outage').map((c) => c.versionStage)).toEqual(['AWSCURRENT', 'AWSPREVIOUS']);
    sm.fault({ status: 500, type: 'InternalServiceError', message: 'outage' });
    const { result, lines } = await captureOutput(() => handler(signedBranchPush('never-the-secret-value')));
    // Both cached versions were tried: the forced re-read failing does not turn a forgery into a 503.
    expect(result.statusCode).toBe(401);
    expect(logLines(lines, 'webhook secret could not be re-read; the cached versions stay in use')[0]).toMatchObject({
      secret: 'relay/outage',
    });
    // The forced re-read happened (and failed): it must not have cost the cached versions.
    expect(callsFor('relay/outage').length).toBeGreaterThan(2);
    expect((await handler(signedBranchPush(longSecret))).statusCode).toBe(200);
    expect((await handler(signedBranchPush(rotatedSecret))).statusCode).toBe(200);
  });

  test('a version the delivery needs and the cache does not hold is a 503 (it could not be checked), and costs the cache nothing', async () => {
    sm.put('relay/outage-uncached', rotatedSecret);
    sm.put('relay/outage-uncached', longSecret);
    const handler = relayWith('relay/outage-uncached');
    // Only AWSCURRENT is read and cached: the delivery verifies against it.
    expect((await handler(signedBranchPush(longSecret))).statusCode).toBe(200);
    sm.fault({ status: 500, type: 'InternalServiceError', message: 'outage' });
    // Not the current secret, and AWSPREVIOUS cannot be read: a hook signing with it would be refused wrongly, so 503.
    const result = await handler(signedBranchPush(rotatedSecret));
    expect(result.statusCode).toBe(503);
    expect(JSON.parse(result.body as string).reason).toBe('secret_unavailable');
    expect((await handler(signedBranchPush(longSecret))).statusCode).toBe(200);
  });
});

describe('the forced re-read limit', () => {
  test('holds with secretCacheTtlSeconds: 0: ten bad signatures cost one forced re-read, not ten', async () => {
    sm.put('relay/ttl0', longSecret);
    const handler = relayWith('relay/ttl0', 'limits: { secretCacheTtlSeconds: 0 }');
    for (let i = 0; i < 10; i += 1)
      expect((await handler(signedBranchPush('never-the-secret-value'))).statusCode).toBe(401);
    // With a TTL of 0 every delivery reads both stages (2 calls); only the first adds a forced re-read of both (2
    // more): 10 × 2 + 2. Without the floor, each delivery re-read again: 40.
    expect(callsFor('relay/ttl0')).toHaveLength(22);
  });
});
