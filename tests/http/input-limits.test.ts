import {
  HeadersTooLarge,
  MalformedBody,
  MalformedPayload,
  PayloadLimitExceeded,
  PayloadTooLarge,
  httpStatusOf,
} from '../../lib/delivery/errors';
import {
  checkHeaderLimits,
  lowerCaseHeaders,
  maxHeaderBytes,
  maxHeaderCount,
  rawBody,
  type WebhookRequest,
} from '../../lib/http/request';
import { github } from '../../lib/providers/github';
import { gogs } from '../../lib/providers/gogs';
import { bitbucketServer } from '../../lib/providers/bitbucket-server';
import { azureDevops } from '../../lib/providers/azure-devops';
import { checkJsonDepth, decodeUtf8, maxJsonDepth, maxRefChanges, parseJsonObject } from '../../lib/providers/payload';

const request = (over: Partial<WebhookRequest> = {}): WebhookRequest => ({
  method: 'POST',
  receiver: 'r',
  headers: {},
  body: '',
  isBase64Encoded: false,
  ...over,
});

describe('headers', () => {
  test('case variants of one header are one header, their values combined as API Gateway combines repeats', () => {
    expect(
      lowerCaseHeaders({ 'X-Hub-Signature-256': 'sha256=aa', 'x-hub-signature-256': 'sha256=bb', Other: 'o' }),
    ).toEqual({
      'x-hub-signature-256': 'sha256=aa, sha256=bb',
      other: 'o',
    });
  });

  test(`more than ${maxHeaderCount} fields or ${maxHeaderBytes} bytes is a 431; exactly at the bounds passes`, () => {
    const fields = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`x-h${i}`, 'v']));
    expect(() => checkHeaderLimits(request({ headers: fields(maxHeaderCount) }))).not.toThrow();
    expect(() => checkHeaderLimits(request({ headers: fields(maxHeaderCount + 1) }))).toThrow(HeadersTooLarge);
    const exact = { a: 'x'.repeat(maxHeaderBytes - 1) };
    expect(() => checkHeaderLimits(request({ headers: exact }))).not.toThrow();
    expect(() => checkHeaderLimits(request({ headers: { a: 'x'.repeat(maxHeaderBytes) } }))).toThrow(HeadersTooLarge);
    // Bytes, not characters: 'é' is two bytes in UTF-8.
    expect(() => checkHeaderLimits(request({ headers: { a: 'é'.repeat(maxHeaderBytes / 2) } }))).toThrow(
      HeadersTooLarge,
    );
    expect(httpStatusOf(new HeadersTooLarge('x'))).toMatchObject({ status: 431, reason: 'headers_too_large' });
  });
});

describe('base64 bodies', () => {
  const decode = (body: string) => rawBody(request({ body, isBase64Encoded: true }), 1024);

  test('strict, canonical base64 decodes', () => {
    expect(decode(Buffer.from('{"a":1}').toString('base64')).toString()).toBe('{"a":1}');
    expect(decode('').length).toBe(0);
  });

  test.each([
    ['a character outside the alphabet', 'eyJh*IjoxfQ=='],
    ['whitespace', 'eyJh IjoxfQ=='],
    ['base64url characters', 'eyJh-_joxfQ=='],
    ['missing padding', 'eyJhIjoxfQ'],
    ['padding in the middle', 'eyJh=joxfQ=='],
    ['three padding characters', 'eyJhIjox===='],
    ['non-canonical trailing bits', 'QR=='],
  ])('%s is a 400 malformed_body', (_name, body) => {
    expect(() => decode(body)).toThrow(MalformedBody);
    expect(httpStatusOf(new MalformedBody('x'))).toMatchObject({ status: 400, reason: 'malformed_body' });
  });

  test('the size is checked before the encoding', () => {
    expect(() => decode('*'.repeat(4000))).toThrow(PayloadTooLarge);
  });
});

