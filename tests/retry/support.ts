/** Shared by the retry tests: the loopback queues, and the relay and retry functions loaded as a cold start would. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { Clock } from '../../lib/time/clock';
import type { Handler } from '../support/relay-harness';
import type { SqsTestServer } from '../support/sqs-server';

export const maxReceiveCount = 8;

export interface RetryQueues {
  queue: { name: string; url: string; arn: string };
  dlq: { name: string; url: string; arn: string };
}

/** The stack's two queues (serverless.yml): the retry queue, 180 s visibility, redriving to the DLQ after 8 receives. */
export function createRetryQueues(sqs: SqsTestServer): RetryQueues {
  const dlq = { name: 'relay-retry-dlq', ...sqs.createQueue('relay-retry-dlq', { messageRetentionPeriod: 1_209_600 }) };
  const queue = {
    name: 'relay-retry',
    ...sqs.createQueue('relay-retry', {
      visibilityTimeout: 180,
      redrivePolicy: { deadLetterTargetArn: dlq.arn, maxReceiveCount },
    }),
  };
  return { queue, dlq };
}

/** Points the real SQS client at the loopback server and names the queues, as serverless.yml does on Lambda. */
export function useSqs(sqs: SqsTestServer, queues: RetryQueues): void {
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SQS: sqs.endpoint,
    RELAY_RETRY_QUEUE_URL: queues.queue.url,
    RELAY_RETRY_DLQ_URL: queues.dlq.url,
    RELAY_RETRY_MAX_RECEIVE_COUNT: String(maxReceiveCount),
  });
}

function writeConfig(configYaml: string): void {
  const path = join(mkdtempSync(join(tmpdir(), 'relay-config-')), 'relay.config.yaml');
  writeFileSync(path, configYaml);
  process.env.RELAY_CONFIG = path;
}

/**
 * Loads functions/relay.ts afresh with its clock injected: lib/time/clock's `systemClock`, which createRelayDeps uses by
 * default, is replaced for this module registry only. The delivery's `duration_ms` and `requestedAt` then come from
 * `clock`.
 */
export function loadRelayHandlerWithClock(configYaml: string, clock: Clock): Handler {
  return loadRelayHandlerMocking(configYaml, () => {
    jest.doMock('../../lib/time/clock', () => ({
      ...jest.requireActual<typeof import('../../lib/time/clock')>('../../lib/time/clock'),
      systemClock: clock,
    }));
  });
}

/**
 * Loads functions/relay.ts afresh, as a cold start does, after `mock` has registered its `jest.doMock`s for this
 * module registry only (module paths resolve from the file that calls `jest.doMock`).
 */
export function loadRelayHandlerMocking(configYaml: string, mock: () => void): Handler {
  writeConfig(configYaml);
  let handler: Handler | undefined;
  jest.isolateModules(() => {
    mock();
    handler = (require('../../functions/relay') as { handler: Handler }).handler;
  });
  return handler!;
}

export type RetryHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;

/** Loads functions/retry.ts afresh (configuration and environment read at module load, as a cold start). */
export function loadRetryHandler(configYaml: string): RetryHandler {
  writeConfig(configYaml);
  let handler: RetryHandler | undefined;
  jest.isolateModules(() => {
    handler = (require('../../functions/retry') as { handler: RetryHandler }).handler;
  });
  return handler!;
}
