import { withoutTrailingSlashes } from '../http/trailing-slashes';
import http from 'node:http';
import https from 'node:https';
import aws4 from 'aws4';
import { type AwsCredentials, type Environment, awsEndpointUrl, processEnv } from '../runtime/env';

/**
 * SigV4-signed calls to AWS services the EKS authentication needs (EKS DescribeCluster, STS AssumeRole), signed by the
 * `aws4` package as lib/secrets/secrets-manager-http.ts signs GetSecretValue, and for the same reason: the AWS SDK
 * costs tens of milliseconds of every cold start (that file has the measurement), for two small, stable protocols.
 */

/**
 * A service's endpoint: the explicit one the environment names (lib/runtime/env.ts), else the regional endpoint of the
 * commercial and GovCloud partitions (`<service>.<region>.amazonaws.com`).
 */
export function serviceEndpoint(service: 'eks' | 'sts', region: string, env: Environment = processEnv()): URL {
  return new URL(
    awsEndpointUrl(service === 'eks' ? 'EKS' : 'STS', env) ?? `https://${service}.${region}.amazonaws.com`,
  );
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
  const basePath = withoutTrailingSlashes(endpoint.pathname);
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
      {
        protocol: endpoint.protocol,
        hostname: endpoint.hostname,
        port: endpoint.port,
        path: signed.path,
        method: request.method,
        headers: signed.headers as http.OutgoingHttpHeaders,
      },
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
    const timer = setTimeout(
      () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })),
      timeoutMs,
    );
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
