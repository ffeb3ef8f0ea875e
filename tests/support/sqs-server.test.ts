/**
 * The loopback SQS server, driven by the real @aws-sdk/client-sqs through AWS_ENDPOINT_URL_SQS: what the SDK sends,
 * what it accepts back (MD5 checks included), and the queue semantics the retry path relies on.
 */
import { createHash } from 'node:crypto';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  QueueDoesNotExist,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  SQSServiceException,
} from '@aws-sdk/client-sqs';
import { md5OfMessageAttributes, SqsTestServer } from './sqs-server';

let sqs: SqsTestServer;
let client: SQSClient;
let queueUrl: string;
let dlqUrl: string;
const saved = { ...process.env };

beforeAll(async () => {
  sqs = await SqsTestServer.start();
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SQS: sqs.endpoint,
    AWS_REGION: sqs.region,
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  });
  // No endpoint option: the client must find the server through the environment variable, as on Lambda with a VPC
  // endpoint override or a local stack.
  client = new SQSClient({ maxAttempts: 1 });
});

afterAll(async () => {
  client.destroy();
  await sqs.close();
  process.env = saved;
});

beforeEach(() => {
  dlqUrl = sqs.createQueue('jobs-dlq').url;
  queueUrl = sqs.createQueue('jobs', {
    visibilityTimeout: 30,
    redrivePolicy: { deadLetterTargetArn: `arn:aws:sqs:${sqs.region}:${sqs.accountId}:jobs-dlq`, maxReceiveCount: 3 },
  }).url;
  sqs.requests.length = 0;
  sqs.calls.length = 0;
  sqs.fault(undefined);
});

const receive = (max = 10, extra: Record<string, unknown> = {}) =>
  client.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: max,
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
      ...extra,
    }),
  );

test('the SDK speaks AWS JSON 1.0 with the AmazonSQS target, query-compatible mode and a SigV4 Authorization header', async () => {
  const sent = await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: '{"a":1}' }));
  expect(sent.MD5OfMessageBody).toBe(createHash('md5').update('{"a":1}').digest('hex'));
  const [request] = sqs.requests;
  expect(request).toMatchObject({ method: 'POST', url: '/' });
  expect(request!.headers).toMatchObject({
    'content-type': 'application/x-amz-json-1.0',
    'x-amz-target': 'AmazonSQS.SendMessage',
    'x-amzn-query-mode': 'true',
    authorization: expect.stringMatching(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/sqs\/aws4_request, SignedHeaders=.*x-amz-target.*, Signature=[0-9a-f]{64}$/,
    ),
    'x-amz-date': expect.stringMatching(/^\d{8}T\d{6}Z$/),
  });
  expect(sqs.calls[0]).toMatchObject({
    operation: 'SendMessage',
    queueUrl,
    input: { QueueUrl: queueUrl, MessageBody: '{"a":1}' },
  });
});

test('send, then receive with system and message attributes; the SDK verifies both MD5s it checks', async () => {
  const attributes = {
    attempts: { DataType: 'Number', StringValue: '3' },
    reason: { DataType: 'String', StringValue: 'HTTP 503' },
  };
  const sent = await client.send(
    new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'héllo ✓', MessageAttributes: attributes }),
  );
  expect(sent.MD5OfMessageAttributes).toBe(md5OfMessageAttributes(attributes));
  const { Messages } = await receive();
  expect(Messages).toHaveLength(1);
  expect(Messages![0]).toMatchObject({
    MessageId: sent.MessageId,
    Body: 'héllo ✓',
    MD5OfBody: sent.MD5OfMessageBody,
    Attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(sqs.now()),
      ApproximateFirstReceiveTimestamp: String(sqs.now()),
    },
    MessageAttributes: {
      attempts: { DataType: 'Number', StringValue: '3' },
      reason: { DataType: 'String', StringValue: 'HTTP 503' },
    },
  });
  // Without names asked for, no attributes come back.
  sqs.advance(30);
  const bare = await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }));
  expect(bare.Messages![0]!.Attributes).toBeUndefined();
  expect(bare.Messages![0]!.MessageAttributes).toBeUndefined();
});

