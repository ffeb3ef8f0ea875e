import { giteaFamilyProvider } from './gitea-family';

/*
 * Gitea webhooks (delivery format and sources: gitea-family.ts):
 * - `X-Gitea-Signature: <hex>`: bare lower-case hex HMAC-SHA256 of the JSON payload, and nothing else. Gitea also
 *   sends `X-Gogs-Signature` and `X-Hub-Signature-256: sha256=<hex>` copies; a `gitea` receiver does not fall back to
 *   them (one documented form per provider), and a hook without a secret (empty header) is unsigned: 401.
 * - `X-Gitea-Event`, `X-Gitea-Delivery` (a UUID). JSON or form (`payload=`) bodies.
 * - Only `push` is routed. Per `services/repository/push.go` (go-gitea/gitea 75b92e34, `pushUpdates`): a new tag or
 *   branch is a `push` (`before` all zeros) *and* a `create`, so routing `create` too would reconcile twice (and its
 *   `ref` is the short name); a deleted tag is a `push` with `after` all zeros (ignored by the core) and a `delete`; a
 *   deleted branch is only a `delete`. `create` and `delete` are therefore not routed: nothing to reconcile.
 * - No ping: "Test delivery" sends a `push` of the default branch, routed like any push.
 */
export const gitea = giteaFamilyProvider({ name: 'gitea', display: 'Gitea', pushEvents: ['push'] });
