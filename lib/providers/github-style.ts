import { MalformedPayload, UnsupportedMediaType } from '../delivery/errors';
import { mediaType, type WebhookRequest } from '../http/request';
import {
  boundedPush,
  decodeUtf8,
  isZeroSha,
  objectAt,
  optionalString,
  parseJsonObject,
  requireRef,
  stringAt,
  urlsAt,
} from './payload';
import type { PushEvent } from './provider';

const json = 'application/json';
const form = 'application/x-www-form-urlencoded';

/** GitHub, Gitea, Forgejo and Gogs post either JSON or a form whose `payload` field holds the JSON. */
export function requireJsonOrForm(request: WebhookRequest): void {
  const type = mediaType(request.headers['content-type']);
  if (type !== json && type !== form) throw new UnsupportedMediaType(type, [json, form]);
}

/**
 * The JSON text of a delivery: the body, or the `payload` field of a form-encoded one (null if it has none). Lenient
 * (invalid UTF-8 and bad percent escapes are replaced, as URLSearchParams does): it only produces the bytes a
 * signature is checked over, before authentication. What is parsed afterwards comes from `jsonDocument`, which is
 * strict and, whenever it succeeds, yields exactly this text.
 */
export function formPayload(request: WebhookRequest, body: Buffer): string | null {
  const text = body.toString('utf8');
  return mediaType(request.headers['content-type']) === form ? new URLSearchParams(text).get('payload') : text;
}

/**
 * The JSON document of a delivery, unwrapping the `payload` field of a form-encoded one (after verification). Strict:
 * the body must be UTF-8 and the field's percent escapes must decode to UTF-8, or the delivery is malformed.
 */
export function jsonDocument(request: WebhookRequest, body: Buffer, what = 'the delivery'): string {
  const text = decodeUtf8(body, what);
  if (mediaType(request.headers['content-type']) !== form) return text;
  const payload = strictFormField(text, 'payload', what);
  if (payload === null) throw new MalformedPayload('form-encoded delivery has no payload field');
  return payload;
}

/**
 * The first field named `name` of an `application/x-www-form-urlencoded` text, as URLSearchParams.get finds it
 * (WHATWG URL, "application/x-www-form-urlencoded parsing"), but refusing what URLSearchParams would silently repair:
 * a malformed `%` escape or escapes that are not UTF-8. Walks the text once with indexOf, allocating only the
 * fields it decodes.
 */
function strictFormField(text: string, name: string, what: string): string | null {
  for (let start = 0; start <= text.length;) {
    const amp = text.indexOf('&', start);
    const end = amp === -1 ? text.length : amp;
    if (end > start) {
      const pair = text.slice(start, end);
      const eq = pair.indexOf('=');
      if (decodeFormComponent(eq === -1 ? pair : pair.slice(0, eq), what) === name) {
        return eq === -1 ? '' : decodeFormComponent(pair.slice(eq + 1), what);
      }
    }
    start = end + 1;
  }
  return null;
}

function decodeFormComponent(component: string, what: string): string {
  try {
    return decodeURIComponent(component.replaceAll('+', ' '));
  } catch {
    throw new MalformedPayload(`${what}: a form field has a malformed or non-UTF-8 percent escape`);
  }
}

/**
 * The push payload GitHub defined and Gitea, Forgejo and Gogs copied: `ref`, `after` (all zeros when the ref was
 * deleted), `deleted` (GitHub only), `repository.{clone_url, ssh_url, html_url, full_name}`.
 */
export function parseGitHubStylePush(request: WebhookRequest, body: Buffer, what: string): PushEvent {
  const payload = parseJsonObject(jsonDocument(request, body, what), what);
  const ref = requireRef(stringAt(payload, 'ref', what), what);
  const repository = objectAt(payload, 'repository', what);
  const repositoryUrls = urlsAt(repository, ['clone_url', 'ssh_url', 'html_url', 'git_url']);
  if (repositoryUrls.length === 0) throw new MalformedPayload(`${what}: repository has no URL`);
  const after = optionalString(payload, 'after');
  return boundedPush(
    {
      repository: optionalString(repository, 'full_name') ?? repositoryUrls[0]!,
      repositoryUrls,
      changes: [{ ref, ...(after ? { commit: after } : {}), deleted: payload.deleted === true || isZeroSha(after) }],
    },
    what,
  );
}
