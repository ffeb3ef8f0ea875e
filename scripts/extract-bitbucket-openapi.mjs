#!/usr/bin/env node
/**
 * Extracts the webhook endpoints from Atlassian's Bitbucket Cloud or Bitbucket Data Center OpenAPI description into a
 * small fixture the loopback test servers validate against (tests/fixtures/bitbucket-cloud-openapi/hooks.json,
 * tests/fixtures/bitbucket-server-openapi/hooks.json). Atlassian publishes the descriptions (Cloud:
 * https://api.bitbucket.org/swagger.json; Data Center: the "Bitbucket Data Center" REST reference on
 * developer.atlassian.com); the repository coderabbitai/bitbucket keeps both as `src/{cloud,server}/openapi/swagger.v3.json`
 * (its npm package `@coderabbitai/bitbucket` ships only the TypeScript generated from them). Take the file at a tag:
 *
 *   git -C <a clone of coderabbitai/bitbucket> show v1.1.4:src/cloud/openapi/swagger.v3.json > /tmp/cloud.json
 *   node scripts/extract-bitbucket-openapi.mjs cloud /tmp/cloud.json coderabbitai/bitbucket <commit> [out.json]
 *
 * Kept (cloud): repository and workspace hooks and one hook. (server): repository and project webhooks and one
 * webhook. With every `components` entry they reference, transitively; output deterministic (sorted names).
 */
import { referencedNames, sortedDefinitions } from './openapi-refs.mjs';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const [variant, input, repository, commit, outArg] = process.argv.slice(2);
const variants = {
  cloud: {
    file: 'src/cloud/openapi/swagger.v3.json',
    paths: /^\/(repositories\/\{workspace\}\/\{repo_slug\}|workspaces\/\{workspace\})\/hooks(\/\{uid\})?$/,
    count: 4,
  },
  server: {
    file: 'src/server/openapi/swagger.v3.json',
    paths: /^\/api\/latest\/projects\/\{projectKey\}(\/repos\/\{repositorySlug\})?\/webhooks(\/\{webhookId\})?$/,
    count: 4,
  },
};
const chosen = variants[variant];
if (!chosen || !input || !repository || !/^[0-9a-f]{40}$/.test(commit ?? '')) {
  console.error(
    'usage: node scripts/extract-bitbucket-openapi.mjs <cloud|server> <swagger.v3.json> <owner/repo> <40-hex commit> [out.json]',
  );
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(outArg ?? join(here, '..', 'tests', 'fixtures', `bitbucket-${variant}-openapi`, 'hooks.json'));
const spec = JSON.parse(readFileSync(input, 'utf8'));
if (!/^3\./.test(spec.openapi ?? ''))
  throw new Error(`expected an OpenAPI 3 document, got ${spec.openapi ?? spec.swagger}`);

const paths = Object.fromEntries(
  Object.keys(spec.paths)
    .filter((p) => chosen.paths.test(p))
    .sort()
    .map((p) => [p, spec.paths[p]]),
);
if (Object.keys(paths).length !== chosen.count)
  throw new Error(`expected ${chosen.count} hook paths, found ${Object.keys(paths).join(', ')}`);

/** `#/components/<section>/<name>` references, transitively, starting from the kept paths. */
const lookup = (section, name) => spec.components?.[section]?.[name];
const wanted = referencedNames(paths, /^#\/components\/([^/]+)\/([^/]+)$/, lookup);

const components = sortedDefinitions(wanted, lookup);
const fixture = {
  source: {
    repository,
    commit,
    file: chosen.file,
    openapi: spec.openapi,
    infoVersion: spec.info?.version,
    extractedBy: 'scripts/extract-bitbucket-openapi.mjs',
  },
  openapi: spec.openapi,
  info: { title: spec.info?.title, version: spec.info?.version },
  servers: spec.servers,
  paths,
  components,
};
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(fixture, null, 1)}\n`);
console.log(`${out}: ${Object.keys(paths).length} paths, ${[...wanted].map(([s, n]) => `${n.size} ${s}`).join(', ')}`);
