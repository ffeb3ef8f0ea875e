import type { IncomingMessage } from 'node:http';
import { firstHeader } from './http-body';

/**
 * What AWS's front end checks before a JSON-protocol service (Secrets Manager: awsJson1_1, SQS: awsJson1_0) sees a
 * request: `POST /`, a SigV4 Authorization header with Credential, SignedHeaders and Signature, X-Amz-Date, the
 * protocol's content type, a known `X-Amz-Target` and a JSON object body. The test servers only check that the SDK
 * signed (they cannot verify the signature without the secret key, and the SDK's own tests cover its signing).
 */
export interface AwsJsonProtocol {
  contentType: 'application/x-amz-json-1.0' | 'application/x-amz-json-1.1';
  /** `secretsmanager.`, `AmazonSQS.` */
  targetPrefix: string;
  /** Operations this service has (implemented here or not: an unknown one is a different error from a missing one). */
  knows(operation: string): boolean;
  /** An empty body reads as `{}` (Secrets Manager's SDK may send none for operations without input). */
  emptyBodyIsEmptyObject?: boolean;
}

/** A front-end refusal; each server answers it in its service's error shape. */
export class AwsFrontEndError extends Error {
  constructor(
    readonly status: number,
    /** The exception name (`__type`). */
    readonly type:
      | 'UnknownOperationException'
      | 'MissingAuthenticationTokenException'
      | 'IncompleteSignatureException'
      | 'SerializationException',
    message: string,
  ) {
    super(message);
  }
}

export function parseAwsJsonRequest(
  req: IncomingMessage,
  rawBody: string,
  protocol: AwsJsonProtocol,
): { operation: string; target: string; input: Record<string, unknown> } {
  if (req.method !== 'POST' || (req.url ?? '') !== '/') {
    throw new AwsFrontEndError(
      400,
      'UnknownOperationException',
      `Only POST / is served (got ${req.method} ${req.url})`,
    );
  }
  const authorization = firstHeader(req, 'authorization');
  if (!authorization)
    throw new AwsFrontEndError(400, 'MissingAuthenticationTokenException', 'Request is missing Authentication Token');
  if (
    !authorization.startsWith('AWS4-HMAC-SHA256 Credential=') ||
    !/SignedHeaders=.*Signature=[0-9a-f]{64}/.test(authorization)
  ) {
    throw new AwsFrontEndError(
      400,
      'IncompleteSignatureException',
      `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature'. Authorization=${authorization}`,
    );
  }
  if (!firstHeader(req, 'x-amz-date')) {
    throw new AwsFrontEndError(
      400,
      'IncompleteSignatureException',
      `Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=${authorization}`,
    );
  }
  const contentType = (firstHeader(req, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  if (contentType !== protocol.contentType)
    throw new AwsFrontEndError(400, 'SerializationException', `Unsupported Content-Type: ${contentType || '(none)'}`);
  const target = firstHeader(req, 'x-amz-target') ?? '';
  const operation = target.startsWith(protocol.targetPrefix) ? target.slice(protocol.targetPrefix.length) : '';
  if (!protocol.knows(operation))
    throw new AwsFrontEndError(400, 'UnknownOperationException', `Unknown operation ${target || '(no X-Amz-Target)'}`);
  let input: Record<string, unknown>;
  try {
    const parsed: unknown = rawBody === '' && protocol.emptyBodyIsEmptyObject ? {} : JSON.parse(rawBody);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    input = parsed as Record<string, unknown>;
  } catch {
    throw new AwsFrontEndError(400, 'SerializationException', 'Malformed JSON request body');
  }
  return { operation, target, input };
}
