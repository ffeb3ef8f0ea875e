import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTool } from '../support/run-tool';

test('npm run send refuses to sign with a webhook secret the relay would refuse (under 16 bytes), naming the reference', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'relay-send-'));
  const config = join(dir, 'relay.yaml');
  writeFileSync(
    config,
    'clusters:\n  local: { kubeconfig: "file:~/.kube/config" }\nreceivers:\n  github: { provider: github, secret: "env:RELAY_SEND_TEST_SECRET" }\n',
  );
  // Nothing listens there: without the check, send would report that no relay answered instead.
  const run = await runTool(
    'tsx',
    ['scripts/send.ts', 'github', 'push', '--config', config, '--url', 'http://127.0.0.1:9/hooks/github'],
    { env: { RELAY_SEND_TEST_SECRET: 'too-short' } },
  );
  expect(run.status).toBe(1);
  expect(run.output).toContain(
    'send: the secret of receiver github (env:RELAY_SEND_TEST_SECRET) is shorter than 16 bytes; the relay refuses it',
  );
  expect(run.output).not.toContain('POST');
});
