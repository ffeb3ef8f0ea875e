import { MalformedPayload, PayloadLimitExceeded } from '../delivery/errors';
import type { ReceiverConfig } from '../config/schema';
import type { WebhookRequest } from '../http/request';
import { digestPattern } from '../matching/artifact-ref';
import { notRouted } from './generic';
import { hmacVerifier } from './hmac-signature';
import { boundedArtifactPush, objectAt, parseJsonBody, requireJson, stringAt, type JsonObject } from './payload';
import type { ArtifactPushEvent, Inspection, Provider, PushEvent, PushedArtifactReport } from './provider';

/*
 * Sonatype Nexus Repository 3 webhooks (help.sonatype.com/en/webhooks.html; "Example Headers and Payloads",
 * help.sonatype.com/en/example-headers-and-payloads.html; the sender is sonatype/nexus-public
 * components/nexus-core/.../internal/webhooks/WebhookServiceImpl.java, the payloads
 * components/nexus-repository-content/.../content/webhooks/RepositoryComponentWebhook.java and RepositoryAssetWebhook.java):
 * - `X-Nexus-Webhook-Signature`: lower-case hex HMAC-SHA1 of the body, keyed with the capability's "Secret Key". Nexus
 *   signs with SHA-1 only and sends the hex bare (no `sha1=` prefix); nothing else is accepted (upper-case hex, a
 *   prefix, another length). The body is Jackson's compact JSON of the payload, and the signature covers those bytes.
 * - `X-Nexus-Webhook-ID` names the webhook (`rm:repository:component`, `rm:repository:asset`, `rm:global:audit`,
 *   `rm:global:repository`) but is not signed, so the event is read from the signed body instead, after
 *   authentication: a `component` (or `components`, for PURGED) makes it `rm:repository:component:<action>`, an
 *   `asset` (or `assets`) `rm:repository:asset:<action>`; the global webhooks' `audit` and `repository` payloads are
 *   `rm:global:audit` and `rm:global:repository:<action>`, acknowledged. `X-Nexus-Webhook-Delivery` is the delivery id.
 * - Actions: CREATED, UPDATED, DELETED, PURGED. Content is created by CREATED, routed by default; UPDATED is routed
 *   only when the receiver lists it in `events` (an asset is also updated when its metadata changes, e.g. when it is
 *   downloaded, which a reconcile does: see README).
 * - Docker (OCI) content only, `format: docker`: a component is an image, `name` its repository path and `version` its
 *   tag; an asset is a file at the Docker Registry API path, `v2/<name>/manifests/<tag or digest>` for a manifest
 *   (`/v2/...` in Nexus 3.x's datastore payloads), blobs and other files name no artifact. Helm charts pushed to a
 *   Docker repository over OCI are Docker components too. Other formats (maven2, npm, the HTTP `helm` format) name no
 *   OCI artifact and are acknowledged.
 * - The registry host is nowhere in the payload (a Docker repository is served on a connector port, a subdomain or a
 *   path): the receiver's `registryHosts` maps `repositoryName` to it; an unlisted repository routes nothing.
 */
const what = 'Nexus payload';
const routedByDefault = ['rm:repository:component:CREATED', 'rm:repository:asset:CREATED'];
const contentEvent = /^rm:repository:(component|asset):(CREATED|UPDATED)$/;
/** `v2/<name>/manifests/<reference>`, the Docker Registry HTTP API V2 path Nexus stores a manifest at. */
const manifestPath = /^\/?v2\/(.+)\/manifests\/([^/]+)$/;

