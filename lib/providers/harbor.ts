import { MalformedPayload, MissingSignature, PayloadLimitExceeded } from '../delivery/errors';
import type { WebhookRequest } from '../http/request';
import { artifactKey } from '../matching/artifact-ref';
import { equalTokens } from './crypto';
import {
  boundedArray,
  boundedArtifactPush,
  maxRefChanges,
  objectAt,
  optionalString,
  parseJsonBody,
  requireJson,
  stringAt,
  type JsonObject,
} from './payload';
import type { ArtifactPushEvent, Inspection, Provider, PushEvent } from './provider';
import { notRouted } from './generic';

/*
 * Harbor webhook policies, HTTP endpoint, payload format "Default" (goharbor.io/docs/latest/working-with-projects/
 * project-configuration/configure-webhooks/; the sender is goharbor/harbor src/pkg/notifier/handler/notification):
 * - No signature. The policy's "Auth Header" value is sent verbatim as the `Authorization` header, so the receiver's
 *   secret is that value and the whole header is compared with it (hashed to a fixed length, in constant time):
 *   `Bearer <secret>` when the secret is `<secret>` is a different value and a 401, as is any other prefix or case.
 *   Flux's `harbor` Receiver does the same comparison (fluxcd/notification-controller docs/spec/v1/receivers.md).
 * - No header names the event: the body's `type` does (`PUSH_ARTIFACT`), read only after authentication.
 * - `PUSH_ARTIFACT`: `event_data.resources[]` with `resource_url` (`host/project/repo:tag`, or `@digest` for a push
 *   by digest), `tag` and `digest`; `event_data.repository.repo_full_name` (`project/repo`). Other events (pulls,
 *   deletes, scans, quota, replication) are acknowledged and route nothing.
 */
const pushArtifact = 'PUSH_ARTIFACT';
const what = 'Harbor payload';

export const harbor: Provider = {
  name: 'harbor',
  defaultEvents: [pushArtifact],
  deliveryHeaders: [],

  inspect(request: WebhookRequest): Inspection {
    requireJson(request);
    const header = request.headers.authorization;
    if (header === undefined || header === '') throw new MissingSignature('Authorization');
    return { verify: (secret) => equalTokens(header, secret) };
  },

  eventAfterAuthentication(body: Buffer): string {
    const event = stringAt(parseJsonBody(body, what), 'type', what);
    if (event.length > 100)
      throw new PayloadLimitExceeded(`${what}: type is ${event.length} characters long; at most 100 are read`);
    return event;
  },

  isPing: () => false,
  isPush: (event) => event === pushArtifact,
  parsePush: (): PushEvent => notRouted('harbor'),

  parseArtifactPush(_request: WebhookRequest, body: Buffer): ArtifactPushEvent {
    const payload = parseJsonBody(body, what);
    const data = objectAt(payload, 'event_data', what);
    const repository = optionalString(objectAt(data, 'repository', `${what} event_data`), 'repo_full_name');
    const artifacts = boundedArray(data.resources, maxRefChanges, `${what} event_data.resources`).map((entry, i) => {
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry))
        throw new MalformedPayload(`${what}: event_data.resources[${i}] must be an object`);
      const resource = entry as JsonObject;
      const tag = optionalString(resource, 'tag');
      const digest = optionalString(resource, 'digest');
      return {
        reference: stringAt(resource, 'resource_url', `${what} event_data.resources[${i}]`),
        ...(tag ? { tag } : {}),
        ...(digest ? { digest } : {}),
      };
    });
    const first = artifacts[0] ? artifactKey(artifacts[0].reference) : undefined;
    return boundedArtifactPush(
      { repository: first ?? repository ?? '(unnamed)', artifacts },
      `${what} ${pushArtifact}`,
    );
  },
};
