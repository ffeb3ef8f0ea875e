import http from 'node:http';
import https from 'node:https';
import aws4 from 'aws4';

/**
 * SigV4-signed calls to AWS services the EKS authentication needs (EKS DescribeCluster, STS AssumeRole), signed by the
 * `aws4` package as lib/secrets/secrets-manager-http.ts signs GetSecretValue, and for the same reason: the AWS SDK
 * costs tens of milliseconds of every cold start (that file has the measurement), for two small, stable protocols.
 */

/** AWS credentials; the secret key and session token must never reach a message. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** The credentials Lambda gives every function in its environment, or undefined outside it (no static keys set). */
export function environmentCredentials(env: NodeJS.ProcessEnv = process.env): AwsCredentials | undefined {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) return undefined;
  return { accessKeyId, secretAccessKey, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) };
}

/** The region the function runs in (Lambda sets AWS_REGION). */
export function environmentRegion(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined;
}

/**
 * A service's endpoint: the SDKs' service-specific variable (`AWS_ENDPOINT_URL_EKS`, `AWS_ENDPOINT_URL_STS`), then
 * `AWS_ENDPOINT_URL`, then the regional endpoint of the commercial and GovCloud partitions (`<service>.<region>.
 * amazonaws.com`; "Service-specific endpoints", AWS SDKs and Tools reference guide).
 */
export function serviceEndpoint(service: 'eks' | 'sts', region: string, env: NodeJS.ProcessEnv = process.env): URL {
  const explicit = env[`AWS_ENDPOINT_URL_${service.toUpperCase()}`] || env.AWS_ENDPOINT_URL;
  return new URL(explicit || `https://${service}.${region}.amazonaws.com`);
}

export interface SignedRequest {
  endpoint: URL;
  method: 'GET' | 'POST';
  /** Path and query below the endpoint. */
  path: string;
  service: string;
  region: string;
  headers?: Record<string, string>;
  body?: string;
  credentials: AwsCredentials;
  /** Signing time (ms since the epoch); default now. */
  now?: number;
  timeoutMs?: number;
}

export interface SignedResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** Bound on an answer: DescribeCluster and AssumeRole answers are a few KB. */
const maxAnswerBytes = 1024 * 1024;

/** One signed request and its whole answer; rejects on transport failures and timeouts, never on an HTTP status. */
export function signedRequest(request: SignedRequest): Promise<SignedResponse> {
  const { endpoint } = request;
  const basePath = endpoint.pathname.replace(/\/+$/, '');
  const amzDate = new Date(request.now ?? Date.now()).toISOString().replace(/[:-]|\.\d{3}/g, '');
  const signed = aws4.sign(
    {
      host: endpoint.host,
      path: `${basePath}${request.path}`,
      method: request.method,
      service: request.service,
      region: request.region,
      headers: { ...request.headers, 'X-Amz-Date': amzDate },
      ...(request.body !== undefined ? { body: request.body } : {}),
    },
    request.credentials,
  );
  const transport = endpoint.protocol === 'http:' ? http : https;
  const timeoutMs = request.timeoutMs ?? 3000;
  return new Promise<SignedResponse>((resolve, reject) => {
    const req = transport.request(
      { protocol: endpoint.protocol, hostname: endpoint.hostname, port: endpoint.port, path: signed.path, method: request.method, headers: signed.headers as http.OutgoingHttpHeaders },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= maxAnswerBytes) chunks.push(chunk);
          else req.destroy(Object.assign(new Error(`answer larger than ${maxAnswerBytes} bytes`), { code: 'ETOOBIG' }));
        });
        res.on('error', reject);
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') });
        });
      },
    );
    const timer = setTimeout(() => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })), timeoutMs);
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(signed.body as string | undefined);
  });
}

/** An AWS error answer, by its error code (`ResourceNotFoundException`, `AccessDenied`...). */
export class AwsServiceError extends Error {
  override readonly name = 'AwsServiceError';
  constructor(
    readonly code: string,
    detail: string,
    readonly status: number,
  ) {
    super(`${code}${detail ? `: ${detail}` : ''}`);
  }

  /** Worth trying again: throttling and server errors. Anything else (not found, access denied) would fail again. */
  get retryable(): boolean {
    return this.status >= 500 || this.status === 429 || /Throttl|RequestLimitExceeded|TooManyRequests/.test(this.code);
  }
}
