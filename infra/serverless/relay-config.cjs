'use strict';
/**
 * Shared by the serverless.yml resolvers in this folder (`${file(./infra/serverless/<file>.cjs):<export>}`): which
 * relay configuration the service is built from, parsed by the project's own parser (lib/config/load.ts, loaded
 * through tsx, so there is exactly one schema), and whether local-only secret references are allowed.
 *
 * serverless.yml sets `custom.relay`:
 *   config: `--param config=<file>`, else $RELAY_CONFIG, else relay.config.yaml
 *   local:  `--param local=true` (what `npm start` passes): env:/file: refs are allowed and get no IAM grant. Refused
 *           for `package` and `deploy`, so an artifact can never ship a configuration whose secrets only exist on a
 *           developer's machine.
 */
const { readFileSync } = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
/**
 * Where scripts/build.mjs writes the configuration for the relay, as JSON (the same document as the source YAML);
 * the function's RELAY_CONFIG points at it.
 */
const bundledConfig = 'dist/relay/relay.config.json';
/** The same for the sync function (only checked when the sync is deployed). */
const bundledSyncConfig = 'dist/sync/relay.config.json';
/** Commands that produce or upload the artifact, which must match the configuration IAM is derived from. */
const artifactCommands = new Set(['package', 'deploy']);

/** A ServerlessError-like failure whose printed "stack" is just the message (osls prints `error.stack`). */
class RelayDeployError extends Error {
  constructor(message) {
    super(message);
    this.name = 'RelayDeployError';
    this.stack = `${this.name}: ${message}`;
  }
}

let loadModule;
/** lib/config/load.ts's parseConfig, loaded through tsx's scoped require (no global hook in the osls process). */
function parseConfig(text, source) {
  loadModule ??= require('tsx/cjs/api').require('../../lib/config/load.ts', __filename);
  return loadModule.parseConfig(text, source);
}

/** Whether the bundled JSON is the source YAML's document (compared as data: the build rewrote it as JSON). */
function sameDocument(bundledJson, sourceYaml) {
  let bundled;
  try {
    bundled = JSON.parse(bundledJson);
  } catch {
    return false;
  }
  return JSON.stringify(bundled) === JSON.stringify(require('yaml').parse(sourceYaml));
}

/** The osls command words (everything before the first option), as osls's own resolve-input splits them. */
function cliCommand(argv = process.argv.slice(2)) {
  const words = [];
  for (const arg of argv) {
    if (arg.startsWith('-')) break;
    words.push(arg);
  }
  return words.join(' ');
}

function readText(file, what) {
  try {
    return readFileSync(path.resolve(root, file), 'utf8');
  } catch (error) {
    throw new RelayDeployError(`cannot read ${what} ${file}: ${error.code ?? error.message}`);
  }
}

/**
 * The sync function is deployed only for a configuration with at least one `sync.registrations` entry: without one
 * it has nothing to do, and deploying it anyway would leave an idle function whose role can read kubeconfigs.
 */
function syncDeployed(config) {
  return Object.keys(config.sync?.registrations ?? {}).length > 0;
}

/**
 * The registryEvents function (ECR pushes through EventBridge, registry-events.cjs) is deployed only for a
 * configuration with an `ecr` section: without one no rule would route anything to it.
 */
function registryEventsDeployed(config) {
  return config.ecr !== undefined;
}

/** Every secret reference in a parsed configuration with the field that holds it, in file order. */
function secretRefs(config) {
  return [
    // An EKS cluster (`eks:`) has no kubeconfig: nothing of it is stored.
    ...Object.entries(config.clusters).flatMap(([name, c]) =>
      c.kubeconfig ? [{ field: `clusters.${name}.kubeconfig`, ref: c.kubeconfig }] : [],
    ),
    ...Object.entries(config.receivers).map(([name, r]) => ({ field: `receivers.${name}.secret`, ref: r.secret })),
    // A registration authenticates with a token or, on GitHub, an App's private key (exactly one).
    ...Object.entries(config.sync?.registrations ?? {}).map(([name, r]) =>
      r.app
        ? { field: `sync.registrations.${name}.app.privateKey`, ref: r.app.privateKey }
        : { field: `sync.registrations.${name}.token`, ref: r.token },
    ),
  ];
}

/** env: and file: references exist only on a developer's machine; a deployed relay reads Secrets Manager only. */
function localOnlyRefs(config) {
  return secretRefs(config)
    .filter(({ ref }) => ref.scheme !== 'aws-sm')
    .map(
      ({ field, ref }) =>
        `${field}: ${ref.text} is a local-only secret reference (${ref.scheme}:); a deployed relay reads aws-sm:<name or ARN>`,
    );
}

const cache = new Map();

/**
 * Resolves `custom.relay`, reads and validates the configuration, and checks the build matches it. The result is
 * `{ config, configPath, local }`; memoised per process because several variables in serverless.yml need it.
 * `argv` and `parse` are for tests (jest cannot host tsx's require; it passes lib's parseConfig itself).
 */
async function relayContext(
  { resolveConfigurationProperty },
  { argv = process.argv.slice(2), parse = parseConfig } = {},
) {
  const settings = (await resolveConfigurationProperty(['custom', 'relay'])) ?? {};
  const configPath = String(settings.config || process.env.RELAY_CONFIG || 'relay.config.yaml');
  const local = String(settings.local) === 'true';
  const command = cliCommand(argv);
  const key = JSON.stringify([configPath, local, command]);
  if (!cache.has(key)) cache.set(key, load(configPath, local, command, parse));
  return cache.get(key);
}

function load(configPath, local, command, parse) {
  const artifact = artifactCommands.has(command.split(' ')[0]);
  if (local && artifact) {
    throw new RelayDeployError(
      `--param local=true is only for \`osls offline\`; \`osls ${command}\` builds a deployable artifact, whose secrets must all be aws-sm: references`,
    );
  }
  const text = readText(configPath, 'relay configuration');
  let config;
  try {
    config = parse(text, configPath);
  } catch (error) {
    throw new RelayDeployError(error.message);
  }
  if (!local) {
    // Before the bundle check: the first thing to fix in a configuration made for local runs is its secrets.
    const problems = localOnlyRefs(config);
    if (problems.length > 0)
      throw new RelayDeployError(`the relay configuration cannot be deployed:\n  ${problems.join('\n  ')}`);
  }
  if (artifact) {
    for (const file of syncDeployed(config) ? [bundledConfig, bundledSyncConfig] : [bundledConfig]) {
      const bundled = readText(file, 'the bundled configuration (run `npm run build` first)');
      if (!sameDocument(bundled, text)) {
        throw new RelayDeployError(
          `${file} was built from another file than ${configPath}; rebuild with RELAY_CONFIG=${configPath} npm run build`,
        );
      }
    }
  }
  return { config, configPath, local };
}

module.exports = {
  relayContext,
  parseConfig,
  cliCommand,
  secretRefs,
  localOnlyRefs,
  syncDeployed,
  registryEventsDeployed,
  RelayDeployError,
  bundledConfig,
  bundledSyncConfig,
};
