import { MalformedPayload, UnsupportedMediaType } from '../errors';
import { mediaType, type WebhookRequest } from '../http/request';

export type JsonObject = Record<string, unknown>;

export function parseJsonObject(text: string, what: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new MalformedPayload(`${what} is not valid JSON`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new MalformedPayload(`${what} is not a JSON object`);
  return value as JsonObject;
}

export function objectAt(obj: JsonObject, key: string, what: string): JsonObject {
  const value = obj[key];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new MalformedPayload(`${what}: ${key} must be an object`);
  return value as JsonObject;
}

export function stringAt(obj: JsonObject, key: string, what: string): string {
  const value = obj[key];
  if (typeof value !== 'string' || value === '') throw new MalformedPayload(`${what}: ${key} must be a non-empty string`);
  return value;
}

export function optionalString(obj: JsonObject, key: string): string | undefined {
  const value = obj[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Collects the string values of `keys` that are present (URL fields, which vary by provider version). */
export function urlsAt(obj: JsonObject, keys: readonly string[]): string[] {
  return keys.map((k) => obj[k]).filter((v): v is string => typeof v === 'string' && v !== '');
}

export function requireRef(ref: string, what: string): string {
  if (!ref.startsWith('refs/')) throw new MalformedPayload(`${what}: ref ${JSON.stringify(ref.slice(0, 100))} is not a full ref`);
  return ref;
}

/** Git's all-zero object id marks a created (before) or deleted (after) ref. */
export function isZeroSha(sha: string | undefined): boolean {
  return sha !== undefined && /^0+$/.test(sha);
}

/** Providers that only ever post JSON: anything else is a 415, before any secret is read. */
export function requireJson(request: WebhookRequest): void {
  const type = mediaType(request.headers['content-type']);
  if (type !== 'application/json') throw new UnsupportedMediaType(type, ['application/json']);
}
