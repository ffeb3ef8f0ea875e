/**
 * A strict, in-memory Amazon SQS endpoint on 127.0.0.1 for tests, with a virtual clock.
 *
 * Speaks the AWS JSON 1.0 protocol that `@aws-sdk/client-sqs` 3.1164 uses (read in node_modules:
 * @aws-sdk/client-sqs's runtime config picks `AwsJson1_0Protocol` with `serviceTarget: "AmazonSQS"` and
 * `awsQueryCompatible: true`; @aws-sdk/core's AwsJsonRpcProtocol.serializeRequest sets the headers below):
 *   POST /   Content-Type: application/x-amz-json-1.0   X-Amz-Target: AmazonSQS.SendMessage   x-amzn-query-mode: true
 * The real client finds the endpoint through AWS_ENDPOINT_URL_SQS (or `endpoint`); queue URLs are
 * `<endpoint>/<account>/<name>`, so the SDK's queueUrlMiddleware (which would otherwise send to the QueueUrl's host)
 * keeps talking to this server.
 *
 * Implemented (SQS API reference, https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/):
 * SendMessage, SendMessageBatch (≤ 10 entries, distinct ids, per-entry failures in `Failed`, total size limit),
 * ReceiveMessage (MaxNumberOfMessages 1-10, VisibilityTimeout override, system attributes incl.
 * ApproximateReceiveCount and, after a redrive, DeadLetterQueueSourceArn; message attributes by name or All),
 * DeleteMessage, DeleteMessageBatch, ChangeMessageVisibility (0-43200 s, only for a message in flight under its latest
 * receipt handle), GetQueueUrl, GetQueueAttributes. Queues are created by the test with `createQueue()`, with an
 * optional redrive policy: a message received `maxReceiveCount` times is moved to the dead-letter queue at the next
 * receive that would have returned it, as SQS does ("Using dead-letter queues", SQS developer guide).
 *
 * Strictness: requests must carry a SigV4-shaped Authorization header and X-Amz-Date (the signature itself is not
 * verified), the exact content type and target; bodies are validated like the service: MessageBody 1 byte to the
 * queue's MaximumMessageSize (default 262,144 bytes, the long-standing limit; SQS has allowed up to 1 MiB since 2025
 * when the queue says so), body and attributes counted together, DelaySeconds 0-900, the characters SQS accepts.
 * Responses carry MD5OfMessageBody / MD5OfBody (the SDK's middleware-sdk-sqs recomputes them and throws
 * "InvalidChecksumError" on a mismatch) and MD5OfMessageAttributes computed by SQS's documented algorithm.
 *
 * Errors follow awsJson1_0 in AWS query compatible mode: HTTP 400 (404 for a bad receipt handle), body
 * `{"__type": "com.amazonaws.sqs#<Shape>", "message": ...}`, header `x-amzn-query-error: <query code>;Sender`. In
 * that mode the SDK reads the error code from x-amzn-query-error first and maps it through the model's
 * `awsQueryError` trait (AWS.SimpleQueueService.NonExistentQueue -> QueueDoesNotExist); unmodelled codes such as
 * InvalidParameterValue reach the caller as an SQSServiceException named after the code.
 *
 * Time is virtual: it starts at the wall clock and moves only with `advance()`, so delays and visibility timeouts
 * of minutes cost a test nothing. Long polling is not simulated (WaitTimeSeconds is validated, the answer is at
 * once); a receive returns visible messages in send order (a real standard queue samples; callers must not rely on
 * order either way).
 */
import { FaultSlot, type FaultScope, startOnLoopback } from '../../dev/loopback';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { AwsFrontEndError, parseAwsJsonRequest } from './aws-json-front-end';
import { closeServer, readBoundedBody } from './http-body';

export interface SqsQueueOptions {
  /** Default 30 s, as SQS. */
  visibilityTimeout?: number;
  /** Default 0. */
  delaySeconds?: number;
  /** Default 262,144 bytes. */
  maximumMessageSize?: number;
  /** Default 345,600 s (4 days); reported only. */
  messageRetentionPeriod?: number;
  redrivePolicy?: { deadLetterTargetArn: string; maxReceiveCount: number };
}

export interface SqsMessageAttribute {
  DataType: string;
  StringValue?: string;
  BinaryValue?: string; // base64 on the wire
}

/** A stored message as `messages()` reports it. */
export interface StoredSqsMessage {
  messageId: string;
  body: string;
  messageAttributes: Record<string, SqsMessageAttribute>;
  receiveCount: number;
  /** `delayed` before its DelaySeconds passed, `inflight` while received and invisible, else `visible`. */
  state: 'visible' | 'delayed' | 'inflight';
  /** Virtual epoch ms at which it becomes visible (now or earlier when visible). */
  visibleAt: number;
  sentAt: number;
  /** The source queue's ARN when it was moved here by a redrive policy. */
  deadLetterSourceArn?: string;
}

