import { parseGitHubPackage } from '../../lib/providers/github-package';
import { MalformedPayload } from '../../lib/delivery/errors';
import type { WebhookRequest } from '../../lib/http/request';

const request: WebhookRequest = {
  method: 'POST',
  receiver: 'github',
  headers: { 'content-type': 'application/json' },
  body: '',
  isBase64Encoded: false,
};
const digest = `sha256:${'e'.repeat(64)}`;
const parse = (payload: unknown) => parseGitHubPackage(request, Buffer.from(JSON.stringify(payload)));
const pkg = (
  extra: Record<string, unknown> = {},
  version: unknown = {
    version: digest,
    package_url: 'ghcr.io/Acme/App:v1.2.0',
    container_metadata: { tag: { name: 'v1.2.0', digest } },
  },
) => ({
  action: 'published',
  package: { name: 'app', package_type: 'CONTAINER', owner: { login: 'Acme' }, package_version: version, ...extra },
});

test.each<[string, unknown, unknown]>([
  [
    'a published container version: lower-cased reference, tag, digest',
    pkg(),
    { repository: 'ghcr.io/acme/app', artifacts: [{ reference: 'ghcr.io/acme/app:v1.2.0', tag: 'v1.2.0', digest }] },
  ],
  [
    'updated is routed too',
    { ...pkg(), action: 'updated' },
    { repository: 'ghcr.io/acme/app', artifacts: [{ reference: 'ghcr.io/acme/app:v1.2.0', tag: 'v1.2.0', digest }] },
  ],
  [
    'an untagged version: the trailing colon dropped, no tag',
    pkg({}, { version: digest, package_url: 'ghcr.io/Acme/App:', container_metadata: { tag: { name: '', digest } } }),
    { repository: 'ghcr.io/acme/app', artifacts: [{ reference: 'ghcr.io/acme/app', digest }] },
  ],
  [
    'no package_url: ghcr.io/<owner>/<name>',
    pkg({}, { version: '1.0.0' }),
    { repository: 'ghcr.io/acme/app', artifacts: [{ reference: 'ghcr.io/acme/app' }] },
  ],
  [
    'an npm package is acknowledged, not routed',
    pkg({ package_type: 'npm', ecosystem: 'npm' }),
    { repository: 'app', artifacts: [] },
  ],
  ['another action is acknowledged, not routed', { ...pkg(), action: 'deleted' }, { repository: 'app', artifacts: [] }],
])('%s', (_name, payload, expected) => {
  expect(parse(payload)).toEqual(expected);
});

test.each<[string, unknown]>([
  ['no package', { action: 'published' }],
  ['no action', { package: { name: 'app' } }],
  [
    'a tag that is not an OCI tag',
    pkg({}, { package_url: 'ghcr.io/acme/app', container_metadata: { tag: { name: '../x' } } }),
  ],
])('%s is malformed', (_name, payload) => {
  expect(() => parse(payload)).toThrow(MalformedPayload);
});
