import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type * as z from 'zod/mini';
import { configSchema, type RelayConfig } from './schema';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') || '(root)';
}

/** Every problem at once, each led by the field path, so a user fixes the file in one pass. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((i) => `  ${formatPath(i.path)}: ${i.message}`).join('\n');
}

export function parseConfig(text: string, source: string): RelayConfig {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (error) {
    throw new ConfigError(`${source}: not valid YAML: ${(error as Error).message}`);
  }
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) throw new ConfigError(`${source} is invalid:\n${formatIssues(result.error.issues)}`);
  return result.data;
}

/** Reads and validates the file named by RELAY_CONFIG (default `relay.config.yaml`), once per cold start. */
export function loadConfig(path = process.env.RELAY_CONFIG ?? 'relay.config.yaml'): RelayConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read relay configuration ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return parseConfig(text, path);
}
