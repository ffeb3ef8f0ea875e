#!/usr/bin/env node
/**
 * Extracts the project (and, where described, group) webhook endpoints from GitLab's own API description,
 * `doc/api/openapi/openapi_v2.yaml` in gitlabhq/gitlabhq (Swagger 2.0, generated from the Grape API by grape-swagger),
 * into a small fixture the loopback test server validates against (tests/fixtures/gitlab-openapi/hooks.json). No npm
 * package ships the file; take it from the repository at a known commit, e.g.
 *
 *   git -C <a clone of gitlabhq/gitlabhq> show <commit>:doc/api/openapi/openapi_v2.yaml > /tmp/openapi_v2.yaml
 *   node scripts/extract-gitlab-openapi.mjs /tmp/openapi_v2.yaml gitlabhq/gitlabhq <commit> [out.json]
 *
 * Kept: `/api/v4/projects/{id}/hooks`, `.../hooks/{hook_id}`, `.../hooks/{hook_id}/test/{trigger}` and the same under
 * `/api/v4/groups/{id}` when the description has them, with every `definitions`, `responses` and `parameters` entry
 * they reference, transitively. Output deterministic (sorted names); SOURCE.md beside it says where the input came
 * from.
 *
 * The hook entity's schema is then corrected where grape-swagger's rendering of `documentation:` disagrees with what
 * the API sends (CORRECTIONS below, each with its source). Each correction first checks that the description still
 * says what it corrects, so a newer description that fixed the point fails the run instead of being overwritten.
 */
import { referencedNames, sortedDefinitions } from './openapi-refs.mjs';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const [input, repository, commit, outArg] = process.argv.slice(2);
if (!input || !repository || !/^[0-9a-f]{40}$/.test(commit ?? '')) {
  console.error(
    'usage: node scripts/extract-gitlab-openapi.mjs <openapi_v2.yaml> <owner/repo> <40-hex commit> [out.json]',
  );
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(outArg ?? join(here, '..', 'tests', 'fixtures', 'gitlab-openapi', 'hooks.json'));

const spec = parse(readFileSync(input, 'utf8'));
if (spec.swagger !== '2.0') throw new Error(`expected a Swagger 2.0 document, got ${spec.swagger ?? spec.openapi}`);

const HOOK_PATH = /^\/api\/v4\/(projects|groups)\/\{id\}\/hooks(\/\{hook_id\}(\/test\/\{trigger\})?)?$/;
const REQUIRED = ['/api/v4/projects/{id}/hooks', '/api/v4/projects/{id}/hooks/{hook_id}'];
const paths = Object.fromEntries(
  Object.keys(spec.paths)
    .filter((p) => HOOK_PATH.test(p))
    .sort()
    .map((p) => [p, spec.paths[p]]),
);
const missing = REQUIRED.filter((p) => !(p in paths));
if (missing.length > 0) throw new Error(`the description lacks ${missing.join(', ')}`);

/** `#/<section>/<name>` references, transitively, starting from the kept paths. */
const lookup = (section, name) => spec[section]?.[name];
const wanted = referencedNames(paths, /^#\/(definitions|responses|parameters)\/([^/]+)$/, lookup);
const sections = sortedDefinitions(wanted, lookup);
// Corrections below edit the kept definitions: work on a copy, not on the parsed input.
const kept = JSON.parse(JSON.stringify(sections));

const HOOK_ENTITY = /^API_Entities_(Project|Group)Hook$/;
const nullable = (type) => (schema) => schema.type === type && { ...schema, type: [type, 'null'] };
/**
 * `[property, edit, why]`: `edit` returns the corrected schema, or false when the description no longer says what is
 * corrected. Sources: gitlabhq/gitlabhq `lib/api/entities/hook.rb` and `project_hook.rb` (the `documentation:` types
 * grape-swagger copies), GitLab's API docs examples (`doc/api/project_webhooks.md`, `group_webhooks.md`), and the
 * `web_hooks` migrations that added the nullable columns.
 */
const CORRECTIONS = [
  [
    'id',
    (s) => s.type === 'string' && { ...s, type: 'integer' },
    'integer primary key; `expose :id, documentation: { type: \'string\', example: 1 }` only labels it (docs examples: `"id": 1`)',
  ],
  [
    'project_id',
    (s) => /^string$/i.test(s.type) && { ...s, type: 'integer' },
    "integer foreign key; `expose :project_id, documentation: { type: 'String', example: 1 }` only labels it",
  ],
  [
    'group_id',
    (s) => /^string$/i.test(s.type) && { ...s, type: 'integer' },
    'integer foreign key, as project_id (docs example: `"group_id": 99`)',
  ],
  [
    'alert_status',
    (s) => s.type === 'symbol' && { ...s, type: 'string' },
    '`documentation: { type: \'symbol\' }` is no JSON Schema type; the Ruby Symbol is rendered as a JSON string (`"executable"`)',
  ],
  [
    'disabled_until',
    nullable('string'),
    'null unless the hook is temporarily disabled (docs examples: `"disabled_until": null`)',
  ],
  [
    'push_events_branch_filter',
    nullable('string'),
    'null when no filter is set, and set to nil for `all_branches` (docs examples: `"push_events_branch_filter": null`)',
  ],
  [
    'name',
    nullable('string'),
    'nullable `text` column added in 16.9 (AddNameAndDescriptionToWebHooks), null when unset',
  ],
  ['description', nullable('string'), 'nullable `text` column added in 16.9, null when unset'],
  [
    'custom_webhook_template',
    nullable('string'),
    'nullable `text` column added in 16.10 (AddCustomWebhookTemplateToWebHook, `null: true`), null when unset',
  ],
];
const applied = [];
for (const [name, definition] of Object.entries(kept.definitions ?? {})) {
  if (!HOOK_ENTITY.test(name)) continue;
  for (const [property, edit, why] of CORRECTIONS) {
    const schema = definition.properties?.[property];
    if (schema === undefined) continue; // group_id on the project entity, project_id on the group one
    const corrected = edit(schema);
    if (!corrected)
      throw new Error(`${name}.${property} is now ${JSON.stringify(schema)}: re-check the correction (${why})`);
    definition.properties[property] = corrected;
    applied.push(`${name}.${property}: ${JSON.stringify(schema.type)} -> ${JSON.stringify(corrected.type)}: ${why}`);
  }
}
if (applied.length === 0) throw new Error('no hook entity found to correct');

const fixture = {
  source: {
    repository,
    commit,
    file: 'doc/api/openapi/openapi_v2.yaml',
    swagger: spec.swagger,
    infoVersion: spec.info?.version,
    extractedBy: 'scripts/extract-gitlab-openapi.mjs',
    groupHooksDescribed: Object.keys(paths).some((p) => p.startsWith('/api/v4/groups/')),
    corrections: applied,
  },
  swagger: spec.swagger,
  info: spec.info,
  host: spec.host,
  paths,
  ...kept,
};
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(fixture, null, 1)}\n`);
console.log(
  `${out}: ${Object.keys(paths).length} paths, ${[...wanted].map(([s, n]) => `${n.size} ${s}`).join(', ')}, ${applied.length} corrections`,
);
