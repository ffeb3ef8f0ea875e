/**
 * A test-only stand-in for Lambda's SQS event source mapping, through the real @aws-sdk/client-sqs against the
 * loopback SQS server: ReceiveMessage (all system and message attributes, so ApproximateReceiveCount is there) →
 * an SQSEvent shaped as Lambda delivers it → the handler → DeleteMessageBatch of every record not reported in
 * `batchItemFailures`. As Lambda does with ReportBatchItemFailures ("Implementing partial batch responses", Lambda
 * developer guide, https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html): a thrown error, or an
 * itemIdentifier that is empty or not in the batch, fails the whole batch (nothing deleted); failed records are left
 * alone, to come back when their visibility timeout ends.
 *
 * `drain()` repeats that until the queue is empty, moving the server's virtual clock to the next message's visibility
 * whenever nothing is visible, so backoffs of minutes take no real time.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { SqsTestServer } from '../support/sqs-server';

export type SqsHandler = (event: SQSEvent) => Promise<SQSBatchResponse | void>;

export interface DrainReport {
  /** Handler invocations. */
  invocations: number;
  /** Records handed to the handler, in order: message id and its ApproximateReceiveCount. */
  deliveries: Array<{ messageId: string; receiveCount: number; body: string }>;
  /** Virtual seconds the clock was moved forward while draining. */
  waitedSeconds: number;
}

export class SqsEventSource {
  constructor(
    private readonly options: {
      server: SqsTestServer;
      client: SQSClient;
      queueName: string;
      queueUrl: string;
      queueArn: string;
      handler: SqsHandler;
      batchSize?: number;
    },
  ) {}

  /** One poll: receive, invoke, delete. Undefined when nothing was visible. */
  async poll(report?: DrainReport): Promise<{ records: number; failed: number } | undefined> {
    const { client, queueUrl, handler } = this.options;
    const received = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: this.options.batchSize ?? 5,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
        WaitTimeSeconds: 0,
      }),
    );
    const messages = received.Messages ?? [];
    if (messages.length === 0) return undefined;
    const event: SQSEvent = { Records: messages.map((m) => this.record(m)) };
    if (report) {
      report.invocations += 1;
      for (const r of event.Records)
        report.deliveries.push({
          messageId: r.messageId,
          receiveCount: Number(r.attributes.ApproximateReceiveCount),
          body: r.body,
        });
    }
    let failedIds: Set<string>;
    try {
      const response = await handler(event);
      const ids = (response?.batchItemFailures ?? []).map((f) => f.itemIdentifier);
      const inBatch = new Set(messages.map((m) => m.MessageId!));
      // Lambda treats an empty or unknown identifier as a failure of the whole batch.
      failedIds = ids.every((id) => typeof id === 'string' && inBatch.has(id)) ? new Set(ids) : inBatch;
    } catch {
      failedIds = new Set(messages.map((m) => m.MessageId!));
    }
    const done = messages.filter((m) => !failedIds.has(m.MessageId!));
    if (done.length > 0) {
      const result = await client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: done.map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle! })),
        }),
      );
      if ((result.Failed ?? []).length > 0)
        throw new Error(`DeleteMessageBatch failed: ${JSON.stringify(result.Failed)}`);
    }
    return { records: messages.length, failed: failedIds.size };
  }

  /** Polls until the queue holds nothing, advancing virtual time when nothing is visible. */
  async drain(maxInvocations = 100): Promise<DrainReport> {
    const { server, queueName } = this.options;
    const report: DrainReport = { invocations: 0, deliveries: [], waitedSeconds: 0 };
    for (;;) {
      if (report.invocations >= maxInvocations)
        throw new Error(`queue ${queueName} not drained after ${maxInvocations} invocations`);
      const polled = await this.poll(report);
      if (polled) continue;
      const wait = server.nextVisibleIn(queueName);
      if (wait === undefined) return report;
      // Nothing visible now (in flight or delayed): move to when the next one is, as the mapping's pollers would see.
      server.advance(Math.max(wait, 0.001));
      report.waitedSeconds += Math.max(wait, 0.001);
    }
  }

  /** A record exactly as Lambda's SQS event source builds it from a received message. */
  private record(m: Message): SQSRecord {
    const attributes = m.Attributes ?? {};
    return {
      messageId: m.MessageId!,
      receiptHandle: m.ReceiptHandle!,
      body: m.Body ?? '',
      attributes: {
        ApproximateReceiveCount: attributes.ApproximateReceiveCount!,
        SentTimestamp: attributes.SentTimestamp!,
        SenderId: attributes.SenderId!,
        ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp!,
        ...(attributes.DeadLetterQueueSourceArn
          ? { DeadLetterQueueSourceArn: attributes.DeadLetterQueueSourceArn }
          : {}),
      },
      messageAttributes: Object.fromEntries(
        Object.entries(m.MessageAttributes ?? {}).map(([name, a]) => [
          name,
          {
            dataType: a.DataType!,
            ...(a.StringValue !== undefined ? { stringValue: a.StringValue } : {}),
            stringListValues: [],
            binaryListValues: [],
          },
        ]),
      ),
      md5OfBody: m.MD5OfBody!,
      eventSource: 'aws:sqs',
      eventSourceARN: this.options.queueArn,
      awsRegion: this.options.server.region,
    };
  }
}
