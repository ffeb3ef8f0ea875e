/**
 * The gcr receiver: what it reads from Artifact Registry's messages (in Pub/Sub's envelope or unwrapped), and, through
 * the real handler, that the path token is checked before Google's token and both must hold.
 */
import { readFileSync } from 'node:fs';
import type { ReceiverConfig } from '../../lib/config/schema';
import { MalformedPayload } from '../../lib/delivery/errors';
import type { WebhookRequest } from '../../lib/http/request';
import { gcr } from '../../lib/providers/gcr';
import { KubeApiTestServer } from '../support/kube-api-server';
import { registerTestSecret } from '../support/log-scan';
import {
  apiGatewayEvent,
  captureOutput,
  loadRelayHandler,
  loadRelayModule,
  relayRules,
  relayUser,
  useSecretsManager,
  type Handler,
} from '../support/relay-harness';
import { SecretsManagerTestServer } from '../support/secrets-manager-server';
import { GoogleCertsTestServer, idToken, pushClaims, pushEnvelope, signingKey } from '../support/google-oidc';

const message = (file: string) =>
  JSON.parse(readFileSync(`tests/fixtures/gcr/${file}.json`, 'utf8')) as Record<string, unknown>;
const repo = 'us-east1-docker.pkg.dev/my-project/my-repo/hello-world';
const digest = `sha256:6ec128e26cd5cbd1a8d6e0d9f3ac1bd8cc2fd6e7d3ae2d43a7f86eb2d0f2f1b8`;
const request = { headers: {} } as unknown as WebhookRequest;

function routed(body: string) {
  const buffer = Buffer.from(body);
  const event = gcr.eventAfterAuthentication!(buffer) as string;
  return {
    event,
    push: gcr.isPush(event) ? gcr.parseArtifactPush!(request, buffer, event, {} as ReceiverConfig) : undefined,
  };
}

describe('reading the message', () => {
  test('a tagged push: the repository, the tag and the digest', () => {
    expect(routed(pushEnvelope(message('insert-tagged')))).toEqual({
      event: 'INSERT',
      push: { repository: repo, artifacts: [{ reference: repo, tag: '1.1', digest }] },
    });
  });

  test('an untagged push: the digest only', () => {
    expect(routed(pushEnvelope(message('insert-untagged'))).push?.artifacts).toEqual([{ reference: repo, digest }]);
  });

  test('the same message unwrapped (Pub/Sub payload unwrapping) reads the same', () => {
    expect(routed(JSON.stringify(message('insert-tagged')))).toEqual(routed(pushEnvelope(message('insert-tagged'))));
  });

  test('a DELETE is an event, not a push', () => {
    expect(routed(pushEnvelope(message('delete-tag')))).toEqual({ event: 'DELETE', push: undefined });
  });

  const envelope = JSON.parse(pushEnvelope(message('insert-tagged'))) as { message: Record<string, unknown> };
  const withData = (data: unknown) => JSON.stringify({ ...envelope, message: { ...envelope.message, data } });
  test.each([
    ['data that is not base64', withData('not base64!')],
    ['data that is base64 of no JSON', withData(Buffer.from('hello').toString('base64'))],
    ['data that is a number', withData(42)],
    ['no data', withData(undefined)],
    ['a message that is not an object', JSON.stringify({ message: 'x' })],
    ['no action', pushEnvelope({ tag: `${repo}:1.1` })],
    ['an action of 500 characters', pushEnvelope({ action: 'I'.repeat(500), tag: `${repo}:1.1` })],
  ])('%s is malformed', (_name, body) => {
    expect(() => routed(body)).toThrow(/Artifact Registry notification/);
  });

  test.each([
    ['neither tag nor digest', { action: 'INSERT' }],
    ['a tag without its repository', { action: 'INSERT', tag: '1.1' }],
    ['a short Docker Hub name', { action: 'INSERT', tag: 'hello-world:1.1' }],
    ['a tag field that carries no tag', { action: 'INSERT', tag: repo }],
    ['a digest field that carries no digest', { action: 'INSERT', digest: `${repo}:1.1` }],
    [
      'tag and digest of different repositories',
      { action: 'INSERT', tag: `${repo}:1.1`, digest: `${repo}-x@${digest}` },
    ],
    ['a tag that is not an OCI tag', { action: 'INSERT', tag: `${repo}:-bad` }],
    ['a tag that is a number', { action: 'INSERT', tag: 11 }],
  ])('an INSERT with %s is malformed', (_name, body) => {
    expect(() => routed(pushEnvelope(body))).toThrow(MalformedPayload);
  });
});

