import { MalformedPayload } from '../delivery/errors';
import type { WebhookRequest } from '../http/request';
import { inspectBitbucket } from './hmac-signature';
import {
  boundedArray,
  boundedPush,
  isZeroSha,
  type JsonObject,
  maxLinks,
  maxRefChanges,
  objectAt,
  optionalString,
  parseJsonBody,
  requireRef,
} from './payload';
import type { Inspection, Provider, PushEvent, RefChange } from './provider';

/*
 * Bitbucket Data Center (formerly Server) webhooks, per Atlassian's Data Center documentation "Event payload"
 * (confluence.atlassian.com/bitbucketserver/event-payload-938025882.html, section "HTTP headers" and "Push") and
 * "Manage webhooks" (section "Securing your webhook"):
 * - `X-Hub-Signature: sha256=<hex>`, the HMAC-SHA256 of the raw body keyed with the hook's secret, sent only when a
 *   secret is set. Only that exact form is accepted. (Hooks may instead use Basic `Authorization`; not supported.)
 * - `X-Event-Key` names the event: `repo:refs_changed` for pushes. `X-Request-Id` is a UUID per request. Data Center
 *   does not retry deliveries.
 * - `diagnostics:ping` is what the "Test connection" button sends. It is not in the documented event list; it is
 *   answered as a ping once authenticated. Bitbucket Server 5.6 and 6.2 were reported to send it WITHOUT
 *   `X-Hub-Signature` (runatlantis/atlantis#474, #625), which this relay answers 401 like any unsigned delivery.
 * - `changes[]` holds every ref the push moved: `ref.id` is the full ref, `ref.type` BRANCH or TAG, `toHash` the new
 *   commit, `type` ADD, UPDATE or DELETE (a deletion has `toHash` all zeros).
 * - `repository.links.clone[]` gives `{href, name: "ssh"|"http"}` in real deliveries, e.g.
 *   `ssh://git@host:7999/proj/repo.git` and `https://host/scm/proj/repo.git` (note: the documented example payload has
 *   no `links` at all; without a link there is no host, so such a payload is refused as malformed).
 *
 * Repository identity. repoKey (lib/matching/repo-url.ts) drops scheme, user and port, so the ssh link gives
 * `host/proj/repo` and the http link `host/scm/proj/repo`: the `/scm/` segment (and any context path before it, e.g.
 * `https://host/bitbucket/scm/proj/repo.git`) keeps the two apart. Emitting both links already lets a GitRepository
 * that uses either form match. On top of that the provider adds, for every host named in the repository's links,
 * `ssh://git@<host>/<project key>/<slug>.git`, built from `project.key` and `slug` rather than by editing URLs: it
 * covers servers whose SSH base URL names another host than the one a GitRepository uses for SSH (the web host), and
 * a payload that lists only the http link. These candidates cannot name another repository: Data Center SSH paths are
 * exactly `<key>/<slug>` and HTTP paths always have `scm/` before them, so the keys of two repositories never collide.
 */
const pushEvent = 'repo:refs_changed';
const pingEvent = 'diagnostics:ping';
const changeTypes = new Set(['ADD', 'UPDATE', 'DELETE']);
/** Project keys (`PROJ`, personal `~user`) and repository slugs are URL-safe; anything else is not used in a URL. */
const pathSegment = /^~?[A-Za-z0-9._-]+$/;

export const bitbucketServer: Provider = {
  name: 'bitbucket-server',
  defaultEvents: [pushEvent],
  eventHeader: 'x-event-key',
  deliveryHeaders: ['x-request-id'],

  inspect: (request: WebhookRequest, body: Buffer): Inspection => inspectBitbucket(request, body),

  isPing: (event) => event === pingEvent,
  isPush: (event) => event === pushEvent,

  parsePush(_request: WebhookRequest, body: Buffer, event: string): PushEvent {
    const what = `Bitbucket Data Center ${event} payload`;
    const payload = parseJsonBody(body, what);
    const repository = objectAt(payload, 'repository', what);
    const slug = optionalString(repository, 'slug');
    const project = isObject(repository.project) ? optionalString(repository.project, 'key') : undefined;
    const repositoryUrls = candidateUrls(repository, project, slug, what);
    if (repositoryUrls.length === 0)
      throw new MalformedPayload(`${what}: repository.links has no clone or self link to identify it by`);

    // Bounded before anything iterates it (lib/providers/payload.ts maxRefChanges).
    const changes = boundedArray(payload.changes, maxRefChanges, `${what}: changes`);
    return boundedPush(
      {
        repository: project && slug ? `${project}/${slug}` : repositoryUrls[0]!,
        repositoryUrls,
        changes: changes.map((change, i) => refChange(change, `${what}: changes[${i}]`)),
      },
      what,
    );
  },
};

/** The clone links as given, then the SSH form of `<key>/<slug>` on every host the links name (see above). */
function candidateUrls(
  repository: JsonObject,
  project: string | undefined,
  slug: string | undefined,
  what: string,
): string[] {
  const links = isObject(repository.links) ? repository.links : {};
  const clone = hrefs(links.clone, `${what}: repository.links.clone`);
  const hosts = [...clone, ...hrefs(links.self, `${what}: repository.links.self`)]
    .map(hostOf)
    .filter((h): h is string => h !== undefined);
  const derived =
    project && slug && pathSegment.test(project) && pathSegment.test(slug)
      ? hosts.map((host) => `ssh://git@${host}/${project}/${slug}.git`)
      : [];
  return [...new Set([...clone, ...derived])];
}

function hrefs(list: unknown, what: string): string[] {
  if (!Array.isArray(list)) return [];
  // Real payloads carry one or two links of each kind; each is parsed as a URL, so the count is bounded first.
  return boundedArray(list, maxLinks, what)
    .map((link) => (isObject(link) ? optionalString(link, 'href') : undefined))
    .filter((h): h is string => h !== undefined);
}

function hostOf(url: string): string | undefined {
  try {
    const host = new URL(url).hostname;
    return host === '' ? undefined : host;
  } catch {
    return undefined;
  }
}

function refChange(change: unknown, what: string): RefChange {
  if (!isObject(change)) throw new MalformedPayload(`${what} must be an object`);
  const ref = isObject(change.ref) ? optionalString(change.ref, 'id') : undefined;
  const id = requireRef(ref ?? optionalString(change, 'refId') ?? '', what);
  const type = change.type;
  if (typeof type !== 'string' || !changeTypes.has(type)) {
    throw new MalformedPayload(
      `${what}: type ${JSON.stringify(String(type).slice(0, 50))} is not ADD, UPDATE or DELETE`,
    );
  }
  const toHash = optionalString(change, 'toHash');
  return { ref: id, ...(toHash ? { commit: toHash } : {}), deleted: type === 'DELETE' || isZeroSha(toHash) };
}

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