describe('authenticated payloads', () => {
  test('invalid UTF-8 is refused, not replaced', () => {
    expect(() => decodeUtf8(Buffer.from([0x7b, 0xff, 0x7d]), 'p')).toThrow(MalformedPayload);
    expect(() => decodeUtf8(Buffer.from([0xed, 0xa0, 0x80]), 'p')).toThrow('p is not valid UTF-8'); // a UTF-16 surrogate
    expect(decodeUtf8(Buffer.from('{"é":"✓"}'), 'p')).toBe('{"é":"✓"}');
  });

  test(`nesting beyond ${maxJsonDepth} is refused before JSON.parse; brackets inside strings do not count`, () => {
    const nested = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    expect(() => checkJsonDepth(nested(maxJsonDepth), 'p')).not.toThrow();
    expect(() => checkJsonDepth(nested(maxJsonDepth + 1), 'p')).toThrow(PayloadLimitExceeded);
    expect(() => parseJsonObject(`{"a":${nested(1_000_000)}}`, 'p')).toThrow(
      `p nests deeper than ${maxJsonDepth} levels`,
    );
    expect(() => checkJsonDepth(`{"s":"${'['.repeat(1000)}\\"${'{'.repeat(1000)}"}`, 'p')).not.toThrow();
    // A string ending in an escaped backslash closes at its quote: what follows is read as JSON again (here another
    // string full of brackets, which must not count; a scanner that took `\\"` for an escaped quote would count them).
    const afterBackslash = JSON.stringify({ s: 'x\\', t: '['.repeat(100) });
    expect(afterBackslash).toContain('\\\\"');
    expect(() => checkJsonDepth(afterBackslash, 'p')).not.toThrow();
    expect(() => checkJsonDepth(JSON.stringify({ s: 'x\\', a: JSON.parse(nested(maxJsonDepth)) }), 'p')).toThrow(
      PayloadLimitExceeded,
    );
    // An escaped quote after escaped backslashes does not close the string: the brackets after it are text.
    expect(() => checkJsonDepth(JSON.stringify({ s: `\\"${'['.repeat(100)}` }), 'p')).not.toThrow();
    expect(() => checkJsonDepth('{"unterminated', 'p')).not.toThrow();
  });

  const githubPush = (payload: unknown, contentType = 'application/json', raw?: Buffer) => {
    const body =
      raw ??
      Buffer.from(
        contentType === 'application/json'
          ? JSON.stringify(payload)
          : `payload=${encodeURIComponent(JSON.stringify(payload))}`,
      );
    return github.parsePush(request({ headers: { 'content-type': contentType } }), body, 'push');
  };
  const valid = {
    ref: 'refs/heads/main',
    after: 'a'.repeat(40),
    repository: { full_name: 'o/r', clone_url: 'https://github.com/o/r' },
  };

  test('a form payload field must be well-formed percent-encoded UTF-8', () => {
    expect(githubPush(valid, 'application/x-www-form-urlencoded').changes).toHaveLength(1);
    const form = 'application/x-www-form-urlencoded';
    expect(() => githubPush(valid, form, Buffer.from('payload=%7B%zz'))).toThrow(MalformedPayload);
    expect(() => githubPush(valid, form, Buffer.from('payload=%7B%FF%7D'))).toThrow(
      'a form field has a malformed or non-UTF-8 percent escape',
    );
    expect(() => githubPush(valid, form, Buffer.from([0x70, 0x3d, 0xff]))).toThrow('not valid UTF-8');
  });

  test('logged strings are bounded and a commit must be an object id', () => {
    expect(() => githubPush({ ...valid, ref: `refs/heads/${'b'.repeat(2000)}` })).toThrow(PayloadLimitExceeded);
    expect(() => githubPush({ ...valid, repository: { ...valid.repository, full_name: 'o'.repeat(5000) } })).toThrow(
      'the repository name is 5000 characters long; at most 1024 are read',
    );
    expect(() => githubPush({ ...valid, after: 'not a sha' })).toThrow(MalformedPayload);
    expect(() => githubPush({ ...valid, after: 'a'.repeat(65) })).toThrow(MalformedPayload);
    expect(githubPush({ ...valid, after: 'b'.repeat(64) }).changes[0]!.commit).toBe('b'.repeat(64));
  });

  test('a Gogs create with a huge ref is bounded too', () => {
    const body = Buffer.from(
      JSON.stringify({ ref: 'v'.repeat(3000), ref_type: 'tag', repository: { clone_url: 'https://g.example/o/r' } }),
    );
    expect(() => gogs.parsePush(request({ headers: { 'content-type': 'application/json' } }), body, 'create')).toThrow(
      PayloadLimitExceeded,
    );
  });

  test(`ref change arrays over ${maxRefChanges} entries are refused by their count, before they are read`, () => {
    const change = { ref: { id: 'refs/heads/main' }, type: 'UPDATE', toHash: 'c'.repeat(40) };
    const bbs = (n: number) =>
      Buffer.from(
        JSON.stringify({
          repository: {
            slug: 'r',
            project: { key: 'P' },
            links: { clone: [{ href: 'https://b.example/scm/p/r.git' }] },
          },
          changes: Array(n).fill(change),
        }),
      );
    expect(bitbucketServer.parsePush(request(), bbs(maxRefChanges), 'repo:refs_changed').changes).toHaveLength(
      maxRefChanges,
    );
    expect(() => bitbucketServer.parsePush(request(), bbs(100_000), 'repo:refs_changed')).toThrow(
      'changes has 100000 entries; at most 100 are read',
    );

    const manyLinks = Buffer.from(
      JSON.stringify({
        repository: { links: { clone: Array(1000).fill({ href: 'https://b.example/scm/p/r.git' }) } },
        changes: [],
      }),
    );
    expect(() => bitbucketServer.parsePush(request(), manyLinks, 'repo:refs_changed')).toThrow(PayloadLimitExceeded);

    const azure = Buffer.from(
      JSON.stringify({
        eventType: 'git.push',
        resource: {
          refUpdates: Array(101).fill({ name: 'refs/heads/main', newObjectId: 'd'.repeat(40) }),
          repository: { remoteUrl: 'https://dev.azure.com/o/p/_git/r' },
        },
      }),
    );
    expect(() => azureDevops.parsePush(request(), azure, 'git.push')).toThrow(
      'resource.refUpdates has 101 entries; at most 100 are read',
    );
    expect(httpStatusOf(new PayloadLimitExceeded('x'))).toMatchObject({
      status: 400,
      reason: 'payload_limit_exceeded',
    });
  });

  test('an Azure DevOps eventType is bounded', () => {
    expect(() =>
      azureDevops.eventAfterAuthentication!(Buffer.from(JSON.stringify({ eventType: 'e'.repeat(101) }))),
    ).toThrow(PayloadLimitExceeded);
  });
});
