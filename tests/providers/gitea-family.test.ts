import { claimedIdentity } from '../../lib/delivery/relay';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { MalformedPayload, UnsupportedMediaType } from '../../lib/delivery/errors';
import type { WebhookRequest } from '../../lib/http/request';
import { forgejo } from '../../lib/providers/forgejo';
import { gitea } from '../../lib/providers/gitea';
import { gogs } from '../../lib/providers/gogs';
import type { Provider, PushEvent } from '../../lib/providers/provider';
import { receiverConfig } from '../support/receiver';
import { verdictOf, webhookRequest } from '../support/provider-verdict';

// RFC 4231 test case 2 (HMAC-SHA256): an independent vector, not computed by the code under test.
const key = 'Jefe';
const data = Buffer.from('what do ya want for nothing?');
const vector = '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843';

const family = [
  { provider: gitea, prefix: 'x-gitea' },
  { provider: forgejo, prefix: 'x-forgejo' },
  { provider: gogs, prefix: 'x-gogs' },
] as const;
const prefixes = family.map((m) => m.prefix);

const hmac = (secret: string, bytes: Buffer | string) => createHmac('sha256', secret).update(bytes).digest('hex');
const fixture = (path: string) => readFileSync(`tests/fixtures/${path}`);

function request(headers: Record<string, string>, body: Buffer, contentType = 'application/json'): WebhookRequest {
  return webhookRequest({ 'content-type': contentType, ...headers }, body);
}

function verdict(
  provider: Provider,
  headers: Record<string, string>,
  body: Buffer = data,
  secret = key,
  contentType = 'application/json',
): string {
  return verdictOf(provider, { 'content-type': contentType, ...headers }, body, secret);
}

/** Go's `url.Values{"payload": {json}}.Encode()` (QueryEscape: space → `+`, everything but `A-Za-z0-9-_.~` escaped). */
function goForm(json: string): Buffer {
  const escaped = encodeURIComponent(json)
    .replace(/%20/g, '+')
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return Buffer.from(`payload=${escaped}`);
}

test('the RFC 4231 vector is what the test helper computes', () => {
  expect(hmac(key, data)).toBe(vector);
});

describe.each(family)('$prefix-signature', ({ provider, prefix }) => {
  const header = `${prefix}-signature`;
  const siblings = prefixes.filter((p) => p !== prefix);
  type Row = [name: string, headers: Record<string, string>, expected: string, body?: Buffer, secret?: string];
  const rows: Row[] = [
    ['valid (RFC 4231 vector)', { [header]: vector }, 'ok'],
    ['wrong secret', { [header]: vector }, 'mismatch', data, 'Jeff'],
    ['tampered byte', { [header]: vector }, 'mismatch', Buffer.from('what do ya want for nothing!')],
    ['missing header', {}, 'missing'],
    ['empty header (hook without a secret)', { [header]: '' }, 'missing'],
    ['sha256= prefix', { [header]: `sha256=${vector}` }, 'malformed'],
    ['upper-case hex', { [header]: vector.toUpperCase() }, 'malformed'],
    ['truncated', { [header]: vector.slice(0, -2) }, 'malformed'],
    ['one hex digit too many', { [header]: `${vector}0` }, 'malformed'],
    ['trailing space', { [header]: `${vector} ` }, 'malformed'],
    ['SHA-1 length', { [header]: hmac(key, data).slice(0, 40) }, 'malformed'],
    ['GitHub-style X-Hub-Signature-256 alone', { 'x-hub-signature-256': `sha256=${vector}` }, 'missing'],
    ...siblings.map((p): Row => [`${p}-signature alone`, { [`${p}-signature`]: vector }, 'missing']),
    ['valid beside a bogus GitHub-style header', { [header]: vector, 'x-hub-signature-256': 'sha256=00' }, 'ok'],
  ];
  test.each(rows.map(([name, headers, expected, body, secret]) => ({ name, headers, expected, body, secret })))(
    '$name → $expected',
    ({ headers, expected, body, secret }) => {
      expect(verdict(provider, headers, body ?? data, secret ?? key)).toBe(expected);
    },
  );

  test.each([undefined, 'text/plain', 'multipart/form-data'])(
    'content type %s is refused before any secret is needed',
    (type) => {
      const req: WebhookRequest = {
        method: 'POST',
        receiver: 'r',
        headers: { [header]: vector, ...(type ? { 'content-type': type } : {}) },
        body: '',
        isBase64Encoded: false,
      };
      expect(() => provider.inspect(req, data, receiverConfig(provider.name))).toThrow(UnsupportedMediaType);
    },
  );

  test('a form delivery is verified over its payload field (the JSON), not over the form bytes', () => {
    const json = fixture('gitea/push.json').toString('utf8');
    const body = goForm(json);
    const contentType = 'application/x-www-form-urlencoded';
    expect(verdict(provider, { [header]: hmac(key, json) }, body, key, contentType)).toBe('ok');
    expect(verdict(provider, { [header]: hmac(key, body) }, body, key, contentType)).toBe('mismatch');
    expect(verdict(provider, { [header]: hmac(key, json) }, Buffer.from('other=1'), key, contentType)).toBe(
      'malformed',
    );
    // A form never reaches the JSON check unsigned: the header is still checked first.
    expect(verdict(provider, {}, Buffer.from('other=1'), key, contentType)).toBe('missing');
    const req = request({ [header]: hmac(key, json) }, body, contentType);
    expect(provider.parsePush(req, body, 'push')).toEqual(
      provider.parsePush(request({}, Buffer.from(json)), Buffer.from(json), 'push'),
    );
  });

  test('event and delivery id come from its own headers only', () => {
    expect(
      claimedIdentity(
        provider,
        request({ [header]: vector, [`${prefix}-event`]: 'push', [`${prefix}-delivery`]: 'd-1' }, data),
      ),
    ).toEqual({ event: 'push', deliveryId: 'd-1' });
    const others = Object.fromEntries(
      siblings.flatMap((p) => [
        [`${p}-event`, 'push'],
        [`${p}-delivery`, 'd-2'],
      ]),
    );
    expect(
      claimedIdentity(
        provider,
        request({ [header]: vector, ...others, 'x-github-event': 'push', 'x-github-delivery': 'd-3' }, data),
      ),
    ).toEqual({});
  });
});

