#!/usr/bin/env node
/**
 * Extracts GitHub's webhook endpoints from the official OpenAPI description into a small fixture the tests validate
 * against (tests/fixtures/github-openapi/hooks.json). `@octokit/openapi` is ~385 MB installed, so it is not a project
 * dependency; install it in a scratch folder and point this script at it:
 *
 *   mkdir -p /tmp/octo && cd /tmp/octo && npm init -y && npm i @octokit/openapi@23 --ignore-scripts
 *   node scripts/extract-github-openapi.mjs /tmp/octo/node_modules/@octokit/openapi [out.json]
 *
 * Kept: repository and organisation hook paths (hooks, hook, config, deliveries, one delivery, redelivery attempts,
 * pings, tests) with every `components` entry they reference, transitively. Descriptions are kept (the PATCH secret
 * trap is documented there); the output is deterministic (sorted component names) so a re-run diffs cleanly.
 */
import { referencedNames, sortedDefinitions } from './openapi-refs.mjs';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const [packageDir, outArg] = process.argv.slice(2);
if (!packageDir) {
  console.error('usage: node scripts/extract-github-openapi.mjs <path to node_modules/@octokit/openapi> [out.json]');
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(outArg ?? join(here, '..', 'tests', 'fixtures', 'github-openapi', 'hooks.json'));
const specFile = 'generated/api.github.com.json';

const pkg = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
// Only the generated description: the package index would load every variant (hundreds of MB).
const spec = JSON.parse(readFileSync(join(packageDir, specFile), 'utf8'));

const HOOK_PATH =
  /^\/(orgs\/\{org\}|repos\/\{owner\}\/\{repo\})\/hooks(\/\{hook_id\}(\/(config|pings|tests|deliveries(\/\{delivery_id\}(\/attempts)?)?))?)?$/;
const paths = Object.fromEntries(
  Object.keys(spec.paths)
    .filter((p) => HOOK_PATH.test(p))
    .sort()
    .map((p) => [p, spec.paths[p]]),
);
if (Object.keys(paths).length === 0) throw new Error(`no hook paths found in ${specFile}`);

/** `#/components/<section>/<name>` references, transitively, starting from the kept paths. */
const lookup = (section, name) => spec.components?.[section]?.[name];
const wanted = referencedNames(paths, /^#\/components\/([^/]+)\/([^/]+)$/, lookup);

const components = sortedDefinitions(wanted, lookup);

const fixture = {
  source: {
    package: pkg.name,
    version: pkg.version,
    file: specFile,
    openapi: spec.openapi,
    infoVersion: spec.info?.version,
    extractedBy: 'scripts/extract-github-openapi.mjs',
  },
  openapi: spec.openapi,
  info: spec.info,
  servers: spec.servers,
  paths,
  components,
};
mkdirSync(dirname(out), { recursive: true });
const text = `${JSON.stringify(fixture, null, 1)}\n`;
writeFileSync(out, text);
const counts = Object.entries(components)
  .map(([section, entries]) => `${Object.keys(entries).length} ${section}`)
  .join(', ');
console.log(
  `${out}: ${Object.keys(paths).length} paths, ${counts}; ${(Buffer.byteLength(text) / 1024).toFixed(0)} KB from ${pkg.name}@${pkg.version} ${specFile}`,
);
