import type { WebhookRequest } from '../http/request';
import { digestPattern } from '../matching/artifact-ref';
import { jsonDocument } from './github-style';
import { boundedArtifactPush, objectAt, optionalString, parseJsonObject, stringAt, type JsonObject } from './payload';
import type { ArtifactPushEvent, PushedArtifactReport } from './provider';

/*
 * GitHub's `package` event (GitHub docs, "Webhook events and payloads" → package; sample: @octokit/webhooks-examples):
 * a package version `published` or `updated`. Only container packages are routed (GHCR: `package_type` or `ecosystem`
 * `CONTAINER`, or `docker` in older payloads); npm, Maven and the rest name no OCI repository and are acknowledged.
 * - The repository is `package_version.package_url` (`ghcr.io/<owner>/<name>:<tag>`, the tag empty for an untagged
 *   version), else `ghcr.io/<owner login>/<package name>`. GHCR names are lower-case while the URL keeps the owner's
 *   login as spelled, so a ghcr.io reference is lower-cased whole.
 * - The tag is `container_metadata.tag.name` (empty: untagged); the digest `package_version.version` (a container
 *   version's name is its manifest digest), else `container_metadata.tag.digest`, when it is a digest.
 */
const routedActions = new Set(['published', 'updated']);
const what = 'GitHub package payload';

export function parseGitHubPackage(request: WebhookRequest, body: Buffer): ArtifactPushEvent {
  const payload = parseJsonObject(jsonDocument(request, body, what), what);
  const action = stringAt(payload, 'action', what);
  const pkg = objectAt(payload, 'package', what);
  const name = stringAt(pkg, 'name', `${what} package`);
  const container = [pkg.package_type, pkg.ecosystem].some(
    (v) => typeof v === 'string' && /^(container|docker)$/i.test(v),
  );
  const version = pkg.package_version;
  if (
    !routedActions.has(action) ||
    !container ||
    version === null ||
    typeof version !== 'object' ||
    Array.isArray(version)
  ) {
    return { repository: name.slice(0, 200), artifacts: [] };
  }
  const v = version as JsonObject;
  const owner = optionalString((pkg.owner ?? {}) as JsonObject, 'login');
  const url = optionalString(v, 'package_url')?.replace(/:$/, '');
  let reference = url ?? (owner ? `ghcr.io/${owner}/${name}` : undefined);
  if (!reference) return { repository: name.slice(0, 200), artifacts: [] };
  if (/^ghcr\.io\//i.test(reference)) reference = reference.toLowerCase();
  const metadata = v.container_metadata as { tag?: { name?: unknown; digest?: unknown } } | null | undefined;
  const tagName = metadata?.tag?.name;
  const tag = typeof tagName === 'string' && tagName !== '' ? tagName : undefined;
  const digest = [v.version, metadata?.tag?.digest].find(
    (d): d is string => typeof d === 'string' && d.length <= 200 && digestPattern.test(d),
  );
  const artifact: PushedArtifactReport = { reference, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
  return boundedArtifactPush({ repository: reference.replace(/[:@].*$/, ''), artifacts: [artifact] }, what);
}
