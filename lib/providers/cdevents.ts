import { MalformedPayload, PayloadLimitExceeded } from '../delivery/errors';
import type { WebhookRequest } from '../http/request';
import { notRouted } from './generic';
import { hmacVerifier } from './hmac-signature';
import { boundedArtifactPush, objectAt, parseJsonBody, requireJson, stringAt } from './payload';
import { pathTokenInspection } from './path-token';
import type { ArtifactPushEvent, Inspection, Provider, PushEvent, PushedArtifactReport } from './provider';

/*
 * CDEvents over CloudEvents binary mode (CDEvents CloudEvents binding, github.com/cdevents/spec cloudevents-binding.md;
 * CloudEvents HTTP binding, binary content mode): `ce-type` names the event (`dev.cdevents.artifact.published.<version>`),
 * `ce-id` identifies it, `ce-source` says who sent it; the body is the CDEvent (`context`, `subject`) as JSON.
 * - Authentication as the `generic-hmac` receiver: `X-Signature: sha256=<hex>` or `sha512=<hex>` HMAC of the raw body;
 *   or, for a sender that cannot sign, a path token (`/hooks/{receiver}/{token}`, names.ts `pathTokenUse: optional`).
 * - `artifact.published`: the subject's `id` is a package URL (github.com/package-url/purl-spec, type `oci`):
 *   `pkg:oci/<name>@<digest, percent-encoded>?repository_url=<registry>/<path>[&tag=<tag>]`. The repository is
 *   `repository_url`; a PURL without it, or of another type (`pkg:golang/...`), names no OCI repository and is
 *   acknowledged without routing.
 */
const publishedPrefix = 'dev.cdevents.artifact.published.';
const what = 'CDEvent';

export const cdevents: Provider = {
  name: 'cdevents',
  defaultEvents: [
    'dev.cdevents.artifact.published.0.1.0',
    'dev.cdevents.artifact.published.0.1.1',
    'dev.cdevents.artifact.published.0.2.0',
  ],
  eventHeader: 'ce-type',
  deliveryHeaders: ['ce-id'],

  inspect(request: WebhookRequest, body: Buffer): Inspection {
    requireJson(request);
    if (request.pathToken !== undefined) return pathTokenInspection(request);
    return {
      verify: hmacVerifier(request, body, {
        header: 'x-signature',
        display: 'X-Signature',
        prefixes: { 'sha256=': 'sha256', 'sha512=': 'sha512' },
      }),
    };
  },

  isPing: () => false,
  isPush: (event) => event.startsWith(publishedPrefix),
  parsePush: (): PushEvent => notRouted('cdevents'),

  parseArtifactPush(_request: WebhookRequest, body: Buffer): ArtifactPushEvent {
    const payload = parseJsonBody(body, what);
    const purl = stringAt(objectAt(payload, 'subject', what), 'id', `${what} subject`);
    if (purl.length > 4096)
      throw new PayloadLimitExceeded(`${what}: subject.id is ${purl.length} characters long; at most 4096 are read`);
    const artifact = ociArtifactOfPurl(purl);
    return boundedArtifactPush(
      {
        repository: artifact ? artifact.reference.replace(/[:@].*$/, '') : purl.slice(0, 200),
        artifacts: artifact ? [artifact] : [],
      },
      what,
    );
  },
};

/** The OCI artifact a `pkg:oci/...` package URL names (see above); undefined for another type or without `repository_url`. */
export function ociArtifactOfPurl(purl: string): PushedArtifactReport | undefined {
  const m = /^pkg:([A-Za-z.+-]+)\/([^?#]+)(?:\?([^#]*))?(?:#.*)?$/.exec(purl);
  if (!m || m[1]!.toLowerCase() !== 'oci') return undefined;
  const at = m[2]!.lastIndexOf('@');
  let digest: string | undefined;
  try {
    digest = at >= 0 ? decodeURIComponent(m[2]!.slice(at + 1)) : undefined;
    const qualifiers = new URLSearchParams(m[3] ?? '');
    const repositoryUrl = qualifiers.get('repository_url');
    if (!repositoryUrl) return undefined;
    const tag = qualifiers.get('tag') || undefined;
    return { reference: repositoryUrl, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
  } catch {
    throw new MalformedPayload(`${what}: subject.id is not a valid package URL (bad percent-encoding)`);
  }
}
