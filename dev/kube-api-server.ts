/**
 * A strict loopback Kubernetes API server: the tests' cluster, the bench's, and `npm start`'s demo cluster when no
 * kubeconfig is at hand (scripts/start.ts).
 *
 * It speaks the real wire protocol over real HTTPS (its own CA, server certificate for 127.0.0.1/localhost),
 * authenticates bearer tokens, authorizes with RBAC-like rules and answers errors as `Status` objects shaped like
 * the real kube-apiserver's, so that the real `@kubernetes/client-node` can be pointed at it with a real kubeconfig.
 *
 * Served resources: the Flux CD custom resources listed in RESOURCE_TYPES (get, list, watch, patch), core v1 events
 * (create, get, list, patch) and core v1 secrets (get; seed them with `putSecret`). Everything else answers 404/405
 * like the real server.
 *
 * Watches (`?watch=1` or `?watch=true` on a collection) follow
 * https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes: a chunked
 * `application/json` stream of one `{"type":...,"object":...}` per line; events after the given resourceVersion
 * (unset or "0": the current objects as ADDED first); 410 Gone for a resourceVersion older than the last
 * `compact()`, as an ERROR event (the watch cache's way) or an HTTP 410 answer; BOOKMARK events on `sendBookmarks()`
 * when `allowWatchBookmarks` was asked for; the stream ends after `timeoutSeconds`. RBAC checks the `watch` verb
 * separately from `list`.
 *
 * EKS authentication (`eksAuthentication`, `addEksAccessEntry`, `bindGroup`): a bearer token `k8s-aws-v1.<base64url>`
 * is verified as aws-iam-authenticator's server verifies it (kubernetes-sigs/aws-iam-authenticator pkg/token/token.go,
 * Verify) and as STS then checks the presigned URL: size, prefix, unpadded base64url, https, an STS host, path `/`,
 * only the whitelisted query parameters, Action=GetCallerIdentity, `x-k8s-aws-id` among the signed headers,
 * X-Amz-Expires within 0..900, not older than 15 minutes after X-Amz-Date by the server's clock (injectable), and the
 * SigV4 signature re-computed with the AWS SDK's signer over `x-k8s-aws-id: <this cluster's name>` with the secret
 * key of the access entry's credentials. The caller is then the access entry's user with its Kubernetes groups, and
 * is authorized by the rules bound to those groups.
 */
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { GitRepository } from '@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1';
import { Kustomization } from '@kubernetes-models/flux-cd/kustomize.toolkit.fluxcd.io/v1';
import { generate } from 'selfsigned';
import { FaultSlot } from './loopback';
import { parseAmzDate, presignedSignatureMatches, type TestCredentials } from './sigv4';

/**
 * Where the server reports the secrets it creates (keys, tokens). Nothing by default; the tests' whole-run log scan
 * plugs in here (tests/support/kube-api-server.ts), so a leaked test key fails the run.
 */
export const secretSink: { secret(value: string, origin: string): void; pem(pem: string, origin: string): void } = {
  secret: () => undefined,
  pem: () => undefined,
};

// ---------------------------------------------------------------------------------------------------------------------
// Public types

export interface RbacRule {
  /** API groups ('' is the core group); '*' matches any. */
  apiGroups: string[];
  /** Resource plurals, 'plural/subresource' for subresources; '*' matches any. */
  resources: string[];
  /** get, list, watch, create, update, patch, delete, deletecollection; '*' matches any. */
  verbs: string[];
  /** Namespaces the rule applies in (like a RoleBinding); omitted = all namespaces and the cluster scope (like a ClusterRoleBinding). */
  namespaces?: string[];
}

/** An EKS access entry: the IAM principal whose credentials sign tokens, and the Kubernetes identity it maps to. */
export interface EksAccessEntry {
  /** The credentials the principal signs with (what STS would recognise). */
  credentials: TestCredentials;
  /** The IAM role ARN of the access entry (its `PrincipalArn`). */
  principalArn: string;
  /** Kubernetes user name; default the principal ARN. */
  username?: string;
  /** The access entry's `KubernetesGroups`. */
  groups: string[];
}

export interface RecordedRequest {
  method: string;
  /** URL path without the query string. */
  path: string;
  query: Record<string, string>;
  contentType?: string;
  /** Authenticated and authorized by RBAC (false for 401 and 403 answers). */
  authorized: boolean;
  /** Authenticated user name, if the bearer token was known. */
  user?: string;
  /** The authenticated user's groups (EKS access entries). */
  groups?: string[];
  /** How the caller authenticated: a registered bearer token, or an EKS token; undefined when it did not. */
  authentication?: 'token' | 'eks';
  /** For an EKS token (accepted or not): its X-Amz-Date, and why it was refused. */
  eksToken?: { signedAt?: string; rejected?: string };
  /** Request body: parsed JSON when it parses, else the raw text; undefined when empty. */
  body?: unknown;
  /** Which accepted TLS connection carried the request (1-based, in accept order). */
  connectionId: number;
  /** The RBAC verb the request was authorized as (get, list, watch, patch, create, ...); undefined off the resource paths. */
  verb?: string;
  /** HTTP status code answered (undefined while in flight, or when a fault destroyed the socket). */
  status?: number;
  /** The request's `Accept-Encoding`, when it had one. */
  acceptEncoding?: string;
  /** Response body bytes written (as sent: compressed when the answer was); a watch counts its events so far. */
  bytesSent?: number;
}

export interface KubeObjectMeta {
  name: string;
  namespace?: string;
  generateName?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: KubeObjectMeta;
  [key: string]: unknown;
}

export interface Fault {
  /** Which requests to affect (default: all). Called with the request as recorded (auth already evaluated). */
  match?: (req: RecordedRequest) => boolean;
  /** Answer a Status with this HTTP code instead of serving the request. */
  status?: number;
  /** Message for the Status answered with `status`. */
  message?: string;
  /**
   * With `status: 429`: the `Retry-After` seconds (default 1), also in the Status's details.retryAfterSeconds, as
   * apimachinery's `NewTooManyRequests` answers (k8s.io/apimachinery/pkg/api/errors).
   */
  retryAfterSeconds?: number;
  /**
   * With `status: 429`: answer as API Priority and Fairness rejects a request instead: the plain-text body of
   * k8s.io/apiserver/pkg/server/filters/maxinflight.go `tooManyRequests` (an `http.Error`, not a Status), with
   * `Retry-After` and the X-Kubernetes-PF-* headers naming the flow schema and priority level
   * (https://kubernetes.io/docs/concepts/cluster-administration/flow-control/#diagnostics).
   */
  apf?: boolean;
  /** Wait this long before answering (or destroying). */
  delayMs?: number;
  /** Reset the connection instead of answering. */
  destroy?: boolean;
  /**
   * Answer 200 with exactly these bytes and headers instead of serving: what a broken or hostile endpoint behind the
   * kubeconfig's URL could send (a body that does not inflate, an encoding nobody asked for, a decompression bomb).
   */
  raw?: { headers: Record<string, string>; body: Buffer };
  /** Number of matching requests to affect; then the fault clears itself. Omitted = until replaced or cleared. */
  times?: number;
}

export interface KubeStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: string;
  details?: StatusDetails;
  code: number;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: Array<{ reason: string; message: string; field?: string }>;
  retryAfterSeconds?: number;
}

export interface ResourceType {
  group: string;
  version: string;
  plural: string;
  kind: string;
  /** Custom resource (Flux CRD, with a status subresource) vs built-in. */
  custom: boolean;
}

// ---------------------------------------------------------------------------------------------------------------------
// Served resources

const JSON_PATCH = 'application/json-patch+json';
const MERGE_PATCH = 'application/merge-patch+json';
const STRATEGIC_MERGE_PATCH = 'application/strategic-merge-patch+json';
const APPLY_PATCH = 'application/apply-patch+yaml';

interface ServedType extends ResourceType {
  apiVersion: string;
  verbs: ReadonlySet<string>;
  patchTypes: readonly string[];
  validate: (obj: Record<string, unknown>) => FieldError[];
}

const INTERVAL_PATTERN = /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/;

type ModelCtor = new (data: never) => { validate(): void };

function modelValidator(ctor: ModelCtor): (obj: Record<string, unknown>) => FieldError[] {
  return (obj) => {
    try {
      // The model constructors are typed for their own interfaces; the data is arbitrary JSON by design here.
      new ctor(structuredClone(obj) as never).validate();
      return [];
    } catch (err) {
      return ajvErrorsToFieldErrors(err, obj);
    }
  };
}

/** Hand-written checks for Flux kinds whose exact API version has no model in @kubernetes-models/flux-cd 2.3.4. */
function requiredSpecValidator(required: string[], extra?: (spec: Record<string, unknown>) => FieldError[]) {
  return (obj: Record<string, unknown>): FieldError[] => {
    const spec = obj.spec;
    if (!isObject(spec)) return [{ field: 'spec', type: 'Required value' }];
    const errs: FieldError[] = [];
    for (const f of required) if (spec[f] === undefined) errs.push({ field: `spec.${f}`, type: 'Required value' });
    for (const f of ['interval', 'timeout']) {
      const v = spec[f];
      if (v === undefined) continue;
      if (typeof v !== 'string' || !INTERVAL_PATTERN.test(v)) {
        errs.push({
          field: `spec.${f}`,
          type: 'Invalid value',
          value: v,
          detail: `spec.${f} in body should match '${INTERVAL_PATTERN.source}'`,
        });
      }
    }
    if (extra) errs.push(...extra(spec));
    return errs;
  };
}

const CR_VERBS = new Set(['get', 'list', 'watch', 'patch']);
const CR_PATCH_TYPES = [JSON_PATCH, MERGE_PATCH, APPLY_PATCH];

function cr(
  group: string,
  version: string,
  plural: string,
  kind: string,
  validate: ServedType['validate'],
): ServedType {
  return {
    group,
    version,
    plural,
    kind,
    custom: true,
    apiVersion: `${group}/${version}`,
    verbs: CR_VERBS,
    patchTypes: CR_PATCH_TYPES,
    validate,
  };
}

