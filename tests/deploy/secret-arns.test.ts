import { parseConfig } from '../../lib/config/load';
import { logRetentionDays } from '../../infra/serverless/log-retention.cjs';
import { webhookUrlOutputs } from '../../infra/serverless/outputs.cjs';
import { cliCommand, relayContext } from '../../infra/serverless/relay-config.cjs';
import { secretArnResources } from '../../infra/serverless/secret-arns.cjs';

const sub = (name: string) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${name}-??????` });
const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:staging-kubeconfig-AbCdEf';

const deployable = parseConfig(
  `
clusters:
  prod: { kubeconfig: aws-sm:flux-relay/prod-kubeconfig }
  staging: { kubeconfig: "${arn}#kubeconfig" }
receivers:
  github: { provider: github, secret: "flux-relay/webhooks#github" }
  gitlab-main: { provider: gitlab, secret: "aws-sm:flux-relay/webhooks#gitlab" }
`,
  'deployable.yaml',
);

const localOnly = parseConfig(
  `
clusters:
  local: { kubeconfig: "file:~/.kube/config" }
  prod: { kubeconfig: aws-sm:flux-relay/prod-kubeconfig }
receivers:
  github: { provider: github, secret: "env:GITHUB_WEBHOOK_SECRET" }
`,
  'local.yaml',
);

describe('secretArnResources', () => {
  test('names become -?????? ARNs in the stack account and region, full ARNs stay, #key is dropped, duplicates merge', () => {
    expect(secretArnResources(deployable)).toEqual([sub('flux-relay/prod-kubeconfig'), arn, sub('flux-relay/webhooks')]);
  });

  test('no resource contains a *', () => {
    expect(JSON.stringify(secretArnResources(deployable))).not.toContain('*');
  });

  test('env: and file: references are refused for a deploy, each named by its field', () => {
    expect(() => secretArnResources(localOnly)).toThrow(/clusters\.local\.kubeconfig: file:~\/\.kube\/config is a local-only secret reference/);
    expect(() => secretArnResources(localOnly)).toThrow(/receivers\.github\.secret: env:GITHUB_WEBHOOK_SECRET is a local-only/);
  });

  test('offline (local) they are allowed and get no grant', () => {
    expect(secretArnResources(localOnly, { local: true })).toEqual([sub('flux-relay/prod-kubeconfig')]);
  });

  test.each([
    ['a name with a character Secrets Manager does not allow', 'aws-sm:flux relay', 'is not a valid Secrets Manager secret name'],
    ['a wildcard name', 'aws-sm:flux-relay/*', 'is not a valid Secrets Manager secret name'],
    ['an ARN of another service', 'arn:aws:ssm:eu-west-1:123456789012:parameter/x', 'is not a Secrets Manager secret ARN'],
    ['a wildcard ARN', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:*', 'is not a Secrets Manager secret ARN'],
  ])('%s is refused', (_what, ref, message) => {
    const config = parseConfig(`clusters: { c: { kubeconfig: "${ref}" } }\nreceivers: { r: { provider: github, secret: s } }\n`, 'x.yaml');
    expect(() => secretArnResources(config)).toThrow(`clusters.c.kubeconfig: `);
    expect(() => secretArnResources(config)).toThrow(message);
  });
});

test('webhookUrlOutputs: one output per receiver, built on the HTTP API endpoint', () => {
  expect(webhookUrlOutputs(deployable)).toEqual({
    WebhookUrlGithub: { Description: 'Webhook URL of receiver github (github)', Value: { 'Fn::Sub': '${HttpApi.ApiEndpoint}/hooks/github' } },
    WebhookUrlGitlabMain: {
      Description: 'Webhook URL of receiver gitlab-main (gitlab)',
      Value: { 'Fn::Sub': '${HttpApi.ApiEndpoint}/hooks/gitlab-main' },
    },
  });
});

test('webhookUrlOutputs refuses receiver names that collide as output ids', () => {
  const config = parseConfig('clusters: { c: { kubeconfig: k } }\nreceivers:\n  a-1: { provider: github, secret: s }\n  a1: { provider: github, secret: s }\n', 'x.yaml');
  expect(() => webhookUrlOutputs(config)).toThrow('receivers a-1 and a1 would share the stack output WebhookUrlA1');
});

test('logRetentionDays: CLI strings are coerced, unsupported values refused', () => {
  expect(logRetentionDays(undefined)).toBe(30);
  expect(logRetentionDays('14')).toBe(14);
  expect(() => logRetentionDays('13')).toThrow('logRetentionDays=13 is not a CloudWatch Logs retention');
});

describe('relayContext (what serverless.yml resolves)', () => {
  const resolver = (relay: Record<string, unknown>) => ({
    resolveConfigurationProperty: async (path: string[]) => (path.join('.') === 'custom.relay' ? relay : undefined),
  });

  test('the osls command is every word before the first option', () => {
    expect(cliCommand(['offline', 'start', '--param', 'local=true'])).toBe('offline start');
    expect(cliCommand(['package', '--package', 'x'])).toBe('package');
  });

  test('offline with local=true accepts the checked-in relay.local.yaml, through the project parser', async () => {
    const context = await relayContext(resolver({ config: 'relay.local.yaml', local: 'true' }), { argv: ['offline', 'start'], parse: parseConfig });
    expect(context.local).toBe(true);
    expect(Object.keys(context.config.receivers)).toEqual(['github', 'gitlab']);
  });

  test('without local=true the same file is refused, naming each local-only reference', async () => {
    await expect(relayContext(resolver({ config: 'relay.local.yaml', local: 'false' }), { argv: ['offline', 'start'], parse: parseConfig })).rejects.toThrow(
      'receivers.gitlab.secret: file:local/gitlab-token is a local-only secret reference',
    );
  });

  test('local=true is refused for package and deploy', async () => {
    for (const command of ['package', 'deploy']) {
      await expect(relayContext(resolver({ config: 'relay.local.yaml', local: 'true' }), { argv: [command], parse: parseConfig })).rejects.toThrow(
        `--param local=true is only for \`osls offline\``,
      );
    }
  });

  test('an invalid configuration fails with the parser message naming the field', async () => {
    await expect(relayContext(resolver({ config: 'package.json' }), { argv: ['print'], parse: parseConfig })).rejects.toThrow(/package\.json is invalid:\n {2}clusters:/);
  });
});
