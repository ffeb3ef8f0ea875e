import type { ProviderName } from '../../lib/config/schema';
import { KubeApiTestServer, type KubeObject } from './kube-api-server';
import {
  apiGatewayEvent,
  captureOutput,
  loadRelayHandler,
  patchRequests,
  relayRules,
  relayUser,
  useSecretsManager,
  type Handler,
} from './relay-harness';
import { SecretsManagerTestServer } from './secrets-manager-server';

/** A delivery as a provider would send it: its exact body bytes (never re-serialised) and its non-credential headers. */
export interface Delivery {
  body: string;
  headers: Record<string, string>;
}

/**
 * What every provider must do, stated once. A provider's test file describes its own deliveries and credential
 * format; `describeProviderContract` runs the same checks through the real Lambda handler against a loopback cluster
 * and Secrets Manager.
 */
export interface ProviderContract {
  provider: ProviderName;
  /** Names the describe block when one provider is run under several receiver settings. */
  title?: string;
  /** Extra receiver fields as YAML flow entries, e.g. `allowSha1: true` or `targets: [...]`. */
  receiverFields?: string;
  /** The webhook secret before and after a rotation, as stored in Secrets Manager (Azure DevOps: `user:password`). */
  secrets: readonly [previous: string, current: string];
  /** The credential headers a provider sends for `body` signed with (or carrying) `secret`. */
  credential(body: string, secret: string): Record<string, string>;
  /** A real push, from a fixture that follows the provider's documented example. */
  push: Delivery;
  /** Objects on the cluster (named `c`) before each delivery. */
  objects: KubeObject[];
  /** Exactly what `push` must patch, as `c/<namespace>/<Kind>/<name>`. */
  expectPatched: string[];
  /** Credential headers in forms the provider never sends (wrong prefix or case, truncated, ...): each gets 401. */
  forgeries: Array<[name: string, credential: (body: string, secret: string) => Record<string, string>]>;
  /**
   * `path`: the provider cannot send a credential, so the secret is the `{token}` path segment and `credential`
   * returns `{ token }`; a missing or wrong token is a 404 (as an unknown receiver), not a 401. Default `header`.
   */
  credentialIn?: 'header' | 'path';
  /** With `path`: the provider also takes a credential header (ACR), so a request without a token is a 401, not a 404. */
  pathTokenOptional?: boolean;
  /** Whether the credential covers the body (HMAC). Token and Basic schemes do not, so a tampered body still passes. */
  signsBody: boolean;
  /** The answer to a correctly authenticated empty body. */
  emptyBodyStatus: number;
  /** An authenticated delivery of an event the receiver does not act on. */
  eventNotAllowed?: Delivery;
  /** The provider's ping/test delivery, answered after authentication without touching a cluster. */
  ping?: Delivery;
}

