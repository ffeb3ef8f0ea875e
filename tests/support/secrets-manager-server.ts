/**
 * A strict, in-memory AWS Secrets Manager endpoint on 127.0.0.1 for tests.
 *
 * Speaks the AWS JSON 1.1 protocol the real `@aws-sdk/client-secrets-manager` uses:
 *   POST /   Content-Type: application/x-amz-json-1.1   X-Amz-Target: secretsmanager.GetSecretValue
 * Implemented: GetSecretValue, CreateSecret (ResourceExistsException when the name is taken) and PutSecretValue (a
 * new AWSCURRENT version; the old AWSCURRENT becomes AWSPREVIOUS; ResourceNotFoundException when missing), with
 * ClientRequestToken as the VersionId and its idempotency rules. SecretString only (SecretBinary is refused). What was
 * stored is readable with `versions()` and `value()`. Requests must carry a SigV4-shaped `Authorization` header and an
 * `X-Amz-Date` header (the signature itself is not verified).
 *
 * Error shape follows awsJson1_1: HTTP 4xx/5xx, header `x-amzn-ErrorType`, body `{"__type": ..., "Message": ...}`.
 * Modelled Secrets Manager errors carry `Message` (capital M, the member name in the service model, which the SDK
 * copies onto `err.Message`); framework-level errors (auth, unknown operation, serialization) carry lowercase
 * `message` as the AWS front end does. The SDK reads `__type` first, then `code`, then `x-amzn-errortype`, and
 * sets `err.message` from `message ?? Message` (and deletes `err.Message`), so either form reaches the client.
 */
import { FaultSlot, startOnLoopback } from '../../dev/loopback';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { registerSecretString } from './log-scan';
import { AwsFrontEndError, parseAwsJsonRequest } from './aws-json-front-end';
import { closeServer, readBoundedBody } from './http-body';

export interface SecretsManagerCall {
  target: string;
  secretId: string;
  versionStage?: string;
  versionId?: string;
}

export interface SecretsManagerFault {
  status: number;
  /** Error code sent as `__type` and `x-amzn-ErrorType`, e.g. `InternalServiceError`, `ThrottlingException`. */
  type: string;
  message?: string;
  /** How many requests the fault answers before it clears itself; unlimited when omitted. */
  times?: number;
}

interface SecretVersion {
  versionId: string;
  secretString: string;
  stages: string[];
  createdDate: number; // epoch seconds, fractional
}

interface StoredSecret {
  name: string;
  arn: string;
  description?: string;
  versions: SecretVersion[];
}

/** One stored version, as `versions()` reports it. */
export interface StoredSecretVersion {
  versionId: string;
  secretString: string;
  stages: string[];
}

const IMPLEMENTED = new Set(['GetSecretValue', 'CreateSecret', 'PutSecretValue']);
const NAME_PATTERN = /^[A-Za-z0-9/_+=.@-]{1,512}$/;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    /** `Message` for modelled service errors, `message` for framework errors. */
    readonly messageKey: 'Message' | 'message' = 'Message',
  ) {
    super(message);
  }
}

const JSON_11 = 'application/x-amz-json-1.1';
const TARGET_PREFIX = 'secretsmanager.';
const KNOWN_OPERATIONS = new Set([
  // Real operations this server does not implement answer differently from made-up ones, so a test that reaches
  // one learns it needs to extend this server rather than that it misspelled the target.
  'BatchGetSecretValue',
  'CancelRotateSecret',
  'CreateSecret',
  'DeleteResourcePolicy',
  'DeleteSecret',
  'DescribeSecret',
  'GetRandomPassword',
  'GetResourcePolicy',
  'ListSecretVersionIds',
  'ListSecrets',
  'PutResourcePolicy',
  'PutSecretValue',
  'RemoveRegionsFromReplication',
  'ReplicateSecretToRegions',
  'RestoreSecret',
  'RotateSecret',
  'StopReplicationToReplica',
  'TagResource',
  'UntagResource',
  'UpdateSecret',
  'UpdateSecretVersionStage',
  'ValidateResourcePolicy',
]);
const SUFFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const MAX_BODY_BYTES = 1024 * 1024;

function randomSuffix(): string {
  const bytes = randomBytes(6);
  let out = '';
  for (const b of bytes) out += SUFFIX_ALPHABET[b % SUFFIX_ALPHABET.length];
  return out;
}

