// zod/mini rather than zod's classic API: the same library and checks, but tree-shakeable, and the relay loads the
// schema on every cold start (docs/decisions.md has the measurement).
import * as z from 'zod/mini';
import { en } from 'zod/v4/locales';
import { fluxKindNames, fluxKinds } from '../kube/kinds';
import { presentsIssuerToken, providerNames, routesStaticTargetsOnly } from '../providers/names';
import { parseSecretRef } from '../secrets/ref';
import { apiUrlProblem } from '../sync/api-url';

// zod/mini ships without messages ("Invalid input"); the English locale says what was expected and what was found.
z.config(en());

/** Names become URL path segments and log fields: keep them DNS-label-like. */
export const name = z
  .string()
  .check(
    z.regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be lower-case letters, digits and dashes (a DNS label)'),
  );

const secretRef = z.pipe(
  z.string(),
  z.transform((text: string, ctx) => {
    try {
      return parseSecretRef(text);
    } catch (error) {
      ctx.issues.push({ code: 'custom', message: (error as Error).message, input: text });
      return z.NEVER;
    }
  }),
);

export const k8sName = z
  .string()
  .check(z.regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, 'must be a Kubernetes object name'));
const nonEmpty = z.string().check(z.minLength(1));
const positiveInt = z.int().check(z.positive());

/**
 * An EKS cluster the relay reaches with its own IAM identity: no stored credential. The relay's role (or `roleArn`)
 * needs an EKS access entry with the Kubernetes group `flux-webhook-relay` (the deploy creates it for same-account
 * clusters; README, "Deploying").
 */
const eks = z
  .strictObject({
    /** The EKS cluster's name (what `aws eks describe-cluster --name` takes). */
    cluster: z
      .string()
      .check(
        z.regex(
          /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/,
          'must be an EKS cluster name (letters, digits, - and _, at most 100)',
        ),
      ),
    /** Its region; default the relay's own (AWS_REGION). */
    region: z.optional(
      z.string().check(z.regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'must be an AWS region such as eu-west-1')),
    ),
    /** A role to assume first, for a cluster in another account; its access entry is then made there, not by the deploy. */
    roleArn: z.optional(
      z.string().check(z.regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/, 'must be an IAM role ARN')),
    ),
    /** The API server's URL (https://...), with certificateAuthority: skips the DescribeCluster call. */
    endpoint: z.optional(
      z.string().check(z.regex(/^https:\/\/[^\s/?#]+\/?$/, 'must be an https:// URL without a path')),
    ),
    /** The cluster's CA, base64 PEM as DescribeCluster returns it (`certificateAuthority.data`); with endpoint. */
    certificateAuthority: z.optional(
      z
        .string()
        .check(z.regex(/^[A-Za-z0-9+/=\s]+$/, 'must be base64 (certificateAuthority.data of describe-cluster)')),
    ),
  })
  .check(
    z.superRefine((e, ctx) => {
      if ((e.endpoint === undefined) !== (e.certificateAuthority === undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: [e.endpoint === undefined ? 'endpoint' : 'certificateAuthority'],
          message: 'endpoint and certificateAuthority go together',
          input: e,
        });
      }
    }),
  );

/** A cluster the relay patches: through a stored kubeconfig, or (on EKS) its own IAM identity. */
const cluster = z
  .strictObject({
    /** Secret reference to a kubeconfig (YAML) for a service account that may get/list/patch Flux sources. */
    kubeconfig: z.optional(secretRef),
    /** Instead of kubeconfig: an EKS cluster, authenticated by tokens the relay signs (no stored secret). */
    eks: z.optional(eks),
    /** Context to use from that kubeconfig; default its current-context. */
    context: z.optional(nonEmpty),
    /** Namespaces whose GitRepositories are considered; default every namespace (needs cluster-wide list). */
    namespaces: z.optional(z.array(k8sName).check(z.minLength(1))),
  })
  .check(
    z.superRefine((c, ctx) => {
      if ((c.kubeconfig === undefined) === (c.eks === undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: ['kubeconfig'],
          message: 'exactly one of kubeconfig and eks is required',
          input: c,
        });
      }
      if (c.eks && c.context !== undefined)
        ctx.addIssue({ code: 'custom', path: ['context'], message: 'applies only with kubeconfig', input: c });
    }),
  );

