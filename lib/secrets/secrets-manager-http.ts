import {
  type Environment,
  awsCredentials,
  awsEndpointUrl,
  awsNonDefaultEndpoints,
  awsRegion,
  processEnv,
} from '../runtime/env';
import http from 'node:http';
import https from 'node:https';
import aws4 from 'aws4';

/**
 * GetSecretValue, the one Secrets Manager call the relay makes, as a signed HTTPS request (SigV4 by the `aws4`
 * package) instead of through @aws-sdk/client-secrets-manager, when the credentials are in the environment — as they
 * always are on Lambda (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN). Elsewhere (a developer's
 * profile, SSO) the SDK and its credential chain are used, loaded only then (lib/secrets/aws-secrets-manager.ts).
 *
 * Why not the SDK everywhere: it costs about a fifth of a cold start, to load and for its first call
 * (docs/decisions.md has the measurement). The protocol is small
 * and stable: one POST of a JSON body with `X-Amz-Target: secretsmanager.GetSecretValue` (AWS JSON 1.1), errors as
 * `{"__type": ..., "Message": ...}` (Secrets Manager API reference, "Common Errors"); the endpoint variables are the
 * SDKs' own (AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL; "Service-specific endpoints", AWS SDKs and Tools
 * reference guide). tests/secrets/secrets-manager-http.test.ts checks the signature against the SDK's own signer.
 */
export interface SecretValue {
  SecretString?: string;
  /** Base64, as the JSON protocol carries blobs. */
  SecretBinary?: string;
  VersionId?: string;
}

/** A Secrets Manager error answer, by its exception name (`ResourceNotFoundException`, `AccessDeniedException`...). */
export class SecretsManagerError extends Error {
  override readonly name = 'SecretsManagerError';
  constructor(
    readonly type: string,
    message: string,
    readonly status: number,
  ) {
    super(`${type}: ${message}`);
  }
}

export type GetSecretValue = (secretId: string, stage: 'AWSCURRENT' | 'AWSPREVIOUS') => Promise<SecretValue>;

export interface SignedClientOptions {
  /** Two attempts, as the SDK client the relay used to build: a slow Secrets Manager must not eat the delivery. */
  maxAttempts?: number;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
}

/** The client, or undefined when the environment has no credentials or no region (then the SDK's chain decides). */
export function signedGetSecretValue(
  env: Environment = processEnv(),
  options: SignedClientOptions = {},
): GetSecretValue | undefined {
  const credentials = awsCredentials(env);
  const region = awsRegion(env);
  if (!credentials || !region) return undefined;
  // The one endpoint rule this client knows is the commercial and GovCloud partitions' `secretsmanager.<region>.
  // amazonaws.com`. FIPS or dual-stack endpoints, China and the isolated partitions have other host names: the SDK's
  // endpoint rules decide those (unless an endpoint is given explicitly).
  const explicitEndpoint = awsEndpointUrl('SECRETS_MANAGER', env);
  const otherEndpoint =
    awsNonDefaultEndpoints(env) ||
    !/^(us|eu|ap|sa|ca|me|af|il|mx)(-gov)?-[a-z]+-\d+$/.test(region) ||
    /-iso[a-z]*-/.test(region);
  if (!explicitEndpoint && otherEndpoint) return undefined;
  const endpoint = new URL(explicitEndpoint ?? `https://secretsmanager.${region}.amazonaws.com`);
  const transport = endpoint.protocol === 'http:' ? http : https;
  const agent = new transport.Agent({ keepAlive: true, maxSockets: 16 });
  const maxAttempts = options.maxAttempts ?? 2;
  const connectTimeoutMs = options.connectTimeoutMs ?? 1000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 2000;

  const once = (body: string): Promise<SecretValue> => {
    // aws4 fills in Host, X-Amz-Date, X-Amz-Security-Token and Authorization (SigV4 over these headers and the body).
    const signed = aws4.sign(
      {
        host: endpoint.host,
        path: '/',
        method: 'POST',
        service: 'secretsmanager',
        region,
        body,
        headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'secretsmanager.GetSecretValue' },
      },
      credentials,
    );
    return new Promise<SecretValue>((resolve, reject) => {
      const req = transport.request(
        {
          protocol: endpoint.protocol,
          hostname: endpoint.hostname,
          port: endpoint.port,
          path: '/',
          method: 'POST',
          agent,
          headers: signed.headers as http.OutgoingHttpHeaders,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            clearTimeout(overall);
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: Record<string, unknown> = {};
            try {
              parsed = JSON.parse(text) as Record<string, unknown>;
            } catch {
              // An answer that is not JSON (a proxy's error page) is reported by its status below.
            }
            const status = res.statusCode ?? 0;
            if (status === 200) return resolve(parsed as SecretValue);
            // `__type` may carry a namespace prefix (`com.amazonaws...#Name`); `message` or `Message` by service.
            const type = String(parsed.__type ?? `HTTP ${status}`).replace(/^.*#/, '');
            reject(new SecretsManagerError(type, String(parsed.Message ?? parsed.message ?? '').slice(0, 300), status));
          });
        },
      );
      const overall = setTimeout(
        () => req.destroy(Object.assign(new Error(`no answer within ${requestTimeoutMs} ms`), { code: 'ETIMEDOUT' })),
        requestTimeoutMs,
      );
      req.on('socket', (socket) => {
        if (socket.connecting) {
          const connect = setTimeout(
            () =>
              req.destroy(
                Object.assign(new Error(`no connection within ${connectTimeoutMs} ms`), { code: 'ETIMEDOUT' }),
              ),
            connectTimeoutMs,
          );
          socket.once('connect', () => clearTimeout(connect));
          socket.once('close', () => clearTimeout(connect));
        }
      });
      req.on('error', (error) => {
        clearTimeout(overall);
        reject(error);
      });
      req.end(signed.body as string);
    });
  };

  return async (secretId, stage) => {
    const body = JSON.stringify({ SecretId: secretId, VersionStage: stage });
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await once(body);
      } catch (error) {
        // Retried as the SDK's standard mode does: throttling, 5xx and transport errors; never 4xx answers.
        const retryable =
          !(error instanceof SecretsManagerError) || error.status >= 500 || error.type === 'ThrottlingException';
        if (!retryable || attempt >= maxAttempts) throw error;
      }
    }
  };
}