function readBody(req: IncomingMessage): Promise<string> {
  return readBoundedBody(
    req,
    MAX_BODY_BYTES,
    () => new HttpError(413, 'SerializationException', 'Request body too large', 'message'),
  );
}

function optionalString(body: Record<string, unknown>, key: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') {
    throw new HttpError(
      400,
      'SerializationException',
      `Start of structure or map found where not expected (${key})`,
      'message',
    );
  }
  return v;
}

export class SecretsManagerTestServer {
  readonly endpoint: string;
  readonly region: string;
  readonly accountId: string;
  readonly calls: SecretsManagerCall[] = [];
  /** Every request that reached the server, including rejected ones (method, url, lower-cased headers). */
  readonly requests: Array<{ method: string; url: string; headers: Record<string, string | string[] | undefined> }> =
    [];

  private readonly secrets = new Map<string, StoredSecret>(); // by name
  private readonly faults = new FaultSlot<SecretsManagerFault, unknown>();

  private constructor(
    private readonly server: Server,
    port: number,
    region: string,
    accountId: string,
  ) {
    this.endpoint = `http://127.0.0.1:${port}`;
    this.region = region;
    this.accountId = accountId;
  }

  static async start(opts: { region?: string; accountId?: string } = {}): Promise<SecretsManagerTestServer> {
    const region = opts.region ?? 'us-east-1';
    const accountId = opts.accountId ?? '123456789012';
    return startOnLoopback(createServer, (server, port) => {
      const instance = new SecretsManagerTestServer(server, port, region, accountId);
      return { instance, handle: (req, res) => instance.handle(req, res) };
    });
  }

  /**
   * Creates the secret (first version, AWSCURRENT), or stores a new AWSCURRENT version and moves the previous
   * AWSCURRENT label to AWSPREVIOUS (dropping AWSPREVIOUS from the version before), like PutSecretValue/rotation.
   */
  put(name: string, secretString: string): { arn: string; versionId: string } {
    const secret = this.secrets.get(name) ?? this.create(name);
    const version = this.addVersion(secret, secretString, ['AWSCURRENT'], randomUUID());
    return { arn: secret.arn, versionId: version.versionId };
  }

  /**
   * Takes a staging label off whichever version has it, as `UpdateSecretVersionStage --remove-from-version-id` does
   * (the last step of a rotation runbook: the old webhook secret stops being AWSPREVIOUS).
   */
  removeStage(name: string, stage: string): void {
    for (const v of this.secrets.get(name)?.versions ?? []) v.stages = v.stages.filter((s) => s !== stage);
  }

  /** Whether a secret of that name exists (created by `put()` or CreateSecret). */
  has(name: string): boolean {
    return this.secrets.has(name);
  }

  /** Every version of the secret, oldest first, with its staging labels (empty when it does not exist). */
  versions(name: string): StoredSecretVersion[] {
    return (this.secrets.get(name)?.versions ?? []).map((v) => ({
      versionId: v.versionId,
      secretString: v.secretString,
      stages: [...v.stages],
    }));
  }

  /** The SecretString labelled `stage` (default AWSCURRENT), or undefined. */
  value(name: string, stage = 'AWSCURRENT'): string | undefined {
    return this.secrets.get(name)?.versions.find((v) => v.stages.includes(stage))?.secretString;
  }

  private create(name: string, description?: string): StoredSecret {
    const secret: StoredSecret = {
      name,
      arn: `arn:aws:secretsmanager:${this.region}:${this.accountId}:secret:${name}-${randomSuffix()}`,
      ...(description !== undefined ? { description } : {}),
      versions: [],
    };
    this.secrets.set(name, secret);
    return secret;
  }

  /**
   * Adds a version carrying `stages`, moving each label off the version that had it. When AWSCURRENT moves, the
   * version that had it becomes AWSPREVIOUS (and AWSPREVIOUS leaves the version before), as Secrets Manager does.
   */
  private addVersion(secret: StoredSecret, secretString: string, stages: string[], versionId: string): SecretVersion {
    registerSecretString(secretString, `secrets-manager-server ${secret.name}`);
    if (stages.includes('AWSCURRENT')) {
      const current = secret.versions.find((v) => v.stages.includes('AWSCURRENT'));
      if (current) {
        for (const v of secret.versions) v.stages = v.stages.filter((s) => s !== 'AWSPREVIOUS');
        current.stages = current.stages.filter((s) => s !== 'AWSCURRENT');
        current.stages.push('AWSPREVIOUS');
      }
    }
    for (const v of secret.versions) v.stages = v.stages.filter((s) => !stages.includes(s));
    const version: SecretVersion = { versionId, secretString, stages: [...stages], createdDate: Date.now() / 1000 };
    secret.versions.push(version);
    return version;
  }