test('a wrong MD5OfMessageBody is caught by the SDK (so the server must compute it right)', async () => {
  // Proves the check is live: the SDK's own middleware recomputes the digest of what it sent.
  const tampering = new SQSClient({ maxAttempts: 1 });
  tampering.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      (result.output as { MD5OfMessageBody?: string }).MD5OfMessageBody = '0'.repeat(32);
      return result;
    },
    // After deserialization, before middleware-sdk-sqs's check (which sits in the initialize step).
    { step: 'build', name: 'tamper' },
  );
  await expect(tampering.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'x' }))).rejects.toThrow(
    'InvalidChecksumError',
  );
  tampering.destroy();
});

test('SendMessageBatch: up to 10, per-entry failures reported, ids checked, total size bounded', async () => {
  const entries = Array.from({ length: 10 }, (_, i) => ({
    Id: `e${i}`,
    MessageBody: `m${i}`,
    ...(i === 3 ? { DelaySeconds: 901 } : {}),
  }));
  const result = await client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
  expect(result.Successful!.map((s) => s.Id)).toEqual(['e0', 'e1', 'e2', 'e4', 'e5', 'e6', 'e7', 'e8', 'e9']);
  expect(result.Failed).toEqual([
    {
      Id: 'e3',
      SenderFault: true,
      Code: 'InvalidParameterValue',
      Message: expect.stringContaining('DelaySeconds must be >= 0 and <= 900'),
    },
  ]);
  expect(sqs.messages('jobs')).toHaveLength(9);

  const tooMany = Array.from({ length: 11 }, (_, i) => ({ Id: `e${i}`, MessageBody: 'x' }));
  await expect(
    client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: tooMany })),
  ).rejects.toMatchObject({ name: 'TooManyEntriesInBatchRequest' });
  await expect(
    client.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [
          { Id: 'a', MessageBody: 'x' },
          { Id: 'a', MessageBody: 'y' },
        ],
      }),
    ),
  ).rejects.toMatchObject({ name: 'BatchEntryIdsNotDistinct' });
  await expect(
    client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: [{ Id: 'a.b', MessageBody: 'x' }] })),
  ).rejects.toMatchObject({ name: 'InvalidBatchEntryId' });
  await expect(client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: [] }))).rejects.toMatchObject({
    name: 'EmptyBatchRequest',
  });
  const half = 'x'.repeat(140_000);
  await expect(
    client.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [
          { Id: 'a', MessageBody: half },
          { Id: 'b', MessageBody: half },
        ],
      }),
    ),
  ).rejects.toMatchObject({ name: 'BatchRequestTooLong' });
  expect(sqs.messages('jobs')).toHaveLength(9);
});

test('message size: 262,144 bytes of body and attributes pass, one more byte is InvalidParameterValue', async () => {
  await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'x'.repeat(262_144) }));
  const over = client.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: 'x'.repeat(262_140),
      MessageAttributes: { a: { DataType: 'String', StringValue: 'y' } },
    }),
  );
  await expect(over).rejects.toBeInstanceOf(SQSServiceException);
  await expect(over).rejects.toMatchObject({
    name: 'InvalidParameterValue',
    message: expect.stringContaining('Message must be shorter than 262144 bytes'),
    $metadata: { httpStatusCode: 400 },
  });
  await expect(
    client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'bad \u0001' })),
  ).rejects.toMatchObject({ name: 'InvalidMessageContents' });
});

