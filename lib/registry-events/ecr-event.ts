import * as z from 'zod/mini';
import { formatPath } from '../config/load';
import type { EcrConfig } from '../config/schema';
import { MalformedPayload } from '../delivery/errors';
import { digestPattern, tagPattern } from '../matching/artifact-ref';

/*
 * Amazon ECR's push event as EventBridge delivers it ("Amazon ECR events and EventBridge", Amazon ECR user guide,
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html, "Event for a completed image push";
 * the envelope: "Amazon EventBridge events", https://docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html):
 *
 *   { "id": "...", "detail-type": "ECR Image Action", "source": "aws.ecr", "account": "123456789012",
 *     "region": "us-west-2", "detail": { "action-type": "PUSH", "result": "SUCCESS",
 *     "repository-name": "...", "image-digest": "sha256:...", "image-tag": "latest" } }
 *
 * The same detail-type carries DELETE actions and failed results; the EventBridge rule (serverless.yml) lets only
 * successful pushes through, and this reads every event as if it had not.
 */

const sourceName = 'aws.ecr';
const detailType = 'ECR Image Action';

/** ECR's repositoryName (CreateRepository): lower-case components separated by `/`, at most 256 characters. */
const repositoryNamePattern = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

const bounded = (max: number) => z.string().check(z.minLength(1), z.maxLength(max));

/** The envelope: what every EventBridge event has, and what routing and the log line need of it. */
const envelopeSchema = z.object({
  id: bounded(200),
  'detail-type': bounded(200),
  source: bounded(200),
  account: z.string().check(z.regex(/^\d{12}$/, 'must be a 12-digit AWS account id')),
  region: z.string().check(z.regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'must be an AWS region such as us-west-2')),
  detail: z.record(z.string(), z.unknown()),
});

/** A successful push's detail. Unknown keys are ignored: AWS adds fields to events without notice. */
const pushDetailSchema = z.object({
  'repository-name': z
    .string()
    .check(z.maxLength(256), z.regex(repositoryNamePattern, 'must be an ECR repository name')),
  // Absent (or empty) when the image was pushed by digest only.
  'image-tag': z.optional(z.union([z.literal(''), z.string().check(z.regex(tagPattern, 'must be an OCI tag'))])),
  'image-digest': z.optional(
    z.string().check(z.maxLength(200), z.regex(digestPattern, 'must be an OCI digest (algorithm:hex)')),
  ),
});

/** What the event says about itself before anything is checked against the configuration (for the log line). */
export interface EcrEventFacts {
  id?: string;
  /** `action-type` (PUSH, DELETE) when the event has one, else its detail-type. */
  event?: string;
}

/** A successful ECR push, read and checked. */
export interface EcrPush {
  id: string;
  account: string;
  region: string;
  repositoryName: string;
  /** `<account>.dkr.ecr.<region>.amazonaws.com/<repository-name>`: how Flux objects name it. */
  repository: string;
  tag?: string;
  digest?: string;
}

export type EcrReading =
  /** A successful push. */
  | { kind: 'push'; push: EcrPush }
  /** An ECR Image Action that is not a successful push (a DELETE, a failed push): acknowledged, not routed. */
  | { kind: 'ignored'; facts: EcrEventFacts; reason: string };

/**
 * The registry host of an account's private registry in a region ("Amazon ECR private registry", Amazon ECR user
 * guide: `aws_account_id.dkr.ecr.region.amazonaws.com`). The China regions' registries end in `.amazonaws.com.cn`.
 */
export function ecrRegistryHost(account: string, region: string): string {
  return `${account}.dkr.ecr.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}`;
}

/** What an event claims, read without trusting it (bounded), so a refused event's log line still says what it was. */
export function claimedFacts(event: unknown): EcrEventFacts {
  if (typeof event !== 'object' || event === null) return {};
  const record = event as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value.slice(0, 200) : undefined);
  const detail = typeof record.detail === 'object' && record.detail !== null ? record.detail : {};
  const id = text(record.id);
  const what = text((detail as Record<string, unknown>)['action-type']) ?? text(record['detail-type']);
  return { ...(id ? { id } : {}), ...(what ? { event: what } : {}) };
}

