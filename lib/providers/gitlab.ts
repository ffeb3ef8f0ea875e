import { MalformedPayload, MissingSignature } from '../delivery/errors';
import { equalTokens } from './crypto';
import type { WebhookRequest } from '../http/request';
import {
  boundedPush,
  isZeroSha,
  objectAt,
  optionalString,
  parseJsonBody,
  requireJson,
  requireRef,
  stringAt,
  urlsAt,
} from './payload';
import type { Inspection, Provider, PushEvent } from './provider';

/*
 * GitLab webhooks, per GitLab's documentation "Webhooks" and "Webhook events" (doc/user/project/integrations):
 * - `X-Gitlab-Token` carries the hook's secret token verbatim (there is no body signature), so it is compared in
 *   constant time after hashing both sides to the same length.
 * - `X-Gitlab-Event` is `Push Hook` or `Tag Push Hook`; the body is always `application/json`.
 * - `Idempotency-Key` (GitLab 17.4+) stays the same across retries; older versions send `X-Gitlab-Event-UUID`.
 * - A deleted branch or tag arrives as a push whose `after` is all zeros and `checkout_sha` is null.
 */
const pushEvents = new Set(['Push Hook', 'Tag Push Hook']);

export const gitlab: Provider = {
  name: 'gitlab',
  defaultEvents: [...pushEvents],
  eventHeader: 'x-gitlab-event',
  deliveryHeaders: ['idempotency-key', 'x-gitlab-event-uuid'],

  inspect(request: WebhookRequest): Inspection {
    requireJson(request);
    const token = request.headers['x-gitlab-token'];
    if (token === undefined || token === '') throw new MissingSignature('X-Gitlab-Token');
    return {
      verify: (secret) => equalTokens(token, secret),
    };
  },

  // GitLab's "Test" button sends a sample of the chosen event, so there is no separate ping to acknowledge.
  isPing: () => false,
  isPush: (event) => pushEvents.has(event),

  parsePush(_request: WebhookRequest, body: Buffer, event: string): PushEvent {
    const what = `GitLab ${event} payload`;
    const payload = parseJsonBody(body, what);
    const ref = requireRef(stringAt(payload, 'ref', what), what);
    const project = objectAt(payload, 'project', what);
    // `repository` is deprecated but still sent; older GitLab versions carry only some of these fields.
    const repository =
      typeof payload.repository === 'object' && payload.repository !== null
        ? (payload.repository as Record<string, unknown>)
        : {};
    const repositoryUrls = [
      ...urlsAt(project, ['git_http_url', 'git_ssh_url', 'web_url', 'http_url', 'ssh_url']),
      ...urlsAt(repository, ['git_http_url', 'git_ssh_url', 'homepage', 'url']),
    ];
    if (repositoryUrls.length === 0) throw new MalformedPayload(`${what}: project has no URL`);
    const after = optionalString(payload, 'after');
    const commit = optionalString(payload, 'checkout_sha') ?? after;
    return boundedPush(
      {
        repository: optionalString(project, 'path_with_namespace') ?? repositoryUrls[0]!,
        repositoryUrls: [...new Set(repositoryUrls)],
        changes: [{ ref, ...(commit ? { commit } : {}), deleted: isZeroSha(after) }],
      },
      what,
    );
  },
};
