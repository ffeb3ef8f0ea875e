import { MalformedPayload, UnsupportedMediaType } from '../errors';
import { mediaType, type WebhookRequest } from '../http/request';
import { isZeroSha, objectAt, optionalString, parseJsonObject, requireRef, stringAt, urlsAt } from './payload';
import type { PushEvent } from './provider';

const json = 'application/json';
const form = 'application/x-www-form-urlencoded';

/** GitHub, Gitea, Forgejo and Gogs post either JSON or a form whose `payload` field holds the JSON. */
export function requireJsonOrForm(request: WebhookRequest): void {
  const type = mediaType(request.headers['content-type']);
  if (type !== json && type !== form) throw new UnsupportedMediaType(type, [json, form]);
}

/** The JSON text of a delivery: the body, or the `payload` field of a form-encoded one (null if it has none). */
export function formPayload(request: WebhookRequest, body: Buffer): string | null {
  const text = body.toString('utf8');
  return mediaType(request.headers['content-type']) === form ? new URLSearchParams(text).get('payload') : text;
}

/** The JSON document of a delivery, unwrapping the `payload` field of a form-encoded one (after verification). */
export function jsonDocument(request: WebhookRequest, body: Buffer): string {
  const payload = formPayload(request, body);
  if (payload === null) throw new MalformedPayload('form-encoded delivery has no payload field');
  return payload;
}

/**
 * The push payload GitHub defined and Gitea, Forgejo and Gogs copied: `ref`, `after` (all zeros when the ref was
 * deleted), `deleted` (GitHub only), `repository.{clone_url, ssh_url, html_url, full_name}`.
 */
export function parseGitHubStylePush(request: WebhookRequest, body: Buffer, what: string): PushEvent {
  const payload = parseJsonObject(jsonDocument(request, body), what);
  const ref = requireRef(stringAt(payload, 'ref', what), what);
  const repository = objectAt(payload, 'repository', what);
  const repositoryUrls = urlsAt(repository, ['clone_url', 'ssh_url', 'html_url', 'git_url']);
  if (repositoryUrls.length === 0) throw new MalformedPayload(`${what}: repository has no URL`);
  const after = optionalString(payload, 'after');
  return {
    repository: optionalString(repository, 'full_name') ?? repositoryUrls[0]!,
    repositoryUrls,
    changes: [{ ref, ...(after ? { commit: after } : {}), deleted: payload.deleted === true || isZeroSha(after) }],
  };
}
