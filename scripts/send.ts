/**
 * Sends a real, correctly signed sample webhook to a running relay (by default `npm start`'s), e.g.
 *
 *   npm run send -- github push
 *   npm run send -- gitlab push --url http://localhost:3000/hooks/gitlab
 *
 * The receiver and its secret come from the relay configuration (relay.local.yaml), read with the project's own
 * parser and SecretStore, so what is signed here is exactly what the relay will verify against.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import examples from '@octokit/webhooks-examples/api.github.com/index.json';
import { systemClock } from '../lib/time/clock';
import { loadConfig } from '../lib/config/load';
import type { ProviderName } from '../lib/config/schema';
import { minWebhookSecretBytes, SecretStore } from '../lib/secrets/store';
import { demoKubeconfigPath } from '../dev/demo-cluster';

const root = join(__dirname, '..');

interface Sample {
  headers: Record<string, string>;
  body: string;
}

type Example = { name: string; examples: Array<Record<string, unknown>> };
function githubExample(name: string, pick: (payload: Record<string, unknown>) => boolean): string {
  const payload = (examples as unknown as Example[]).find((e) => e.name === name)?.examples.find(pick);
  if (!payload) throw new Error(`@octokit/webhooks-examples has no matching ${name} example`);
  return JSON.stringify(payload);
}

/** Sample deliveries per provider and event: real payloads, and the headers the provider sends with them. */
const samples: Partial<Record<ProviderName, Record<string, (secret: string) => Sample>>> = {
  github: {
    // Codertocat/Hello-World pushing refs/heads/master (not a deletion).
    push: (secret) =>
      github(
        'push',
        githubExample('push', (p) => p.ref === 'refs/heads/master' && p.deleted === false),
        secret,
      ),
    ping: (secret) =>
      github(
        'ping',
        githubExample('ping', (p) => typeof p.zen === 'string' && typeof p.hook_id === 'number'),
        secret,
      ),
  },
  gitlab: {
    // Byte for byte from GitLab's webhook events documentation (see tests/fixtures/gitlab/SOURCE.md).
    push: (secret) => gitlab('Push Hook', readFileSync(join(root, 'tests/fixtures/gitlab/push.json'), 'utf8'), secret),
    'tag-push': (secret) =>
      gitlab('Tag Push Hook', readFileSync(join(root, 'tests/fixtures/gitlab/tag-push.json'), 'utf8'), secret),
  },
};

function github(event: string, body: string, secret: string): Sample {
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/relay-send',
      'x-github-event': event,
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
    },
  };
}

function gitlab(event: string, body: string, secret: string): Sample {
  const uuid = randomUUID();
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitLab/relay-send',
      'x-gitlab-event': event,
      'x-gitlab-token': secret,
      'x-gitlab-event-uuid': uuid,
      'idempotency-key': uuid,
    },
  };
}

function usage(problem?: string): never {
  const events = Object.entries(samples)
    .map(([provider, byEvent]) => `    ${provider.padEnd(7)} ${Object.keys(byEvent).join(', ')}`)
    .join('\n');
  console.error(
    `${problem ? `send: ${problem}\n\n` : ''}usage: npm run send -- <receiver> <event> [--url <url>] [--config <file>]\n\n` +
      `  receiver  a receiver of the configuration (relay.local.yaml: github, gitlab)\n` +
      `  event     a sample of the receiver's provider:\n${events}\n` +
      `  --url     where to POST (default http://localhost:3000/hooks/<receiver>, i.e. \`npm start\`)\n` +
      `  --config  relay configuration holding the receiver and its secret (default relay.local.yaml)\n\n` +
      `example: npm run send -- github push`,
  );
  process.exit(2);
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: { url: { type: 'string' }, config: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    usage((error as Error).message);
  }
  if (parsed.values.help) usage();
  const [receiverName, event, ...extra] = parsed.positionals;
  if (!receiverName || !event) usage('a receiver and an event are required');
  if (extra.length > 0) usage(`unexpected argument ${extra[0]}`);

  const configPath = parsed.values.config ?? 'relay.local.yaml';
  const config = loadConfig(configPath);
  const receiver = Object.hasOwn(config.receivers, receiverName) ? config.receivers[receiverName] : undefined;
  if (!receiver)
    usage(`${configPath} has no receiver ${receiverName}; it has ${Object.keys(config.receivers).join(', ')}`);
  const providerSamples = samples[receiver.provider] ?? {};
  const makeSample = Object.hasOwn(providerSamples, event) ? providerSamples[event] : undefined;
  if (!makeSample)
    usage(
      `no ${receiver.provider} sample for event ${event}; try ${Object.keys(providerSamples).join(', ') || 'another receiver'}`,
    );

  // The relay's own secret reading (env:/file: through the local backend, `#key` selection included).
  const secrets = new SecretStore({ clock: systemClock, ttlMs: 0 });
  const secret = (await secrets.current(receiver.secret)).value;
  // The relay would refuse it as a candidate and answer 401: say why here instead of sending a doomed delivery.
  if (Buffer.byteLength(secret, 'utf8') < minWebhookSecretBytes) {
    throw new Error(
      `the secret of receiver ${receiverName} (${receiver.secret.text}) is shorter than ${minWebhookSecretBytes} bytes; the relay refuses it`,
    );
  }
  const sample = makeSample(secret);

  const url = parsed.values.url ?? `http://localhost:3000/hooks/${encodeURIComponent(receiverName)}`;
  console.log(`POST ${url}  (${receiver.provider} ${event}, ${Buffer.byteLength(sample.body)} bytes)`);
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: sample.headers,
      body: sample.body,
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new Error(`no answer from ${url} (${cause}); is the relay running (npm start)?`, { cause: error });
  }
  const text = await response.text();
  let answer: string;
  try {
    answer = JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    answer = text;
  }
  console.log(`${response.status} ${response.statusText}`);
  console.log(answer);
  if (!parsed.values.config && existsSync(demoKubeconfigPath)) {
    console.log(
      '\n(npm start is serving against its embedded DEMO cluster, not a real one: see what changed with `npm run demo -- get gitrepositories`)',
    );
  }
  process.exitCode = response.ok ? 0 : 1;
}

main().catch((error: unknown) => {
  console.error(`send: ${(error as Error).message}`);
  process.exit(1);
});
