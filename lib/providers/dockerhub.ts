import type { WebhookRequest } from '../http/request';
import type { Inspection } from './provider';
import { notRouted } from './generic';
import { objectAt, parseJsonBody, requireJson, stringAt, boundedArtifactPush } from './payload';
import { pathTokenInspection } from './path-token';
import type { ArtifactPushEvent, Provider, PushEvent } from './provider';

/*
 * Docker Hub repository webhooks (docs.docker.com/docker-hub/repos/manage/webhooks/): a name and a URL, nothing else.
 * Docker Hub cannot sign or send a credential, so the receiver's secret is the URL's last segment
 * (`/hooks/{receiver}/{token}`), as Flux's `dockerhub` Receiver relies on its unguessable URL. It has one trigger, a
 * push, and names no event: every delivery is `push`. The payload gives `push_data.tag` and `repository.repo_name`
 * (`namespace/name`); the image is `docker.io/<repo_name>`.
 */
const pushEvent = 'push';
const what = 'Docker Hub payload';

export const dockerhub: Provider = {
  name: 'dockerhub',
  defaultEvents: [pushEvent],
  fixedEvent: pushEvent,
  deliveryHeaders: [],

  inspect(request: WebhookRequest): Inspection {
    requireJson(request);
    return pathTokenInspection(request);
  },

  isPing: () => false,
  isPush: (event) => event === pushEvent,
  parsePush: (): PushEvent => notRouted('dockerhub'),

  parseArtifactPush(_request: WebhookRequest, body: Buffer): ArtifactPushEvent {
    const payload = parseJsonBody(body, what);
    const tag = stringAt(objectAt(payload, 'push_data', what), 'tag', `${what} push_data`);
    const name = stringAt(objectAt(payload, 'repository', what), 'repo_name', `${what} repository`);
    const reference = `docker.io/${name}`;
    return boundedArtifactPush({ repository: reference, artifacts: [{ reference, tag }] }, what);
  },
};