const RESOURCE_TYPES: readonly ServedType[] = [
  cr(
    'source.toolkit.fluxcd.io',
    'v1',
    'gitrepositories',
    'GitRepository',
    modelValidator(GitRepository as unknown as ModelCtor),
  ),
  cr('source.toolkit.fluxcd.io', 'v1', 'helmrepositories', 'HelmRepository', requiredSpecValidator(['url'])),
  cr('source.toolkit.fluxcd.io', 'v1', 'ocirepositories', 'OCIRepository', requiredSpecValidator(['interval', 'url'])),
  cr(
    'source.toolkit.fluxcd.io',
    'v1',
    'buckets',
    'Bucket',
    requiredSpecValidator(['bucketName', 'endpoint', 'interval']),
  ),
  cr(
    'source.toolkit.fluxcd.io',
    'v1',
    'helmcharts',
    'HelmChart',
    requiredSpecValidator(['chart', 'interval', 'sourceRef']),
  ),
  cr(
    'kustomize.toolkit.fluxcd.io',
    'v1',
    'kustomizations',
    'Kustomization',
    modelValidator(Kustomization as unknown as ModelCtor),
  ),
  cr(
    'helm.toolkit.fluxcd.io',
    'v2',
    'helmreleases',
    'HelmRelease',
    requiredSpecValidator(['interval'], (spec) =>
      (spec.chart === undefined) === (spec.chartRef === undefined)
        ? [{ field: 'spec', type: 'Invalid value', value: 'object', detail: 'either chart or chartRef must be set' }]
        : [],
    ),
  ),
  cr('image.toolkit.fluxcd.io', 'v1', 'imagerepositories', 'ImageRepository', requiredSpecValidator([])),
  {
    group: '',
    version: 'v1',
    plural: 'events',
    kind: 'Event',
    custom: false,
    apiVersion: 'v1',
    verbs: new Set(['get', 'list', 'create', 'patch']),
    patchTypes: [JSON_PATCH, MERGE_PATCH, APPLY_PATCH, STRATEGIC_MERGE_PATCH],
    validate: validateEvent,
  },
  {
    group: '',
    version: 'v1',
    plural: 'secrets',
    kind: 'Secret',
    custom: false,
    apiVersion: 'v1',
    verbs: new Set(['get']),
    patchTypes: [],
    validate: validateSecret,
  },
];

const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The checks of the real server that a test seeding a Secret can trip over (data is base64, token Secrets name their account). */
function validateSecret(obj: Record<string, unknown>): FieldError[] {
  const errs: FieldError[] = [];
  const data = obj.data;
  if (data !== undefined) {
    if (!isObject(data))
      return [{ field: 'data', type: 'Invalid value', value: data, detail: 'must be an object of base64 strings' }];
    for (const [k, v] of Object.entries(data)) {
      if (!SECRET_KEY.test(k))
        errs.push({
          field: `data[${k}]`,
          type: 'Invalid value',
          value: k,
          detail: "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
        });
      if (typeof v !== 'string' || !BASE64.test(v))
        errs.push({ field: `data[${k}]`, type: 'Invalid value', value: v, detail: 'illegal base64 data' });
    }
  }
  const type = obj.type ?? 'Opaque';
  if (typeof type !== 'string')
    errs.push({ field: 'type', type: 'Invalid value', value: type, detail: 'must be a string' });
  if (type === 'kubernetes.io/service-account-token') {
    const meta = isObject(obj.metadata) ? obj.metadata : {};
    const annotations = isObject(meta.annotations) ? meta.annotations : {};
    if (
      typeof annotations['kubernetes.io/service-account.name'] !== 'string' ||
      annotations['kubernetes.io/service-account.name'] === ''
    ) {
      errs.push({ field: 'metadata.annotations[kubernetes.io/service-account.name]', type: 'Required value' });
    }
  }
  return errs;
}

function validateEvent(obj: Record<string, unknown>): FieldError[] {
  const meta = isObject(obj.metadata) ? obj.metadata : {};
  const ns = typeof meta.namespace === 'string' ? meta.namespace : '';
  const involved = obj.involvedObject;
  if (!isObject(involved)) return [{ field: 'involvedObject', type: 'Required value' }];
  const ins = typeof involved.namespace === 'string' ? involved.namespace : '';
  if (ins === '') {
    if (ns !== '' && ns !== 'default')
      return [
        {
          field: 'involvedObject.namespace',
          type: 'Invalid value',
          value: ins,
          detail: 'does not match event.namespace',
        },
      ];
  } else if (ins !== ns) {
    return [
      {
        field: 'involvedObject.namespace',
        type: 'Invalid value',
        value: ins,
        detail: 'does not match event.namespace',
      },
    ];
  }
  return [];
}

// ---------------------------------------------------------------------------------------------------------------------
// Status helpers

class StatusError extends Error {
  constructor(
    readonly status: KubeStatus,
    readonly headers: Record<string, string> = {},
  ) {
    super(status.message);
  }
}

function makeStatus(code: number, reason: string, message: string, details?: StatusDetails): KubeStatus {
  const s: KubeStatus = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  if (details === undefined) return s;
  // Keep the real server's key order (details before code).
  return {
    kind: s.kind,
    apiVersion: s.apiVersion,
    metadata: s.metadata,
    status: s.status,
    message,
    reason,
    details,
    code,
  };
}

function details(
  name: string | undefined,
  group: string,
  kind: string,
  causes?: StatusDetails['causes'],
): StatusDetails {
  const d: StatusDetails = {};
  if (name) d.name = name;
  if (group) d.group = group;
  if (kind) d.kind = kind;
  if (causes && causes.length > 0) d.causes = causes;
  return d;
}

/** "gitrepositories.source.toolkit.fluxcd.io" or "events" (GroupResource.String()). */
function groupResource(group: string, resource: string): string {
  return group ? `${resource}.${group}` : resource;
}

function notFound(t: ResourceType, name: string): StatusError {
  return new StatusError(
    makeStatus(
      404,
      'NotFound',
      `${groupResource(t.group, t.plural)} "${name}" not found`,
      details(name, t.group, t.plural),
    ),
  );
}

function notFoundPath(): StatusError {
  return new StatusError(makeStatus(404, 'NotFound', 'the server could not find the requested resource', {}));
}

function badRequest(message: string): StatusError {
  return new StatusError(makeStatus(400, 'BadRequest', message));
}