/** A Flux object annotated on every accepted push, like a Flux Receiver's `spec.resources`. */
const target = z
  .strictObject({
    cluster: name,
    kind: z.enum(fluxKindNames as [string, ...string[]]),
    /** An object name, or `*` for every object of the kind in the namespace that carries `matchLabels`. */
    name: z.union([k8sName, z.literal('*')]),
    namespace: k8sName,
    apiVersion: z.optional(z.string().check(z.regex(/^[a-z0-9.-]+\/v[0-9a-z]+$/, 'must look like group/version'))),
    /** With `name: "*"` only: the labels an object must carry (Flux's Receiver has the same rule). */
    matchLabels: z.optional(z.record(z.string(), z.string())),
  })
  .check(
    z.superRefine((t, ctx) => {
      // Flux refuses `*` without a selector: annotating every object of a kind is never what a push means.
      if (t.name === '*' && (!t.matchLabels || Object.keys(t.matchLabels).length === 0)) {
        ctx.addIssue({ code: 'custom', path: ['matchLabels'], message: 'is required with name "*"', input: t });
      }
      if (t.name !== '*' && t.matchLabels) {
        ctx.addIssue({ code: 'custom', path: ['matchLabels'], message: 'applies only with name "*"', input: t });
      }
    }),
  );

export { providerNames, type ProviderName } from '../providers/names';

/**
 * What a delivery's answer says. The provider keeps every answer in the hook's delivery history, which every admin of
 * the repository (or organisation) can read. `detailed`: what was matched, patched, queued and failed, by
 * `cluster/namespace/Kind/name`, with each failure's error text. `counts`: only numbers, the outcome and requestedAt,
 * with generic reasons: no cluster, namespace, object, secret name or API server text. The log line has every detail
 * either way.
 */
const answersMode = z.enum(['detailed', 'counts']);

/** An endpoint `/hooks/<receiver name>` for one provider and one webhook secret. */
const receiver = z.strictObject({
  provider: z.enum(providerNames),
  /**
   * Secret reference to the webhook secret (GitHub secret, GitLab secret token): at least 16 bytes; for a
   * `bitbucket-cloud` receiver whose hooks the sync registers, at most 128 characters (Bitbucket Cloud refuses longer
   * ones; the sync checks the value when it reads it, before any provider call).
   */
  secret: secretRef,
  /** Events acted on; others are acknowledged with 2xx and ignored. Default: the provider's push events. */
  events: z.optional(z.array(nonEmpty).check(z.minLength(1))),
  /** Clusters this receiver patches; default all. */
  clusters: z.optional(z.array(name).check(z.minLength(1))),
  /** Objects annotated on every accepted push, whatever the payload's repository. */
  targets: z.optional(z.array(target)),
  /** What this receiver's answers say; default the top-level `answers`. */
  answers: z.optional(answersMode),
  /** generic-hmac only: also accept `sha1=` signatures (Flux accepts them; off by default, SHA-1 is a weak MAC). */
  allowSha1: z.optional(z.boolean()),
  /**
   * nexus only: where each Nexus repository's Docker (OCI) content is pulled from, by repository name. Nexus serves a
   * Docker repository on a connector port, a subdomain or a path, none of which its webhook payload carries, so the
   * relay routes a repository's pushes only when it is listed here: `docker-hosted: nexus.example.com:8082`
   * (connector), `docker-hosted.nexus.example.com` (subdomain) or `nexus.example.com/repository/docker-hosted` (path).
   * The image reference is this value, `/`, the component's name.
   */
  registryHosts: z.optional(
    z.record(
      z.string().check(z.regex(/^[A-Za-z0-9._-]{1,200}$/, 'must be a Nexus repository name')),
      z
        .string()
        .check(
          z.regex(
            /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/,
            'must be a registry host in lower case, with an optional :port and /path, and no scheme (nexus.example.com:8082)',
          ),
        ),
    ),
  ),
  /**
   * gcr only, required there: the audience of the OpenID Connect token the Pub/Sub push subscription sends
   * (`--push-auth-token-audience`; Pub/Sub's default is the push endpoint's URL). A token for another audience is a 401.
   */
  audience: z.optional(z.string().check(z.minLength(1), z.maxLength(2048))),
  /**
   * gcr only, required there: the service account the push subscription signs its tokens as
   * (`--push-auth-service-account`), e.g. `relay-push@my-project.iam.gserviceaccount.com`. The token's `email` must be
   * exactly this, verified: without the comparison a token from anyone's subscription would do (Flux's CVE-2026-40109).
   */
  serviceAccount: z.optional(
    z
      .string()
      .check(
        z.regex(
          /^[a-z0-9][a-z0-9._%+-]{0,63}@[a-z0-9-]+(?:\.[a-z0-9-]+)+$/,
          'must be a service account e-mail address in lower case (name@project.iam.gserviceaccount.com)',
        ),
      ),
  ),
  /**
   * Replay protection (off by default): an authenticated delivery whose body (SHA-256 of the exact bytes) or whose
   * delivery id was already applied within the window is acknowledged with 200 `duplicate` and not applied again.
   * Two deliveries with identical bytes within the window count as one (README, "Replay protection").
   */
  dedupe: z.optional(
    z.strictObject({
      /** How long a delivery (its id and its body hash) is remembered. Default one hour. */
      windowSeconds: z._default(positiveInt.check(z.maximum(7 * 24 * 3600)), 3600),
    }),
  ),
});