describe('through the handler: the path token first, then Google’s token', () => {
  const identity = {
    audience: 'https://relay.example.com/hooks/gar',
    serviceAccount: 'relay-push@my-project.iam.gserviceaccount.com',
  };
  const pathToken = 'gar-path-token-4b8e1f0a9c3d';
  const google = signingKey('google-key');
  const stranger = signingKey('stranger-key');
  let cluster: KubeApiTestServer;
  let sm: SecretsManagerTestServer;
  let certs: GoogleCertsTestServer;
  let handler: Handler;
  const body = pushEnvelope(message('insert-tagged'));
  const config = `
clusters:
  c: { kubeconfig: relay/kubeconfig }
receivers:
  gar: { provider: gcr, secret: relay/gar, audience: '${identity.audience}', serviceAccount: ${identity.serviceAccount} }
`;
  /** The push as Pub/Sub posts it to the receiver's token URL, with `authorization` when given. */
  const push = (authorization: string | undefined, token = pathToken) =>
    apiGatewayEvent({
      receiver: 'gar',
      body,
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      pathToken: token,
    });

  beforeAll(async () => {
    [cluster, sm, certs] = await Promise.all([
      KubeApiTestServer.start(),
      SecretsManagerTestServer.start(),
      GoogleCertsTestServer.start([google]),
    ]);
    cluster.addServiceAccount('sa', relayUser, relayRules);
    cluster.put({
      apiVersion: 'image.toolkit.fluxcd.io/v1',
      kind: 'ImageRepository',
      metadata: { name: 'hello', namespace: 'flux-system' },
      spec: { interval: '5m', image: repo },
    });
    sm.put('relay/kubeconfig', cluster.kubeconfig('sa'));
    sm.put('relay/gar', pathToken);
    useSecretsManager(sm);
    process.env.RELAY_GOOGLE_CERTS_URL = certs.url;
    handler = loadRelayHandler(config);
  });
  afterAll(async () => {
    delete process.env.RELAY_GOOGLE_CERTS_URL;
    await Promise.all([cluster.close(), sm.close(), certs.close()]);
  });
  beforeEach(() => {
    cluster.clearRequests();
    certs.requests.length = 0;
    certs.failWith(undefined);
  });

  const send = (authorization: string | undefined, token = pathToken) => {
    if (authorization) registerTestSecret(authorization.replace(/^Bearer /i, ''), 'gcr test ID token');
    return captureOutput(() => handler(push(authorization, token)));
  };
  const answer = (result: { body?: string }) => JSON.parse(result.body as string) as Record<string, unknown>;
  const valid = () => `Bearer ${idToken(google, pushClaims(identity))}`;

  test('both right: the ImageRepository is reconciled', async () => {
    const { result } = await send(valid());
    expect(result.statusCode).toBe(200);
    expect(answer(result).patched).toEqual(['c/flux-system/ImageRepository/hello']);
  });

  test('the scheme is case-insensitive (RFC 6750)', async () => {
    const { result } = await send(valid().replace('Bearer', 'bearer'));
    expect(result.statusCode).toBe(200);
  });

  test('a wrong path token with a valid Google token: 404, and Google’s keys are not even fetched', async () => {
    const { result } = await send(valid(), `${pathToken}x`);
    expect(result.statusCode).toBe(404);
    expect(certs.requests).toHaveLength(0);
    expect(cluster.requests).toHaveLength(0);
  });

  const refusals: Array<[string, () => string | undefined, RegExp]> = [
    ['no Authorization header', () => undefined, /authorization header is missing/],
    [
      'Basic credentials',
      () => `Basic ${Buffer.from('a:b').toString('base64')}`,
      /does not hold a JWT after the scheme Bearer/,
    ],
    [
      'a token for another audience',
      () => `Bearer ${idToken(google, { ...pushClaims(identity), aud: 'https://other.example.com' })}`,
      /aud/,
    ],
    [
      "a token of another project's service account (CVE-2026-40109)",
      () =>
        `Bearer ${idToken(google, { ...pushClaims(identity), email: 'attacker@evil-project.iam.gserviceaccount.com' })}`,
      /email/,
    ],
    [
      'a token Google did not sign',
      () => `Bearer ${idToken(stranger, pushClaims(identity))}`,
      /key Google does not publish/,
    ],
  ];
  test.each(refusals)('%s: 401, a log line that says why, no cluster request', async (_name, authorization, why) => {
    const { result, lines } = await send(authorization());
    expect(result.statusCode).toBe(401);
    expect(cluster.requests).toHaveLength(0);
    const line = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.message === 'delivery');
    expect(JSON.stringify(line)).toMatch(why);
  });

  test("in Lambda init Google's keys are fetched before the first delivery, which then fetches none", async () => {
    process.env.AWS_LAMBDA_INITIALIZATION_TYPE = 'on-demand';
    try {
      const { handler: warm, warmedUp } = loadRelayModule(config);
      await warmedUp;
      expect(certs.requests).toEqual([{ method: 'GET', path: '/oauth2/v3/certs' }]);
      const result = await warm(push(valid()));
      expect(result.statusCode).toBe(200);
      expect(certs.requests).toHaveLength(1);
    } finally {
      delete process.env.AWS_LAMBDA_INITIALIZATION_TYPE;
    }
  });

  test("Google's keys unreachable: 503 keys_unavailable (Pub/Sub redelivers), no cluster request", async () => {
    certs.failWith({ status: 503 });
    const result = await loadRelayHandler(config)(push(valid()));
    expect(result.statusCode).toBe(503);
    expect(answer(result).reason).toBe('keys_unavailable');
    expect(cluster.requests.filter((r) => r.method === 'PATCH')).toHaveLength(0);
  });
});