function conflict(t: ResourceType, name: string, why: string): StatusError {
  return new StatusError(
    makeStatus(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${groupResource(t.group, t.plural)} "${name}": ${why}`,
      details(name, t.group, t.plural),
    ),
  );
}

function methodNotSupported(group: string, resource: string, verb: string): StatusError {
  return new StatusError(
    makeStatus(
      405,
      'MethodNotAllowed',
      `${verb} is not supported on resources of kind "${groupResource(group, resource)}"`,
      details(undefined, group, resource),
    ),
  );
}

interface FieldError {
  field: string;
  type: 'Required value' | 'Invalid value' | 'Forbidden' | 'Too long';
  value?: unknown;
  detail?: string;
}

const CAUSE_REASON: Record<FieldError['type'], string> = {
  'Required value': 'FieldValueRequired',
  'Invalid value': 'FieldValueInvalid',
  Forbidden: 'FieldValueForbidden',
  'Too long': 'FieldValueTooLong',
};

function fieldErrorMessage(e: FieldError): string {
  let m: string = e.type;
  if (e.type === 'Invalid value') m += `: ${JSON.stringify(e.value)}`;
  if (e.detail) m += `: ${e.detail}`;
  return m;
}

function invalid(t: ResourceType, name: string, errs: FieldError[]): StatusError {
  const msgs = errs.map((e) => `${e.field}: ${fieldErrorMessage(e)}`);
  const agg = msgs.length === 1 ? msgs[0] : `[${msgs.join(', ')}]`;
  const gk = t.group ? `${t.kind}.${t.group}` : t.kind;
  const causes = errs.map((e) => ({ reason: CAUSE_REASON[e.type], message: fieldErrorMessage(e), field: e.field }));
  return new StatusError(
    makeStatus(422, 'Invalid', `${gk} "${name}" is invalid: ${agg}`, details(name, t.group, t.kind, causes)),
  );
}

/** What the real server answers when a JSON patch cannot be applied (NewGenericServerResponse(422, ...)). */
function patchApplyFailed(message: string): StatusError {
  return new StatusError(
    makeStatus(422, 'Invalid', 'the server rejected our request due to an error in our request', {
      causes: [{ reason: 'UnexpectedServerResponse', message }],
    }),
  );
}

const STATUS_REASONS: Record<number, [string, string]> = {
  400: ['BadRequest', 'the server rejected our request for an unknown reason'],
  401: ['Unauthorized', 'Unauthorized'],
  403: ['Forbidden', 'forbidden'],
  404: ['NotFound', 'the server could not find the requested resource'],
  405: ['MethodNotAllowed', 'the server does not allow this method on the requested resource'],
  409: ['Conflict', 'the server reported a conflict'],
  410: ['Expired', 'the resource version is too old'],
  415: ['UnsupportedMediaType', 'the server does not support the media type'],
  422: ['Invalid', 'the server rejected our request due to an error in our request'],
  429: ['TooManyRequests', 'Too many requests, please try again later.'],
  500: ['InternalError', 'Internal error occurred: injected fault'],
  503: ['ServiceUnavailable', 'the server is currently unable to handle the request'],
  504: [
    'Timeout',
    'the server was unable to return a response in the time allotted, but may still be processing the request',
  ],
};

function genericStatus(code: number, message?: string, retryAfterSeconds = 1): StatusError {
  const [reason, defaultMessage] = STATUS_REASONS[code] ?? [
    '',
    `the server responded with the status code ${code} but did not return more information`,
  ];
  if (code === 429) {
    return new StatusError(makeStatus(code, reason, message ?? defaultMessage, { retryAfterSeconds }), {
      'Retry-After': String(retryAfterSeconds),
    });
  }
  return new StatusError(
    makeStatus(code, reason, message ?? defaultMessage, code === 401 || code === 400 ? undefined : {}),
  );
}

// ---------------------------------------------------------------------------------------------------------------------
// JSON helpers

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return (
      ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k], b[k]))
    );
  }
  return false;
}

/** RFC 7386 JSON merge patch. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const result: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete result[k];
    else result[k] = applyMergePatch(result[k], v);
  }
  return result;
}

class JsonPatchError extends Error {}

function parsePointer(path: unknown): string[] {
  if (typeof path !== 'string') throw new JsonPatchError('operation missing path');
  if (path === '') return [];
  if (!path.startsWith('/')) throw new JsonPatchError(`invalid JSON pointer: "${path}"`);
  return path
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function arrayIndex(tok: string, len: number, allowEnd: boolean, path: string, op: string): number {
  if (allowEnd && tok === '-') return len;
  if (!/^(0|[1-9][0-9]*)$/.test(tok))
    throw new JsonPatchError(`${op} operation does not apply: doc is missing path: "${path}": invalid index`);
  const i = Number(tok);
  if (i > len || (!allowEnd && i === len))
    throw new JsonPatchError(`${op} operation does not apply: doc is missing path: "${path}": index out of range`);
  return i;
}

/** Resolve the parent container of a pointer; throws when a segment is missing. */
function resolveParent(doc: unknown, toks: string[], path: string, op: string): unknown {
  let cur = doc;
  for (const tok of toks.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(tok, cur.length, false, path, op)];
    else if (isObject(cur) && Object.prototype.hasOwnProperty.call(cur, tok)) cur = cur[tok];
    else throw new JsonPatchError(`${op} operation does not apply: doc is missing path: "${path}": missing value`);
  }
  return cur;
}

function getAt(doc: unknown, path: unknown, op: string): unknown {
  const toks = parsePointer(path);
  if (toks.length === 0) return doc;
  const parent = resolveParent(doc, toks, String(path), op);
  const last = toks[toks.length - 1] as string;
  if (Array.isArray(parent)) return parent[arrayIndex(last, parent.length, false, String(path), op)];
  if (isObject(parent) && Object.prototype.hasOwnProperty.call(parent, last)) return parent[last];
  throw new JsonPatchError(`${op} operation does not apply: doc is missing key: ${String(path)}: missing value`);
}

function removeAt(doc: unknown, path: unknown, op: string): unknown {
  const toks = parsePointer(path);
  if (toks.length === 0) throw new JsonPatchError(`${op} operation does not apply: cannot remove the root`);
  const parent = resolveParent(doc, toks, String(path), op);
  const last = toks[toks.length - 1] as string;
  if (Array.isArray(parent)) return parent.splice(arrayIndex(last, parent.length, false, String(path), op), 1)[0];
  if (isObject(parent) && Object.prototype.hasOwnProperty.call(parent, last)) {
    const v = parent[last];
    delete parent[last];
    return v;
  }
  throw new JsonPatchError(`${op} operation does not apply: doc is missing path: "${String(path)}": missing value`);
}

function addAt(doc: unknown, path: unknown, value: unknown, op: string): unknown {
  const toks = parsePointer(path);
  if (toks.length === 0) return value;
  const parent = resolveParent(doc, toks, String(path), op);
  const last = toks[toks.length - 1] as string;
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent.length, true, String(path), op), 0, value);
  else if (isObject(parent)) parent[last] = value;
  else
    throw new JsonPatchError(`${op} operation does not apply: doc is missing path: "${String(path)}": missing value`);
  return doc;
}

/** RFC 6902 JSON patch (add, remove, replace, move, copy, test); atomic. */
export function applyJsonPatch(doc: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new TypeError('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let out = structuredClone(doc);
  for (const raw of ops) {
    if (!isObject(raw)) throw new JsonPatchError('invalid operation');
    const op = raw.op;
    switch (op) {
      case 'add':
        if (!('value' in raw)) throw new JsonPatchError('add operation missing value');
        out = addAt(out, raw.path, structuredClone(raw.value), 'add');
        break;
      case 'remove':
        removeAt(out, raw.path, 'remove');
        break;
      case 'replace': {
        if (!('value' in raw)) throw new JsonPatchError('replace operation missing value');
        const toks = parsePointer(raw.path);
        if (toks.length === 0) {
          out = structuredClone(raw.value);
          break;
        }
        getAt(out, raw.path, 'replace');
        const parent = resolveParent(out, toks, String(raw.path), 'replace');
        const last = toks[toks.length - 1] as string;
        if (Array.isArray(parent))
          parent[arrayIndex(last, parent.length, false, String(raw.path), 'replace')] = structuredClone(raw.value);
        else if (isObject(parent)) parent[last] = structuredClone(raw.value);
        break;
      }
      case 'move': {
        const v = removeAt(out, raw.from, 'move');
        out = addAt(out, raw.path, v, 'move');
        break;
      }
      case 'copy':
        out = addAt(out, raw.path, structuredClone(getAt(out, raw.from, 'copy')), 'copy');
        break;
      case 'test': {
        let actual: unknown;
        try {
          actual = getAt(out, raw.path, 'test');
        } catch {
          throw new JsonPatchError(`testing value ${String(raw.path)} failed: test failed`);
        }
        if (!deepEqual(actual, raw.value))
          throw new JsonPatchError(`testing value ${String(raw.path)} failed: test failed`);
        break;
      }
      default:
        throw new JsonPatchError(`Unexpected kind: ${String(op)}`);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------------
// Metadata validation

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function qualifiedNameError(key: string): string | undefined {
  const parts = key.split('/');
  let name = key;
  if (parts.length === 2) {
    const prefix = parts[0] as string;
    name = parts[1] as string;
    if (prefix.length === 0 || prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix))
      return 'prefix part must be a valid DNS-1123 subdomain';
  } else if (parts.length > 2) {
    return "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character with an optional DNS subdomain prefix and '/'";
  }
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME_PART.test(name)) {
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
  }
  return undefined;
}

function labelValueError(v: string): string | undefined {
  if (v.length > 63) return 'must be no more than 63 characters';
  if (!LABEL_VALUE.test(v)) {
    return "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
  }
  return undefined;
}

function validateMetadata(obj: Record<string, unknown>): FieldError[] {
  const meta = obj.metadata;
  if (!isObject(meta)) return [{ field: 'metadata', type: 'Required value' }];
  const errs: FieldError[] = [];
  const name = meta.name;
  if (typeof name !== 'string' || name === '')
    errs.push({ field: 'metadata.name', type: 'Required value', detail: 'name or generateName is required' });
  else if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    errs.push({
      field: 'metadata.name',
      type: 'Invalid value',
      value: name,
      detail:
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
    });
  }
  const ns = meta.namespace;
  if (typeof ns !== 'string' || ns === '') errs.push({ field: 'metadata.namespace', type: 'Required value' });
  else if (ns.length > 63 || !DNS1123_LABEL.test(ns)) {
    errs.push({
      field: 'metadata.namespace',
      type: 'Invalid value',
      value: ns,
      detail: "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'",
    });
  }
  for (const which of ['labels', 'annotations'] as const) {
    const m = meta[which];
    if (m === undefined) continue;
    if (!isObject(m)) {
      errs.push({
        field: `metadata.${which}`,
        type: 'Invalid value',
        value: m,
        detail: 'must be an object of strings',
      });
      continue;
    }
    let size = 0;
    for (const [k, v] of Object.entries(m)) {
      const kerr = qualifiedNameError(k);
      if (kerr) errs.push({ field: `metadata.${which}`, type: 'Invalid value', value: k, detail: kerr });
      if (typeof v !== 'string') {
        errs.push({ field: `metadata.${which}.${k}`, type: 'Invalid value', value: v, detail: 'must be string' });
        continue;
      }
      size += k.length + v.length;
      if (which === 'labels') {
        const verr = labelValueError(v);
        if (verr) errs.push({ field: `metadata.labels`, type: 'Invalid value', value: v, detail: verr });
      }
    }
    if (which === 'annotations' && size > 262144)
      errs.push({ field: 'metadata.annotations', type: 'Too long', detail: 'must have at most 262144 bytes' });
  }
  return errs;
}

function ajvErrorsToFieldErrors(err: unknown, obj: Record<string, unknown>): FieldError[] {
  const list = isObject(err) && Array.isArray(err.errors) ? (err.errors as unknown[]) : [];
  const out: FieldError[] = [];
  for (const e of list) {
    if (!isObject(e)) continue;
    const ptr = typeof e.instancePath === 'string' ? e.instancePath : '';
    const field = pointerToField(ptr);
    const params = isObject(e.params) ? e.params : {};
    if (e.keyword === 'required' && typeof params.missingProperty === 'string') {
      out.push({
        field: field ? `${field}.${params.missingProperty}` : params.missingProperty,
        type: 'Required value',
      });
    } else {
      let value: unknown;
      try {
        value = getAt(obj, ptr, 'get');
      } catch {
        value = undefined;
      }
      out.push({
        field: field || '<root>',
        type: 'Invalid value',
        value,
        detail: `${field} in body ${String(e.message ?? 'is invalid')}`,
      });
    }
  }
  if (out.length === 0)
    out.push({
      field: '<root>',
      type: 'Invalid value',
      value: 'object',
      detail: err instanceof Error ? err.message : String(err),
    });
  return out;
}

function pointerToField(ptr: string): string {
  return parsePointer(ptr).reduce(
    (acc, tok) => (/^[0-9]+$/.test(tok) ? `${acc}[${tok}]` : acc ? `${acc}.${tok}` : tok),
    '',
  );
}

// ---------------------------------------------------------------------------------------------------------------------
// Label and field selectors

type Requirement =
  | { key: string; op: 'exists' | 'notexists' }
  | { key: string; op: 'eq' | 'neq'; value: string }
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'gt' | 'lt'; num: number };

function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

const SEL_KEY = '([^\\s=!<>(),]+)';

export function parseLabelSelector(selector: string): Requirement[] {
  if (selector.trim() === '') return [];
  const reqs: Requirement[] = [];
  for (const rawPart of splitTopLevel(selector)) {
    const part = rawPart.trim();
    let m: RegExpMatchArray | null;
    let req: Requirement;
    if ((m = part.match(new RegExp(`^!\\s*${SEL_KEY}$`)))) req = { key: m[1] as string, op: 'notexists' };
    else if ((m = part.match(new RegExp(`^${SEL_KEY}\\s+(in|notin)\\s*\\(([^()]*)\\)$`)))) {
      const values = (m[3] as string).split(',').map((v) => v.trim());
      if (values.length === 1 && values[0] === '')
        throw badRequest(`unable to parse requirement: for 'in', 'notin' operators, values set can't be empty`);
      req = { key: m[1] as string, op: m[2] === 'in' ? 'in' : 'notin', values };
    } else if ((m = part.match(new RegExp(`^${SEL_KEY}\\s*(==|=|!=)\\s*([^\\s,()=!<>]*)$`)))) {
      req = { key: m[1] as string, op: m[2] === '!=' ? 'neq' : 'eq', value: m[3] as string };
    } else if ((m = part.match(new RegExp(`^${SEL_KEY}\\s*(>|<)\\s*([0-9]+)$`)))) {
      req = { key: m[1] as string, op: m[2] === '>' ? 'gt' : 'lt', num: Number(m[3]) };
    } else if ((m = part.match(new RegExp(`^${SEL_KEY}$`)))) req = { key: m[1] as string, op: 'exists' };
    else
      throw badRequest(
        `unable to parse requirement: found '${part}', expected: identifier, '!', 'in', 'notin', '=', '==', '!='`,
      );
    const kerr = qualifiedNameError(req.key);
    if (kerr) throw badRequest(`unable to parse requirement: <nil>: Invalid value: "${req.key}": ${kerr}`);
    const vals =
      req.op === 'eq' || req.op === 'neq' ? [req.value] : req.op === 'in' || req.op === 'notin' ? req.values : [];
    for (const v of vals) {
      const verr = labelValueError(v);
      if (verr) throw badRequest(`unable to parse requirement: values[0][${req.key}]: Invalid value: "${v}": ${verr}`);
    }
    reqs.push(req);
  }
  return reqs;
}

