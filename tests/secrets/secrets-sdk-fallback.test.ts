import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SecretsManagerTestServer } from '../support/secrets-manager-server';
import {
  githubRelayConfig,
  loadRelayHandler,
  signedBranchPush,
  startGitHubRelayFixture,
} from '../support/relay-harness';

// On Lambda the credentials are in the environment and the relay signs GetSecretValue itself
// (lib/secrets/secrets-manager-http.ts). Without them (a developer's profile, SSO), the real AWS SDK and its credential
// chain read the secrets: here from a shared credentials file, as `aws configure` writes it.

let sm: SecretsManagerTestServer;
let close: () => Promise<void>;
const saved: NodeJS.ProcessEnv = {};

beforeAll(async () => {
  ({ sm, close } = await startGitHubRelayFixture());
  const dir = mkdtempSync(join(tmpdir(), 'aws-profile-'));
  writeFileSync(
    join(dir, 'credentials'),
    '[relay-dev]\naws_access_key_id = AKIDPROFILEONLY\naws_secret_access_key = profile-secret-key-example\n',
  );
  for (const name of [
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
    'AWS_PROFILE',
    'AWS_SHARED_CREDENTIALS_FILE',
    'AWS_CONFIG_FILE',
  ])
    saved[name] = process.env[name];
  delete process.env.AWS_ACCESS_KEY_ID;
  delete process.env.AWS_SECRET_ACCESS_KEY;
  delete process.env.AWS_SESSION_TOKEN;
  Object.assign(process.env, {
    AWS_PROFILE: 'relay-dev',
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'),
    AWS_CONFIG_FILE: join(dir, 'config'),
  });
});

afterAll(async () => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await close();
});

test('without credentials in the environment, the SDK reads the secrets with the credentials of the profile', async () => {
  const handler = loadRelayHandler(githubRelayConfig);
  const result = await handler(signedBranchPush());
  expect(result.statusCode).toBe(200);
  expect(JSON.parse(result.body as string).patched).toEqual(['prod/flux-system/GitRepository/hello']);
  const signedWith = sm.requests.map((r) => /Credential=([A-Z]+)\//.exec(String(r.headers.authorization))?.[1]);
  expect(signedWith.length).toBeGreaterThanOrEqual(2);
  expect(new Set(signedWith)).toEqual(new Set(['AKIDPROFILEONLY']));
  // The SDK announces itself; the relay's own client does not send a user agent.
  expect(sm.requests.every((r) => String(r.headers['user-agent']).includes('aws-sdk-js'))).toBe(true);
});

test('with credentials in the environment (as on Lambda), the relay signs GetSecretValue itself: no SDK request', async () => {
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: 'AKIDENVIRONMENT',
    AWS_SECRET_ACCESS_KEY: 'environment-secret-key-example',
  });
  try {
    sm.requests.length = 0;
    const handler = loadRelayHandler(githubRelayConfig);
    const result = await handler(signedBranchPush());
    expect(result.statusCode).toBe(200);
    expect(sm.requests.length).toBeGreaterThanOrEqual(2);
    for (const r of sm.requests) {
      expect(String(r.headers.authorization)).toContain('Credential=AKIDENVIRONMENT/');
      expect(r.headers['user-agent']).toBeUndefined();
    }
  } finally {
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
  }
});
