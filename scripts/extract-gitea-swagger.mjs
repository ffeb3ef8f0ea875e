#!/usr/bin/env node
/**
 * Extracts the repository and organisation webhook endpoints from Gitea's (or Forgejo's) own API description,
 * `templates/swagger/v1_json.tmpl` (Swagger 2.0, served by the server at `/swagger.v1.json`), into a small fixture the
 * loopback test server validates against (tests/fixtures/gitea-openapi/hooks.json, or forgejo-openapi/). No npm
 * package ships this file; take it from the server's repository at a known commit, e.g.
 *
 *   git -C <a clone of go-gitea/gitea> show <commit>:templates/swagger/v1_json.tmpl > /tmp/v1_json.tmpl
 *   node scripts/extract-gitea-swagger.mjs /tmp/v1_json.tmpl go-gitea/gitea <commit> [out.json]
 *
 * or a `swagger.v1.json` a server served, kept in some repository (the output folder is forgejo-openapi when the
 * repository name says forgejo, else gitea-openapi).
 *
 * Kept: `/repos/{owner}/{repo}/hooks`, `/repos/{owner}/{repo}/hooks/{id}`, `/orgs/{org}/hooks`, `/orgs/{org}/hooks/{id}`
 * with every `definitions`, `responses` and `parameters` entry they reference, transitively. The output is
 * deterministic (sorted names), so a re-run diffs cleanly; SOURCE.md beside it says where the input came from.
 */
import { referencedNames, sortedDefinitions } from './openapi-refs.mjs';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const [input, repository, commit, outArg] = process.argv.slice(2);
if (!input || !repository || !/^[0-9a-f]{40}$/.test(commit ?? '')) {
  console.error('usage: node scripts/extract-gitea-swagger.mjs <v1_json.tmpl> <owner/repo> <40-hex commit> [out.json]');
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const flavour = repository.toLowerCase().includes('forgejo') ? 'forgejo' : 'gitea';
const out = resolve(outArg ?? join(here, '..', 'tests', 'fixtures', `${flavour}-openapi`, 'hooks.json'));

// The template's Go expressions all sit inside JSON strings ("{{AppVer | JSEscape}}"), so it parses as it is.
const spec = JSON.parse(readFileSync(input, 'utf8'));
if (spec.swagger !== '2.0') throw new Error(`expected a Swagger 2.0 document, got ${spec.swagger ?? spec.openapi}`);

const HOOK_PATH = /^\/(orgs\/\{org\}|repos\/\{owner\}\/\{repo\})\/hooks(\/\{id\})?$/;
const paths = Object.fromEntries(
  Object.keys(spec.paths)
    .filter((p) => HOOK_PATH.test(p))
    .sort()
    .map((p) => [p, spec.paths[p]]),
);
if (Object.keys(paths).length !== 4) throw new Error(`expected 4 hook paths, found ${Object.keys(paths).join(', ')}`);

/** `#/<section>/<name>` references, transitively, starting from the kept paths. */
const wanted = referencedNames(
  paths,
  /^#\/(definitions|responses|parameters)\/([^/]+)$/,
  (section, name) => spec[section]?.[name],
);

const fixture = {
  source: {
    repository,
    commit,
    // The server's template, or a copy of what a server serves (`swagger.v1.json`, its version in `info`).
    file: basename(input) === 'v1_json.tmpl' ? 'templates/swagger/v1_json.tmpl' : basename(input),
    swagger: spec.swagger,
    infoVersion: spec.info?.version,
    extractedBy: 'scripts/extract-gitea-swagger.mjs',
  },
  swagger: spec.swagger,
  info: spec.info,
  basePath: spec.basePath,
  paths,
};
Object.assign(
  fixture,
  sortedDefinitions(wanted, (section, name) => spec[section][name]),
);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(fixture, null, 1)}\n`);
console.log(`${out}: ${Object.keys(paths).length} paths, ${[...wanted].map(([s, n]) => `${n.size} ${s}`).join(', ')}`);