  arn(name: string): string {
    const secret = this.secrets.get(name);
    if (!secret) throw new Error(`SecretsManagerTestServer: no secret named ${JSON.stringify(name)}; put() it first`);
    return secret.arn;
  }

  /** Makes the next requests (all of them, or `times` of them) fail with this error; `undefined` clears it. */
  fault(f: SecretsManagerFault | undefined): void {
    this.faults.set(f);
  }

  close(): Promise<void> {
    return closeServer(this.server);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: { ...req.headers } });
    const requestId = randomUUID();
    try {
      const body = await readBody(req);
      const result = this.dispatch(req, body);
      this.send(res, 200, requestId, result);
    } catch (err) {
      if (err instanceof HttpError) {
        this.send(res, err.status, requestId, { __type: err.type, [err.messageKey]: err.message }, err.type);
      } else {
        const message = err instanceof Error ? err.message : String(err);
        this.send(res, 500, requestId, { __type: 'InternalServiceError', Message: message }, 'InternalServiceError');
      }
    }
  }

  private send(res: ServerResponse, status: number, requestId: string, body: unknown, errorType?: string): void {
    const payload = JSON.stringify(body);
    const headers: Record<string, string> = {
      'Content-Type': JSON_11,
      'Content-Length': String(Buffer.byteLength(payload)),
      'x-amzn-RequestId': requestId,
    };
    if (errorType) headers['x-amzn-ErrorType'] = errorType;
    res.writeHead(status, headers).end(payload);
  }

  private dispatch(req: IncomingMessage, rawBody: string): unknown {
    let parsed: ReturnType<typeof parseAwsJsonRequest>;
    try {
      parsed = parseAwsJsonRequest(req, rawBody, {
        contentType: JSON_11,
        targetPrefix: TARGET_PREFIX,
        knows: (operation) => IMPLEMENTED.has(operation) || KNOWN_OPERATIONS.has(operation),
        emptyBodyIsEmptyObject: true,
      });
    } catch (error) {
      if (error instanceof AwsFrontEndError) throw new HttpError(error.status, error.type, error.message, 'message');
      throw error;
    }
    const { operation, target, input: body } = parsed;

    const secretId = optionalString(body, operation === 'CreateSecret' ? 'Name' : 'SecretId');
    const versionId = optionalString(body, 'VersionId');
    const versionStage = optionalString(body, 'VersionStage');
    const call: SecretsManagerCall = { target, secretId: secretId ?? '' };
    if (versionStage !== undefined) call.versionStage = versionStage;
    if (versionId !== undefined) call.versionId = versionId;
    this.calls.push(call);

    const fault = this.faults.take(call);
    if (fault) {
      throw new HttpError(fault.status, fault.type, fault.message ?? `Injected ${fault.type}`);
    }

    if (!IMPLEMENTED.has(operation)) {
      throw new HttpError(
        400,
        'UnknownOperationException',
        `SecretsManagerTestServer does not implement ${operation}`,
        'message',
      );
    }
    if (secretId === undefined || secretId === '') {
      const member = operation === 'CreateSecret' ? 'name' : 'secretId';
      throw new HttpError(
        400,
        'ValidationException',
        `1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`,
        'message',
      );
    }
    switch (operation) {
      case 'CreateSecret':
        return this.createSecret(secretId, body);
      case 'PutSecretValue':
        return this.putSecretValue(secretId, body);
      default:
        return this.getSecretValue(secretId, versionId, versionStage);
    }
  }

  private findSecret(secretId: string): StoredSecret | undefined {
    return secretId.startsWith('arn:')
      ? [...this.secrets.values()].find((s) => s.arn === secretId)
      : this.secrets.get(secretId);
  }

  /** SecretString and ClientRequestToken of a CreateSecret/PutSecretValue body, validated like the service. */
  private writeInput(body: Record<string, unknown>): { secretString: string | undefined; token: string } {
    if (body.SecretBinary !== undefined) {
      throw new HttpError(
        400,
        'InvalidParameterException',
        'SecretsManagerTestServer stores SecretString only, not SecretBinary',
      );
    }
    const secretString = optionalString(body, 'SecretString');
    const token = optionalString(body, 'ClientRequestToken') ?? randomUUID();
    if (token.length < 32 || token.length > 64) {
      throw new HttpError(
        400,
        'ValidationException',
        "1 validation error detected: Value at 'clientRequestToken' failed to satisfy constraint: Member must have length between 32 and 64",
        'message',
      );
    }
    if (secretString !== undefined && Buffer.byteLength(secretString) > 65536) {
      throw new HttpError(
        400,
        'ValidationException',
        "1 validation error detected: Value at 'secretString' failed to satisfy constraint: Member must have length less than or equal to 65536",
        'message',
      );
    }
    return { secretString, token };
  }

  private createSecret(name: string, body: Record<string, unknown>): unknown {
    if (!NAME_PATTERN.test(name)) {
      throw new HttpError(
        400,
        'ValidationException',
        "1 validation error detected: Value at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9/_+=.@-]+$",
        'message',
      );
    }
    const { secretString, token } = this.writeInput(body);
    const description = optionalString(body, 'Description');
    if (this.secrets.has(name)) {
      throw new HttpError(
        400,
        'ResourceExistsException',
        `The operation failed because the secret ${name} already exists.`,
      );
    }
    const secret = this.create(name, description);
    if (secretString === undefined) return { ARN: secret.arn, Name: secret.name };
    const version = this.addVersion(secret, secretString, ['AWSCURRENT'], token);
    return { ARN: secret.arn, Name: secret.name, VersionId: version.versionId };
  }

  private putSecretValue(secretId: string, body: Record<string, unknown>): unknown {
    const secret = this.findSecret(secretId);
    if (!secret)
      throw new HttpError(400, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    const { secretString, token } = this.writeInput(body);
    if (secretString === undefined)
      throw new HttpError(400, 'InvalidParameterException', 'You must provide either SecretString or SecretBinary.');
    const rawStages = body.VersionStages;
    let stages = ['AWSCURRENT'];
    if (rawStages !== undefined && rawStages !== null) {
      if (
        !Array.isArray(rawStages) ||
        rawStages.length === 0 ||
        !rawStages.every((s) => typeof s === 'string' && s !== '')
      ) {
        throw new HttpError(
          400,
          'SerializationException',
          'VersionStages must be a non-empty list of strings',
          'message',
        );
      }
      stages = [...new Set(rawStages as string[])];
    }
    const same = secret.versions.find((v) => v.versionId === token);
    if (same) {
      // The idempotency rule: a retry with the same token and data is a no-op, other data is refused.
      if (same.secretString !== secretString) {
        throw new HttpError(
          400,
          'ResourceExistsException',
          "You can't modify an existing version, you can only create a new version.",
        );
      }
      return { ARN: secret.arn, Name: secret.name, VersionId: same.versionId, VersionStages: [...same.stages] };
    }
    const version = this.addVersion(secret, secretString, stages, token);
    return { ARN: secret.arn, Name: secret.name, VersionId: version.versionId, VersionStages: [...version.stages] };
  }

  private getSecretValue(secretId: string, versionId: string | undefined, versionStage: string | undefined): unknown {
    const secret = this.findSecret(secretId);
    if (!secret)
      throw new HttpError(400, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.");

    let version: SecretVersion | undefined;
    if (versionId !== undefined) {
      version = secret.versions.find((v) => v.versionId === versionId);
      if (!version) {
        throw new HttpError(
          400,
          'ResourceNotFoundException',
          `Secrets Manager can't find the specified secret value for VersionId: ${versionId}`,
        );
      }
      if (versionStage !== undefined && !version.stages.includes(versionStage)) {
        throw new HttpError(
          400,
          'InvalidRequestException',
          'You provided a VersionStage that is not associated to the provided VersionId.',
        );
      }
    } else {
      const stage = versionStage ?? 'AWSCURRENT';
      version = secret.versions.find((v) => v.stages.includes(stage));
      if (!version) {
        throw new HttpError(
          400,
          'ResourceNotFoundException',
          `Secrets Manager can't find the specified secret value for staging label: ${stage}`,
        );
      }
    }

    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: version.versionId,
      SecretString: version.secretString,
      VersionStages: [...version.stages],
      CreatedDate: version.createdDate,
    };
  }
}
