import { MalformedPayload, PayloadLimitExceeded } from '../delivery/errors';
import type { WebhookRequest } from '../http/request';
import { notRouted } from './generic';
import { boundedArtifactPush, maxRefChanges, parseJsonBody, requireJson, stringAt } from './payload';
import { pathTokenInspection } from './path-token';
import type { ArtifactPushEvent, Inspection, Provider, PushEvent } from './provider';

/*
 * Quay (quay.io and Red Hat Quay) repository notifications, method "Webhook POST" (Red Hat Quay docs, "Repository
 * Notifications", docs.redhat.com/en/documentation/red_hat_quay/3.3/html/use_red_hat_quay/repository_notifications):
 * - No signature and no credential header: the receiver's secret is the URL's last segment (`/hooks/{receiver}/{token}`),
 *   as Flux's `quay` Receiver relies on its unguessable URL.
 * - No header names the event; every notification names `docker_url` (a body without it is a 400). "Repository Push" carries `docker_url` (`quay.io/<namespace>/<name>`) and
 *   `updated_tags` (a list of tags; early payloads gave an object whose keys are the tags, read the same way); the
 *   build notifications carry `build_id`. So a payload with `updated_tags` and no `build_id` is the event `repo_push`;
 *   anything else is `notification`, acknowledged and never routed.
 */
const pushEvent = 'repo_push';
const otherEvent = 'notification';
const what = 'Quay payload';

export const quay: Provider = {
  name: 'quay',
  defaultEvents: [pushEvent],
  deliveryHeaders: [],

  inspect(request: WebhookRequest): Inspection {
    requireJson(request);
    return pathTokenInspection(request);
  },

  eventAfterAuthentication(body: Buffer): string {
    const payload = parseJsonBody(body, what);
    // Every documented notification names the repository's `docker_url`: a body without it is no Quay notification.
    stringAt(payload, 'docker_url', what);
    return payload.updated_tags !== undefined && payload.build_id === undefined ? pushEvent : otherEvent;
  },

  isPing: () => false,
  isPush: (event) => event === pushEvent,
  parsePush: (): PushEvent => notRouted('quay'),

  parseArtifactPush(_request: WebhookRequest, body: Buffer): ArtifactPushEvent {
    const payload = parseJsonBody(body, what);
    const reference = stringAt(payload, 'docker_url', what);
    const raw = payload.updated_tags;
    const tags = Array.isArray(raw) ? raw : raw !== null && typeof raw === 'object' ? Object.keys(raw) : undefined;
    if (!tags) throw new MalformedPayload(`${what}: updated_tags must be a list of tags`);
    if (tags.length > maxRefChanges)
      throw new PayloadLimitExceeded(
        `${what}: updated_tags has ${tags.length} entries; at most ${maxRefChanges} are read`,
      );
    const artifacts = tags.map((tag, i) => {
      if (typeof tag !== 'string' || tag === '')
        throw new MalformedPayload(`${what}: updated_tags[${i}] must be a non-empty string`);
      return { reference, tag };
    });
    return boundedArtifactPush({ repository: reference, artifacts }, what);
  },
};
