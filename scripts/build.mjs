// Bundles each Lambda entry functions/<name>.ts into dist/<name>/index.js and ships the relay configuration with it.
// Run through tsx (`npm run build`) so the configuration is validated by the project's own TypeScript parser.
import { build } from 'esbuild';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../lib/config/load.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const entries = readdirSync(join(root, 'functions'))
  .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
  .map((file) => basename(file, '.ts'));

// Validate before bundling: a bad configuration should fail in seconds, naming the bad field, not at cold start.
const configSource = resolve(root, process.env.RELAY_CONFIG ?? 'relay.config.yaml');
const configLabel = relative(root, configSource).startsWith('..') ? configSource : relative(root, configSource);
let configText;
try {
  configText = readFileSync(configSource, 'utf8');
} catch (error) {
  fail(
    `cannot read relay configuration ${configLabel}: ${error.code ?? error.message}` +
      (process.env.RELAY_CONFIG
        ? ''
        : ' (set RELAY_CONFIG, e.g. RELAY_CONFIG=relay.config.example.yaml npm run build)'),
  );
}
try {
  parseConfig(configText, configLabel);
} catch (error) {
  fail(error.message);
}

/**
 * Code a function rarely needs is bundled into a file of its own beside index.js and required only when needed, so
 * a cold start does not parse it: Powertools Idempotency with the DynamoDB client (replay protection, only for
 * receivers with `dedupe`; ~135 KB), the SQS client (only when a failed patch must be queued; ~36 KB plus its own
 * copy of the SDK core) and the Secrets Manager SDK (only without credentials in the environment, i.e. not on Lambda). The source keeps plain `import()`s; this rewrites those specifiers to the chunk files.
 */
const lazyChunks = {
  './powertools': { file: 'dedupe.js', entry: join(root, 'lib', 'delivery', 'dedupe', 'powertools.ts') },
  '@aws-sdk/client-sqs': { file: 'sqs.js', entry: '@aws-sdk/client-sqs' },
  // Only where the environment holds no credentials (lib/secrets/secrets-manager-http.ts says why and what it costs).
  '@aws-sdk/client-secrets-manager': { file: 'secrets-manager-sdk.js', entry: '@aws-sdk/client-secrets-manager' },
};
function lazyChunksPlugin(used) {
  return {
    name: 'lazy-chunks',
    setup(b) {
      b.onResolve({ filter: /^(\.\/powertools|@aws-sdk\/client-sqs|@aws-sdk\/client-secrets-manager)$/ }, (args) => {
        const chunk = lazyChunks[args.path];
        if (args.kind !== 'dynamic-import' || !chunk) return undefined;
        if (args.path === './powertools' && !args.importer.endsWith(join('lib', 'delivery', 'dedupe', 'index.ts')))
          return undefined;
        used.add(args.path);
        return { path: `./${chunk.file}`, external: true };
      });
    },
  };
}

/** How every bundle (a function's index.js and its lazy chunks) is built. */
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: true,
  // <file>.map for stack traces (set NODE_OPTIONS=--enable-source-maps to use it); mappings only, no sources:
  // 2.6 MB instead of 5.7 MB, and less for Node to parse at cold start.
  sourcemap: true,
  sourcesContent: false,
  // ESM builds of the AWS SDK (and others) tree-shake far better: 447 KB -> 305 KB for GetSecretValue.
  mainFields: ['module', 'main'],
  legalComments: 'none',
  logLevel: 'warning',
};

const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
for (const name of entries) {
  const outdir = join(root, 'dist', name);
  rmSync(outdir, { recursive: true, force: true });
  const usedChunks = new Set();
  const result = await build({
    entryPoints: [join(root, 'functions', `${name}.ts`)],
    outfile: join(outdir, 'index.js'),
    plugins: [lazyChunksPlugin(usedChunks)],
    ...common,
    metafile: true,
  });
  if (result.warnings.length > 0)
    fail(`esbuild reported ${result.warnings.length} warning(s) for functions/${name}.ts; see above`);
  for (const specifier of usedChunks) {
    const chunk = lazyChunks[specifier];
    await build({ ...common, entryPoints: [chunk.entry], outfile: join(outdir, chunk.file) });
  }
  // As JSON: the function parses it with JSON.parse instead of loading a YAML parser at every cold start
  // (lib/config/structured-text.ts). The same document, so infra/serverless/relay-config.cjs can compare it with the source.
  if (name === 'relay' || name === 'sync')
    writeFileSync(join(outdir, 'relay.config.json'), `${JSON.stringify(parseYaml(configText), null, 1)}\n`);
  for (const file of readdirSync(outdir).sort()) {
    console.log(`dist/${name}/${file}`.padEnd(36), kb(statSync(join(outdir, file)).size).padStart(10));
  }
}
console.log(`configuration: ${configLabel} (valid)`);

function fail(message) {
  console.error(`build failed: ${message}`);
  process.exit(1);
}
