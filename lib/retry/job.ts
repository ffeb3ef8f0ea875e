import * as z from 'zod/mini';
import { parseRfc3339Nano } from '../time/clock';
import { formatPath } from '../config/load';
import { k8sName, name, type RelayConfig, type RoutingConfig } from '../config/schema';
import { fluxKindNames } from '../kube/kinds';
import { maxLinks, maxNameLength, maxRefChanges, maxUrlLength } from '../providers/payload';
import type { ClusterJob } from '../delivery/reconcile';
import { digestPattern, maxReferenceLength, tagPattern } from '../matching/artifact-ref';

/**
 * How far a job's requestedAt may lie ahead of the retry function's clock: two Lambda hosts' clocks (both NTP-synced,
 * normally milliseconds apart) with a margin. A later value is not a relay's: written, it would make every later
 * retry of the object take it as already done (RunOptions.keepLaterRequests), so such a job is refused.
 */
export const maxClockSkewSeconds = 300;

/** `cluster/namespace/Kind/name` with a Flux kind and Kubernetes names: what narrowedTo puts in `only`. */
const target = z.string().check(
  z.superRefine((text, ctx) => {
    const parts = text.split('/');
    const [, namespace, kind, objectName] = parts;
    const problem =
      parts.length !== 4
        ? 'must be cluster/namespace/Kind/name'
        : !(fluxKindNames as string[]).includes(kind!)
          ? `kind ${kind!.slice(0, 50)} is not a Flux kind (${fluxKindNames.join(', ')})`
          : !k8sName.safeParse(namespace).success || !k8sName.safeParse(objectName).success
            ? 'namespace and name must be Kubernetes object names'
            : undefined;
    if (problem) ctx.addIssue({ code: 'custom', message: problem, input: text });
  }),
);

/**
 * A ClusterJob exactly as lib/retry/sqs.ts sends it (lib/delivery/reconcile.ts jobsFor and narrowedTo), with the bounds the
 * relay itself keeps (lib/providers/payload.ts): nothing else.
 */
const jobSchema = z.strictObject({
  receiver: name,
  // An ECR event's job (lib/registry-events): routed by the configuration's `ecr` section.
  source: z.optional(z.literal('ecr')),
  cluster: name,
  requestedAt: z
    .string()
    .check(z.regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/, 'must be an RFC 3339 UTC timestamp')),
  // Only bounded by the message size: it names refs the payload bounds, and the Event cuts it to 1 KiB anyway.
  note: z.string().check(z.maxLength(262_144)),
  push: z.optional(
    z.strictObject({
      // A payload gives a few clone URLs and at most maxLinks links, each a key at most; none when no URL had one
      // (static targets still apply).
      keys: z.array(z.string().check(z.minLength(1), z.maxLength(maxUrlLength))).check(z.maxLength(4 * maxLinks)),
      // A push that reaches a cluster moved at least one ref.
      refs: z
        .array(z.string().check(z.regex(/^refs\/\S+$/, 'must be a full ref (refs/...)'), z.maxLength(maxNameLength)))
        .check(z.minLength(1), z.maxLength(maxRefChanges)),
    }),
  ),
  // A registry push: each artifact as parseArtifactReference gives it (lib/matching/artifact-ref.ts), bounded like refs.
  artifacts: z.optional(
    z
      .array(
        z.strictObject({
          key: z.string().check(z.minLength(1), z.maxLength(maxReferenceLength)),
          tag: z.optional(z.string().check(z.regex(tagPattern, 'must be an OCI tag'))),
          digest: z.optional(
            z.string().check(z.maxLength(200), z.regex(digestPattern, 'must be an OCI digest (algorithm:hex)')),
          ),
        }),
      )
      .check(z.minLength(1), z.maxLength(maxRefChanges)),
  ),
  only: z.optional(z.array(target).check(z.minLength(1), z.maxLength(10_000))),
  deliveryId: z.optional(z.string().check(z.minLength(1), z.maxLength(200))),
});

export type JobRejection =
  /** Not a job the relay could have sent (shape, bounds, a future requestedAt, a target of another cluster). */
  | { error: string; kind: 'malformed' }
  /** A well-formed job for a receiver or cluster the configuration no longer has. */
  | { error: string; kind: 'unconfigured'; job: ClusterJob };

/**
 * Reads a queued ClusterJob back from a message body, checked with the same discipline as the configuration: every
 * field's shape and bound, the receiver and cluster against the configuration, each `only` target on the job's
 * cluster, and requestedAt not ahead of `nowNs` by more than the clock skew. Anything else is refused with a reason
 * (the retry function dead-letters it): a message may come from an older relay, a hand-made redrive, a bug, or anyone
 * who could send to the queue, and running half a job, or a forged one, is worse than not running it.
 */
export function parseClusterJob(
  body: string,
  context: { config: Pick<RelayConfig, 'receivers' | 'clusters' | 'ecr'>; nowNs: bigint },
): { job: ClusterJob } | JobRejection {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    return { error: 'the body is not JSON', kind: 'malformed' };
  }
  const parsed = jobSchema.safeParse(raw);
  if (!parsed.success) {
    return {
      error: parsed.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`).join('; '),
      kind: 'malformed',
    };
  }
  const job = parsed.data;
  const ahead = parseRfc3339Nano(job.requestedAt)! - context.nowNs;
  if (ahead > BigInt(maxClockSkewSeconds) * 1_000_000_000n) {
    return {
      error: `requestedAt is ${ahead / 1_000_000_000n} s in the future; at most ${maxClockSkewSeconds} s of clock skew is allowed`,
      kind: 'malformed',
    };
  }
  const foreign = (job.only ?? []).findIndex((t) => !t.startsWith(`${job.cluster}/`));
  if (foreign >= 0)
    return { error: `only[${foreign}]: target is not on the job's cluster ${job.cluster}`, kind: 'malformed' };

  const clusterJob: ClusterJob = {
    receiver: job.receiver,
    ...(job.source ? { source: job.source } : {}),
    cluster: job.cluster,
    requestedAt: job.requestedAt,
    note: job.note,
    ...(job.push ? { push: job.push } : {}),
    ...(job.artifacts
      ? {
          artifacts: job.artifacts.map((a) => ({
            key: a.key,
            ...(a.tag ? { tag: a.tag } : {}),
            ...(a.digest ? { digest: a.digest } : {}),
          })),
        }
      : {}),
    ...(job.only ? { only: job.only } : {}),
    ...(job.deliveryId ? { deliveryId: job.deliveryId } : {}),
  };
  const { clusters } = context.config;
  const receiver = routingOf(context.config, clusterJob);
  const whose = clusterJob.source === 'ecr' ? 'the ecr section' : `receiver ${job.receiver}`;
  if (!receiver) return { error: `${whose} is no longer configured`, kind: 'unconfigured', job: clusterJob };
  if (!Object.hasOwn(clusters, job.cluster) || !(receiver.clusters ?? Object.keys(clusters)).includes(job.cluster)) {
    return {
      error: `cluster ${job.cluster} is no longer a cluster of ${whose}`,
      kind: 'unconfigured',
      job: clusterJob,
    };
  }
  return { job: clusterJob };
}

/** The configuration that routes a job: its receiver's, or the `ecr` section for an ECR event's; undefined when gone. */
export function routingOf(
  config: Pick<RelayConfig, 'receivers' | 'ecr'>,
  job: Pick<ClusterJob, 'receiver' | 'source'>,
): RoutingConfig | undefined {
  if (job.source === 'ecr') return config.ecr;
  return Object.hasOwn(config.receivers, job.receiver) ? config.receivers[job.receiver] : undefined;
}
