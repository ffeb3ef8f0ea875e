import { claimedIdentity } from '../../lib/delivery/relay';
import { createHmac } from 'node:crypto';
import { generic, genericTriggerEvent } from '../../lib/providers/generic';
import { genericHmac } from '../../lib/providers/generic-hmac';
import { routesStaticTargetsOnly } from '../../lib/providers/names';
import type { Provider } from '../../lib/providers/provider';
import { receiverConfig } from '../support/receiver';
import { verdictOf, webhookRequest } from '../support/provider-verdict';

const secret = 'generic-s3cr3t';
const body = Buffer.from('{"image":"ghcr.io/org/app:v1.0.0"}');
const hmac = (algorithm: string, payload: Buffer = body, key = secret) =>
  createHmac(algorithm, key).update(payload).digest('hex');

const request = webhookRequest;

function verdict(
  provider: Provider,
  headers: Record<string, string>,
  options: { payload?: Buffer; key?: string; allowSha1?: boolean } = {},
): string {
  const receiver = receiverConfig(
    provider.name,
    options.allowSha1 === undefined ? {} : { allowSha1: options.allowSha1 },
  );
  return verdictOf(provider, headers, options.payload ?? body, options.key ?? secret, receiver);
}

describe('generic-hmac: X-Signature', () => {
  const sha256 = `sha256=${hmac('sha256')}`;
  test.each([
    ['sha256', 'ok', { 'x-signature': sha256 }, {}],
    ['sha512', 'ok', { 'x-signature': `sha512=${hmac('sha512')}` }, {}],
    ['sha1 without allowSha1', 'malformed', { 'x-signature': `sha1=${hmac('sha1')}` }, {}],
    ['sha1 with allowSha1: false', 'malformed', { 'x-signature': `sha1=${hmac('sha1')}` }, { allowSha1: false }],
    ['sha1 with allowSha1: true', 'ok', { 'x-signature': `sha1=${hmac('sha1')}` }, { allowSha1: true }],
    [
      'a wrong sha1 with allowSha1: true',
      'mismatch',
      { 'x-signature': `sha1=${hmac('sha1', body, 'other')}` },
      { allowSha1: true },
    ],
    ['sha256 with allowSha1: true', 'ok', { 'x-signature': sha256 }, { allowSha1: true }],
    ['a wrong secret', 'mismatch', { 'x-signature': sha256 }, { key: 'other' }],
    [
      'a tampered body',
      'mismatch',
      { 'x-signature': sha256 },
      { payload: Buffer.from('{"image":"ghcr.io/org/app:v1.0.1"}') },
    ],
    ['upper-case hex', 'malformed', { 'x-signature': `sha256=${hmac('sha256').toUpperCase()}` }, {}],
    ['upper-case prefix', 'malformed', { 'x-signature': `SHA256=${hmac('sha256')}` }, {}],
    ['bare hex', 'malformed', { 'x-signature': hmac('sha256') }, {}],
    ['truncated', 'malformed', { 'x-signature': sha256.slice(0, -1) }, {}],
    ['sha512 hex under sha256=', 'malformed', { 'x-signature': `sha256=${hmac('sha512')}` }, {}],
    ['an unknown algorithm', 'malformed', { 'x-signature': `sha384=${hmac('sha384')}` }, {}],
    ['a trailing space', 'malformed', { 'x-signature': `${sha256} ` }, {}],
    ['no header', 'missing', {}, {}],
    ['an empty header', 'missing', { 'x-signature': '' }, {}],
    ["GitHub's header instead", 'missing', { 'x-hub-signature-256': sha256 }, {}],
  ] as Array<[string, string, Record<string, string>, { allowSha1?: boolean; key?: string; payload?: Buffer }]>)(
    '%s → %s',
    (_name, expected, headers, options) => {
      expect(verdict(genericHmac, headers, options)).toBe(expected);
    },
  );

  test.each([
    ['no content type', {}],
    ['form', { 'content-type': 'application/x-www-form-urlencoded' }],
    ['plain text', { 'content-type': 'text/plain' }],
    ['JSON', { 'content-type': 'application/json' }],
  ])('any content type is accepted: %s', (_name, headers) => {
    expect(verdict(genericHmac, { ...headers, 'x-signature': `sha256=${hmac('sha256')}` })).toBe('ok');
  });

  test('an empty body is signed like any other', () => {
    const empty = Buffer.alloc(0);
    expect(verdict(genericHmac, { 'x-signature': `sha256=${hmac('sha256', empty)}` }, { payload: empty })).toBe('ok');
  });
});

describe('generic: Authorization: Bearer', () => {
  test.each([
    ['the token', 'ok', `Bearer ${secret}`],
    ['the lower-case scheme word', 'ok', `bearer ${secret}`],
    ['the upper-case scheme word', 'ok', `BEARER ${secret}`],
    ['two spaces after the scheme', 'ok', `Bearer  ${secret}`],
    ['another token', 'mismatch', 'Bearer generic-s3cr3T'],
    ['a prefix of the token', 'mismatch', `Bearer ${secret.slice(0, -1)}`],
    ['the token and more', 'mismatch', `Bearer ${secret}x`],
    ['the Basic scheme', 'malformed', `Basic ${Buffer.from(`x:${secret}`).toString('base64')}`],
    ['the token without a scheme', 'malformed', secret],
    ['the scheme word alone', 'malformed', 'Bearer'],
    ['the scheme word and a space', 'malformed', 'Bearer '],
    ['a token with a space inside', 'malformed', 'Bearer generic s3cr3t'],
    ['a trailing space', 'malformed', `Bearer ${secret} `],
    ['an empty header', 'missing', ''],
  ])('%s → %s', (_name, expected, authorization) => {
    expect(verdict(generic, { authorization })).toBe(expected);
  });

  test('no header → missing; any content type and an empty body are accepted', () => {
    expect(verdict(generic, {})).toBe('missing');
    expect(
      verdict(
        generic,
        { authorization: `Bearer ${secret}`, 'content-type': 'text/plain' },
        { payload: Buffer.alloc(0) },
      ),
    ).toBe('ok');
  });
});

test.each([genericHmac, generic])(
  '$name routes nothing by payload: one fixed event, static targets only',
  (provider) => {
    expect(routesStaticTargetsOnly(provider.name)).toBe(true);
    expect(provider.defaultEvents).toEqual([genericTriggerEvent]);
    expect(provider.isPush(genericTriggerEvent)).toBe(true);
    expect(provider.isPing(genericTriggerEvent)).toBe(false);
    const headers: Record<string, string> =
      provider === generic ? { authorization: `Bearer ${secret}` } : { 'x-signature': `sha256=${hmac('sha256')}` };
    expect(provider.inspect(request(headers, body), body, receiverConfig(provider.name)).verify(secret)).toBe(true);
    expect(claimedIdentity(provider, request({ ...headers, 'x-github-event': 'push' }, body))).toEqual({
      event: genericTriggerEvent,
    });
    expect(() => provider.parsePush(request(headers, body), body, genericTriggerEvent)).toThrow(
      /routes nothing by payload/,
    );
  },
);
