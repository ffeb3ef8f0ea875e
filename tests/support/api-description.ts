/**
 * A provider's own machine-readable API description (Swagger 2.0 or OpenAPI 3), as extracted into tests/fixtures by
 * scripts/extract-*.mjs, used by the loopback test servers to hold every request body they get and every answer they
 * give to what the provider publishes. Only described operations are checked: an exchange on a path the fixture does
 * not hold is none of its business. Per exchange:
 * - a request body the server accepted (2xx) against the operation's body parameter (Swagger) or `requestBody`
 *   (OpenAPI), when it has one;
 * - the status against the operation's documented responses: an undocumented 2xx is a violation (the success shape
 *   is the contract clients rely on), an undocumented error status is not (descriptions list few of them);
 * - the response body against the documented response's schema, when it has one.
 * The GitHub test server predates this module and carries its own validator of the same kind.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

type Json = Record<string, unknown>;

interface Operation {
  parameters?: Json[];
  requestBody?: { content?: Record<string, { schema?: object }> };
  responses: Record<string, Json>;
}

export interface Exchange {
  method: string;
  /** The path relative to the description's base (`/repos/acme/app/hooks`), as sent (percent-encoding kept). */
  path: string;
  /** The parsed JSON request body, if the request had one. */
  requestBody?: unknown;
  status: number;
  /** The parsed JSON response body, if the answer had one. */
  responseBody?: unknown;
}

export class ApiDescription {
  /** Which package or repository, version or commit and file the fixture came from (its `source` block). */
  readonly source: Json;
  private readonly ajv: Ajv;
  private readonly root: string;
  private readonly operations: Array<{ pattern: RegExp; template: string; methods: Record<string, Operation> }>;
  private readonly compiled = new Map<object, ValidateFunction>();

  /** Loads `tests/fixtures/<name>/hooks.json`. */
  static load(name: string): ApiDescription {
    return new ApiDescription(
      name,
      JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', name, 'hooks.json'), 'utf8')) as Json,
    );
  }

  private constructor(
    name: string,
    private readonly doc: Json,
  ) {
    this.source = (doc.source ?? {}) as Json;
    this.root = `https://${name}.test/hooks.json`;
    // Not strict: the descriptions carry vendor keywords (`x-go-name`), OpenAPI's `example`, `discriminator`, `xml`.
    this.ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(this.ajv);
    this.ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
    this.ajv.addFormat('int32', {
      type: 'number',
      validate: (n: number) => Number.isInteger(n) && Math.abs(n) < 2 ** 31,
    });
    this.ajv.addSchema({ $id: this.root, definitions: doc.definitions ?? {}, components: doc.components ?? {} });
    const paths = doc.paths as Record<string, Record<string, Operation>>;
    this.operations = Object.entries(paths).map(([template, methods]) => ({
      template,
      methods,
      pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`),
    }));
    // Compile every schema now: a description Ajv cannot read fails loudly at load, not mid-test.
    for (const { methods } of this.operations) {
      for (const op of Object.values(methods)) {
        const body = this.requestSchema(op);
        if (body) this.validator(body);
        for (const response of Object.values(op.responses ?? {})) {
          const schema = this.responseSchema(response);
          if (schema) this.validator(schema);
        }
      }
    }
  }

  /** What in one exchange disagrees with the description ([] when all agrees, or the operation is not described). */
  check(exchange: Exchange): string[] {
    const described = this.operations.find((o) => o.pattern.test(exchange.path));
    const op = described?.methods[exchange.method.toLowerCase()];
    if (!described || !op) return [];
    const where = `${exchange.method} ${described.template} -> ${exchange.status}`;
    const problems: string[] = [];
    const bodySchema = this.requestSchema(op);
    // Only a body the server took: one it refused is the test's own probe of the server's validation.
    if (bodySchema && exchange.requestBody !== undefined && exchange.status >= 200 && exchange.status < 300) {
      const v = this.validator(bodySchema);
      if (!v(exchange.requestBody)) problems.push(`${where}: request body: ${describeErrors(v.errors)}`);
    }
    const documented = op.responses[String(exchange.status)] ?? op.responses.default;
    if (!documented) {
      if (exchange.status >= 200 && exchange.status < 300)
        problems.push(`${where}: status not in the description (${Object.keys(op.responses).join(', ')})`);
      return problems;
    }
    const schema = this.responseSchema(documented);
    if (schema && exchange.responseBody !== undefined) {
      const v = this.validator(schema);
      if (!v(exchange.responseBody)) problems.push(`${where}: response body: ${describeErrors(v.errors)}`);
    }
    return problems;
  }

  private requestSchema(op: Operation): object | undefined {
    const swaggerBody = (op.parameters ?? []).map((p) => this.resolve(p)).find((p) => p.in === 'body');
    if (swaggerBody) return swaggerBody.schema as object | undefined;
    return op.requestBody?.content?.['application/json']?.schema;
  }

  private responseSchema(response: Json): object | undefined {
    const resolved = this.resolve(response);
    if (resolved.schema) return resolved.schema as object; // Swagger 2.0
    const content = resolved.content as Record<string, { schema?: object }> | undefined;
    return content?.['application/json']?.schema;
  }

  /** A `$ref` to `#/responses/X`, `#/parameters/X` or `#/components/<section>/X`, followed; anything else as it is. */
  private resolve(node: Json): Json {
    const ref = node.$ref;
    if (typeof ref !== 'string') return node;
    const target = ref
      .slice(2)
      .split('/')
      .reduce<unknown>((at, key) => (at as Json | undefined)?.[key], this.doc);
    if (target === undefined) throw new Error(`${this.root}: dangling ${ref}`);
    return this.resolve(target as Json);
  }

  private validator(schema: object): ValidateFunction {
    let v = this.compiled.get(schema);
    if (!v) this.compiled.set(schema, (v = this.ajv.compile(this.rebase(schema) as object)));
    return v;
  }

  /** `#/...` references made absolute, so that one operation's schema compiles on its own. */
  private rebase(node: unknown): unknown {
    if (Array.isArray(node)) return node.map((x) => this.rebase(x));
    if (node === null || typeof node !== 'object') return node;
    const out: Json = {};
    for (const [key, value] of Object.entries(node))
      out[key] =
        key === '$ref' && typeof value === 'string' && value.startsWith('#/')
          ? `${this.root}${value}`
          : this.rebase(value);
    return out;
  }
}

function describeErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .map(
      (e) =>
        `${e.instancePath || '/'} ${e.message ?? 'is invalid'}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`,
    )
    .join('; ');
}