function matchesLabels(reqs: Requirement[], labels: Record<string, unknown>): boolean {
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(labels, r.key);
    const v = has ? String(labels[r.key]) : undefined;
    switch (r.op) {
      case 'exists':
        return has;
      case 'notexists':
        return !has;
      case 'eq':
        return has && v === r.value;
      case 'neq':
        return !has || v !== r.value;
      case 'in':
        return has && r.values.includes(v as string);
      case 'notin':
        return !has || !r.values.includes(v as string);
      case 'gt':
      case 'lt': {
        if (!has || !/^-?[0-9]+$/.test(v as string)) return false;
        return r.op === 'gt' ? Number(v) > r.num : Number(v) < r.num;
      }
    }
    return false;
  });
}

interface FieldRequirement {
  field: 'metadata.name' | 'metadata.namespace';
  negate: boolean;
  value: string;
}

function parseFieldSelector(selector: string): FieldRequirement[] {
  if (selector.trim() === '') return [];
  return selector.split(',').map((raw) => {
    const m = raw.trim().match(/^([^=!]+?)\s*(==|=|!=)\s*(.*)$/);
    if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${raw}'`);
    const field = (m[1] as string).trim();
    if (field !== 'metadata.name' && field !== 'metadata.namespace')
      throw badRequest(`field label not supported: ${field}`);
    return { field, negate: m[2] === '!=', value: (m[3] as string).trim() };
  });
}

// ---------------------------------------------------------------------------------------------------------------------
// Requests

interface RequestInfo {
  isResource: boolean;
  verb: string;
  group: string;
  version: string;
  namespace?: string;
  resource: string;
  name?: string;
  subresource?: string;
}

function methodVerb(method: string, hasName: boolean, watch: boolean): string {
  switch (method) {
    case 'GET':
    case 'HEAD':
      return hasName ? 'get' : watch ? 'watch' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return hasName ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase();
  }
}

function parseRequestInfo(method: string, path: string, query: Record<string, string>): RequestInfo {
  const segs = path.split('/').filter((s) => s !== '');
  const nonResource: RequestInfo = {
    isResource: false,
    verb: method.toLowerCase(),
    group: '',
    version: '',
    resource: '',
  };
  let rest: string[];
  let group: string;
  let version: string;
  if (segs[0] === 'api' && segs.length >= 3) {
    group = '';
    version = segs[1] as string;
    rest = segs.slice(2);
  } else if (segs[0] === 'apis' && segs.length >= 4) {
    group = segs[1] as string;
    version = segs[2] as string;
    rest = segs.slice(3);
  } else return nonResource;
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource, name, subresource] = rest as [string, string?, string?];
  const watch = query.watch === 'true' || query.watch === '1';
  const info: RequestInfo = {
    isResource: true,
    verb: methodVerb(method, name !== undefined, watch),
    group,
    version,
    resource,
  };
  if (namespace !== undefined) info.namespace = namespace;
  if (name !== undefined) info.name = name;
  if (subresource !== undefined) info.subresource = rest.slice(2).join('/');
  return info;
}

interface Account {
  user: string;
  rules: RbacRule[];
  groups?: string[];
}

/** aws-iam-authenticator's limits (pkg/token/token.go). */
const EKS_TOKEN_PREFIX = 'k8s-aws-v1.';
const EKS_MAX_TOKEN_BYTES = 4096;
const EKS_TOKEN_VALIDITY_MS = 15 * 60_000;
const EKS_QUERY_WHITELIST = new Set([
  'action',
  'version',
  'x-amz-algorithm',
  'x-amz-credential',
  'x-amz-date',
  'x-amz-expires',
  'x-amz-security-token',
  'x-amz-signature',
  'x-amz-signedheaders',
]);

function ruleAllows(rule: RbacRule, info: RequestInfo): boolean {
  const has = (list: string[], v: string) => list.includes('*') || list.includes(v);
  const resource = info.subresource ? `${info.resource}/${info.subresource}` : info.resource;
  if (!has(rule.apiGroups, info.group) || !has(rule.resources, resource) || !has(rule.verbs, info.verb)) return false;
  if (rule.namespaces === undefined) return true;
  return info.namespace !== undefined && has(rule.namespaces, info.namespace);
}

function forbidden(user: string, info: RequestInfo, path: string): StatusError {
  if (!info.isResource) {
    return new StatusError(
      makeStatus(403, 'Forbidden', `forbidden: User "${user}" cannot ${info.verb} path "${path}"`, {}),
    );
  }
  const resource = info.subresource ? `${info.resource}/${info.subresource}` : info.resource;
  const where = info.namespace !== undefined ? `in the namespace "${info.namespace}"` : 'at the cluster scope';
  const why = `User "${user}" cannot ${info.verb} resource "${resource}" in API group "${info.group}" ${where}`;
  const gr = groupResource(info.group, info.resource);
  const message = info.name ? `${gr} "${info.name}" is forbidden: ${why}` : `${gr} is forbidden: ${why}`;
  return new StatusError(makeStatus(403, 'Forbidden', message, details(info.name, info.group, info.resource)));
}

function normalizeMediaType(ct: string | undefined): string | undefined {
  return ct?.split(';')[0]?.trim().toLowerCase() || undefined;
}

function nowTimestamp(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const NAME_SUFFIX_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

function randomSuffix(): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += NAME_SUFFIX_CHARS[Math.floor(Math.random() * NAME_SUFFIX_CHARS.length)];
  return s;
}

interface Version {
  rv: number;
  obj: KubeObject | null;
}

interface ContinueToken {
  v: string;
  rv: number;
  start: string;
}

const MAX_BODY_BYTES = 3 * 1024 * 1024;

interface Watcher {
  type: ServedType;
  namespace?: string;
  labels: Requirement[];
  bookmarks: boolean;
  res: ServerResponse;
  rec: RecordedRequest;
  timer?: NodeJS.Timeout;
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: unknown;
}

// ---------------------------------------------------------------------------------------------------------------------
// The server

export class KubeApiTestServer {
  readonly url: string;
  readonly caPem: string;
  readonly requests: RecordedRequest[] = [];

  private readonly accounts = new Map<string, Account>();
  /** type key -> "ns/name" -> versions (MVCC history, for consistent paginated lists). */
  private readonly store = new Map<string, Map<string, Version[]>>();
  private readonly sockets = new Set<TLSSocket>();
  private readonly rawSockets = new Set<Socket>();
  private readonly socketIds = new WeakMap<object, number>();
  private readonly timers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  private connections = 0;
  private revision = 1000;
  private readonly faults = new FaultSlot<Fault, RecordedRequest>();
  private closed = false;
  private readonly watchers = new Set<Watcher>();
  /** Revisions before this one are compacted away: a watch from an older resourceVersion gets 410 Gone. */
  private compactedRevision = 0;
  private compactionAnswer: 'event' | 'http' = 'event';
  private eks: { clusterName: string } | undefined;
  private readonly eksEntries = new Map<string, EksAccessEntry>();
  private readonly groupRules = new Map<string, RbacRule[]>();
  /** The server's clock (ms), for EKS token expiry. */
  now: () => number = Date.now;

