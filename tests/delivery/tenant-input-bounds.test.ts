import type { KubeApiTestServer } from '../support/kube-api-server';
import {
  apiGatewayEvent,
  captureOutput,
  githubBranchPush,
  githubRelayConfig,
  githubWebhookSecret,
  gitRepository,
  loadRelayHandler,
  logLines,
  patchRequests,
  signGitHub,
  startGitHubRelayFixture,
} from '../support/relay-harness';

/*
 * What a tenant writes into a GitRepository is read on every delivery for its repository: bounds that keep such text
 * from costing a delivery more than it is worth, checked through the handler against the loopback cluster.
 */

let cluster: KubeApiTestServer;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ cluster, close } = await startGitHubRelayFixture());
});
afterAll(() => close());

function tagPush(tag: string) {
  const body = JSON.stringify({ ...githubBranchPush, ref: `refs/tags/${tag}`, base_ref: null });
  return apiGatewayEvent({
    receiver: 'github',
    body,
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-hub-signature-256': signGitHub(githubWebhookSecret, body),
    },
  });
}

test('a semver range longer than 256 characters matches no tag, and is reported once, not on every push', async () => {
  const url = 'https://github.com/Codertocat/Hello-World';
  cluster.put(gitRepository('flux-system', 'padded', url, { semver: `>=1.0.0${' '.repeat(150_000)}` }));
  cluster.put(gitRepository('flux-system', 'bounded', url, { semver: `>=1.0.0${' '.repeat(249)}` }));
  const handler = loadRelayHandler(githubRelayConfig);
  cluster.clearRequests();
  const { result, lines } = await captureOutput(async () => [
    await handler(tagPush('v1.2.3')),
    await handler(tagPush('v1.2.4')),
  ]);
  for (const answer of result) {
    expect(answer.statusCode).toBe(200);
    // The 256-character range is read and matches; the longer one does not.
    expect(JSON.parse(answer.body as string).matched).toEqual(['prod/flux-system/GitRepository/bounded']);
  }
  expect(patchRequests(cluster).map((r) => r.path)).not.toContainEqual(expect.stringContaining('/padded'));
  const warnings = logLines(lines, 'GitRepository can never match a push');
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatchObject({
    level: 'WARN',
    target: 'prod/flux-system/GitRepository/padded',
    problem: 'spec.ref.semver is 150007 characters long; a range longer than 256 matches no tag',
  });
});
