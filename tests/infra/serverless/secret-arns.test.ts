import { parseConfig } from '../../../lib/config/load';
import { logRetentionDays } from '../../../infra/serverless/log-retention.cjs';
import { stackOutputs, webhookUrlOutputs } from '../../../infra/serverless/outputs.cjs';
import { cliCommand, relayContext, syncDeployed } from '../../../infra/serverless/relay-config.cjs';
import { functionRoles } from '../../../infra/serverless/roles.cjs';
import { functionSecretResources, secretArnResources } from '../../../infra/serverless/secret-arns.cjs';
import { syncSchedule } from '../../../infra/serverless/sync.cjs';

const sub = (name: string) => ({
  'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${name}-??????`,
});
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
    expect(secretArnResources(deployable)).toEqual([
      sub('flux-relay/prod-kubeconfig'),
      arn,
      sub('flux-relay/webhooks'),
    ]);
  });

  test('no resource contains a *', () => {
    expect(JSON.stringify(secretArnResources(deployable))).not.toContain('*');
  });

  test('env: and file: references are refused for a deploy, each named by its field', () => {
    expect(() => secretArnResources(localOnly)).toThrow(
      /clusters\.local\.kubeconfig: file:~\/\.kube\/config is a local-only secret reference/,
    );
    expect(() => secretArnResources(localOnly)).toThrow(
      /receivers\.github\.secret: env:GITHUB_WEBHOOK_SECRET is a local-only/,
    );
  });

  test('offline (local) they are allowed and get no grant', () => {
    expect(secretArnResources(localOnly, { local: true })).toEqual([sub('flux-relay/prod-kubeconfig')]);
  });

  test.each([
    [
      'a name with a character Secrets Manager does not allow',
      'aws-sm:flux relay',
      'is not a valid Secrets Manager secret name',
    ],
    ['a wildcard name', 'aws-sm:flux-relay/*', 'is not a valid Secrets Manager secret name'],
    [
      'an ARN of another service',
      'arn:aws:ssm:eu-west-1:123456789012:parameter/x',
      'is not a Secrets Manager secret ARN',
    ],
    ['a wildcard ARN', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:*', 'is not a Secrets Manager secret ARN'],
  ])('%s is refused', (_what, ref, message) => {
    const config = parseConfig(
      `clusters: { c: { kubeconfig: "${ref}" } }\nreceivers: { r: { provider: github, secret: s } }\n`,
      'x.yaml',
    );
    expect(() => secretArnResources(config)).toThrow(`clusters.c.kubeconfig: `);
    expect(() => secretArnResources(config)).toThrow(message);
  });
});