export const nexus: Provider = {
  name: 'nexus',
  defaultEvents: routedByDefault,
  deliveryHeaders: ['x-nexus-webhook-delivery'],

  inspect(request: WebhookRequest, body: Buffer): Inspection {
    requireJson(request);
    return {
      verify: hmacVerifier(request, body, {
        header: 'x-nexus-webhook-signature',
        display: 'X-Nexus-Webhook-Signature',
        prefixes: { '': 'sha1' },
      }),
    };
  },

  eventAfterAuthentication(body: Buffer): string {
    const payload = parseJsonBody(body, what);
    const kind =
      payload.component !== undefined || payload.components !== undefined
        ? 'rm:repository:component'
        : payload.asset !== undefined || payload.assets !== undefined
          ? 'rm:repository:asset'
          : payload.audit !== undefined
            ? 'rm:global:audit'
            : payload.repository !== undefined
              ? 'rm:global:repository'
              : undefined;
    if (!kind) throw new MalformedPayload(`${what}: no component, asset, audit or repository`);
    if (kind === 'rm:global:audit') return kind;
    const action = stringAt(payload, 'action', what);
    if (!/^[A-Z_]{1,40}$/.test(action))
      throw new MalformedPayload(`${what}: action ${JSON.stringify(action.slice(0, 40))} is not a Nexus action`);
    return `${kind}:${action}`;
  },

  isPing: () => false,
  isPush: (event) => contentEvent.test(event),
  parsePush: (): PushEvent => notRouted('nexus'),

  parseArtifactPush(
    _request: WebhookRequest,
    body: Buffer,
    event: string,
    receiver: ReceiverConfig,
  ): ArtifactPushEvent {
    const payload = parseJsonBody(body, what);
    const repositoryName = stringAt(payload, 'repositoryName', what);
    if (repositoryName.length > 200)
      throw new PayloadLimitExceeded(
        `${what}: repositoryName is ${repositoryName.length} characters long; at most 200 are read`,
      );
    const content = event.startsWith('rm:repository:component:')
      ? componentImage(objectAt(payload, 'component', what))
      : assetImage(objectAt(payload, 'asset', what));
    const hosts = receiver.registryHosts ?? {};
    const host = Object.hasOwn(hosts, repositoryName) ? hosts[repositoryName] : undefined;
    if (!content) return boundedArtifactPush({ repository: repositoryName, artifacts: [] }, what);
    if (!host)
      // Not routable without knowing where the repository is served: acknowledged, and the log line names it.
      return boundedArtifactPush({ repository: `${repositoryName}/${content.name}`, artifacts: [] }, what);
    const reference = `${host}/${content.name}`;
    const artifact: PushedArtifactReport = {
      reference,
      ...(content.tag ? { tag: content.tag } : {}),
      ...(content.digest ? { digest: content.digest } : {}),
    };
    return boundedArtifactPush({ repository: reference, artifacts: [artifact] }, what);
  },
};

interface DockerContent {
  name: string;
  tag?: string;
  digest?: string;
}

/** A Docker component: `name` is the image's repository path, `version` its tag. Undefined for other formats. */
function componentImage(component: JsonObject): DockerContent | undefined {
  if (stringAt(component, 'format', `${what} component`) !== 'docker') return undefined;
  const name = stringAt(component, 'name', `${what} component`);
  const version = stringAt(component, 'version', `${what} component`);
  return { name, ...referenceOf(version) };
}

/** A Docker asset that is a manifest (`v2/<name>/manifests/<tag or digest>`); undefined for any other asset. */
function assetImage(asset: JsonObject): DockerContent | undefined {
  if (stringAt(asset, 'format', `${what} asset`) !== 'docker') return undefined;
  const path = stringAt(asset, 'name', `${what} asset`);
  if (path.length > 2048)
    throw new PayloadLimitExceeded(`${what}: asset.name is ${path.length} characters long; at most 2048 are read`);
  const m = manifestPath.exec(path);
  // `v2/-/blobs/...` (Nexus keeps blobs under `-`) and any other file: content, but no image reference.
  if (!m || m[1] === '-') return undefined;
  return { name: m[1]!, ...referenceOf(m[2]!) };
}

/** A manifest reference is a digest (`sha256:...`) or a tag. */
function referenceOf(reference: string): { tag: string } | { digest: string } {
  return digestPattern.test(reference) ? { digest: reference } : { tag: reference };
}
