import type { ProviderName } from './names';
import { BadSignature, MalformedPayload } from '../delivery/errors';
import { mediaType, type WebhookRequest } from '../http/request';
import { formPayload, jsonDocument, parseGitHubStylePush, requireJsonOrForm } from './github-style';
import { hmacVerifier } from './hmac-signature';
import { boundedPush, objectAt, optionalString, parseJsonObject, stringAt, urlsAt, type JsonObject } from './payload';
import type { Inspection, Provider, PushEvent } from './provider';

/*
 * Gitea, Forgejo and Gogs: one delivery format, three header names. Read from the providers' source:
 *
 * - Gitea `services/webhook/deliver.go` (go-gitea/gitea 50e78265, `newDefaultRequest` + `addDefaultHeaders`) and
 *   Forgejo `services/webhook/shared/payloader.go` (`AddDefaultHeaders`, read in the mirror
 *   creator-signal/fork-forgejo-forgejo 072ec2e2) and `services/webhook/default.go` (242155d0): the body is the JSON
 *   payload (`application/json`) or a form whose `payload` field holds it (`application/x-www-form-urlencoded`).
 *   `X-<Name>-Signature` is the bare lower-case hex HMAC-SHA256 of the JSON payload, and an empty string when the
 *   hook has no secret. Forgejo sends `X-Forgejo-*` and every Gitea header; Gitea also sends `X-Gogs-*` copies and
 *   GitHub-style `X-Hub-Signature(-256)`/`X-GitHub-*` headers. Each receiver reads only its own provider's headers.
 * - Gogs `internal/db/webhook.go` (gogs/gogs deec3516: `prepareHookTasks` signs `payloader.JSONPayload()`,
 *   `(*HookTask).deliver` sends `X-Gogs-Delivery`, `X-Gogs-Event`, `X-Gogs-Signature`) and
 *   `internal/httplib/httplib.go` (a `Param` without a body is sent as `application/x-www-form-urlencoded`).
 * - For form deliveries all three sign the JSON *before* form encoding, not the bytes on the wire (GitHub signs the
 *   wire bytes). So the signed content is the decoded `payload` field, and it is also what `parsePush` reads
 *   (`jsonDocument` takes the same first `payload` field), so the verified bytes and the parsed bytes are the same.
 * - There is no ping: "Test delivery" sends a `push` of the default branch's head commit with `before` = `after`
 *   (Gitea `routers/web/repo/setting/webhook.go` `TestWebhook`, gogs `internal/route/repo/webhook.go`
 *   `TestWebhook`). It is routed like any push, which at worst requests one redundant reconcile.
 */

export interface GiteaFamilyOptions {
  name: Extract<ProviderName, 'gitea' | 'forgejo' | 'gogs'>;
  /** For messages: `Gitea`, `Forgejo`, `Gogs`; also the header prefix `X-<display>-`. */
  display: string;
  /** Events routed as pushes. */
  pushEvents: readonly string[];
  /** Reads a routed event other than `push` (Gogs `create`). */
  parseOther?: (payload: JsonObject, what: string) => PushEvent;
}

const form = 'application/x-www-form-urlencoded';

/** The bytes the provider signed: the raw JSON body, or the `payload` field of a form (undefined if it has none). */
export function signedContent(request: WebhookRequest, body: Buffer): Buffer | undefined {
  if (mediaType(request.headers['content-type']) !== form) return body;
  const payload = formPayload(request, body);
  return payload === null ? undefined : Buffer.from(payload, 'utf8');
}

/** The repository of a Gitea-family payload: its name and every URL it gives (clone, SSH, web). */
export function repositoryOf(payload: JsonObject, what: string): Pick<PushEvent, 'repository' | 'repositoryUrls'> {
  const repository = objectAt(payload, 'repository', what);
  const repositoryUrls = urlsAt(repository, ['clone_url', 'ssh_url', 'html_url']);
  if (repositoryUrls.length === 0) throw new MalformedPayload(`${what}: repository has no URL`);
  return { repository: optionalString(repository, 'full_name') ?? repositoryUrls[0]!, repositoryUrls };
}

export function giteaFamilyProvider(options: GiteaFamilyOptions): Provider {
  const { name, display, pushEvents, parseOther } = options;
  const prefix = `x-${display.toLowerCase()}`;
  const signature = {
    header: `${prefix}-signature`,
    display: `X-${display}-Signature`,
    prefixes: { '': 'sha256' },
  } as const;

  return {
    name,
    defaultEvents: pushEvents,
    eventHeader: `${prefix}-event`,
    deliveryHeaders: [`${prefix}-delivery`],

    inspect(request: WebhookRequest, body: Buffer): Inspection {
      requireJsonOrForm(request);
      const content = signedContent(request, body);
      // Header shape first (missing, empty, prefixed, upper-case, truncated → 401), then the form's payload field.
      const verify = hmacVerifier(request, content ?? body, signature);
      if (!content)
        throw new BadSignature(`form-encoded delivery has no payload field for ${signature.display} to cover`);
      return { verify };
    },

    isPing: () => false,
    isPush: (event) => pushEvents.includes(event),

    parsePush(request: WebhookRequest, body: Buffer, event: string): PushEvent {
      const what = `${display} ${event} payload`;
      if (event === 'push' || !parseOther) return parseGitHubStylePush(request, body, what);
      // jsonDocument reads the same field as signedContent, strictly: what verified is what is parsed, or a 400.
      return boundedPush(parseOther(parseJsonObject(jsonDocument(request, body, what), what), what), what);
    },
  };
}

/**
 * Gogs `create` for a tag: Gogs sends no `push` for a pushed tag, only `create` with the tag's short name in `ref`,
 * `ref_type: "tag"` and, in current Gogs, `sha` (`internal/db/action.go` `CommitRepoAction`, case `ActionPushTag`).
 * A `create` of a branch always comes with a `push` of the same branch (case `ActionCommitRepo`, `isNewRef`), so it
 * carries no ref change of its own: it yields none, and the core answers it as ignored.
 */
export function parseGogsCreate(payload: JsonObject, what: string): PushEvent {
  const ref = stringAt(payload, 'ref', what);
  const refType = stringAt(payload, 'ref_type', what);
  const repository = repositoryOf(payload, what);
  if (refType === 'branch') return { ...repository, changes: [] };
  if (refType !== 'tag')
    throw new MalformedPayload(`${what}: ref_type ${JSON.stringify(refType.slice(0, 100))} is neither tag nor branch`);
  if (ref.startsWith('refs/') && !ref.startsWith('refs/tags/'))
    throw new MalformedPayload(`${what}: tag ref ${JSON.stringify(ref.slice(0, 100))} is not under refs/tags/`);
  const sha = optionalString(payload, 'sha');
  return {
    ...repository,
    changes: [
      { ref: ref.startsWith('refs/tags/') ? ref : `refs/tags/${ref}`, ...(sha ? { commit: sha } : {}), deleted: false },
    ],
  };
}
