import { z } from 'zod';
import { fluxKindNames, fluxKinds } from '../kube/kinds';
import { parseSecretRef } from '../secrets/ref';

/** Names become URL path segments and log fields: keep them DNS-label-like. */
const name = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be lower-case letters, digits and dashes (a DNS label)');

const secretRef = z.string().transform((text, ctx) => {
  try {
    return parseSecretRef(text);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

const k8sName = z.string().regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, 'must be a Kubernetes object name');

/** A cluster the relay patches. */
const cluster = z.strictObject({
  /** Secret reference to a kubeconfig (YAML) for a service account that may get/list/patch Flux sources. */
  kubeconfig: secretRef,
  /** Context to use from that kubeconfig; default its current-context. */
  context: z.string().min(1).optional(),
  /** Namespaces whose GitRepositories are considered; default every namespace (needs cluster-wide list). */
  namespaces: z.array(k8sName).min(1).optional(),
});

/** A Flux object annotated on every accepted push, like a Flux Receiver's `spec.resources`. */
const target = z.strictObject({
  cluster: name,
  kind: z.enum(fluxKindNames as [string, ...string[]]),
  name: k8sName,
  namespace: k8sName,
  apiVersion: z.string().regex(/^[a-z0-9.-]+\/v[0-9a-z]+$/, 'must look like group/version').optional(),
});

export const providerNames = ['github', 'gitlab'] as const;

/** An endpoint `/hooks/<receiver name>` for one provider and one webhook secret. */
const receiver = z.strictObject({
  provider: z.enum(providerNames),
  /** Secret reference to the webhook secret (GitHub secret, GitLab secret token). */
  secret: secretRef,
  /** Events acted on; others are acknowledged with 2xx and ignored. Default: the provider's push events. */
  events: z.array(z.string().min(1)).min(1).optional(),
  /** Clusters this receiver patches; default all. */
  clusters: z.array(name).min(1).optional(),
  /** Objects annotated on every accepted push, whatever the payload's repository. */
  targets: z.array(target).optional(),
});

const limits = z.strictObject({
  /** Bodies above this many bytes get 413 before any secret is read. Default 3 MiB, Flux's own receiver limit. */
  maxBodyBytes: z.number().int().positive().max(6 * 1024 * 1024).default(3 * 1024 * 1024),
  /** Time allowed for one cluster (list + patches) in one delivery. */
  clusterTimeoutMs: z.number().int().positive().default(4000),
  /** Time allowed for all clusters in one delivery; keep it well under the provider's 10 s delivery timeout. */
  deliveryBudgetMs: z.number().int().positive().max(25000).default(8000),
  /** How long secrets (webhook secrets and kubeconfigs) are cached in a warm container. */
  secretCacheTtlSeconds: z.number().int().nonnegative().default(300),
});

export const configSchema = z
  .strictObject({
    clusters: z.record(name, cluster).refine((c) => Object.keys(c).length > 0, 'at least one cluster is required'),
    receivers: z.record(name, receiver).refine((r) => Object.keys(r).length > 0, 'at least one receiver is required'),
    limits: limits.default(() => limits.parse({})),
  })
  .superRefine((config, ctx) => {
    const clusterNames = new Set(Object.keys(config.clusters));
    for (const [receiverName, r] of Object.entries(config.receivers)) {
      r.clusters?.forEach((c, i) => {
        if (!clusterNames.has(c)) {
          ctx.addIssue({ code: 'custom', path: ['receivers', receiverName, 'clusters', i], message: `unknown cluster ${c}` });
        }
      });
      r.targets?.forEach((t, i) => {
        const path = ['receivers', receiverName, 'targets', i, 'cluster'];
        if (!clusterNames.has(t.cluster)) ctx.addIssue({ code: 'custom', path, message: `unknown cluster ${t.cluster}` });
        else if (r.clusters && !r.clusters.includes(t.cluster)) {
          ctx.addIssue({ code: 'custom', path, message: `cluster ${t.cluster} is not in this receiver's clusters` });
        }
      });
    }
    if (config.limits.clusterTimeoutMs > config.limits.deliveryBudgetMs) {
      ctx.addIssue({ code: 'custom', path: ['limits', 'clusterTimeoutMs'], message: 'must not exceed limits.deliveryBudgetMs' });
    }
  })
  .transform((config) => ({
    ...config,
    receivers: Object.fromEntries(
      Object.entries(config.receivers).map(([receiverName, r]) => [
        receiverName,
        {
          ...r,
          targets: (r.targets ?? []).map((t) => ({
            ...t,
            kind: t.kind as keyof typeof fluxKinds,
            apiVersion: t.apiVersion ?? fluxKinds[t.kind as keyof typeof fluxKinds].apiVersion,
          })),
        },
      ]),
    ),
  }));

export type RelayConfig = z.output<typeof configSchema>;
export type ReceiverConfig = RelayConfig['receivers'][string];
export type ClusterConfig = RelayConfig['clusters'][string];
export type ProviderName = (typeof providerNames)[number];
