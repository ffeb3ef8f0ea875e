import { createHmac } from 'node:crypto';
import { UnsupportedMediaType } from '../../lib/delivery/errors';
import type { WebhookRequest } from '../../lib/http/request';
import { receiverConfig } from '../support/receiver';
import { verdictOf, webhookRequest } from '../support/provider-verdict';
import { github } from '../../lib/providers/github';

const secret = "It's a Secret to Everybody";
const body = Buffer.from('Hello, World!');
// GitHub's documented test vector ("Validating webhook deliveries").
const documented = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';

const receiver = receiverConfig('github');

function request(headers: Record<string, string>, payload: Buffer = body): [WebhookRequest, Buffer] {
  return [webhookRequest({ 'content-type': 'application/json', ...headers }, payload), payload];
}

function verdict(headers: Record<string, string>, payload: Buffer = body, key = secret): string {
  return verdictOf(github, { 'content-type': 'application/json', ...headers }, payload, key, receiver);
}

const sha1 = `sha1=${createHmac('sha1', secret).update(body).digest('hex')}`;
const sha512 = `sha512=${createHmac('sha512', secret).update(body).digest('hex')}`;

test.each(
  (
    [
      ['documented vector', { 'x-hub-signature-256': documented }, 'ok'],
      ['wrong secret', { 'x-hub-signature-256': documented }, 'mismatch', body, 'another secret'],
      ['tampered byte', { 'x-hub-signature-256': documented }, 'mismatch', Buffer.from('Hello, World?')],
      ['missing header', {}, 'missing'],
      ['SHA-1 header only', { 'x-hub-signature': sha1 }, 'missing'],
      ['sha1= under the SHA-256 header', { 'x-hub-signature-256': sha1 }, 'malformed'],
      ['sha512= under the SHA-256 header', { 'x-hub-signature-256': sha512 }, 'malformed'],
      [
        'upper-case hex',
        {
          'x-hub-signature-256': documented
            .replace(/^sha256=/, '')
            .toUpperCase()
            .replace(/^/, 'sha256='),
        },
        'malformed',
      ],
      ['upper-case prefix', { 'x-hub-signature-256': documented.replace('sha256', 'SHA256') }, 'malformed'],
      ['bare hex', { 'x-hub-signature-256': documented.slice('sha256='.length) }, 'malformed'],
      ['truncated', { 'x-hub-signature-256': documented.slice(0, -2) }, 'malformed'],
      ['empty value', { 'x-hub-signature-256': '' }, 'missing'],
      ['trailing space', { 'x-hub-signature-256': `${documented} ` }, 'malformed'],
      ['valid SHA-256 beside a bogus SHA-1', { 'x-hub-signature-256': documented, 'x-hub-signature': 'sha1=00' }, 'ok'],
    ] as Array<[string, Record<string, string>, string, Buffer?, string?]>
  ).map(([name, headers, expected, payload, key]) => ({ name, headers, expected, payload, key })),
)('$name → $expected', ({ headers, expected, payload, key }) => {
  expect(verdict(headers, payload ?? body, key ?? secret)).toBe(expected);
});

test('a form-encoded delivery is verified over the raw form body, then its payload field is decoded', () => {
  const payload = {
    ref: 'refs/heads/main',
    after: 'a'.repeat(40),
    repository: { full_name: 'o/r', clone_url: 'https://github.com/o/r.git' },
  };
  const form = Buffer.from(`payload=${encodeURIComponent(JSON.stringify(payload))}`);
  const signature = `sha256=${createHmac('sha256', secret).update(form).digest('hex')}`;
  const [req] = request(
    { 'content-type': 'application/x-www-form-urlencoded', 'x-hub-signature-256': signature },
    form,
  );
  expect(github.inspect(req, form, receiver).verify(secret)).toBe(true);
  // The signature over the decoded JSON is not the one GitHub sends for form deliveries.
  const overJson = `sha256=${createHmac('sha256', secret).update(JSON.stringify(payload)).digest('hex')}`;
  expect(
    github
      .inspect({ ...req, headers: { ...req.headers, 'x-hub-signature-256': overJson } }, form, receiver)
      .verify(secret),
  ).toBe(false);
  expect(github.parsePush(req, form, 'push')).toEqual({
    repository: 'o/r',
    repositoryUrls: ['https://github.com/o/r.git'],
    changes: [{ ref: 'refs/heads/main', commit: 'a'.repeat(40), deleted: false }],
  });
});

test.each([undefined, 'text/plain', 'application/xml'])(
  'content type %s is refused before any secret is needed',
  (type) => {
    const headers: Record<string, string> = { 'x-hub-signature-256': documented };
    const req: WebhookRequest = {
      method: 'POST',
      receiver: 'r',
      headers: type ? { ...headers, 'content-type': type } : headers,
      body: '',
      isBase64Encoded: false,
    };
    expect(() => github.inspect(req, body, receiver)).toThrow(UnsupportedMediaType);
  },
);

test('content type parameters are ignored', () => {
  expect(verdict({ 'content-type': 'application/json; charset=utf-8', 'x-hub-signature-256': documented })).toBe('ok');
});