test('DelaySeconds: invisible until it passes (virtual time), at most 900', async () => {
  await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'later', DelaySeconds: 5 }));
  expect((await receive()).Messages).toBeUndefined();
  expect(sqs.messages('jobs')[0]!.state).toBe('delayed');
  expect(sqs.nextVisibleIn('jobs')).toBe(5);
  const attrs = await client.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessagesDelayed', 'ApproximateNumberOfMessages'],
    }),
  );
  expect(attrs.Attributes).toEqual({ ApproximateNumberOfMessagesDelayed: '1', ApproximateNumberOfMessages: '0' });
  sqs.advance(4.999);
  expect((await receive()).Messages).toBeUndefined();
  sqs.advance(0.001);
  expect((await receive()).Messages?.map((m) => m.Body)).toEqual(['later']);
  await expect(
    client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'x', DelaySeconds: 901 })),
  ).rejects.toMatchObject({
    name: 'InvalidParameterValue',
    message: 'Value 901 for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.',
  });
});

test('visibility timeout: a received message comes back after it with a higher receive count and a new handle', async () => {
  await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'job' }));
  const first = (await receive()).Messages![0]!;
  expect((await receive()).Messages).toBeUndefined();
  expect(sqs.messages('jobs')[0]!.state).toBe('inflight');
  sqs.advance(30);
  const second = (await receive()).Messages![0]!;
  expect(second.Attributes!.ApproximateReceiveCount).toBe('2');
  expect(second.ReceiptHandle).not.toBe(first.ReceiptHandle);
  // A stale handle deletes nothing (the documented "succeeds, but the message will not be deleted").
  await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: first.ReceiptHandle }));
  expect(sqs.messages('jobs')).toHaveLength(1);
  await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: second.ReceiptHandle }));
  expect(sqs.messages('jobs')).toHaveLength(0);
});

test('ChangeMessageVisibility counts from now; only for a message in flight under its latest handle', async () => {
  await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'job' }));
  const m = (await receive()).Messages![0]!;
  sqs.advance(10);
  await client.send(
    new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 120 }),
  );
  expect(sqs.nextVisibleIn('jobs')).toBe(120);
  sqs.advance(119);
  expect((await receive()).Messages).toBeUndefined();
  sqs.advance(1);
  const again = (await receive()).Messages![0]!;
  await expect(
    client.send(
      new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 5 }),
    ),
  ).rejects.toMatchObject({ name: 'MessageNotInflight' });
  await expect(
    client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queueUrl,
        ReceiptHandle: again.ReceiptHandle,
        VisibilityTimeout: 43_201,
      }),
    ),
  ).rejects.toMatchObject({ name: 'InvalidParameterValue' });
  await expect(
    client.send(
      new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: 'nonsense', VisibilityTimeout: 5 }),
    ),
  ).rejects.toMatchObject({
    name: 'ReceiptHandleIsInvalid',
    $metadata: { httpStatusCode: 404 },
  });
  // Visibility 0 makes it receivable at once.
  await client.send(
    new ChangeMessageVisibilityCommand({
      QueueUrl: queueUrl,
      ReceiptHandle: again.ReceiptHandle,
      VisibilityTimeout: 0,
    }),
  );
  expect((await receive()).Messages![0]!.Attributes!.ApproximateReceiveCount).toBe('3');
});

test('DeleteMessageBatch deletes by current handles and reports bad ones per entry', async () => {
  await client.send(
    new SendMessageBatchCommand({
      QueueUrl: queueUrl,
      Entries: [
        { Id: 'a', MessageBody: 'a' },
        { Id: 'b', MessageBody: 'b' },
      ],
    }),
  );
  const messages = (await receive()).Messages!;
  const result = await client.send(
    new DeleteMessageBatchCommand({
      QueueUrl: queueUrl,
      Entries: [
        ...messages.map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle })),
        { Id: 'bad', ReceiptHandle: 'nope' },
      ],
    }),
  );
  expect(result.Successful!.map((s) => s.Id)).toEqual(['d0', 'd1']);
  expect(result.Failed).toEqual([
    expect.objectContaining({ Id: 'bad', Code: 'ReceiptHandleIsInvalid', SenderFault: true }),
  ]);
  expect(sqs.messages('jobs')).toHaveLength(0);
});