export interface SqsCall {
  operation: string;
  queueUrl?: string;
  /** The request body as parsed JSON. */
  input: Record<string, unknown>;
  /** HTTP status answered. */
  status?: number;
}

export interface SqsFault {
  /** Query-protocol error code, e.g. `InternalError`, `AWS.SimpleQueueService.NonExistentQueue`. */
  code: string;
  /** Shape name for `__type`, e.g. `InternalError`, `QueueDoesNotExist`. */
  type?: string;
  status?: number;
  message?: string;
  /** Only these operations (default all). */
  operations?: string[];
  /** How many requests it answers before it clears itself; unlimited when omitted. */
  times?: number;
}

interface Message {
  messageId: string;
  body: string;
  md5OfBody: string;
  messageAttributes: Record<string, SqsMessageAttribute>;
  md5OfMessageAttributes?: string;
  sentAt: number;
  visibleAt: number;
  delayedUntil: number;
  receiveCount: number;
  firstReceiveAt?: number;
  /** The latest receipt handle, while the message is in flight under it. */
  handle?: string;
  deadLetterSourceArn?: string;
}

interface Queue {
  name: string;
  url: string;
  arn: string;
  createdAt: number;
  visibilityTimeout: number;
  delaySeconds: number;
  maximumMessageSize: number;
  messageRetentionPeriod: number;
  redrivePolicy?: { deadLetterTargetArn: string; maxReceiveCount: number };
  messages: Message[];
}

