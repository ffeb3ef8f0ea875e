import type { ParseOptions, DocumentOptions, SchemaOptions, ToJSOptions } from 'yaml';

type YamlOptions = ParseOptions & DocumentOptions & SchemaOptions & ToJSOptions;

/**
 * Parses a configuration or kubeconfig document: JSON with JSON.parse, anything else with the `yaml` package, which
 * is only loaded then. What the relay reads at a cold start is JSON (the build ships the configuration as JSON, and
 * `npm run kubeconfig` stores JSON kubeconfigs, which kubectl reads too), because loading and first using the yaml
 * package costs about a fifth of the cold-start budget (docs/decisions.md). Hand-written YAML keeps working; it just
 * pays that price.
 */
export function parseYamlOrJson(text: string, options?: YamlOptions): unknown {
  if (/^\s*[{[]/.test(text)) {
    try {
      return JSON.parse(text);
    } catch {
      // A YAML flow mapping also starts with '{' (and YAML allows what JSON does not): let the YAML parser decide.
    }
  }
  // A lazy require: esbuild keeps the module in the bundle but runs its top level only on this first use.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- deliberately lazy, see above
  const yaml = require('yaml') as typeof import('yaml');
  return yaml.parse(text, options);
}
