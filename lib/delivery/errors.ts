/**
 * Every failure the relay can answer with is one of these classes; `httpStatusOf` is the single place that maps them
 * to HTTP. Anything else that escapes is a bug or an outage and becomes a 500/503 there too, so a provider never
 * sees a stack trace and bad input never gets a 5xx.
 */
export type RejectionReason =
  | 'method_not_allowed'
  | 'unknown_receiver'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'missing_signature'
  | 'bad_signature'
  | 'malformed_payload'
  | 'headers_too_large'
  | 'malformed_body'
  | 'payload_limit_exceeded'
  | 'secret_unavailable'
  | 'keys_unavailable'
  | 'duplicate_in_progress'
  | 'internal_error';

export abstract class RelayError extends Error {
  abstract readonly status: number;
  abstract readonly reason: RejectionReason;
  /** Extra response headers (e.g. `Allow` for 405). */
  readonly headers: Record<string, string> = {};
}

export class MethodNotAllowed extends RelayError {
  readonly status = 405;
  readonly reason = 'method_not_allowed' as const;
  override readonly headers = { allow: 'POST' };
  constructor(method: string) {
    // Bounded: the method is whatever the caller sent, and it ends up in the answer and the log line.
    super(`method ${method.slice(0, 20)} is not allowed; webhooks are delivered with POST`);
  }
}

export class UnknownReceiver extends RelayError {
  readonly status = 404;
  readonly reason = 'unknown_receiver' as const;
  /** For the log line only: why a configured receiver answers as if it did not exist (a wrong or missing path token). */
  readonly detail: string;
  constructor(name: string, detail?: string) {
    const message = `no receiver named ${JSON.stringify(name.slice(0, 100))} is configured`;
    super(message);
    this.detail = detail ? `${message} (${detail})` : message;
  }
}

export class PayloadTooLarge extends RelayError {
  readonly status = 413;
  readonly reason = 'payload_too_large' as const;
  constructor(bytes: number, limit: number) {
    super(`body of ${bytes} bytes exceeds the limit of ${limit} bytes`);
  }
}

export class UnsupportedMediaType extends RelayError {
  readonly status = 415;
  readonly reason = 'unsupported_media_type' as const;
  constructor(contentType: string | undefined, accepted: readonly string[]) {
    // Bounded: the header may be up to the header limit long, and it ends up in the answer and the log line.
    super(
      `content type ${JSON.stringify((contentType ?? '').slice(0, 100))} is not accepted; send ${accepted.join(' or ')}`,
    );
  }
}

/** The credential header is absent. */
export class MissingSignature extends RelayError {
  readonly status = 401;
  readonly reason = 'missing_signature' as const;
  constructor(header: string) {
    super(`the ${header} header is missing`);
  }
}

/** The credential is present but malformed or does not verify. Never says which secret was tried. */
export class BadSignature extends RelayError {
  readonly status = 401;
  readonly reason = 'bad_signature' as const;
  /**
   * @param message for the caller and the log line
   * @param detail for the log line only, when it says more: it may name the secret (never its value)
   */
  constructor(
    message: string,
    readonly detail = message,
  ) {
    super(message);
  }
}

/** Authenticated, but the body is not what the provider's event looks like. */
export class MalformedPayload extends RelayError {
  readonly status = 400;
  readonly reason = 'malformed_payload' as const;
  constructor(detail: string) {
    super(detail);
  }
}

/**
 * Too many headers, or too many header bytes (lib/http/request.ts `checkHeaderLimits`). 431 is RFC 6585 section 5's
 * "Request Header Fields Too Large". Checked before any secret is read.
 */
export class HeadersTooLarge extends RelayError {
  readonly status = 431;
  readonly reason = 'headers_too_large' as const;
  constructor(detail: string) {
    super(detail);
  }
}

/**
 * The body's transport encoding is broken (API Gateway's `isBase64Encoded` with a body that is not strict base64).
 * Checked before any secret is read: no signature can be checked over bytes that cannot be recovered.
 */
export class MalformedBody extends RelayError {
  readonly status = 400;
  readonly reason = 'malformed_body' as const;
  constructor(detail: string) {
    super(detail);
  }
}

/**
 * Authenticated, but the payload exceeds a bound the relay puts on what it reads (JSON nesting, number of ref
 * changes, length of a field that is logged). The message names the bound and the count.
 */
export class PayloadLimitExceeded extends RelayError {
  readonly status = 400;
  readonly reason = 'payload_limit_exceeded' as const;
  constructor(detail: string) {
    super(detail);
  }
}

/**
 * Replay protection (lib/delivery/dedupe): another invocation is applying this very delivery (id or body) right now. 409 rather than a
 * 2xx, because the first one may still fail and then the provider's retry must be applied; rather than a 5xx, because
 * nothing is wrong with the relay. The record that causes it expires with the delivery budget (lib/delivery/dedupe/powertools.ts).
 */
export class DuplicateInProgress extends RelayError {
  readonly status = 409;
  readonly reason = 'duplicate_in_progress' as const;
  constructor(deliveryId: string) {
    super(`delivery ${deliveryId.slice(0, 200)} is being applied by another invocation right now; not applied twice`);
  }
}

/** The webhook secret could not be read (Secrets Manager down, secret deleted): our fault, so 503, and retryable. */
export class SecretUnavailable extends RelayError {
  readonly status = 503;
  readonly reason = 'secret_unavailable' as const;
  constructor(readonly detail: string) {
    // The caller is not authenticated yet: the answer must not name our secrets or our backend's errors.
    super('the webhook secret could not be read; the delivery can be retried');
  }
}

/**
 * The keys an issuer-signed token is checked with (gcr: Google's published keys) could not be fetched and none are
 * cached: our side's outage, so 503, and retryable (Pub/Sub redelivers). A token whose key id is unknown while keys are
 * at hand is a BadSignature instead.
 */
export class VerificationKeysUnavailable extends RelayError {
  readonly status = 503;
  readonly reason = 'keys_unavailable' as const;
  constructor(readonly detail: string) {
    super('the keys to verify the token could not be fetched; the delivery can be retried');
  }
}

export interface MappedError {
  status: number;
  reason: RejectionReason;
  /** Safe to send to the caller. */
  message: string;
  /** For the log line only: may name secrets (never their values) or internal errors. */
  detail: string;
  headers: Record<string, string>;
}

export function httpStatusOf(error: unknown): MappedError {
  if (error instanceof RelayError) {
    const detail =
      error instanceof SecretUnavailable ||
      error instanceof VerificationKeysUnavailable ||
      error instanceof BadSignature ||
      error instanceof UnknownReceiver
        ? error.detail
        : error.message;
    return { status: error.status, reason: error.reason, message: error.message, detail, headers: error.headers };
  }
  return {
    status: 500,
    reason: 'internal_error',
    message: 'internal error',
    detail: describeError(error),
    headers: {},
  };
}

/** Describes an unknown thrown value for a log line without dumping objects that might carry credentials. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`.slice(0, 500);
  return String(error).slice(0, 500);
}