  private constructor(
    private readonly server: https.Server,
    caPem: string,
  ) {
    const { port } = server.address() as AddressInfo;
    this.url = `https://127.0.0.1:${port}`;
    this.caPem = caPem;
    // Connections still in their TLS handshake are not yet the HTTP server's: close() must end those too, or a
    // client that connected just before it (a watch started late) would keep the server open.
    server.on('connection', (socket: Socket) => {
      this.rawSockets.add(socket);
      socket.on('close', () => this.rawSockets.delete(socket));
    });
    server.on('secureConnection', (socket: TLSSocket) => {
      if (this.closed) {
        socket.destroy();
        return;
      }
      this.connections++;
      this.socketIds.set(socket, this.connections);
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent && !res.destroyed)
          this.send(
            res,
            undefined,
            500,
            makeStatus(500, 'InternalError', `Internal error occurred: ${String(err)}`, {}),
          );
      });
    });
  }

  static async start(): Promise<KubeApiTestServer> {
    const notBeforeDate = new Date(Date.now() - 60 * 60 * 1000);
    const ca = await generate([{ name: 'commonName', value: 'kube-api-test-ca' }], {
      keyType: 'ec',
      algorithm: 'sha256',
      notBeforeDate,
      extensions: [
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
      ],
    });
    const leaf = await generate([{ name: 'commonName', value: 'kube-apiserver' }], {
      keyType: 'ec',
      algorithm: 'sha256',
      notBeforeDate,
      ca: { key: ca.private, cert: ca.cert },
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: [
            { type: 2, value: 'localhost' },
            { type: 7, ip: '127.0.0.1' },
          ],
        },
      ],
    });
    const server = https.createServer({ key: leaf.private, cert: leaf.cert });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    // For the whole-run log scan: no test output may quote the server's keys or CA (tests/support/log-scan.ts).
    secretSink.pem(ca.private, 'kube-api-server CA key');
    secretSink.pem(leaf.private, 'kube-api-server TLS key');
    secretSink.pem(ca.cert, 'kube-api-server CA certificate');
    return new KubeApiTestServer(server, ca.cert);
  }

  /** Register a bearer token for `user` with RBAC-like rules. */
  addServiceAccount(token: string, user: string, rules: RbacRule[]): void {
    secretSink.secret(token, 'kube-api-server service account token');
    this.accounts.set(token, { user, rules: structuredClone(rules) });
  }

  /** Accept EKS tokens for the cluster named `clusterName` (what the token's signed `x-k8s-aws-id` must say). */
  eksAuthentication(options: { clusterName: string }): void {
    this.eks = { clusterName: options.clusterName };
  }

  /** An EKS access entry: tokens signed with `entry.credentials` authenticate as its user and groups. */
  addEksAccessEntry(entry: EksAccessEntry): void {
    secretSink.secret(entry.credentials.secretAccessKey, 'kube-api-server EKS principal secret key');
    if (entry.credentials.sessionToken)
      secretSink.secret(entry.credentials.sessionToken, 'kube-api-server EKS principal session token');
    this.eksEntries.set(entry.credentials.accessKeyId, structuredClone(entry));
  }

  /** RBAC for a group, like a ClusterRoleBinding (or RoleBindings, with `namespaces`) whose subject is the group. */
  bindGroup(group: string, rules: RbacRule[]): void {
    this.groupRules.set(group, [...(this.groupRules.get(group) ?? []), ...structuredClone(rules)]);
  }

  /**
   * The identity an EKS token stands for, or why it does not authenticate (the reasons aws-iam-authenticator and
   * STS give, shortened).
   */
  async verifyEksToken(
    token: string,
  ): Promise<{ account: Account; signedAt: string } | { rejected: string; signedAt?: string }> {
    const eks = this.eks;
    if (!eks) return { rejected: 'EKS authentication is not enabled' };
    if (token.length > EKS_MAX_TOKEN_BYTES) return { rejected: 'token is too large' };
    if (!token.startsWith(EKS_TOKEN_PREFIX))
      return { rejected: `token is missing expected "${EKS_TOKEN_PREFIX}" prefix` };
    const encoded = token.slice(EKS_TOKEN_PREFIX.length);
    // Go's base64.RawURLEncoding: the URL alphabet, no padding, nothing else.
    if (!/^[A-Za-z0-9_-]*$/.test(encoded) || encoded.length % 4 === 1)
      return { rejected: 'token is not unpadded base64url' };
    let url: URL;
    try {
      url = new URL(Buffer.from(encoded, 'base64url').toString('utf8'));
    } catch {
      return { rejected: 'token is not a URL' };
    }
    if (url.protocol !== 'https:') return { rejected: `unexpected scheme "${url.protocol}" in pre-signed URL` };
    const hostRegion = /^sts\.amazonaws\.com$/.test(url.host)
      ? 'us-east-1'
      : /^sts\.([a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.com$/.exec(url.host)?.[1];
    if (!hostRegion) return { rejected: `unexpected hostname "${url.host}" in pre-signed URL` };
    if (url.pathname !== '/') return { rejected: 'unexpected path in pre-signed URL' };
    const params = new Map<string, string>();
    for (const key of new Set(url.searchParams.keys())) {
      if (!EKS_QUERY_WHITELIST.has(key.toLowerCase())) return { rejected: `non-whitelisted query parameter "${key}"` };
      const values = url.searchParams.getAll(key);
      if (values.length !== 1) return { rejected: 'query parameter with multiple values not supported' };
      params.set(key.toLowerCase(), values[0]!);
    }
    const signedAt = params.get('x-amz-date');
    const at = signedAt !== undefined ? { signedAt } : {};
    if (params.get('action') !== 'GetCallerIdentity')
      return { rejected: 'unexpected action parameter in pre-signed URL', ...at };
    if (params.get('version') !== '2011-06-15')
      return { rejected: 'unexpected version parameter in pre-signed URL', ...at };
    if (!(params.get('x-amz-signedheaders') ?? '').split(';').some((h) => h.toLowerCase() === 'x-k8s-aws-id')) {
      return { rejected: 'client did not sign the x-k8s-aws-id header in the pre-signed URL', ...at };
    }
    const expires = /^\d+$/.test(params.get('x-amz-expires') ?? '') ? Number(params.get('x-amz-expires')) : NaN;
    if (!(expires >= 0 && expires <= 900))
      return { rejected: 'invalid X-Amz-Expires parameter in pre-signed URL', ...at };
    const date = parseAmzDate(signedAt);
    if (!date) return { rejected: 'X-Amz-Date parameter must be present in pre-signed URL', ...at };
    if (this.now() > date.getTime() + EKS_TOKEN_VALIDITY_MS)
      return { rejected: 'X-Amz-Date parameter is expired (15 minute expiration)', ...at };
    // STS's part: the credential scope, the caller's keys, the signature.
    const credential = /^([^/]+)\/(\d{8})\/([a-z0-9-]+)\/sts\/aws4_request$/.exec(params.get('x-amz-credential') ?? '');
    if (!credential || credential[3] !== hostRegion)
      return { rejected: "credential scope does not name STS in the host's region", ...at };
    const entry = this.eksEntries.get(credential[1]!);
    if (!entry) return { rejected: 'InvalidClientTokenId: no access entry for the signing credentials', ...at };
    if ((params.get('x-amz-security-token') ?? undefined) !== entry.credentials.sessionToken)
      return { rejected: 'InvalidClientTokenId: security token', ...at };
    const matches = await presignedSignatureMatches(url, {
      credentials: entry.credentials,
      region: hostRegion,
      service: 'sts',
      headers: { 'x-k8s-aws-id': eks.clusterName },
    });
    if (!matches)
      return { rejected: 'SignatureDoesNotMatch (signed for another cluster, or not by these credentials)', ...at };
    const rules = entry.groups.flatMap((g) => this.groupRules.get(g) ?? []);
    return {
      account: { user: entry.username ?? entry.principalArn, groups: [...entry.groups], rules },
      signedAt: signedAt!,
    };
  }

  /**
   * A kubeconfig (YAML) for this server that verifies TLS against this server's CA.
   * Pass `token: undefined` for a user without credentials. `caPem` overrides the CA (to prove verification fails).
   */
  kubeconfig(token: string | undefined, opts: { context?: string; namespace?: string; caPem?: string } = {}): string {
    const q = (s: string) => JSON.stringify(s);
    const context = opts.context ?? 'kube-api-test';
    const caData = Buffer.from(opts.caPem ?? this.caPem).toString('base64');
    const lines = [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: ${q(context)}`,
      '  cluster:',
      `    server: ${q(this.url)}`,
      `    certificate-authority-data: ${q(caData)}`,
      'users:',
      `- name: ${q(context)}`,
      token === undefined ? '  user: {}' : `  user:\n    token: ${q(token)}`,
      'contexts:',
      `- name: ${q(context)}`,
      '  context:',
      `    cluster: ${q(context)}`,
      `    user: ${q(context)}`,
      ...(opts.namespace !== undefined ? [`    namespace: ${q(opts.namespace)}`] : []),
      `current-context: ${q(context)}`,
      'preferences: {}',
      '',
    ];
    return lines.join('\n');
  }

  /** Resource types served (for tests that iterate over all Flux kinds). */
  resourceTypes(): ResourceType[] {
    return RESOURCE_TYPES.map(({ group, version, plural, kind, custom }) => ({ group, version, plural, kind, custom }));
  }

  /**
   * Create or replace a stored object. Assigns uid/creationTimestamp (kept on replace), resourceVersion (always new)
   * and generation (1, then +1 when anything but metadata/status changes). Throws on an unknown kind or invalid object.
   */
  put(obj: KubeObject): KubeObject {
    const t = this.typeFor(obj.apiVersion, obj.kind);
    const next = structuredClone(obj) as Record<string, unknown> & KubeObject;
    const errs = [...validateMetadata(next)];
    if (errs.length === 0) errs.push(...t.validate(next));
    if (errs.length > 0)
      throw new Error(`KubeApiTestServer.put: ${invalid(t, String(obj.metadata?.name ?? ''), errs).message}`);
    const existing = this.current(t, next.metadata.namespace as string, next.metadata.name);
    next.metadata.uid = existing?.metadata.uid ?? randomUUID();
    next.metadata.creationTimestamp = existing?.metadata.creationTimestamp ?? nowTimestamp();
    if (t.custom) next.metadata.generation = existing ? nextGeneration(existing, next) : 1;
    else delete next.metadata.generation;
    return structuredClone(this.write(t, next));
  }

  /**
   * Create or replace a core v1 Secret. `data` is given in plain text and stored base64-encoded, as the API serves it;
   * for a `kubernetes.io/service-account-token` Secret pass `{ token, 'ca.crt': server.caPem, namespace }` and the
   * `kubernetes.io/service-account.name` annotation, as the token controller leaves it.
   */
  putSecret(
    namespace: string,
    name: string,
    data: Record<string, string>,
    opts: { type?: string; annotations?: Record<string, string>; labels?: Record<string, string> } = {},
  ): KubeObject {
    const encoded = Object.fromEntries(
      Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]),
    );
    return this.put({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name,
        namespace,
        ...(opts.annotations ? { annotations: opts.annotations } : {}),
        ...(opts.labels ? { labels: opts.labels } : {}),
      },
      type: opts.type ?? 'Opaque',
      data: encoded,
    });
  }

  /** The stored object, or undefined. */
  get(apiVersion: string, kind: string, namespace: string, name: string): KubeObject | undefined {
    const obj = this.current(this.typeFor(apiVersion, kind), namespace, name);
    return obj ? structuredClone(obj) : undefined;
  }

  /** Delete a stored object (as if by a controller); returns whether it existed. Bumps the revision. */
  remove(apiVersion: string, kind: string, namespace: string, name: string): boolean {
    const t = this.typeFor(apiVersion, kind);
    const previous = this.current(t, namespace, name);
    if (!previous) return false;
    const rv = ++this.revision;
    this.history(t, namespace, name).push({ rv, obj: null });
    this.notifyWatchers(t, previous, null, rv);
    return true;
  }

  /** All stored objects of a kind (optionally in one namespace), sorted by namespace/name. */
  list(apiVersion: string, kind: string, namespace?: string): KubeObject[] {
    const t = this.typeFor(apiVersion, kind);
    return this.snapshot(t, this.revision, namespace).map(([, o]) => structuredClone(o));
  }

  /** TLS connections accepted so far. */
  connectionCount(): number {
    return this.connections;
  }

  /** Currently open TLS connections. */
  openConnectionCount(): number {
    return this.sockets.size;
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  /** Set (or clear, with undefined) the fault injected into matching requests. */
  fault(f: Fault | undefined): void {
    this.faults.set(f);
  }

  /** Watches currently streaming. */
  openWatchCount(): number {
    return this.watchers.size;
  }

  /** Sends a BOOKMARK at the current revision to every open watch that asked for bookmarks (allowWatchBookmarks). */
  sendBookmarks(): void {
    for (const w of this.watchers) {
      if (!w.bookmarks) continue;
      this.writeEvent(w, {
        type: 'BOOKMARK',
        object: {
          kind: w.type.kind,
          apiVersion: w.type.apiVersion,
          metadata: { resourceVersion: String(this.revision) },
        },
      });
    }
  }

  /**
   * Ends every open watch: cleanly (the chunked stream's terminator, as at timeoutSeconds or when the watch cache
   * restarts), or with `reset` by destroying the connection (a crashed or restarted API server, a load balancer).
   */
  dropWatches(opts: { reset?: boolean } = {}): void {
    for (const w of [...this.watchers]) {
      this.endWatch(w);
      if (opts.reset) w.res.socket?.destroy();
      else w.res.end();
    }
  }

  /** Sends every open watch an ERROR event with a 410 Gone Status and ends it (the watch cache dropping a watcher). */
  expireWatches(): void {
    for (const w of [...this.watchers]) {
      this.endWatch(w);
      this.writeEvent(w, { type: 'ERROR', object: this.expiredStatus(Number(w.rec.query.resourceVersion ?? 0)) });
      w.res.end();
    }
  }

  /**
   * Compacts history up to the current revision: a watch from an older resourceVersion is answered 410 Gone, as an
   * ERROR event in a 200 stream (`answer: 'event'`, the watch cache's way, the default) or as an HTTP 410 Status
   * (`'http'`). Open watches are not affected, as with etcd compaction.
   */
  compact(opts: { answer?: 'event' | 'http' } = {}): void {
    this.compactedRevision = this.revision;
    this.compactionAnswer = opts.answer ?? 'event';
  }

  /**
   * What a real API server does in the background and this one otherwise never does: etcd compaction (superseded
   * versions and deleted objects dropped, as `compact()` says), Event expiry (the API server keeps Events for an hour)
   * and no request log. For long runs such as `npm run bench`, so that the test server's own memory does not grow with
   * every request and tax the garbage collector of the client it shares a process with.
   */
  housekeeping(): void {
    this.compact();
    for (const [typeKey, byKey] of this.store) {
      for (const [key, versions] of byKey) {
        const latest = versions[versions.length - 1];
        if (!latest || latest.obj === null || typeKey === '/events') byKey.delete(key);
        else versions.splice(0, versions.length - 1);
      }
    }
    this.requests.length = 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.watchers) clearTimeout(w.timer);
    this.watchers.clear();
    for (const t of this.timers) {
      clearTimeout(t.timer);
      t.resolve();
    }
    this.timers.clear();
    const done = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    for (const s of this.rawSockets) s.destroy();
    this.server.closeAllConnections();
    await done;
  }

  // -------------------------------------------------------------------------------------------------------------------

  private typeFor(apiVersion: string, kind: string): ServedType {
    const t = RESOURCE_TYPES.find((r) => r.apiVersion === apiVersion && r.kind === kind);
    if (!t) throw new Error(`KubeApiTestServer: no resource served for apiVersion ${apiVersion} kind ${kind}`);
    return t;
  }

  private history(t: ServedType, namespace: string, name: string): Version[] {
    const typeKey = `${t.group}/${t.plural}`;
    let byKey = this.store.get(typeKey);
    if (!byKey) this.store.set(typeKey, (byKey = new Map()));
    const key = `${namespace}/${name}`;
    let versions = byKey.get(key);
    if (!versions) byKey.set(key, (versions = []));
    return versions;
  }

  private current(t: ServedType, namespace: string, name: string): KubeObject | undefined {
    const versions = this.store.get(`${t.group}/${t.plural}`)?.get(`${namespace}/${name}`);
    return versions?.[versions.length - 1]?.obj ?? undefined;
  }

  private write(t: ServedType, obj: KubeObject): KubeObject {
    const rv = ++this.revision;
    obj.metadata.resourceVersion = String(rv);
    const versions = this.history(t, obj.metadata.namespace as string, obj.metadata.name);
    const previous = versions[versions.length - 1]?.obj ?? null;
    versions.push({ rv, obj });
    this.notifyWatchers(t, previous, obj, rv);
    return obj;
  }

  private expiredStatus(rv: number): KubeStatus {
    return makeStatus(410, 'Expired', `too old resource version: ${rv} (${this.compactedRevision})`);
  }

  private serveWatch(info: RequestInfo, rec: RecordedRequest, res: ServerResponse): void {
    if (!info.isResource) throw notFoundPath();
    const t = RESOURCE_TYPES.find(
      (r) => r.group === info.group && r.version === info.version && r.plural === info.resource,
    );
    if (!t || info.subresource !== undefined || info.name !== undefined) throw notFoundPath();
    if (!t.verbs.has('watch')) throw methodNotSupported(t.group, t.plural, 'watch');
    const { query } = rec;
    const labels = parseLabelSelector(query.labelSelector ?? '');
    let timeoutMs: number | undefined;
    if (query.timeoutSeconds !== undefined && query.timeoutSeconds !== '') {
      if (!/^[0-9]+$/.test(query.timeoutSeconds))
        throw badRequest(`strconv.ParseInt: parsing "${query.timeoutSeconds}": invalid syntax`);
      timeoutMs = Number(query.timeoutSeconds) * 1000;
    }
    const rvText = query.resourceVersion ?? '';
    if (rvText !== '' && !/^[0-9]+$/.test(rvText)) throw badRequest(`invalid resource version: ${rvText}`);
    const fromRv = rvText === '' ? undefined : Number(rvText);
    const tooOld = fromRv !== undefined && fromRv !== 0 && fromRv < this.compactedRevision;
    if (tooOld && this.compactionAnswer === 'http') throw new StatusError(this.expiredStatus(fromRv));

    rec.status = 200;
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-cache, private',
      'Audit-Id': randomUUID(),
      'Transfer-Encoding': 'chunked',
    });
    res.flushHeaders();
    const w: Watcher = {
      type: t,
      labels,
      bookmarks: query.allowWatchBookmarks === 'true' || query.allowWatchBookmarks === '1',
      res,
      rec,
    };
    if (info.namespace !== undefined) w.namespace = info.namespace;
    if (tooOld) {
      this.writeEvent(w, { type: 'ERROR', object: this.expiredStatus(fromRv) });
      res.end();
      return;
    }
    if (fromRv === undefined || fromRv === 0) {
      // "Get State and Start at Most Recent" / "Start at Any": synthetic ADDED events for what exists now.
      for (const [, obj] of this.snapshot(t, this.revision, info.namespace)) {
        if (matchesLabels(labels, isObject(obj.metadata.labels) ? obj.metadata.labels : {}))
          this.writeEvent(w, { type: 'ADDED', object: obj });
      }
    } else {
      // Every change after fromRv, in revision order, from the MVCC history.
      const changes: Array<{ rv: number; previous: KubeObject | null; obj: KubeObject | null }> = [];
      for (const [key, versions] of this.store.get(`${t.group}/${t.plural}`) ?? []) {
        if (info.namespace !== undefined && !key.startsWith(`${info.namespace}/`)) continue;
        versions.forEach((v, i) => {
          if (v.rv > fromRv) changes.push({ rv: v.rv, previous: versions[i - 1]?.obj ?? null, obj: v.obj });
        });
      }
      changes.sort((a, b) => a.rv - b.rv);
      for (const c of changes) {
        const event = this.watchEventFor(w, c.previous, c.obj, c.rv);
        if (event) this.writeEvent(w, event);
      }
    }
    this.watchers.add(w);
    res.on('close', () => this.endWatch(w));
    if (timeoutMs !== undefined) {
      w.timer = setTimeout(() => {
        this.endWatch(w);
        res.end();
      }, timeoutMs);
    }
  }

  private endWatch(w: Watcher): void {
    if (w.timer) clearTimeout(w.timer);
    this.watchers.delete(w);
  }

  private writeEvent(w: Watcher, event: WatchEvent): void {
    if (!w.res.writableEnded && !w.res.destroyed) {
      const line = `${JSON.stringify(event)}\n`;
      w.rec.bytesSent = (w.rec.bytesSent ?? 0) + Buffer.byteLength(line);
      w.res.write(line);
    }
  }

  /** The event a watcher sees for one change: label selectors turn entering and leaving the selection into ADDED/DELETED. */
  private watchEventFor(
    w: Watcher,
    previous: KubeObject | null,
    obj: KubeObject | null,
    rv: number,
  ): WatchEvent | undefined {
    const ns = (obj ?? previous)?.metadata.namespace;
    if (w.namespace !== undefined && ns !== w.namespace) return undefined;
    const matches = (o: KubeObject | null) =>
      o !== null && matchesLabels(w.labels, isObject(o.metadata.labels) ? o.metadata.labels : {});
    const was = matches(previous);
    const is = matches(obj);
    if (is) return { type: was ? 'MODIFIED' : 'ADDED', object: obj };
    if (!was || !previous) return undefined;
    // A deleted object is sent in its last state, with the resourceVersion of the deletion.
    const gone = structuredClone(previous);
    gone.metadata.resourceVersion = String(rv);
    return { type: 'DELETED', object: gone };
  }

  private notifyWatchers(t: ServedType, previous: KubeObject | null, obj: KubeObject | null, rv: number): void {
    for (const w of this.watchers) {
      if (w.type !== t) continue;
      const event = this.watchEventFor(w, previous, obj, rv);
      if (event) this.writeEvent(w, event);
    }
  }

  /** Objects as of revision `rv`, sorted by "ns/name" key (the etcd key order). */
  private snapshot(t: ServedType, rv: number, namespace?: string): Array<[string, KubeObject]> {
    const out: Array<[string, KubeObject]> = [];
    for (const [key, versions] of this.store.get(`${t.group}/${t.plural}`) ?? []) {
      if (namespace !== undefined && !key.startsWith(`${namespace}/`)) continue;
      let found: KubeObject | null = null;
      for (const v of versions) if (v.rv <= rv) found = v.obj;
      if (found) out.push([key, found]);
    }
    return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.timers.delete(entry);
          resolve();
        }, ms),
        resolve,
      };
      this.timers.add(entry);
    });
  }

  private send(
    res: ServerResponse,
    rec: RecordedRequest | undefined,
    code: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    if (rec) rec.status = code;
    const text = JSON.stringify(body);
    // As kube-apiserver's deferredResponseWriter: gzip (level 1) when the client accepts it and the answer is over
    // 128 KiB, with `Vary: Accept-Encoding` (k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/writers.go,
    // kubernetes v1.31.0, defaultGzipThresholdBytes; the APIResponseCompression feature, on by default since 1.16).
    const compressed = Buffer.byteLength(text) > gzipThresholdBytes && acceptsGzip(res.req);
    const payload = compressed ? gzipSync(text, { level: 1 }) : Buffer.from(text);
    if (rec) rec.bytesSent = payload.length;
    res.writeHead(code, {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-cache, private',
      'Audit-Id': randomUUID(),
      'Content-Length': String(payload.length),
      ...(compressed ? { 'Content-Encoding': 'gzip', Vary: 'Accept-Encoding' } : {}),
      ...headers,
    });
    res.end(payload);
  }

  private async readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      const b = chunk as Buffer;
      size += b.length;
      if (size > MAX_BODY_BYTES) return 'too-large';
      chunks.push(b);
    }
    return Buffer.concat(chunks);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', this.url);
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) if (!(k in query)) query[k] = v;
    const contentType = req.headers['content-type'];
    const raw = await this.readBody(req);
    let body: unknown;
    if (raw !== 'too-large' && raw.length > 0) {
      const text = raw.toString('utf8');
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }

    const info = parseRequestInfo(method, url.pathname, query);
    const authz = req.headers.authorization ?? '';
    const bearer = /^bearer\s+(.+)$/i.exec(authz)?.[1]?.trim();
    let account = bearer !== undefined ? this.accounts.get(bearer) : undefined;
    let eksToken: RecordedRequest['eksToken'];
    if (!account && bearer?.startsWith(EKS_TOKEN_PREFIX)) {
      const verified = await this.verifyEksToken(bearer);
      if ('account' in verified) account = verified.account;
      eksToken = {
        ...(verified.signedAt !== undefined ? { signedAt: verified.signedAt } : {}),
        ...('rejected' in verified ? { rejected: verified.rejected } : {}),
      };
    }
    let denial: StatusError | undefined;
    if (!account) denial = genericStatus(401);
    else if (info.isResource && !account.rules.some((r) => ruleAllows(r, info)))
      denial = forbidden(account.user, info, url.pathname);

    const rec: RecordedRequest = {
      method,
      path: url.pathname,
      query,
      authorized: denial === undefined,
      connectionId: this.socketIds.get(req.socket) ?? 0,
    };
    if (info.isResource) rec.verb = info.verb;
    if (contentType !== undefined) rec.contentType = contentType;
    if (typeof req.headers['accept-encoding'] === 'string') rec.acceptEncoding = req.headers['accept-encoding'];
    if (account) {
      rec.user = account.user;
      rec.authentication = eksToken ? 'eks' : 'token';
      if (account.groups) rec.groups = account.groups;
    }
    if (eksToken) rec.eksToken = eksToken;
    if (body !== undefined) rec.body = body;
    this.requests.push(rec);

    const fault = this.faults.take(rec);
    if (fault) {
      if (fault.delayMs) await this.sleep(fault.delayMs);
      if (this.closed) return;
      if (fault.destroy) {
        req.socket.destroy();
        return;
      }
      if (fault.raw) {
        rec.status = 200;
        rec.bytesSent = fault.raw.body.length;
        res.writeHead(200, { ...fault.raw.headers, 'Content-Length': String(fault.raw.body.length) });
        res.end(fault.raw.body);
        return;
      }
      if (fault.status === 429 && fault.apf) {
        rec.status = 429;
        const text = 'Too many requests, please try again later.\n';
        res.writeHead(429, {
          'Content-Type': 'text/plain; charset=utf-8',
          'X-Content-Type-Options': 'nosniff',
          'Retry-After': String(fault.retryAfterSeconds ?? 1),
          'X-Kubernetes-PF-FlowSchema-UID': 'fs-uid-global-default',
          'X-Kubernetes-PF-PriorityLevel-UID': 'pl-uid-global-default',
          'Content-Length': String(Buffer.byteLength(text)),
        });
        res.end(text);
        return;
      }
      if (fault.status !== undefined) {
        const e = genericStatus(fault.status, fault.message, fault.retryAfterSeconds);
        this.send(res, rec, e.status.code, e.status, e.headers);
        return;
      }
    }

    try {
      if (denial) throw denial;
      if (info.verb === 'watch') {
        this.serveWatch(info, rec, res);
        return;
      }
      if (raw === 'too-large')
        throw new StatusError(
          makeStatus(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${MAX_BODY_BYTES}`, {}),
        );
      const [code, out] = this.route(info, rec, raw.toString('utf8'));
      this.send(res, rec, code, out);
    } catch (err) {
      if (err instanceof StatusError) this.send(res, rec, err.status.code, err.status, err.headers);
      else
        this.send(
          res,
          rec,
          500,
          makeStatus(
            500,
            'InternalError',
            `Internal error occurred: ${err instanceof Error ? err.message : String(err)}`,
            {},
          ),
        );
    }
  }

  private route(info: RequestInfo, rec: RecordedRequest, rawBody: string): [number, unknown] {
    // The version endpoint: every authenticated caller may read it (the default ClusterRole system:public-info-viewer,
    // https://kubernetes.io/docs/reference/access-authn-authz/rbac/#discovery-roles), shaped as k8s.io/apimachinery
    // pkg/version.Info.
    if (!info.isResource && rec.method === 'GET' && rec.path === '/version') return [200, versionInfo];
    if (!info.isResource) throw notFoundPath();
    const t = RESOURCE_TYPES.find(
      (r) => r.group === info.group && r.version === info.version && r.plural === info.resource,
    );
    if (!t || info.subresource !== undefined) throw notFoundPath();
    // All served resources are namespaced: a named object outside a namespace path does not exist as a route.
    if (info.name !== undefined && info.namespace === undefined) throw notFoundPath();
    if (!t.verbs.has(info.verb)) throw methodNotSupported(t.group, t.plural, info.verb);
    const dryRun = this.dryRun(rec.query);
    switch (info.verb) {
      case 'list':
        return [200, this.handleList(t, info.namespace, rec.query)];
      case 'get': {
        const obj = this.current(t, info.namespace as string, info.name as string);
        if (!obj) throw notFound(t, info.name as string);
        return [200, obj];
      }
      case 'patch':
        return [
          200,
          this.handlePatch(t, info.namespace as string, info.name as string, rec.contentType, rawBody, dryRun),
        ];
      case 'create':
        return [201, this.handleCreate(t, info.namespace as string, rec.body, dryRun)];
      default:
        throw methodNotSupported(t.group, t.plural, info.verb);
    }
  }

  private dryRun(query: Record<string, string>): boolean {
    if (query.dryRun === undefined) return false;
    if (query.dryRun !== 'All') throw badRequest(`Invalid dry run value: ${query.dryRun}`);
    return true;
  }

  private handleList(t: ServedType, namespace: string | undefined, query: Record<string, string>): unknown {
    const labelReqs = parseLabelSelector(query.labelSelector ?? '');
    const fieldReqs = parseFieldSelector(query.fieldSelector ?? '');
    let limit = 0;
    if (query.limit !== undefined && query.limit !== '') {
      if (!/^[0-9]+$/.test(query.limit)) throw badRequest(`strconv.ParseInt: parsing "${query.limit}": invalid syntax`);
      limit = Number(query.limit);
    }
    let rv = this.revision;
    let start = '';
    if (query.continue) {
      if (query.resourceVersion) throw badRequest('specifying resource version is not allowed when using continue');
      const tok = decodeContinue(query.continue);
      // Real continue keys are relative to the listed prefix; ours always carry "ns/name".
      if (namespace !== undefined && !tok.start.startsWith(`${namespace}/`))
        throw badRequest('continue key is not valid: key does not match the list scope');
      rv = tok.rv;
      start = tok.start;
    }
    const all = this.snapshot(t, rv, namespace).filter(([key]) => key >= start);
    const items: KubeObject[] = [];
    let lastKey = '';
    let index = 0;
    for (; index < all.length; index++) {
      if (limit > 0 && items.length >= limit) break;
      const [key, obj] = all[index] as [string, KubeObject];
      lastKey = key;
      const labels = isObject(obj.metadata.labels) ? obj.metadata.labels : {};
      if (!matchesLabels(labelReqs, labels)) continue;
      if (
        !fieldReqs.every(
          (f) => (String(obj.metadata[f.field.slice('metadata.'.length)] ?? '') === f.value) !== f.negate,
        )
      )
        continue;
      items.push(obj);
    }
    const metadata: Record<string, unknown> = { resourceVersion: String(rv) };
    if (index < all.length) {
      metadata.continue = encodeContinue({ v: 'meta.k8s.io/v1', rv, start: `${lastKey}\u0000` });
      if (labelReqs.length === 0 && fieldReqs.length === 0) metadata.remainingItemCount = all.length - index;
    }
    return { apiVersion: t.apiVersion, kind: `${t.kind}List`, metadata, items };
  }

  private handlePatch(
    t: ServedType,
    namespace: string,
    name: string,
    contentType: string | undefined,
    rawBody: string,
    dryRun: boolean,
  ): KubeObject {
    const media = normalizeMediaType(contentType);
    if (media === undefined || !t.patchTypes.includes(media)) {
      throw new StatusError(
        makeStatus(
          415,
          'UnsupportedMediaType',
          `the body of the request was in an unknown format - accepted media types include: ${t.patchTypes.join(', ')}`,
          {},
        ),
      );
    }
    if (media === APPLY_PATCH) {
      throw new StatusError(
        makeStatus(
          415,
          'UnsupportedMediaType',
          'KubeApiTestServer does not implement server-side apply (application/apply-patch+yaml)',
          {},
        ),
      );
    }
    const current = this.current(t, namespace, name);
    if (!current) throw notFound(t, name);
    let patch: unknown;
    try {
      patch = JSON.parse(rawBody);
    } catch (err) {
      throw badRequest(`error decoding patch: ${err instanceof Error ? err.message : String(err)}`);
    }
    let patched: unknown;
    if (media === JSON_PATCH) {
      try {
        patched = applyJsonPatch(current, patch);
      } catch (err) {
        if (err instanceof JsonPatchError) throw patchApplyFailed(err.message);
        throw badRequest(err instanceof Error ? err.message : String(err));
      }
    } else {
      if (!isObject(patch)) throw badRequest('error decoding patch: a merge patch must be a JSON object');
      // Strategic merge (built-in events only) is applied as a merge patch: Event has no list merge keys worth modelling.
      patched = applyMergePatch(current, patch);
    }
    if (!isObject(patched))
      throw invalid(t, name, [{ field: '<root>', type: 'Invalid value', value: patched, detail: 'must be an object' }]);
    const next = patched as KubeObject;
    const meta = isObject(next.metadata) ? next.metadata : undefined;
    const identity: FieldError[] = [];
    if (next.apiVersion !== current.apiVersion)
      identity.push({
        field: 'apiVersion',
        type: 'Invalid value',
        value: next.apiVersion,
        detail: 'field is immutable',
      });
    if (next.kind !== current.kind)
      identity.push({ field: 'kind', type: 'Invalid value', value: next.kind, detail: 'field is immutable' });
    if (meta?.name !== name)
      identity.push({ field: 'metadata.name', type: 'Invalid value', value: meta?.name, detail: 'field is immutable' });
    if (meta?.namespace !== namespace)
      identity.push({
        field: 'metadata.namespace',
        type: 'Invalid value',
        value: meta?.namespace,
        detail: 'field is immutable',
      });
    if (identity.length > 0 || !meta) throw invalid(t, name, identity);
    if (
      meta.resourceVersion !== undefined &&
      meta.resourceVersion !== '' &&
      meta.resourceVersion !== current.metadata.resourceVersion
    ) {
      throw conflict(
        t,
        name,
        'the object has been modified; please apply your changes to the latest version and try again',
      );
    }
    if (meta.uid !== undefined && meta.uid !== '' && meta.uid !== current.metadata.uid) {
      throw conflict(
        t,
        name,
        `Precondition failed: UID in precondition: ${String(meta.uid)}, UID in object meta: ${String(current.metadata.uid)}`,
      );
    }
    // Server-managed fields, and the status subresource of Flux CRDs, cannot be changed through the main resource.
    meta.uid = current.metadata.uid;
    meta.creationTimestamp = current.metadata.creationTimestamp;
    meta.resourceVersion = current.metadata.resourceVersion;
    if (t.custom) {
      if (current.status === undefined) delete next.status;
      else next.status = structuredClone(current.status);
      meta.generation = current.metadata.generation;
    }
    const errs = validateMetadata(next);
    if (errs.length === 0) errs.push(...t.validate(next));
    if (errs.length > 0) throw invalid(t, name, errs);
    if (deepEqual(next, current)) return current; // a no-op patch writes nothing: resourceVersion is unchanged
    if (t.custom) meta.generation = nextGeneration(current, next);
    if (dryRun) return next;
    return this.write(t, next);
  }

  private handleCreate(t: ServedType, namespace: string, body: unknown, dryRun: boolean): KubeObject {
    if (!isObject(body)) throw badRequest('the body of the request could not be decoded as an object');
    if (body.apiVersion !== undefined && body.apiVersion !== t.apiVersion) {
      throw badRequest(
        `the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${t.apiVersion})`,
      );
    }
    if (body.kind !== undefined && body.kind !== t.kind)
      throw badRequest(`the kind in the data (${String(body.kind)}) does not match the expected kind (${t.kind})`);
    const next = structuredClone(body) as KubeObject;
    next.apiVersion = t.apiVersion;
    next.kind = t.kind;
    if (!isObject(next.metadata)) next.metadata = {} as KubeObjectMeta;
    const meta = next.metadata;
    if (meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    meta.namespace = namespace;
    if (
      (meta.name === undefined || meta.name === '') &&
      typeof meta.generateName === 'string' &&
      meta.generateName !== ''
    ) {
      meta.name = `${meta.generateName}${randomSuffix()}`;
    }
    const errs = validateMetadata(next);
    if (errs.length === 0) errs.push(...t.validate(next));
    if (errs.length > 0) throw invalid(t, typeof meta.name === 'string' ? meta.name : '', errs);
    if (this.current(t, namespace, meta.name)) {
      throw new StatusError(
        makeStatus(
          409,
          'AlreadyExists',
          `${groupResource(t.group, t.plural)} "${meta.name}" already exists`,
          details(meta.name, t.group, t.plural),
        ),
      );
    }
    meta.uid = randomUUID();
    meta.creationTimestamp = nowTimestamp();
    delete meta.resourceVersion;
    if (t.custom) meta.generation = 1;
    else delete meta.generation;
    if (dryRun) return next;
    return this.write(t, next);
  }
}

