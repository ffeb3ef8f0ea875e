import { giteaFamilyProvider } from './gitea-family';

/*
 * Forgejo webhooks: Gitea's (Forgejo is a Gitea fork; delivery format and sources: gitea-family.ts), under
 * Forgejo's own headers:
 * - `X-Forgejo-Signature: <hex>`: bare lower-case hex HMAC-SHA256 of the JSON payload, and nothing else (Forgejo
 *   also sends every `X-Gitea-*`, `X-Gogs-*` and GitHub-style header; none of them is read here).
 * - `X-Forgejo-Event`, `X-Forgejo-Delivery`. Both hook types send these headers (`forgejo` and `gitea`: the shared
 *   `AddDefaultHeaders`); a `forgejo`-type hook adds a `compare` copy of `compare_url` to push payloads, and a
 *   `gitea`-type hook shortens `ref` in `create`/`delete` payloads, neither of which is read.
 * - Only `push` is routed, for the reasons given in gitea.ts; no ping ("Test delivery" is a `push`).
 */
export const forgejo = giteaFamilyProvider({ name: 'forgejo', display: 'Forgejo', pushEvents: ['push'] });
