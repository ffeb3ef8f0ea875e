/**
 * The deploy tests' scratch copy of the service: a configuration must be bundled and packaged from the very file it
 * packages, and tests/infra/serverless/serverless-package.test.ts rebuilds this tree's dist/ with the example
 * configuration at the same time, so every other configuration is packaged in a copy (node_modules linked).
 */
import { cpSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root, runTool } from './run-tool';

// CloudFormation properties are arbitrary nested JSON that the assertions walk by key; typing them would restate the
// template. The one `any` is here, with this reason.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export type Resource = { Type: string; Properties: Record<string, Json>; DependsOn?: unknown };
export type Template = { Resources: Record<string, Resource>; Outputs: Record<string, { Value: unknown }> };
export type Statement = { Effect: string; Action: string | string[]; Resource: unknown };

/** What `osls package` needs of the tree: the service, its build script and everything it bundles. */
const serviceEntries = [
  'serverless.yml',
  'package.json',
  'tsconfig.json',
  'relay.config.example.yaml',
  'infra',
  'lib',
  'functions',
  'scripts',
  'local',
];

/** A fresh copy of the service under the system's temp dir, with `files` (name → text) written into it. */
export function scratchService(prefix: string, files: Record<string, string> = {}): string {
  const service = mkdtempSync(join(tmpdir(), `${prefix}-`));
  for (const entry of serviceEntries) cpSync(join(root, entry), join(service, entry), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(service, 'node_modules'), 'dir');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(service, name), text);
  return service;
}

/**
 * Bundles `config` in `service` and packages it into `<service>/<packageDir>`, as CI does (no AWS credentials);
 * the generated template. Packagings of one service must not overlap: they build into the same dist/.
 */
export async function packageService(service: string, config: string, packageDir: string): Promise<Template> {
  const build = await runTool('tsx', ['scripts/build.mjs'], { cwd: service, env: { RELAY_CONFIG: config } });
  if (build.status !== 0) throw new Error(`build of ${config} failed:\n${build.output}`);
  const out = join(service, packageDir);
  const pkg = await runTool('osls', ['package', '--param', `config=${config}`, '--package', out], { cwd: service });
  if (pkg.status !== 0) throw new Error(`osls package of ${config} failed:\n${pkg.output}`);
  return JSON.parse(readFileSync(join(out, 'cloudformation-template-update-stack.json'), 'utf8')) as Template;
}

/** File names in a zip, sorted, from its central directory (no unzip binary needed). */
export function zipEntries(file: string): string[] {
  const zip = readFileSync(file);
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  let offset = zip.readUInt32LE(eocd + 16);
  const names: string[] = [];
  for (let i = 0; i < zip.readUInt16LE(eocd + 10); i++) {
    const nameLength = zip.readUInt16LE(offset + 28);
    names.push(zip.toString('utf8', offset + 46, offset + 46 + nameLength));
    offset += 46 + nameLength + zip.readUInt16LE(offset + 30) + zip.readUInt16LE(offset + 32);
  }
  return names.sort();
}
