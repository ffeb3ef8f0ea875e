import { relayConfigPath } from '../runtime/env';
import { existsSync, readFileSync } from 'node:fs';
import type * as z from 'zod/mini';
import { parseYamlOrJson } from './structured-text';
import { configSchema, type RelayConfig } from './schema';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** `receivers.github.targets[0].cluster`: how a problem's place is named in messages. */
export function formatPath(path: readonly PropertyKey[]): string {
  return (
    path
      .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
      .join('')
      .replace(/^\./, '') || '(root)'
  );
}

/** Every problem at once, each led by the field path, so a user fixes the file in one pass. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((i) => `  ${formatPath(i.path)}: ${i.message}`).join('\n');
}

export function parseConfig(text: string, source: string): RelayConfig {
  let raw: unknown;
  try {
    raw = parseYamlOrJson(text);
  } catch (error) {
    throw new ConfigError(`${source}: not valid YAML: ${(error as Error).message}`);
  }
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) throw new ConfigError(`${source} is invalid:\n${formatIssues(result.error.issues)}`);
  return result.data;
}

/**
 * Reads and validates the file named by RELAY_CONFIG, once per cold start. Without RELAY_CONFIG: `relay.config.json`
 * (what the build ships beside each bundle) if it exists, else `relay.config.yaml`.
 */
export function loadConfig(path = relayConfigPath() ?? defaultConfigPath()): RelayConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `cannot read relay configuration ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  return parseConfig(text, path);
}

function defaultConfigPath(): string {
  return existsSync('relay.config.json') ? 'relay.config.json' : 'relay.config.yaml';
}