const byName = { gitea, forgejo, gogs } as const;
type Member = keyof typeof byName;

test.each([
  ['gitea', 'push', true],
  ['gitea', 'create', false],
  ['gitea', 'delete', false],
  ['gitea', 'Push', false],
  ['gitea', 'issues', false],
  ['forgejo', 'push', true],
  ['forgejo', 'create', false],
  ['forgejo', 'delete', false],
  ['gogs', 'push', true],
  ['gogs', 'create', true],
  ['gogs', 'delete', false],
  ['gogs', 'release', false],
] as Array<[Member, string, boolean]>)('%s routes event %s: %s (never a ping)', (name, event, routed) => {
  expect(byName[name].isPush(event)).toBe(routed);
  expect(byName[name].isPing(event)).toBe(false);
});

test.each([
  ['gitea', ['push']],
  ['forgejo', ['push']],
  ['gogs', ['push', 'create']],
] as Array<[Member, string[]]>)('%s acts on %j by default and has no ping', (name, events) => {
  expect(byName[name].defaultEvents).toEqual(events);
  expect(byName[name].isPing('ping')).toBe(false);
});

const zero = '0'.repeat(40);
const giteaUrls = [
  'http://localhost:3000/example/example.git',
  'git@localhost:example/example.git',
  'http://localhost:3000/example/example',
];
type ParseRow = [name: string, provider: Provider, event: string, body: Buffer, expected: PushEvent];
const parsed: ParseRow[] = [
  [
    'Gitea branch push',
    gitea,
    'push',
    fixture('gitea/push.json'),
    {
      repository: 'example/example',
      repositoryUrls: giteaUrls,
      changes: [{ ref: 'refs/heads/master', commit: '67b56589a45103f891bdee7c0546e5d40bc02001', deleted: false }],
    },
  ],
  [
    'Gitea tag push',
    gitea,
    'push',
    fixture('gitea/push-tag.json'),
    {
      repository: 'example/example',
      repositoryUrls: giteaUrls,
      changes: [{ ref: 'refs/tags/v1.2.0', commit: '67b56589a45103f891bdee7c0546e5d40bc02001', deleted: false }],
    },
  ],
  [
    'Gitea tag deletion (a push with after all zeros)',
    gitea,
    'push',
    Buffer.from(
      fixture('gitea/push-tag.json')
        .toString('utf8')
        .replace('"after": "67b56589a45103f891bdee7c0546e5d40bc02001"', `"after": "${zero}"`),
    ),
    {
      repository: 'example/example',
      repositoryUrls: giteaUrls,
      changes: [{ ref: 'refs/tags/v1.2.0', commit: zero, deleted: true }],
    },
  ],
  [
    'Forgejo (Codeberg) branch push',
    forgejo,
    'push',
    fixture('forgejo/push.json'),
    {
      repository: 'fedora/w2fm-test',
      repositoryUrls: [
        'https://codeberg.org/fedora/w2fm-test.git',
        'git@codeberg.org:fedora/w2fm-test.git',
        'https://codeberg.org/fedora/w2fm-test',
      ],
      changes: [{ ref: 'refs/heads/pull', commit: '1c5ccba31592d36a7b999434768c7498edfec822', deleted: false }],
    },
  ],
  [
    'Gogs push (Argo CD fixture, invalid ssh_url kept as a candidate)',
    gogs,
    'push',
    fixture('gogs/push.json'),
    {
      repository: 'john/repo-test',
      repositoryUrls: [
        'http://gogs-server/john/repo-test.git',
        'git@gogs-server/repo-test.git',
        'http://gogs-server/john/repo-test',
      ],
      changes: [{ ref: 'refs/heads/master', commit: '0a05129851238652bf806a400af89fa974ade739', deleted: false }],
    },
  ],
  [
    'Gogs push with an ssh:// URL',
    gogs,
    'push',
    fixture('gogs/push-develop.json'),
    {
      repository: 'unknwon/webhooks',
      repositoryUrls: [
        'http://localhost:3000/unknwon/webhooks.git',
        'ssh://unknwon@localhost:2222/unknwon/webhooks.git',
        'http://localhost:3000/unknwon/webhooks',
      ],
      changes: [{ ref: 'refs/heads/develop', commit: 'bffeb74224043ba2feb48d137756c8a9331c449a', deleted: false }],
    },
  ],
  [
    'Gogs tag create (short ref, no sha in this old payload)',
    gogs,
    'create',
    fixture('gogs/tag-create.json'),
    {
      repository: 'gordon/hello-world',
      repositoryUrls: [
        'http://gogs.golang.org/gordon/hello-world.git',
        'git@gogs.golang.org:gordon/hello-world.git',
        'http://gogs.golang.org/gordon/hello-world',
      ],
      changes: [{ ref: 'refs/tags/v1.0.0', deleted: false }],
    },
  ],
  [
    'Gogs tag create with sha (current Gogs)',
    gogs,
    'create',
    Buffer.from(
      '{"ref":"v2.1.0","ref_type":"tag","sha":"abc123","default_branch":"master","repository":{"full_name":"o/r","clone_url":"https://g.example/o/r.git"}}',
    ),
    {
      repository: 'o/r',
      repositoryUrls: ['https://g.example/o/r.git'],
      changes: [{ ref: 'refs/tags/v2.1.0', commit: 'abc123', deleted: false }],
    },
  ],
  [
    'Gogs branch create: no change of its own (its push follows)',
    gogs,
    'create',
    fixture('gogs/branch-create.json'),
    {
      repository: 'gogits/hello-world',
      repositoryUrls: [
        'http://try.gogs.io/gogits/hello-world.git',
        'git@localhost:gogits/hello-world.git',
        'http://try.gogs.io/gogits/hello-world',
      ],
      changes: [],
    },
  ],
];