/**
 * Reads an EventBridge event as an ECR push. Throws MalformedPayload for anything that is not an ECR Image Action
 * event, or a successful push whose fields are not what ECR sends; a DELETE or a failed push is `ignored`.
 */
export function readEcrEvent(event: unknown): EcrReading {
  const envelope = envelopeSchema.safeParse(event);
  if (!envelope.success) throw new MalformedPayload(`not an EventBridge event: ${problems(envelope.error.issues)}`);
  const e = envelope.data;
  if (e.source !== sourceName || e['detail-type'] !== detailType) {
    throw new MalformedPayload(
      `not an ECR Image Action event (source ${JSON.stringify(e.source)}, detail-type ${JSON.stringify(e['detail-type'])})`,
    );
  }
  const facts = claimedFacts(event);
  const action = e.detail['action-type'];
  const result = e.detail.result;
  if (typeof action !== 'string' || typeof result !== 'string')
    throw new MalformedPayload('detail.action-type and detail.result must be strings');
  if (action !== 'PUSH') return { kind: 'ignored', facts, reason: `action ${action.slice(0, 100)} is not a push` };
  if (result !== 'SUCCESS')
    return { kind: 'ignored', facts, reason: `the push did not succeed (result ${result.slice(0, 100)})` };

  const detail = pushDetailSchema.safeParse(e.detail);
  if (!detail.success) throw new MalformedPayload(`ECR push: ${problems(detail.error.issues, ['detail'])}`);
  const repositoryName = detail.data['repository-name'];
  const tag = detail.data['image-tag'] || undefined;
  const digest = detail.data['image-digest'];
  return {
    kind: 'push',
    push: {
      id: e.id,
      account: e.account,
      region: e.region,
      repositoryName,
      repository: `${ecrRegistryHost(e.account, e.region)}/${repositoryName}`,
      ...(tag ? { tag } : {}),
      ...(digest ? { digest } : {}),
    },
  };
}

/** Each problem led by its field (`detail.image-tag: must be an OCI tag`), on one line. */
function problems(issues: readonly z.core.$ZodIssue[], at: PropertyKey[] = []): string {
  return issues.map((i) => `${formatPath([...at, ...i.path])}: ${i.message}`).join('; ');
}

/**
 * Why the `ecr` section does not accept a push (its account or repository is not listed), or undefined when it does.
 * `ownAccount`: the account the function runs in, the default of `accounts`.
 */
export function refusalOf(push: EcrPush, ecr: EcrConfig, ownAccount: string | undefined): string | undefined {
  const accounts = ecr.accounts ?? (ownAccount ? [ownAccount] : []);
  if (!accounts.includes(push.account)) {
    return ecr.accounts
      ? `account ${push.account} is not in ecr.accounts`
      : `account ${push.account} is not the relay's own account${ownAccount ? ` (${ownAccount})` : ''}; list it in ecr.accounts`;
  }
  if (ecr.repositories && !ecr.repositories.some((pattern) => repositoryMatches(pattern, push.repositoryName)))
    return `repository ${push.repositoryName} is not in ecr.repositories`;
  return undefined;
}

/** `team/app` matches itself; `team/*` every name that starts with `team/`. */
export function repositoryMatches(pattern: string, repositoryName: string): boolean {
  return pattern.endsWith('*') ? repositoryName.startsWith(pattern.slice(0, -1)) : repositoryName === pattern;
}

/** The account of a Lambda function ARN (`arn:aws:lambda:<region>:<account>:function:<name>`), the function's own. */
export function accountOfFunctionArn(arn: string | undefined): string | undefined {
  const account = arn?.split(':')[4];
  return account && /^\d{12}$/.test(account) ? account : undefined;
}