/** An AWS account id: 12 digits. */
const awsAccountId = z.string().check(z.regex(/^\d{12}$/, 'must be a 12-digit AWS account id'));

/**
 * An ECR repository name as CreateRepository accepts it (lower-case `/`-separated components of letters, digits and
 * `.`, `_`, `-`; at most 256 characters), or a prefix of names ending in `*` (`team/*`).
 */
const ecrRepository = z
  .string()
  .check(
    z.maxLength(256),
    z.regex(
      /^(?:(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*|[a-z0-9][a-z0-9._/-]*\*)$/,
      'must be an ECR repository name (lower case, e.g. team/app) or a prefix ending in * (team/*)',
    ),
  );

/**
 * Amazon ECR pushes, which ECR publishes to EventBridge instead of sending webhooks: the `registryEvents` function
 * (functions/registry-events.ts) gets each successful push from an EventBridge rule and routes it like a registry
 * receiver's push. It is deployed only with this section. README, "Amazon ECR".
 */
const ecr = z.strictObject({
  /**
   * Accounts whose registries' pushes are accepted (the event's `account`). Default: the account the relay runs in.
   * Events of other accounts arrive only when they forward them to this account's default event bus.
   */
  accounts: z.optional(z.array(awsAccountId).check(z.minLength(1))),
  /** Repositories accepted: names, or prefixes ending in `*`. Default: every repository of those accounts. */
  repositories: z.optional(z.array(ecrRepository).check(z.minLength(1))),
  /** Clusters the pushes are routed on; default all. */
  clusters: z.optional(z.array(name).check(z.minLength(1))),
  /** Objects annotated on every accepted push, whatever the repository (as a receiver's `targets`). */
  targets: z.optional(z.array(target)),
});

const limits = z.strictObject({
  /** Bodies above this many bytes get 413 before any secret is read. Default 3 MiB, Flux's own receiver limit. */
  maxBodyBytes: z._default(positiveInt.check(z.maximum(6 * 1024 * 1024)), 3 * 1024 * 1024),
  /** Time allowed for one cluster (list + patches) in one delivery. */
  clusterTimeoutMs: z._default(positiveInt, 4000),
  /** Time allowed for all clusters in one delivery; keep it well under the provider's 10 s delivery timeout. */
  deliveryBudgetMs: z._default(positiveInt.check(z.maximum(25000)), 8000),
  /** How long secrets (webhook secrets and kubeconfigs) are cached in a warm container. */
  secretCacheTtlSeconds: z._default(z.int().check(z.nonnegative()), 300),
});

/** Providers whose webhooks the sync function can manage (see lib/sync). */
export const syncProviderNames = [
  'github',
  'gitlab',
  'gitea',
  'forgejo',
  'bitbucket-cloud',
  'bitbucket-server',
  'gogs',
  'azure-devops',
] as const;

/** `https:` only; `http:` to a loopback host is admitted by `sync.allowHttpLoopback` (checked below, lib/sync/api-url.ts). */
const apiUrl = z
  .string()
  .check(z.regex(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, 'must be an https: URL without query or fragment'));

/**
 * A GitHub App the sync authenticates as, instead of a token (provider github): it signs a JWT with the private key and
 * uses an installation token per account it is installed on (lib/sync/providers/github-app.ts). The app needs the
 * repository permission "Webhooks: read and write", and the organisation permission "Webhooks: read and write" for
 * `organizations`.
 */
const githubApp = z.strictObject({
  /** The app id (a number on the app's settings page) or its client id (`Iv...`); sent as the JWT's `iss`. */
  appId: z.pipe(
    z.union([
      z.int().check(z.positive()),
      z
        .string()
        .check(z.regex(/^([1-9][0-9]*|Iv[0-9A-Za-z.]{6,})$/, 'must be the app id (digits) or its client id (Iv...)')),
    ]),
    z.transform((id: number | string) => String(id)),
  ),
  /** Secret reference to the app's private key (the PEM file GitHub generates). */
  privateKey: secretRef,
  /** The installation to use for every repository; default: each account's installation, looked up once. */
  installationId: z.optional(positiveInt),
});

/**
 * One set of webhooks the sync keeps in place on one provider: for each repository (listed, or discovered from the
 * GitRepositories on the receiver's clusters), exactly one hook pointing at the receiver, with its secret.
 */
const registration = z.strictObject({
  provider: z.enum(syncProviderNames),
  /**
   * API root, `https:` (the token goes with every call). Default for the hosted services: api.github.com,
   * gitlab.com/api/v4, api.bitbucket.org/2.0.
   */
  apiUrl: z.optional(apiUrl),
  /** Git host whose repositories are discovered. Default: the API URL's host (github.com for api.github.com, bitbucket.org for api.bitbucket.org). */
  host: z.optional(z.string().check(z.regex(/^[a-z0-9.-]+(:\d+)?$/, 'must be a host name'))),
  /**
   * Secret reference to the API token (scopes per provider: README, "Keeping webhooks in sync"). Exactly one of `token`
   * and `app`.
   */
  token: z.optional(secretRef),
  /** provider github: authenticate as a GitHub App instead of with a token. */
  app: z.optional(githubApp),
  /** The receiver the hooks deliver to: its URL and its secret. Its provider must be this provider. */
  receiver: name,
  /** Repositories to hook, as the provider names them (`org/repo`, `group/sub/project`, `PROJ/repo`). */
  repositories: z.optional(z.array(nonEmpty)),
  /** Also hook every repository a GitRepository on the receiver's clusters clones from this host. Default true. */
  discover: z._default(z.boolean(), true),
  /** Organisations (GitHub) or groups (GitLab) to hook once instead of each repository. */
  organizations: z.optional(z.array(nonEmpty).check(z.minLength(1))),
});

const sync = z.strictObject({
  /** The relay's public base URL (the HTTP API's URL); `RELAY_PUBLIC_URL` overrides it (set by the deploy). */
  publicUrl: z.optional(apiUrl),
  /** How often the sync runs (an EventBridge schedule expression). */
  schedule: z._default(
    z.string().check(z.regex(/^(rate|cron)\(.+\)$/, 'must be rate(...) or cron(...)')),
    'rate(15 minutes)',
  ),
  /** GitHub: failed deliveries this recent are redelivered by each run; keep it above the schedule interval. */
  redeliverMinutes: z._default(z.int().check(z.nonnegative()), 30),
  /**
   * Remove the relay's hook from a repository (or organisation) that left the desired set: dropped from
   * `repositories`, or its last GitRepository deleted. Only hooks the sync manages (made or found by an earlier run) and
   * only after `pruneAfterRuns` runs in a row without it, none of them with a failed discovery. Default true.
   */
  prune: z._default(z.boolean(), true),
  /** Consecutive runs a target must be absent before its hook is removed. Default 2. */
  pruneAfterRuns: z._default(z.int().check(z.minimum(1), z.maximum(100)), 2),
  registrations: z.record(name, registration),
  /**
   * For tests and local development only: admit `http:` apiUrls whose host is a loopback address (`localhost`,
   * 127.0.0.0/8, `[::1]`). Default false; an `http:` URL to any other host is refused either way.
   */
  allowHttpLoopback: z._default(z.boolean(), false),
});

const checkedConfig = z
  .strictObject({
    clusters: z
      .record(name, cluster)
      .check(z.refine((c) => Object.keys(c).length > 0, 'at least one cluster is required')),
    receivers: z
      .record(name, receiver)
      .check(z.refine((r) => Object.keys(r).length > 0, 'at least one receiver is required')),
    limits: z._default(limits, () => limits.parse({})),
    /**
     * What answers say, for every receiver without its own `answers` (and for requests naming no configured
     * receiver). Default `detailed`.
     */
    answers: z._default(answersMode, 'detailed'),
    /**
     * Record a Kubernetes Event (`WebhookReceived`, shown by `kubectl describe`) on each object the relay patches,
     * saying which delivery asked for the reconcile. Default true. It is a second API write per object and push, sent
     * beside the patch: `false` halves the relay's writes (and the API server work of a busy estate).
     */
    recordEvents: z._default(z.boolean(), true),
    /** Webhook registration (the sync function); optional. */
    sync: z.optional(sync),
    /** Amazon ECR pushes through EventBridge (the registryEvents function); optional. */
    ecr: z.optional(ecr),
  })
  .check(
    z.superRefine((config, ctx) => {
      const clusterNames = new Set(Object.keys(config.clusters));
      for (const [receiverName, r] of Object.entries(config.receivers)) {
        // Fields that mean something to one provider only.
        for (const [field, provider] of [
          ['allowSha1', 'generic-hmac'],
          ['registryHosts', 'nexus'],
          ['audience', 'gcr'],
          ['serviceAccount', 'gcr'],
        ] as const) {
          if (r[field] !== undefined && r.provider !== provider)
            ctx.addIssue({
              code: 'custom',
              path: ['receivers', receiverName, field],
              message: `applies only to provider ${provider}`,
              input: r,
            });
        }
        if (presentsIssuerToken(r.provider)) {
          for (const field of ['audience', 'serviceAccount'] as const)
            if (r[field] === undefined)
              ctx.addIssue({
                code: 'custom',
                path: ['receivers', receiverName, field],
                message: `is required for provider ${r.provider}: its deliveries carry a token Google signs, checked against it`,
                input: r,
              });
        }
        if (routesStaticTargetsOnly(r.provider)) {
          if ((r.targets ?? []).length === 0) {
            ctx.addIssue({
              code: 'custom',
              path: ['receivers', receiverName, 'targets'],
              message: `provider ${r.provider} routes nothing by payload, so it needs targets`,
              input: r,
            });
          }
          // Its deliveries carry no event name: a list here could only ever silence the receiver.
          if (r.events)
            ctx.addIssue({
              code: 'custom',
              path: ['receivers', receiverName, 'events'],
              message: `provider ${r.provider} has no events to choose from`,
              input: r,
            });
        }
        checkRouting(r, ['receivers', receiverName], clusterNames, ctx);
      }
      if (config.ecr) checkRouting(config.ecr, ['ecr'], clusterNames, ctx);
      // Providers post the webhook secret (GitLab's token, Azure DevOps' Basic credential) to this URL: never in clear text.
      const publicUrlIssue =
        config.sync?.publicUrl === undefined
          ? undefined
          : apiUrlProblem(config.sync.publicUrl, config.sync.allowHttpLoopback);
      if (publicUrlIssue)
        ctx.addIssue({ code: 'custom', path: ['sync', 'publicUrl'], message: publicUrlIssue, input: config.sync });
      for (const [registrationName, r] of Object.entries(config.sync?.registrations ?? {})) {
        const path = ['sync', 'registrations', registrationName];
        const target = config.receivers[r.receiver];
        if (!target)
          ctx.addIssue({
            code: 'custom',
            path: [...path, 'receiver'],
            message: `unknown receiver ${r.receiver}`,
            input: r,
          });
        else if (target.provider !== r.provider) {
          ctx.addIssue({
            code: 'custom',
            path: [...path, 'receiver'],
            message: `receiver ${r.receiver} is a ${target.provider} receiver, not ${r.provider}`,
            input: r,
          });
        }
        if (r.token === undefined && r.app === undefined)
          ctx.addIssue({
            code: 'custom',
            path: [...path, 'token'],
            message: r.provider === 'github' ? 'is required (or app: a GitHub App)' : 'is required',
            input: r,
          });
        if (r.token !== undefined && r.app !== undefined)
          ctx.addIssue({
            code: 'custom',
            path: [...path, 'app'],
            message: 'cannot be given with token: choose one',
            input: r,
          });
        if (r.app !== undefined && r.provider !== 'github')
          ctx.addIssue({
            code: 'custom',
            path: [...path, 'app'],
            message: `GitHub App authentication applies only to provider github, not ${r.provider}`,
            input: r,
          });
        const apiUrlIssue =
          r.apiUrl === undefined ? undefined : apiUrlProblem(r.apiUrl, config.sync?.allowHttpLoopback ?? false);
        if (apiUrlIssue) ctx.addIssue({ code: 'custom', path: [...path, 'apiUrl'], message: apiUrlIssue, input: r });
        if (!r.apiUrl && !['github', 'gitlab', 'bitbucket-cloud'].includes(r.provider)) {
          ctx.addIssue({
            code: 'custom',
            path: [...path, 'apiUrl'],
            message:
              r.provider === 'azure-devops'
                ? 'is required for azure-devops: the organization, https://dev.azure.com/<organization>'
                : `is required for ${r.provider} (self-hosted)`,
            input: r,
          });
        }
        // Azure DevOps names a repository by its project (`project/repo`; the organization is the apiUrl). Its names may
        // hold spaces, never a separator or what would rewrite a URL path.
        if (r.provider === 'azure-devops')
          (r.repositories ?? []).forEach((repo, i) => {
            if (!/^(?!\.\.?\/)[^/?#%\\\t\r\n]+\/(?!\.\.?$)[^/?#%\\\t\r\n]+$/.test(repo))
              ctx.addIssue({
                code: 'custom',
                path: [...path, 'repositories', i],
                message: 'must be project/repository (the organization is in apiUrl)',
                input: r,
              });
          });
        // Azure DevOps: `organizations` are projects, one subscription for every repository of each.
        if (r.organizations && !['github', 'gitlab', 'gitea', 'forgejo', 'azure-devops'].includes(r.provider)) {
          ctx.addIssue({
            code: 'custom',
            path: [...path, 'organizations'],
            message: `organisation hooks are not supported for ${r.provider}`,
            input: r,
          });
        }
        if (!r.discover && !r.organizations && (r.repositories ?? []).length === 0) {
          ctx.addIssue({
            code: 'custom',
            path,
            message: 'names no repositories: list some, set discover: true, or give organizations',
            input: r,
          });
        }
      }
      if (config.limits.clusterTimeoutMs > config.limits.deliveryBudgetMs) {
        ctx.addIssue({
          code: 'custom',
          path: ['limits', 'clusterTimeoutMs'],
          message: 'must not exceed limits.deliveryBudgetMs',
        });
      }
    }),
  );

/** A receiver's (or the ecr section's) `clusters` and `targets` name configured clusters, the targets its own clusters. */
function checkRouting(
  r: { clusters?: string[] | undefined; targets?: Array<{ cluster: string }> | undefined },
  at: string[],
  clusterNames: ReadonlySet<string>,
  ctx: z.core.$RefinementCtx,
): void {
  r.clusters?.forEach((c, i) => {
    if (!clusterNames.has(c))
      ctx.addIssue({ code: 'custom', path: [...at, 'clusters', i], message: `unknown cluster ${c}` });
  });
  r.targets?.forEach((t, i) => {
    const path = [...at, 'targets', i, 'cluster'];
    if (!clusterNames.has(t.cluster)) ctx.addIssue({ code: 'custom', path, message: `unknown cluster ${t.cluster}` });
    else if (r.clusters && !r.clusters.includes(t.cluster)) {
      const whose = at[0] === 'ecr' ? 'the ecr section' : 'this receiver';
      ctx.addIssue({ code: 'custom', path, message: `cluster ${t.cluster} is not in ${whose}'s clusters` });
    }
  });
}

/** Static targets with their kind typed and their apiVersion defaulted from the kind. */
function withDefaults<T extends { kind: string; apiVersion?: string | undefined }>(targets: T[] | undefined) {
  return (targets ?? []).map((t) => ({
    ...t,
    kind: t.kind as keyof typeof fluxKinds,
    apiVersion: t.apiVersion ?? fluxKinds[t.kind as keyof typeof fluxKinds].apiVersion,
  }));
}

export const configSchema = z.pipe(
  checkedConfig,
  z.transform((config: z.output<typeof checkedConfig>) => ({
    ...config,
    receivers: Object.fromEntries(
      Object.entries(config.receivers).map(([receiverName, r]) => [
        receiverName,
        { ...r, targets: withDefaults(r.targets) },
      ]),
    ),
    ecr: config.ecr && { ...config.ecr, targets: withDefaults(config.ecr.targets) },
  })),
);

export type RelayConfig = z.output<typeof configSchema>;
export type ReceiverConfig = RelayConfig['receivers'][string];
export type ClusterConfig = RelayConfig['clusters'][string];
export type AnswersMode = z.output<typeof answersMode>;
export type SyncConfig = NonNullable<RelayConfig['sync']>;
export type RegistrationConfig = SyncConfig['registrations'][string];
export type EcrConfig = NonNullable<RelayConfig['ecr']>;
/** What routes a delivery besides its payload: the clusters it goes to and the static targets annotated on each. */
export type RoutingConfig = Pick<ReceiverConfig, 'clusters' | 'targets'>;