test.each(parsed.map(([name, provider, event, body, expected]) => ({ name, provider, event, body, expected })))(
  'parses: $name',
  ({ provider, event, body, expected }) => {
    expect(provider.parsePush(request({}, body), body, event)).toEqual(expected);
  },
);

const repo = '"repository":{"full_name":"o/r","clone_url":"https://g.example/o/r.git"}';
test.each([
  ['not JSON', gitea, 'push', 'ref=refs/heads/main'],
  ['a JSON array', forgejo, 'push', '[]'],
  ['empty', gogs, 'push', ''],
  ['no ref', gitea, 'push', `{${repo}}`],
  ['a short ref in a push', gitea, 'push', `{"ref":"main",${repo}}`],
  ['no repository', forgejo, 'push', '{"ref":"refs/heads/main"}'],
  ['a repository without URLs', gogs, 'push', '{"ref":"refs/heads/main","repository":{"full_name":"o/r"}}'],
  ['create without ref_type', gogs, 'create', `{"ref":"v1",${repo}}`],
  ['create of an unknown ref_type', gogs, 'create', `{"ref":"v1","ref_type":"note",${repo}}`],
  ['create of a tag named as a branch ref', gogs, 'create', `{"ref":"refs/heads/v1","ref_type":"tag",${repo}}`],
  ['create with an empty ref', gogs, 'create', `{"ref":"","ref_type":"tag",${repo}}`],
] as Array<[string, Provider, string, string]>)(
  'after authentication, %s is a MalformedPayload',
  (_name, provider, event, text) => {
    const body = Buffer.from(text);
    expect(() => provider.parsePush(request({}, body), body, event)).toThrow(MalformedPayload);
  },
);

test('a form without a payload field is a MalformedPayload when parsed', () => {
  const body = Buffer.from('other=1');
  expect(() => gogs.parsePush(request({}, body, 'application/x-www-form-urlencoded'), body, 'create')).toThrow(
    MalformedPayload,
  );
  expect(() => gitea.parsePush(request({}, body, 'application/x-www-form-urlencoded'), body, 'push')).toThrow(
    MalformedPayload,
  );
});