describe('per function', () => {
  // Three clusters; the sync discovers through github (clusters a, b) only: gitlab's registration uses organizations,
  // and receiver unused has no registration.
  const withSync = parseConfig(
    `
clusters:
  a: { kubeconfig: aws-sm:kube/a }
  b: { kubeconfig: "${arn}#kubeconfig" }
  c: { kubeconfig: aws-sm:kube/c }
receivers:
  github: { provider: github, secret: "hooks#github", clusters: [a, b] }
  gitlab: { provider: gitlab, secret: "hooks#gitlab" }
  unused: { provider: gitlab, secret: aws-sm:hooks-unused }
sync:
  schedule: rate(5 minutes)
  registrations:
    gh: { provider: github, token: aws-sm:tokens/github, receiver: github }
    gl: { provider: gitlab, token: "tokens#gitlab", receiver: gitlab, organizations: [platform] }
`,
    'sync.yaml',
  );

  test('the relay reads every kubeconfig and receiver secret, never a token', () => {
    expect(functionSecretResources(withSync).relay).toEqual([
      sub('kube/a'),
      arn,
      sub('kube/c'),
      sub('hooks'),
      sub('hooks-unused'),
    ]);
  });

  test('the retry function reads the kubeconfigs only', () => {
    expect(functionSecretResources(withSync).retry).toEqual([sub('kube/a'), arn, sub('kube/c')]);
  });

  test("the sync reads the kubeconfigs it discovers on, its receivers' secrets and its tokens", () => {
    expect(functionSecretResources(withSync).sync).toEqual([
      sub('kube/a'),
      arn,
      sub('hooks'),
      sub('tokens/github'),
      sub('tokens'),
    ]);
  });

  test('without registrations the sync is not deployed: no secrets, no role, no schedule, no output', () => {
    for (const config of [
      deployable,
      parseConfig(
        'clusters: { c: { kubeconfig: k } }\nreceivers: { r: { provider: github, secret: s } }\nsync: { registrations: {} }\n',
        'x.yaml',
      ),
    ]) {
      expect(syncDeployed(config)).toBe(false);
      expect(functionSecretResources(config).sync).toEqual([]);
      expect(Object.keys(functionRoles(config))).toEqual(['RelayRole', 'RetryRole']);
      expect(syncSchedule(config)).toBeNull();
      expect(stackOutputs(config)).not.toHaveProperty('SyncFunctionName');
    }
  });

  test('with registrations: two roles, the schedule from the configuration, the function name output', () => {
    expect(Object.keys(functionRoles(withSync))).toEqual(['RelayRole', 'RetryRole', 'SyncRole']);
    expect(JSON.stringify(functionRoles(withSync))).not.toMatch(/secret:[^"]*\*/);
    expect(syncSchedule(withSync)).toBe('rate(5 minutes)');
    expect(stackOutputs(withSync).SyncFunctionName?.Value).toEqual({ Ref: 'SyncLambdaFunction' });
  });

  test('a schedule the configuration accepts but EventBridge (and osls) would not is refused, naming sync.schedule', () => {
    const config = parseConfig(
      'clusters: { c: { kubeconfig: k } }\nreceivers: { r: { provider: github, secret: s } }\nsync:\n  schedule: rate(1 minutes)\n  registrations: { g: { provider: github, token: t, receiver: r } }\n',
      'x.yaml',
    );
    expect(() => syncSchedule(config)).toThrow(
      'sync.schedule: "rate(1 minutes)" is not an EventBridge schedule expression',
    );
  });

  test("a GitHub App registration: the sync reads the app's private key, the relay never; a local-only key is refused by its field", () => {
    const config = parseConfig(
      `
clusters: { c: { kubeconfig: aws-sm:kube/c } }
receivers: { r: { provider: github, secret: aws-sm:hooks/r } }
sync:
  registrations:
    g: { provider: github, app: { appId: 1, privateKey: "aws-sm:apps/relay#pem" }, receiver: r }
`,
      'app.yaml',
    );
    expect(functionSecretResources(config).sync).toEqual([sub('kube/c'), sub('hooks/r'), sub('apps/relay')]);
    expect(functionSecretResources(config).relay).toEqual([sub('kube/c'), sub('hooks/r')]);
    const local = parseConfig(
      'clusters: { c: { kubeconfig: aws-sm:k } }\nreceivers: { r: { provider: github, secret: aws-sm:s } }\nsync:\n  registrations: { g: { provider: github, app: { appId: 1, privateKey: "file:app.pem" }, receiver: r } }\n',
      'x.yaml',
    );
    expect(() => functionSecretResources(local)).toThrow(
      'sync.registrations.g.app.privateKey: file:app.pem is a local-only secret reference',
    );
  });

  test('a local-only token is refused for a deploy; offline it gets no grant, and a role without secrets has no secret statement', () => {
    const config = parseConfig(
      'clusters: { c: { kubeconfig: "file:k" } }\nreceivers: { r: { provider: github, secret: "env:S" } }\nsync:\n  registrations: { g: { provider: github, token: "env:T", receiver: r } }\n',
      'x.yaml',
    );
    expect(() => functionSecretResources(config)).toThrow(
      'sync.registrations.g.token: env:T is a local-only secret reference',
    );
    const roles = functionRoles(config, { local: true });
    for (const role of Object.values(roles)) {
      // Logs, and the retry queues' SQS actions (relay and retry): no secret statement at all.
      const statements = role.Properties.Policies[0]!.PolicyDocument.Statement;
      expect(statements[0]!.Action).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
      expect(
        statements
          .slice(1)
          .flatMap((s) => [s.Action].flat())
          .every((a) => a.startsWith('sqs:')),
      ).toBe(true);
    }
  });
});

test('webhookUrlOutputs: one output per receiver, built on the HTTP API endpoint', () => {
  expect(webhookUrlOutputs(deployable)).toEqual({
    WebhookUrlGithub: {
      Description: 'Webhook URL of receiver github (github)',
      Value: { 'Fn::Sub': '${HttpApi.ApiEndpoint}/hooks/github' },
    },
    WebhookUrlGitlabMain: {
      Description: 'Webhook URL of receiver gitlab-main (gitlab)',
      Value: { 'Fn::Sub': '${HttpApi.ApiEndpoint}/hooks/gitlab-main' },
    },
  });
});

test('webhookUrlOutputs refuses receiver names that collide as output ids', () => {
  const config = parseConfig(
    'clusters: { c: { kubeconfig: k } }\nreceivers:\n  a-1: { provider: github, secret: s }\n  a1: { provider: github, secret: s }\n',
    'x.yaml',
  );
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
    const context = await relayContext(resolver({ config: 'relay.local.yaml', local: 'true' }), {
      argv: ['offline', 'start'],
      parse: parseConfig,
    });
    expect(context.local).toBe(true);
    expect(Object.keys(context.config.receivers)).toEqual(['github', 'gitlab']);
  });

  test('without local=true the same file is refused, naming each local-only reference', async () => {
    await expect(
      relayContext(resolver({ config: 'relay.local.yaml', local: 'false' }), {
        argv: ['offline', 'start'],
        parse: parseConfig,
      }),
    ).rejects.toThrow('receivers.gitlab.secret: file:local/gitlab-token is a local-only secret reference');
  });

  test('local=true is refused for package and deploy', async () => {
    for (const command of ['package', 'deploy']) {
      await expect(
        relayContext(resolver({ config: 'relay.local.yaml', local: 'true' }), { argv: [command], parse: parseConfig }),
      ).rejects.toThrow(`--param local=true is only for \`osls offline\``);
    }
  });

  test('an invalid configuration fails with the parser message naming the field', async () => {
    await expect(
      relayContext(resolver({ config: 'package.json' }), { argv: ['print'], parse: parseConfig }),
    ).rejects.toThrow(/package\.json is invalid:\n {2}clusters:/);
  });
});
