import { giteaFamilyProvider, parseGogsCreate } from './gitea-family';

/*
 * Gogs webhooks (delivery format and sources: gitea-family.ts):
 * - `X-Gogs-Signature: <hex>`: bare lower-case hex HMAC-SHA256 of the JSON payload (empty without a secret: 401).
 *   Gogs sends no GitHub-style signature, only `X-Github-Event`/`X-Github-Delivery` copies, which are not read.
 * - `X-Gogs-Event`, `X-Gogs-Delivery`. JSON or form (`payload=`) bodies (`content_type: json|form`,
 *   `internal/route/api/v1/repo/hook.go`).
 * - `push` and `create` are routed. Unlike Gitea, Gogs sends no `push` for a pushed tag, only a `create`
 *   (`internal/db/action.go` `CommitRepoAction`, gogs/gogs 04115747): without `create`, a GitRepository following a
 *   tag or semver range would never be reconciled. A branch `create` is paired with a `push` and yields no ref
 *   change. Deleted branches and tags arrive only as `delete`, which is not routed. The hook must have the Create
 *   event enabled for tags (Gogs' API defaults a new hook to `push` only).
 * - No ping: "Test delivery" sends a `push` of the default branch, routed like any push.
 */
export const gogs = giteaFamilyProvider({
  name: 'gogs',
  display: 'Gogs',
  pushEvents: ['push', 'create'],
  parseOther: parseGogsCreate,
});
