import { readFileSync } from 'node:fs';
import type { ReceiverConfig } from '../../lib/config/schema';
import { MalformedPayload } from '../../lib/delivery/errors';
import type { WebhookRequest } from '../../lib/http/request';
import { nexus } from '../../lib/providers/nexus';

const fixture = (name: string) => readFileSync(`tests/fixtures/nexus/${name}.json`, 'utf8');
const receiver = {
  provider: 'nexus',
  registryHosts: { 'docker-hosted': 'nexus.example.com:8082' },
} as unknown as ReceiverConfig;
const request = { headers: {} } as unknown as WebhookRequest;

function routed(body: string, to: ReceiverConfig = receiver) {
  const buffer = Buffer.from(body);
  const event = nexus.eventAfterAuthentication!(buffer) as string;
  return { event, push: nexus.isPush(event) ? nexus.parseArtifactPush!(request, buffer, event, to) : undefined };
}

test('the event is read from the signed body, not the unsigned X-Nexus-Webhook-Id', () => {
  expect(routed(fixture('component-docker-created')).event).toBe('rm:repository:component:CREATED');
  expect(routed(fixture('asset-npm-created')).event).toBe('rm:repository:asset:CREATED');
  const audit = '{"nodeId":"x","initiator":"admin/127.0.0.1","audit":{"domain":"security.user","type":"created"}}';
  expect(routed(audit)).toEqual({ event: 'rm:global:audit', push: undefined });
});

test('a Docker component: the listed host, the image path, the version as tag', () => {
  expect(routed(fixture('component-docker-created')).push).toEqual({
    repository: 'nexus.example.com:8082/team/app',
    artifacts: [{ reference: 'nexus.example.com:8082/team/app', tag: '1.4.2' }],
  });
});

test('a Docker manifest asset: by tag or by digest; blobs and other files route nothing', () => {
  expect(routed(fixture('asset-docker-manifest-created')).push?.artifacts).toEqual([
    { reference: 'nexus.example.com:8082/team/app', tag: '1.4.2' },
  ]);
  const digest = `sha256:${'a'.repeat(64)}`;
  const byDigest = fixture('asset-docker-manifest-created').replace('manifests/1.4.2', `manifests/${digest}`);
  expect(routed(byDigest).push?.artifacts).toEqual([{ reference: 'nexus.example.com:8082/team/app', digest }]);
  const blob = fixture('asset-docker-manifest-created').replace('v2/team/app/manifests/1.4.2', `v2/-/blobs/${digest}`);
  expect(routed(blob).push?.artifacts).toEqual([]);
});

test("Sonatype's documented npm asset, and a repository registryHosts does not list, route nothing", () => {
  expect(routed(fixture('asset-npm-created')).push?.artifacts).toEqual([]);
  const unlisted = { ...receiver, registryHosts: {} } as ReceiverConfig;
  expect(routed(fixture('component-docker-created'), unlisted).push).toEqual({
    repository: 'docker-hosted/team/app',
    artifacts: [],
  });
});

test('deletes are not pushes; a body without component, asset, audit or repository is malformed', () => {
  const deleted = routed(fixture('component-docker-created').replace('"CREATED"', '"DELETED"'));
  expect(deleted).toEqual({ event: 'rm:repository:component:DELETED', push: undefined });
  expect(() => nexus.eventAfterAuthentication!(Buffer.from('{"action":"CREATED"}'))).toThrow(MalformedPayload);
  expect(() =>
    nexus.eventAfterAuthentication!(Buffer.from(fixture('asset-npm-created').replace('"CREATED"', '"created!"'))),
  ).toThrow(MalformedPayload);
});