test('redrive: after maxReceiveCount receives the next receive moves the message to the DLQ with its source ARN', async () => {
  const sent = await client.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: 'doomed',
      MessageAttributes: { k: { DataType: 'String', StringValue: 'v' } },
    }),
  );
  for (let i = 1; i <= 3; i++) {
    const m = (await receive()).Messages![0]!;
    expect(m.Attributes!.ApproximateReceiveCount).toBe(String(i));
    sqs.advance(30);
  }
  expect((await receive()).Messages).toBeUndefined();
  expect(sqs.messages('jobs')).toEqual([]);
  const dead = await client.send(
    new ReceiveMessageCommand({
      QueueUrl: dlqUrl,
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
    }),
  );
  expect(dead.Messages).toEqual([
    expect.objectContaining({
      MessageId: sent.MessageId,
      Body: 'doomed',
      MessageAttributes: { k: { DataType: 'String', StringValue: 'v' } },
      Attributes: expect.objectContaining({
        ApproximateReceiveCount: '1',
        DeadLetterQueueSourceArn: `arn:aws:sqs:us-east-1:123456789012:jobs`,
      }),
    }),
  ]);
});

test('errors: typed QueueDoesNotExist through the query-compatible header, framework errors, unknown operations', async () => {
  const missing = client.send(
    new SendMessageCommand({ QueueUrl: `${sqs.endpoint}/123456789012/nope`, MessageBody: 'x' }),
  );
  await expect(missing).rejects.toBeInstanceOf(QueueDoesNotExist);
  await expect(missing).rejects.toMatchObject({
    message: 'The specified queue does not exist.',
    Code: 'AWS.SimpleQueueService.NonExistentQueue',
  });
  await expect(client.send(new GetQueueUrlCommand({ QueueName: 'nope' }))).rejects.toBeInstanceOf(QueueDoesNotExist);
  expect((await client.send(new GetQueueUrlCommand({ QueueName: 'jobs' }))).QueueUrl).toBe(queueUrl);
  await expect(receive(11)).rejects.toMatchObject({ name: 'InvalidParameterValue' });

  sqs.fault({ code: 'InternalError', times: 1 });
  await expect(client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'x' }))).rejects.toMatchObject({
    name: 'InternalError',
    $fault: 'server',
    $metadata: { httpStatusCode: 500 },
  });
  await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'x' }));

  // Requests the SDK would never send: no signature, the wrong protocol, a made-up target.
  const post = (headers: Record<string, string>) =>
    fetch(`${sqs.endpoint}/`, { method: 'POST', headers, body: '{}' }).then(async (r) => ({
      status: r.status,
      query: r.headers.get('x-amzn-query-error'),
      body: await r.json(),
    }));
  expect(
    await post({ 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSQS.SendMessage' }),
  ).toMatchObject({ status: 400, body: { __type: 'MissingAuthenticationTokenException' } });
  const signed = {
    authorization: `AWS4-HMAC-SHA256 Credential=A/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=${'a'.repeat(64)}`,
    'x-amz-date': '20260101T000000Z',
  };
  expect(
    await post({ ...signed, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AmazonSQS.SendMessage' }),
  ).toMatchObject({ status: 400, body: { __type: 'SerializationException' } });
  expect(
    await post({ ...signed, 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSQS.Frobnicate' }),
  ).toMatchObject({ status: 400, body: { __type: 'UnknownOperationException' } });
  expect(
    await post({ ...signed, 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSQS.PurgeQueue' }),
  ).toMatchObject({
    status: 400,
    query: 'AWS.SimpleQueueService.UnsupportedOperation;Sender',
    body: { __type: 'com.amazonaws.sqs#UnsupportedOperation' },
  });
});