class SqsError extends Error {
  constructor(
    readonly status: number,
    /** Shape name for `__type` (com.amazonaws.sqs#<type>). */
    readonly type: string,
    /** awsQueryError code for `x-amzn-query-error`. */
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const invalidParameter = (message: string) =>
  new SqsError(400, 'InvalidParameterValue', 'InvalidParameterValue', message);
const missingParameter = (name: string) =>
  new SqsError(400, 'MissingParameter', 'MissingParameter', `The request must contain the parameter ${name}.`);
const queueDoesNotExist = () =>
  new SqsError(
    400,
    'QueueDoesNotExist',
    'AWS.SimpleQueueService.NonExistentQueue',
    'The specified queue does not exist.',
  );

const JSON_10 = 'application/x-amz-json-1.0';
const TARGET_PREFIX = 'AmazonSQS.';
const IMPLEMENTED = new Set([
  'SendMessage',
  'SendMessageBatch',
  'ReceiveMessage',
  'DeleteMessage',
  'DeleteMessageBatch',
  'ChangeMessageVisibility',
  'GetQueueUrl',
  'GetQueueAttributes',
]);
const KNOWN_OPERATIONS = new Set([
  // Real operations this server does not implement answer differently from made-up ones.
  'AddPermission',
  'CancelMessageMoveTask',
  'ChangeMessageVisibilityBatch',
  'CreateQueue',
  'DeleteQueue',
  'ListDeadLetterSourceQueues',
  'ListMessageMoveTasks',
  'ListQueueTags',
  'ListQueues',
  'PurgeQueue',
  'RemovePermission',
  'SetQueueAttributes',
  'StartMessageMoveTask',
  'TagQueue',
  'UntagQueue',
]);
const MAX_REQUEST_BYTES = 2 * 1024 * 1024;
const BATCH_ID = /^[A-Za-z0-9_-]{1,80}$/;
/** #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF (SendMessage, "MessageBody"). */
// eslint-disable-next-line no-control-regex -- the control characters SQS allows are exactly what this class names
const INVALID_BODY_CHAR = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const ATTRIBUTE_NAMES = [
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'ApproximateNumberOfMessagesDelayed',
  'CreatedTimestamp',
  'DelaySeconds',
  'LastModifiedTimestamp',
  'MaximumMessageSize',
  'MessageRetentionPeriod',
  'QueueArn',
  'ReceiveMessageWaitTimeSeconds',
  'RedrivePolicy',
  'SqsManagedSseEnabled',
  'VisibilityTimeout',
];
const SYSTEM_ATTRIBUTES = [
  'ApproximateReceiveCount',
  'ApproximateFirstReceiveTimestamp',
  'SentTimestamp',
  'SenderId',
  'DeadLetterQueueSourceArn',
  'AWSTraceHeader',
  'MessageDeduplicationId',
  'MessageGroupId',
  'SequenceNumber',
];

const md5 = (data: Buffer | string) => createHash('md5').update(data).digest('hex');

/**
 * MD5OfMessageAttributes as SQS computes it ("Calculating the MD5 message digest for message attributes", SQS
 * developer guide): attributes sorted by name, each as length-prefixed (4-byte big-endian) name, data type, one
 * transport byte (1 string, 2 binary) and length-prefixed value.
 */
export function md5OfMessageAttributes(attributes: Record<string, SqsMessageAttribute>): string {
  const parts: Buffer[] = [];
  const prefixed = (b: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    parts.push(len, b);
  };
  for (const name of Object.keys(attributes).sort()) {
    const a = attributes[name]!;
    prefixed(Buffer.from(name, 'utf8'));
    prefixed(Buffer.from(a.DataType, 'utf8'));
    const binary = a.BinaryValue !== undefined;
    parts.push(Buffer.from([binary ? 2 : 1]));
    prefixed(binary ? Buffer.from(a.BinaryValue!, 'base64') : Buffer.from(a.StringValue ?? '', 'utf8'));
  }
  return md5(Buffer.concat(parts));
}

const frontEndQueryCodes: Record<AwsFrontEndError['type'], string> = {
  MissingAuthenticationTokenException: 'MissingAuthenticationToken',
  IncompleteSignatureException: 'IncompleteSignature',
  SerializationException: 'SerializationException',
  UnknownOperationException: 'UnknownOperationException',
};

function readBody(req: IncomingMessage): Promise<string> {
  return readBoundedBody(
    req,
    MAX_REQUEST_BYTES,
    () => new SqsError(413, 'RequestEntityTooLarge', 'RequestEntityTooLarge', 'Request body too large'),
  );
}

function str(input: Record<string, unknown>, key: string, required: true): string;
function str(input: Record<string, unknown>, key: string, required?: false): string | undefined;
function str(input: Record<string, unknown>, key: string, required = false): string | undefined {
  const v = input[key];
  if (v === undefined || v === null) {
    if (required) throw missingParameter(key);
    return undefined;
  }
  if (typeof v !== 'string')
    throw new SqsError(400, 'SerializationException', 'SerializationException', `${key} must be a string`);
  return v;
}

function int(
  input: Record<string, unknown>,
  key: string,
  min: number,
  max: number,
  reason: string,
): number | undefined {
  const v = input[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw new SqsError(400, 'SerializationException', 'SerializationException', `${key} must be an integer`);
  if (v < min || v > max) throw invalidParameter(`Value ${v} for parameter ${key} is invalid. Reason: ${reason}`);
  return v;
}

function stringList(input: Record<string, unknown>, key: string): string[] {
  const v = input[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string'))
    throw new SqsError(400, 'SerializationException', 'SerializationException', `${key} must be a list of strings`);
  return v as string[];
}

export class SqsTestServer {
  readonly endpoint: string;
  readonly region: string;
  readonly accountId: string;
  /** Every request that parsed far enough to name an operation, in order. */
  readonly calls: SqsCall[] = [];
  /** Every request that reached the server (method, url, lower-cased headers), including refused ones. */
  readonly requests: Array<{ method: string; url: string; headers: Record<string, string | string[] | undefined> }> =
    [];

  private readonly queues = new Map<string, Queue>(); // by name
  private readonly handles = new Map<string, { queue: string; messageId: string }>();
  private nowMs: number;
  private readonly faults = new FaultSlot<SqsFault & FaultScope<string>, string>();

  private constructor(
    private readonly server: Server,
    port: number,
    region: string,
    accountId: string,
  ) {
    this.endpoint = `http://127.0.0.1:${port}`;
    this.region = region;
    this.accountId = accountId;
    this.nowMs = Date.now();
  }

  static async start(opts: { region?: string; accountId?: string } = {}): Promise<SqsTestServer> {
    return startOnLoopback(createServer, (server, port) => {
      const instance = new SqsTestServer(server, port, opts.region ?? 'us-east-1', opts.accountId ?? '123456789012');
      return { instance, handle: (req, res) => instance.handle(req, res) };
    });
  }

  /** Creates (or replaces, emptied) a standard queue. A redrive target must exist already. */
  createQueue(name: string, options: SqsQueueOptions = {}): { url: string; arn: string } {
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(name))
      throw new Error(`SqsTestServer: ${name} is not a valid standard queue name`);
    if (options.redrivePolicy) {
      const { deadLetterTargetArn, maxReceiveCount } = options.redrivePolicy;
      if (![...this.queues.values()].some((q) => q.arn === deadLetterTargetArn))
        throw new Error(`SqsTestServer: no queue ${deadLetterTargetArn}`);
      if (!Number.isInteger(maxReceiveCount) || maxReceiveCount < 1 || maxReceiveCount > 1000)
        throw new Error('SqsTestServer: maxReceiveCount must be 1-1000');
    }
    const queue: Queue = {
      name,
      url: `${this.endpoint}/${this.accountId}/${name}`,
      arn: `arn:aws:sqs:${this.region}:${this.accountId}:${name}`,
      createdAt: this.nowMs,
      visibilityTimeout: options.visibilityTimeout ?? 30,
      delaySeconds: options.delaySeconds ?? 0,
      maximumMessageSize: options.maximumMessageSize ?? 262_144,
      messageRetentionPeriod: options.messageRetentionPeriod ?? 345_600,
      ...(options.redrivePolicy ? { redrivePolicy: { ...options.redrivePolicy } } : {}),
      messages: [],
    };
    this.queues.set(name, queue);
    return { url: queue.url, arn: queue.arn };
  }

  /** The queue's messages (not deleted), oldest first, with their state at the current virtual time. */
  messages(name: string): StoredSqsMessage[] {
    const queue = this.queues.get(name);
    if (!queue) throw new Error(`SqsTestServer: no queue named ${name}`);
    return queue.messages.map((m) => ({
      messageId: m.messageId,
      body: m.body,
      messageAttributes: structuredClone(m.messageAttributes),
      receiveCount: m.receiveCount,
      state:
        m.visibleAt <= this.nowMs
          ? 'visible'
          : m.delayedUntil > this.nowMs && m.receiveCount === 0
            ? 'delayed'
            : 'inflight',
      visibleAt: m.visibleAt,
      sentAt: m.sentAt,
      ...(m.deadLetterSourceArn ? { deadLetterSourceArn: m.deadLetterSourceArn } : {}),
    }));
  }

  /** Current virtual time, epoch ms. */
  now(): number {
    return this.nowMs;
  }

  /** Moves virtual time forward. */
  advance(seconds: number): void {
    if (!(seconds >= 0)) throw new Error('SqsTestServer.advance: seconds must be >= 0');
    this.nowMs += Math.round(seconds * 1000);
  }

  /** Seconds until the next message of the queue becomes visible (0 if one is visible now), or undefined if empty. */
  nextVisibleIn(name: string): number | undefined {
    const queue = this.queues.get(name);
    if (!queue || queue.messages.length === 0) return undefined;
    const next = Math.min(...queue.messages.map((m) => m.visibleAt));
    return Math.max(0, (next - this.nowMs) / 1000);
  }

  /** Makes the next requests (all, or `times`, or of some operations) fail with this error; `undefined` clears it. */
  fault(f: SqsFault | undefined): void {
    this.faults.set(f && { ...f, match: (operation) => !f.operations || f.operations.includes(operation) });
  }

  close(): Promise<void> {
    return closeServer(this.server);
  }

  // -------------------------------------------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: { ...req.headers } });
    const requestId = randomUUID();
    let call: SqsCall | undefined;
    try {
      const body = await readBody(req);
      const parsed = this.parse(req, body);
      call = parsed.call;
      this.calls.push(call);
      const result = this.dispatch(parsed.operation, parsed.input);
      call.status = 200;
      this.send(res, 200, requestId, result);
    } catch (err) {
      const e =
        err instanceof SqsError
          ? err
          : new SqsError(500, 'InternalError', 'InternalError', err instanceof Error ? err.message : String(err));
      if (call) call.status = e.status;
      // Framework-level errors (auth, serialization, unknown operation) come from the AWS front end, not the service.
      const framework = [
        'MissingAuthenticationTokenException',
        'IncompleteSignatureException',
        'SerializationException',
        'UnknownOperationException',
      ].includes(e.type);
      const type = framework ? e.type : `com.amazonaws.sqs#${e.type}`;
      this.send(
        res,
        e.status,
        requestId,
        { __type: type, message: e.message },
        `${e.code};${e.status >= 500 ? 'Receiver' : 'Sender'}`,
      );
    }
  }

  private send(res: ServerResponse, status: number, requestId: string, body: unknown, queryError?: string): void {
    const payload = JSON.stringify(body);
    const headers: Record<string, string> = {
      'Content-Type': JSON_10,
      'Content-Length': String(Buffer.byteLength(payload)),
      'x-amzn-RequestId': requestId,
    };
    if (queryError) headers['x-amzn-query-error'] = queryError;
    res.writeHead(status, headers).end(payload);
  }

  private parse(
    req: IncomingMessage,
    rawBody: string,
  ): { operation: string; input: Record<string, unknown>; call: SqsCall } {
    let operation: string;
    let input: Record<string, unknown>;
    try {
      ({ operation, input } = parseAwsJsonRequest(req, rawBody, {
        contentType: JSON_10,
        targetPrefix: TARGET_PREFIX,
        knows: (op) => IMPLEMENTED.has(op) || KNOWN_OPERATIONS.has(op),
      }));
    } catch (error) {
      // The query-compatible error code SQS adds for these front-end errors (x-amzn-query-error).
      if (error instanceof AwsFrontEndError)
        throw new SqsError(error.status, error.type, frontEndQueryCodes[error.type], error.message);
      throw error;
    }
    const queueUrl = typeof input.QueueUrl === 'string' ? input.QueueUrl : undefined;
    return { operation, input, call: { operation, ...(queueUrl ? { queueUrl } : {}), input } };
  }

  private dispatch(operation: string, input: Record<string, unknown>): unknown {
    const fault = this.faults.take(operation);
    if (fault) {
      const status = fault.status ?? (fault.code === 'InternalError' ? 500 : 400);
      throw new SqsError(status, fault.type ?? fault.code, fault.code, fault.message ?? `Injected ${fault.code}`);
    }
    if (!IMPLEMENTED.has(operation)) {
      throw new SqsError(
        400,
        'UnsupportedOperation',
        'AWS.SimpleQueueService.UnsupportedOperation',
        `SqsTestServer does not implement ${operation}`,
      );
    }
    if (operation === 'GetQueueUrl') return this.getQueueUrl(input);
    const queue = this.queueOf(input);
    switch (operation) {
      case 'SendMessage':
        return this.sendMessage(queue, input);
      case 'SendMessageBatch':
        return this.sendMessageBatch(queue, input);
      case 'ReceiveMessage':
        return this.receiveMessage(queue, input);
      case 'DeleteMessage':
        this.deleteMessage(queue, str(input, 'ReceiptHandle', true));
        return {};
      case 'DeleteMessageBatch':
        return this.deleteMessageBatch(queue, input);
      case 'ChangeMessageVisibility':
        return this.changeMessageVisibility(queue, input);
      default:
        return this.getQueueAttributes(queue, input);
    }
  }

  private queueOf(input: Record<string, unknown>): Queue {
    const url = str(input, 'QueueUrl', true);
    let path: string;
    try {
      path = new URL(url).pathname;
    } catch {
      throw invalidParameter(`Value ${url} for parameter QueueUrl is invalid. Reason: Queue URL is not a valid URL.`);
    }
    const [, account, name, ...rest] = path.split('/');
    const queue =
      name !== undefined && rest.length === 0 && account === this.accountId ? this.queues.get(name) : undefined;
    if (!queue) throw queueDoesNotExist();
    return queue;
  }

  private getQueueUrl(input: Record<string, unknown>): unknown {
    const name = str(input, 'QueueName', true);
    const owner = str(input, 'QueueOwnerAWSAccountId');
    const queue = owner === undefined || owner === this.accountId ? this.queues.get(name) : undefined;
    if (!queue) throw queueDoesNotExist();
    return { QueueUrl: queue.url };
  }

  /** Validates one message (SendMessage or a batch entry) and stores it; returns the entry's answer fields. */
  private accept(queue: Queue, input: Record<string, unknown>): { message: Message; size: number } {
    const body = str(input, 'MessageBody', true);
    if (body.length === 0) throw invalidParameter('The request must contain the parameter MessageBody.');
    if (INVALID_BODY_CHAR.test(body)) {
      throw new SqsError(
        400,
        'InvalidMessageContents',
        'InvalidMessageContents',
        'Invalid binary character in the message body',
      );
    }
    const delay = int(input, 'DelaySeconds', 0, 900, 'DelaySeconds must be >= 0 and <= 900.') ?? queue.delaySeconds;
    if (input.MessageGroupId !== undefined || input.MessageDeduplicationId !== undefined) {
      throw invalidParameter(
        'The request include parameter that is not valid for this queue type. Reason: MessageGroupId and MessageDeduplicationId are for FIFO queues.',
      );
    }
    const attributes = this.messageAttributes(input.MessageAttributes);
    let size = Buffer.byteLength(body);
    for (const [name, a] of Object.entries(attributes)) {
      size +=
        Buffer.byteLength(name) +
        Buffer.byteLength(a.DataType) +
        (a.BinaryValue !== undefined
          ? Buffer.from(a.BinaryValue, 'base64').length
          : Buffer.byteLength(a.StringValue ?? ''));
    }
    if (size > queue.maximumMessageSize) {
      throw invalidParameter(
        `One or more parameters are invalid. Reason: Message must be shorter than ${queue.maximumMessageSize} bytes.`,
      );
    }
    const message: Message = {
      messageId: randomUUID(),
      body,
      md5OfBody: md5(Buffer.from(body, 'utf8')),
      messageAttributes: attributes,
      ...(Object.keys(attributes).length > 0 ? { md5OfMessageAttributes: md5OfMessageAttributes(attributes) } : {}),
      sentAt: this.nowMs,
      visibleAt: this.nowMs + delay * 1000,
      delayedUntil: this.nowMs + delay * 1000,
      receiveCount: 0,
    };
    return { message, size };
  }

  private messageAttributes(raw: unknown): Record<string, SqsMessageAttribute> {
    if (raw === undefined || raw === null) return {};
    if (typeof raw !== 'object' || Array.isArray(raw))
      throw new SqsError(400, 'SerializationException', 'SerializationException', 'MessageAttributes must be a map');
    const entries = Object.entries(raw as Record<string, unknown>);
    if (entries.length > 10)
      throw invalidParameter('Number of message attributes [' + entries.length + '] exceeds the allowed maximum [10].');
    const out: Record<string, SqsMessageAttribute> = {};
    for (const [name, value] of entries) {
      if (
        !/^[A-Za-z0-9_.-]{1,256}$/.test(name) ||
        name.startsWith('.') ||
        name.endsWith('.') ||
        /^(aws|amazon)\./i.test(name)
      ) {
        throw invalidParameter(`Message attribute name '${name}' is invalid.`);
      }
      const a = value as Record<string, unknown>;
      const dataType = typeof a?.DataType === 'string' ? a.DataType : '';
      const base = dataType.split('.')[0];
      if (base !== 'String' && base !== 'Number' && base !== 'Binary')
        throw invalidParameter(
          `The type of message (user) attribute '${name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String.`,
        );
      const hasString = typeof a.StringValue === 'string';
      const hasBinary = typeof a.BinaryValue === 'string';
      if (base === 'Binary' ? !hasBinary || hasString : !hasString || hasBinary)
        throw invalidParameter(`Message (user) attribute '${name}' must contain a non-empty value of type '${base}'.`);
      if (base === 'Number' && !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(a.StringValue as string)) {
        throw invalidParameter(`Can't cast the value of message (user) attribute '${name}' to a number.`);
      }
      out[name] = {
        DataType: dataType,
        ...(hasString ? { StringValue: a.StringValue as string } : { BinaryValue: a.BinaryValue as string }),
      };
    }
    return out;
  }

  private sendMessage(queue: Queue, input: Record<string, unknown>): unknown {
    const { message } = this.accept(queue, input);
    queue.messages.push(message);
    return {
      MessageId: message.messageId,
      MD5OfMessageBody: message.md5OfBody,
      ...(message.md5OfMessageAttributes ? { MD5OfMessageAttributes: message.md5OfMessageAttributes } : {}),
    };
  }

  private sendMessageBatch(queue: Queue, input: Record<string, unknown>): unknown {
    const entries = this.batchEntries(input);
    const successful: unknown[] = [];
    const failed: unknown[] = [];
    const accepted: Message[] = [];
    let total = 0;
    for (const entry of entries) {
      const id = entry.Id as string;
      try {
        const { message, size } = this.accept(queue, entry);
        total += size;
        accepted.push(message);
        successful.push({
          Id: id,
          MessageId: message.messageId,
          MD5OfMessageBody: message.md5OfBody,
          ...(message.md5OfMessageAttributes ? { MD5OfMessageAttributes: message.md5OfMessageAttributes } : {}),
        });
      } catch (err) {
        if (!(err instanceof SqsError) || err.type === 'SerializationException') throw err;
        failed.push({ Id: id, SenderFault: true, Code: err.code, Message: err.message });
      }
    }
    // "The maximum allowed individual message size and the maximum total payload size (the sum of the individual
    // lengths of all of the batched messages) are both" the queue's limit: the whole request is refused.
    if (total > queue.maximumMessageSize) {
      throw new SqsError(
        400,
        'BatchRequestTooLong',
        'AWS.SimpleQueueService.BatchRequestTooLong',
        `Batch requests cannot be longer than ${queue.maximumMessageSize} bytes. You have sent ${total} bytes.`,
      );
    }
    queue.messages.push(...accepted);
    return { Successful: successful, Failed: failed };
  }

  private batchEntries(input: Record<string, unknown>): Array<Record<string, unknown>> {
    const raw = input.Entries;
    if (raw === undefined || raw === null) throw missingParameter('Entries');
    if (!Array.isArray(raw))
      throw new SqsError(400, 'SerializationException', 'SerializationException', 'Entries must be a list');
    if (raw.length === 0)
      throw new SqsError(
        400,
        'EmptyBatchRequest',
        'AWS.SimpleQueueService.EmptyBatchRequest',
        'There should be at least one SendMessageBatchRequestEntry in the request.',
      );
    if (raw.length > 10)
      throw new SqsError(
        400,
        'TooManyEntriesInBatchRequest',
        'AWS.SimpleQueueService.TooManyEntriesInBatchRequest',
        `Maximum number of entries per request are 10. You have sent ${raw.length}.`,
      );
    const ids = new Set<string>();
    for (const entry of raw as Array<Record<string, unknown>>) {
      const id = entry?.Id;
      if (typeof id !== 'string' || !BATCH_ID.test(id)) {
        throw new SqsError(
          400,
          'InvalidBatchEntryId',
          'AWS.SimpleQueueService.InvalidBatchEntryId',
          'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.',
        );
      }
      if (ids.has(id))
        throw new SqsError(
          400,
          'BatchEntryIdsNotDistinct',
          'AWS.SimpleQueueService.BatchEntryIdsNotDistinct',
          `Id ${id} repeated.`,
        );
      ids.add(id);
    }
    return raw as Array<Record<string, unknown>>;
  }

  private receiveMessage(queue: Queue, input: Record<string, unknown>): unknown {
    const max = int(input, 'MaxNumberOfMessages', 1, 10, 'Must be between 1 and 10, if provided.') ?? 1;
    const visibility =
      int(input, 'VisibilityTimeout', 0, 43_200, 'Must be between 0 and 43200, if provided.') ??
      queue.visibilityTimeout;
    int(input, 'WaitTimeSeconds', 0, 20, 'Must be >= 0 and <= 20, if provided.');
    const systemNames = new Set([
      ...stringList(input, 'AttributeNames'),
      ...stringList(input, 'MessageSystemAttributeNames'),
    ]);
    for (const n of systemNames)
      if (n !== 'All' && !SYSTEM_ATTRIBUTES.includes(n))
        throw new SqsError(400, 'InvalidAttributeName', 'InvalidAttributeName', `Unknown Attribute ${n}.`);
    const wantedAttributes = stringList(input, 'MessageAttributeNames');
    const out: unknown[] = [];
    for (const message of [...queue.messages]) {
      if (out.length >= max) break;
      if (message.visibleAt > this.nowMs) continue;
      const redrive = queue.redrivePolicy;
      if (redrive && message.receiveCount >= redrive.maxReceiveCount) {
        this.moveToDeadLetterQueue(queue, message, redrive.deadLetterTargetArn);
        continue;
      }
      message.receiveCount += 1;
      message.firstReceiveAt ??= this.nowMs;
      message.visibleAt = this.nowMs + visibility * 1000;
      // The previous handle stays known (a stale handle is not an invalid one), but no longer acts on the message.
      message.handle = randomBytes(48).toString('base64');
      this.handles.set(message.handle, { queue: queue.name, messageId: message.messageId });
      out.push(this.received(message, systemNames, wantedAttributes));
    }
    return out.length > 0 ? { Messages: out } : {};
  }

  private received(m: Message, systemNames: Set<string>, wanted: string[]): Record<string, unknown> {
    const all = systemNames.has('All');
    const system: Record<string, string> = {
      ApproximateReceiveCount: String(m.receiveCount),
      ApproximateFirstReceiveTimestamp: String(m.firstReceiveAt),
      SentTimestamp: String(m.sentAt),
      SenderId: 'AIDAEXAMPLEEXAMPLEEXA',
      ...(m.deadLetterSourceArn ? { DeadLetterQueueSourceArn: m.deadLetterSourceArn } : {}),
    };
    const attributes = Object.fromEntries(Object.entries(system).filter(([k]) => all || systemNames.has(k)));
    const pickAll = wanted.includes('All') || wanted.includes('.*');
    const messageAttributes = Object.fromEntries(
      Object.entries(m.messageAttributes).filter(
        ([k]) => pickAll || wanted.includes(k) || wanted.some((w) => w.endsWith('.*') && k.startsWith(w.slice(0, -1))),
      ),
    );
    return {
      MessageId: m.messageId,
      ReceiptHandle: m.handle,
      MD5OfBody: m.md5OfBody,
      Body: m.body,
      ...(Object.keys(attributes).length > 0 ? { Attributes: attributes } : {}),
      ...(Object.keys(messageAttributes).length > 0
        ? { MessageAttributes: messageAttributes, MD5OfMessageAttributes: md5OfMessageAttributes(messageAttributes) }
        : {}),
    };
  }

  private moveToDeadLetterQueue(queue: Queue, message: Message, targetArn: string): void {
    const target = [...this.queues.values()].find((q) => q.arn === targetArn);
    if (!target) return; // a redrive target deleted under the queue: SQS keeps the message where it is
    queue.messages.splice(queue.messages.indexOf(message), 1);
    if (message.handle) this.handles.delete(message.handle);
    // Standard queues keep the message's id, body, attributes and original enqueue time; the count starts over.
    target.messages.push({
      messageId: message.messageId,
      body: message.body,
      md5OfBody: message.md5OfBody,
      messageAttributes: message.messageAttributes,
      ...(message.md5OfMessageAttributes ? { md5OfMessageAttributes: message.md5OfMessageAttributes } : {}),
      sentAt: message.sentAt,
      visibleAt: this.nowMs,
      delayedUntil: this.nowMs,
      receiveCount: 0,
      deadLetterSourceArn: queue.arn,
    });
  }

  /** The message a receipt handle names; `current` is false when it was received again since (a stale handle). */
  private byHandle(queue: Queue, handle: string): { message: Message | undefined; current: boolean } {
    const known = this.handles.get(handle);
    if (!known) {
      // Not a handle this server ever issued (real handles are long opaque base64 strings).
      if (!/^[A-Za-z0-9+/=]{64}$/.test(handle))
        throw new SqsError(
          404,
          'ReceiptHandleIsInvalid',
          'ReceiptHandleIsInvalid',
          `The input receipt handle "${handle}" is not a valid receipt handle.`,
        );
      return { message: undefined, current: false };
    }
    if (known.queue !== queue.name)
      throw new SqsError(
        404,
        'ReceiptHandleIsInvalid',
        'ReceiptHandleIsInvalid',
        `The input receipt handle "${handle}" is not a valid for this queue.`,
      );
    const message = queue.messages.find((m) => m.messageId === known.messageId);
    return { message, current: message?.handle === handle };
  }

  private deleteMessage(queue: Queue, handle: string): void {
    const { message, current } = this.byHandle(queue, handle);
    // "You must provide the most recently received receipt handle when deleting the message (otherwise, the request
    // succeeds, but the message will not be deleted)": a stale handle, or an already deleted message, is a no-op.
    if (message && current) {
      queue.messages.splice(queue.messages.indexOf(message), 1);
      this.handles.delete(handle);
    }
  }

  private deleteMessageBatch(queue: Queue, input: Record<string, unknown>): unknown {
    const entries = this.batchEntries(input);
    const successful: unknown[] = [];
    const failed: unknown[] = [];
    for (const entry of entries) {
      try {
        this.deleteMessage(queue, str(entry, 'ReceiptHandle', true));
        successful.push({ Id: entry.Id });
      } catch (err) {
        if (!(err instanceof SqsError)) throw err;
        failed.push({ Id: entry.Id, SenderFault: true, Code: err.code, Message: err.message });
      }
    }
    return { Successful: successful, Failed: failed };
  }

  private changeMessageVisibility(queue: Queue, input: Record<string, unknown>): unknown {
    const handle = str(input, 'ReceiptHandle', true);
    if (input.VisibilityTimeout === undefined || input.VisibilityTimeout === null)
      throw missingParameter('VisibilityTimeout');
    const timeout = int(input, 'VisibilityTimeout', 0, 43_200, 'Must be between 0 and 43200.')!;
    const { message, current } = this.byHandle(queue, handle);
    if (!message) {
      throw invalidParameter(
        `Value ${handle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.`,
      );
    }
    if (!current || message.visibleAt <= this.nowMs) {
      throw new SqsError(
        400,
        'MessageNotInflight',
        'AWS.SimpleQueueService.MessageNotInflight',
        'The message referred to is not in flight.',
      );
    }
    // The new timeout counts from now, not from the receive (ChangeMessageVisibility, SQS API reference).
    message.visibleAt = this.nowMs + timeout * 1000;
    return {};
  }

  private getQueueAttributes(queue: Queue, input: Record<string, unknown>): unknown {
    const names = stringList(input, 'AttributeNames');
    for (const n of names)
      if (n !== 'All' && !ATTRIBUTE_NAMES.includes(n))
        throw new SqsError(400, 'InvalidAttributeName', 'InvalidAttributeName', `Unknown Attribute ${n}.`);
    const now = this.nowMs;
    const all: Record<string, string> = {
      ApproximateNumberOfMessages: String(queue.messages.filter((m) => m.visibleAt <= now).length),
      ApproximateNumberOfMessagesNotVisible: String(
        queue.messages.filter((m) => m.visibleAt > now && m.receiveCount > 0).length,
      ),
      ApproximateNumberOfMessagesDelayed: String(
        queue.messages.filter((m) => m.visibleAt > now && m.receiveCount === 0).length,
      ),
      CreatedTimestamp: String(Math.floor(queue.createdAt / 1000)),
      DelaySeconds: String(queue.delaySeconds),
      LastModifiedTimestamp: String(Math.floor(queue.createdAt / 1000)),
      MaximumMessageSize: String(queue.maximumMessageSize),
      MessageRetentionPeriod: String(queue.messageRetentionPeriod),
      QueueArn: queue.arn,
      ReceiveMessageWaitTimeSeconds: '0',
      SqsManagedSseEnabled: 'true',
      VisibilityTimeout: String(queue.visibilityTimeout),
      ...(queue.redrivePolicy ? { RedrivePolicy: JSON.stringify(queue.redrivePolicy) } : {}),
    };
    const picked = names.includes('All')
      ? all
      : Object.fromEntries(Object.entries(all).filter(([k]) => names.includes(k)));
    return Object.keys(picked).length > 0 ? { Attributes: picked } : {};
  }
}
