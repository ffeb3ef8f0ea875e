#!/usr/bin/env node
/**
 * Extracts the service hook subscription endpoints from Microsoft's published Azure DevOps REST description,
 * MicrosoftDocs/vsts-rest-api-specs `specification/hooks/7.1/serviceHooks.json` (Swagger 2.0, with a UTF-8 BOM), into
 * the fixture the loopback organization validates against (tests/fixtures/azure-devops-openapi/hooks.json):
 *
 *   git -C <a clone of MicrosoftDocs/vsts-rest-api-specs> show <commit>:specification/hooks/7.1/serviceHooks.json > /tmp/serviceHooks.json
 *   node scripts/extract-azure-devops-openapi.mjs /tmp/serviceHooks.json <commit> [out.json]
 *
 * Kept: `/{organization}/_apis/hooks/subscriptions` and `/{organization}/_apis/hooks/subscriptions/{subscriptionId}`
 * with every definition and parameter they reference, transitively; the operations' `x-ms-examples` (references to
 * example files beside the description) are left out.
 *
 * One correction, where the description says what the service does not send: a list's 200 is described as a bare
 * array of subscriptions, but the service wraps every collection in `{ "count": n, "value": [...] }` (the REST API
 * overview's response example, https://learn.microsoft.com/en-us/rest/api/azure/devops/?view=azure-devops-rest-7.1).
 * The script checks that the description still says "array" before wrapping it, so an upstream fix makes it fail
 * instead of being wrapped twice.
 */
import { referencedNames, sortedDefinitions } from './openapi-refs.mjs';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const [input, commit, outArg] = process.argv.slice(2);
if (!input || !/^[0-9a-f]{40}$/.test(commit ?? '')) {
  console.error('usage: node scripts/extract-azure-devops-openapi.mjs <serviceHooks.json> <40-hex commit> [out.json]');
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(outArg ?? join(here, '..', 'tests', 'fixtures', 'azure-devops-openapi', 'hooks.json'));

const spec = JSON.parse(readFileSync(input, 'utf8').replace(/^\uFEFF/, ''));
if (spec.swagger !== '2.0') throw new Error(`expected a Swagger 2.0 document, got ${spec.swagger ?? spec.openapi}`);

const kept = [
  '/{organization}/_apis/hooks/subscriptions',
  '/{organization}/_apis/hooks/subscriptions/{subscriptionId}',
];
const paths = Object.fromEntries(
  kept.map((p) => {
    if (!spec.paths[p]) throw new Error(`the description has no ${p}`);
    return [p, JSON.parse(JSON.stringify(spec.paths[p]))];
  }),
);

// `x-ms-examples` point at example files beside the description (./httpExamples/...): documentation, not schema.
for (const operations of Object.values(paths)) for (const op of Object.values(operations)) delete op['x-ms-examples'];

const list = paths[kept[0]].get.responses['200'];
if (list.schema?.type !== 'array')
  throw new Error('the list is no longer described as a bare array: check the {count, value} correction');
list.schema = {
  type: 'object',
  required: ['count', 'value'],
  properties: { count: { type: 'integer' }, value: list.schema },
};

const wanted = referencedNames(
  paths,
  /^#\/(definitions|responses|parameters)\/([^/]+)$/,
  (section, name) => spec[section]?.[name],
);
const fixture = {
  source: {
    repository: 'MicrosoftDocs/vsts-rest-api-specs',
    commit,
    file: 'specification/hooks/7.1/serviceHooks.json',
    swagger: spec.swagger,
    infoVersion: spec.info?.version,
    extractedBy: 'scripts/extract-azure-devops-openapi.mjs',
    corrections: ['GET /{organization}/_apis/hooks/subscriptions 200: {count, value} around the described array'],
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
console.log(`${out}: ${kept.length} paths, ${[...wanted].map(([s, n]) => `${n.size} ${s}`).join(', ')}`);