export function describeProviderContract(spec: ProviderContract): void {
  const saToken = `sa-token-${spec.provider}`;
  let cluster: KubeApiTestServer;
  let sm: SecretsManagerTestServer;
  let handler: Handler;
  const [previousSecret, currentSecret] = spec.secrets;

  const inPath = spec.credentialIn === 'path';
  // A path-token provider's refusals look like an unknown receiver's.
  const refused = inPath ? 404 : 401;
  const send = (delivery: Delivery, credential: Record<string, string>) => {
    if (!inPath)
      return handler(
        apiGatewayEvent({ receiver: 'hook', body: delivery.body, headers: { ...delivery.headers, ...credential } }),
      );
    const { token, ...headers } = credential;
    return handler(
      apiGatewayEvent({
        receiver: 'hook',
        body: delivery.body,
        headers: { ...delivery.headers, ...headers },
        ...(token !== undefined ? { pathToken: token } : {}),
      }),
    );
  };
  const answer = (result: Awaited<ReturnType<Handler>>) => JSON.parse(result.body as string) as Record<string, unknown>;

  describe(spec.title ?? `${spec.provider} receiver`, () => {
    beforeAll(async () => {
      [cluster, sm] = await Promise.all([KubeApiTestServer.start(), SecretsManagerTestServer.start()]);
      cluster.addServiceAccount(saToken, relayUser, relayRules);
      sm.put('relay/kubeconfig', cluster.kubeconfig(saToken));
      sm.put('relay/hook', previousSecret);
      sm.put('relay/hook', currentSecret);
      useSecretsManager(sm);
      const fields = [
        `provider: ${spec.provider}`,
        'secret: relay/hook',
        ...(spec.receiverFields ? [spec.receiverFields] : []),
      ];
      handler = loadRelayHandler(
        `clusters:\n  c: { kubeconfig: relay/kubeconfig }\nreceivers:\n  hook: { ${fields.join(', ')} }\n`,
      );
    });

    afterAll(async () => {
      await Promise.all([cluster.close(), sm.close()]);
    });

    beforeEach(() => {
      for (const obj of spec.objects) {
        cluster.remove(obj.apiVersion, obj.kind, obj.metadata.namespace!, obj.metadata.name);
        cluster.put(structuredClone(obj));
      }
      cluster.clearRequests();
    });

    const annotated = () =>
      spec.objects
        .filter((o) => o.metadata.annotations?.['reconcile.fluxcd.io/requestedAt'] === undefined)
        .filter(
          (o) =>
            cluster.get(o.apiVersion, o.kind, o.metadata.namespace!, o.metadata.name)?.metadata.annotations?.[
              'reconcile.fluxcd.io/requestedAt'
            ],
        )
        .map((o) => `c/${o.metadata.namespace}/${o.kind}/${o.metadata.name}`)
        .sort();

    test('a correctly signed push patches exactly the matching sources', async () => {
      const result = await send(spec.push, spec.credential(spec.push.body, currentSecret));
      expect(answer(result)).toMatchObject({ patched: spec.expectPatched, failed: [] });
      expect(result.statusCode).toBe(200);
      expect(annotated()).toEqual(spec.expectPatched);
    });

    test('the previous secret still verifies after a rotation', async () => {
      const result = await send(spec.push, spec.credential(spec.push.body, previousSecret));
      expect(result.statusCode).toBe(200);
      expect(annotated()).toEqual(spec.expectPatched);
    });

    test(`a wrong secret gets ${refused} and patches nothing`, async () => {
      const result = await send(spec.push, spec.credential(spec.push.body, `${currentSecret}-wrong`));
      expect(result.statusCode).toBe(refused);
      expect(patchRequests(cluster)).toHaveLength(0);
    });

    const missing = spec.pathTokenOptional ? 401 : refused;
    test(`a missing credential gets ${missing} and patches nothing`, async () => {
      const result = await send(spec.push, {});
      expect(result.statusCode).toBe(missing);
      expect(cluster.requests).toHaveLength(0);
    });

    test.each(spec.forgeries.map(([name, credential]) => ({ name, credential })))(
      `$name gets ${refused} and patches nothing`,
      async ({ credential }) => {
        const result = await send(spec.push, credential(spec.push.body, currentSecret));
        expect(result.statusCode).toBe(refused);
        expect(cluster.requests).toHaveLength(0);
      },
    );

    test(
      spec.signsBody
        ? 'a tampered body gets 401 and patches nothing'
        : 'the credential does not cover the body (no body integrity in this scheme)',
      async () => {
        const credential = spec.credential(spec.push.body, currentSecret);
        const index = spec.push.body.lastIndexOf('"');
        const tampered = `${spec.push.body.slice(0, index)} "${spec.push.body.slice(index + 1)}`;
        const result = await send({ ...spec.push, body: tampered }, credential);
        if (spec.signsBody) {
          expect(result.statusCode).toBe(401);
          expect(cluster.requests).toHaveLength(0);
        } else {
          expect(result.statusCode).not.toBe(401);
        }
      },
    );

    test(`an authenticated empty body gets ${spec.emptyBodyStatus}`, async () => {
      const result = await send({ ...spec.push, body: '' }, spec.credential('', currentSecret));
      expect(result.statusCode).toBe(spec.emptyBodyStatus);
      if (spec.emptyBodyStatus >= 400) expect(patchRequests(cluster)).toHaveLength(0);
    });

    if (inPath) {
      test('a wrong token is answered exactly as a receiver that does not exist, and the token is in no log line', async () => {
        const wrongToken = `${currentSecret}-wrong`;
        const { result: wrong, lines } = await captureOutput(() =>
          send(spec.push, spec.credential(spec.push.body, wrongToken)),
        );
        const unknown = await handler(
          apiGatewayEvent({
            receiver: 'hook-that-does-not-exist',
            body: spec.push.body,
            headers: spec.push.headers,
            pathToken: wrongToken,
          }),
        );
        expect(wrong.statusCode).toBe(404);
        expect(unknown.statusCode).toBe(404);
        expect(wrong.body).toBe((unknown.body as string).replace('hook-that-does-not-exist', 'hook'));
        expect(lines.join('\n')).not.toContain(wrongToken);
        expect(lines.join('\n')).toContain('path token does not verify');
        expect(cluster.requests).toHaveLength(0);
      });

      // Not for a provider with an optional token: the route without one is its header route, tested above.
      if (!spec.pathTokenOptional)
        test('the right token on the route without a token segment is a 404, as is a header receiver reached with one', async () => {
          const { token, ...headers } = spec.credential(spec.push.body, currentSecret);
          const result = await handler(
            apiGatewayEvent({
              receiver: 'hook',
              body: spec.push.body,
              headers: { ...spec.push.headers, ...headers, authorization: `Bearer ${token}` },
            }),
          );
          expect(result.statusCode).toBe(404);
          expect(cluster.requests).toHaveLength(0);
        });
    }

    if (spec.eventNotAllowed) {
      const delivery = spec.eventNotAllowed;
      test('an event the receiver does not act on gets a 2xx and touches no cluster', async () => {
        const result = await send(delivery, spec.credential(delivery.body, currentSecret));
        expect(result.statusCode).toBe(200);
        expect(answer(result).outcome).toBe('ignored');
        expect(cluster.requests).toHaveLength(0);
      });
    }

    if (spec.ping) {
      const delivery = spec.ping;
      test('a ping is answered after authentication and touches no cluster', async () => {
        const result = await send(delivery, spec.credential(delivery.body, currentSecret));
        expect(result.statusCode).toBe(200);
        expect(answer(result).outcome).toBe('pong');
        expect(cluster.requests).toHaveLength(0);
        const forged = await send(delivery, spec.credential(delivery.body, `${currentSecret}-wrong`));
        expect(forged.statusCode).toBe(refused);
      });
    }
  });
}