function nextGeneration(current: KubeObject, next: KubeObject): number {
  const strip = (o: KubeObject) => {
    const { metadata: _m, status: _s, ...rest } = o;
    return rest;
  };
  const gen = current.metadata.generation ?? 1;
  return deepEqual(strip(current), strip(next)) ? gen : gen + 1;
}

function encodeContinue(tok: ContinueToken): string {
  return Buffer.from(JSON.stringify(tok)).toString('base64url');
}

function decodeContinue(s: string): ContinueToken {
  let tok: unknown;
  try {
    tok = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
  } catch {
    throw badRequest('continue key is not valid: illegal base64 data');
  }
  if (!isObject(tok) || tok.v !== 'meta.k8s.io/v1' || typeof tok.rv !== 'number' || typeof tok.start !== 'string') {
    throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  }
  return { v: tok.v, rv: tok.rv, start: tok.start };
}

/** kube-apiserver compresses answers over this size when asked to (writers.go `defaultGzipThresholdBytes`). */
const gzipThresholdBytes = 128 * 1024;

/** `Accept-Encoding` names gzip with a non-zero weight (RFC 9110 §12.5.3). */
function acceptsGzip(req: IncomingMessage): boolean {
  const header = req.headers['accept-encoding'];
  if (typeof header !== 'string') return false;
  return header.split(',').some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (coding !== 'gzip' && coding !== '*') return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

/** What this server answers on GET /version (a Kubernetes 1.33 API server, as k8s.io/apimachinery version.Info). */
const versionInfo = {
  major: '1',
  minor: '33',
  gitVersion: 'v1.33.4',
  gitCommit: '74cdb426ce8ba0b5a7a8f35e6b6e6ae0c8f4bdb1',
  gitTreeState: 'clean',
  buildDate: '2025-08-12T18:06:05Z',
  goVersion: 'go1.24.5',
  compiler: 'gc',
  platform: 'linux/amd64',
};
