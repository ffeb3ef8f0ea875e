/**
 * Builds the bundle and runs `osls package` exactly as CI does (example configuration, no AWS credentials, no
 * network), then checks the CloudFormation it generates. Note: this rewrites dist/ with the example configuration.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../../lib/config/load';
import type { RelayConfig } from '../../../lib/config/schema';
import type { DeliverySummary } from '../../../lib/observability/delivery-log';
import { deliveryMetrics, metricsNamespace, syncMetrics } from '../../../lib/observability/metrics';
import type { SyncReport } from '../../../lib/sync/run';
import { root, runTool, type ToolRun } from '../../support/run-tool';
import { zipEntries, type Json, type Resource, type Statement, type Template } from '../../support/scratch-service';

const exampleConfig = 'relay.config.example.yaml';

type Run = ToolRun;

/** No AWS credentials at all, as on CI (tests/support/run-tool.ts). */
function run(command: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return runTool(command, args, { env });
}

function osls(...args: string[]): Promise<Run> {
  return run('osls', args);
}

type SecretRef = RelayConfig['receivers'][string]['secret'];
let template: Template;
/** Packaged with every deploy param set (paramArgs): VPC, alarm topic, throttle, rejection threshold. */
let paramTemplate: Template;
let packageDir: string;
const topicArn = 'arn:aws:sns:eu-west-1:123456789012:relay-alarms';
const operatorRole = 'arn:aws:iam::123456789012:role/ops/relay-operator';
const paramArgs = [
  ['vpcSubnetIds', 'subnet-1,subnet-2'],
  ['vpcSecurityGroupIds', 'sg-1'],
  ['alarmTopicArn', topicArn],
  ['throttleBurst', '100'],
  ['throttleRate', '12.5'],
  ['signatureRejectionThreshold', '5'],
  ['retryQueueSenders', operatorRole],
].flatMap(([name, value]) => ['--param', `${name}=${value}`]);
/** Packaged with the params of issue 17's organisation deploy: customer-managed KMS keys, a custom domain with its zone, a cap on relay containers. */
let orgTemplate: Template;
const kmsKeys = [
  'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  'arn:aws:kms:eu-west-1:123456789012:key/mrk-0123456789abcdef0123456789abcdef',
];
const certificateArn = 'arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012';
const orgArgs = [
  ['secretsKmsKeyArns', kmsKeys.join(',')],
  ['domainName', 'hooks.example.com'],
  ['certificateArn', certificateArn],
  ['hostedZoneId', 'Z0123456789ABCDEFGHIJ'],
  ['relayReservedConcurrency', '10'],
].flatMap(([name, value]) => ['--param', `${name}=${value}`]);
const scratch = () => mkdtempSync(join(tmpdir(), 'relay-deploy-'));
const fileRefConfig = join(scratch(), 'relay.yaml');
const otherConfig = join(scratch(), 'other.yaml');
let refused: { fileRefs: Run; localSwitch: Run; otherConfig: Run };
let printed: Run;
let printedWithoutSync: Run;

const config = parseConfig(readFileSync(join(root, exampleConfig), 'utf8'), exampleConfig);
const ofType = (type: string, from: Template = template) =>
  Object.entries(from.Resources).filter(([, r]) => r.Type === type);
const actions = (s: Statement) => [s.Action].flat();
const statementsOf = (role: Resource): Statement[] =>
  role.Properties.Policies.flatMap((p: { PolicyDocument: { Statement: Statement[] } }) => p.PolicyDocument.Statement);
const isSecretStatement = (s: Statement) => actions(s).some((a) => a.startsWith('secretsmanager:'));
const isSqsStatement = (s: Statement) => actions(s).some((a) => a.startsWith('sqs:'));
const isKmsStatement = (s: Statement) => actions(s).some((a) => a.startsWith('kms:'));
const isEksStatement = (s: Statement) => actions(s).some((a) => a === 'eks:DescribeCluster' || a === 'sts:AssumeRole');

/**
 * The statement a VPC function's role needs for Lambda to manage its network interfaces: the actions the Lambda
 * developer guide lists for VPC access, on `*` by AWS's design (infra/serverless/vpc.cjs says why).
 */
const eniStatement: Statement = {
  Effect: 'Allow',
  Action: [
    'ec2:CreateNetworkInterface',
    'ec2:DescribeNetworkInterfaces',
    'ec2:DescribeSubnets',
    'ec2:DeleteNetworkInterface',
    'ec2:AssignPrivateIpAddresses',
    'ec2:UnassignPrivateIpAddresses',
  ],
  Resource: '*',
};

/** The oracle for a role's secret Resources, written out independently of secret-arns.cjs: ARNs as written, names as -??????. */
function expectedResources(refs: SecretRef[]): unknown[] {
  const values = refs.map((ref) =>
    ref.id.startsWith('arn:')
      ? ref.id
      : {
          'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${ref.id}-??????`,
        },
  );
  return [...new Map(values.map((value) => [JSON.stringify(value), value] as const)).values()];
}

// One build, then every osls run at once (each takes ~2-4 s, mostly start-up), except that the two packages that
// succeed run one after the other.
beforeAll(async () => {
  const build = await run('tsx', ['scripts/build.mjs'], { RELAY_CONFIG: exampleConfig });
  if (build.status !== 0) throw new Error(`build failed:\n${build.output}`);
  packageDir = scratch();
  writeFileSync(
    fileRefConfig,
    'clusters:\n  local: { kubeconfig: "file:~/.kube/config" }\nreceivers:\n  github: { provider: github, secret: env:SECRET }\n',
  );
  writeFileSync(
    otherConfig,
    'clusters:\n  prod: { kubeconfig: aws-sm:k }\nreceivers:\n  github: { provider: github, secret: aws-sm:s }\n',
  );
  const paramDir = scratch();
  const orgDir = scratch();
  let packaged: Run;
  let packagedWithParams: Run;
  let packagedForOrg: Run;
  [[packaged, packagedWithParams, packagedForOrg], refused, printed, printedWithoutSync] = await Promise.all([
    // One package at a time: osls builds in ./.serverless whatever --package says, and moves the result there after.
    osls('package', '--param', `config=${exampleConfig}`, '--package', packageDir).then(
      async (first): Promise<[Run, Run, Run]> => [
        first,
        await osls('package', '--param', `config=${exampleConfig}`, ...paramArgs, '--package', paramDir),
        await osls('package', '--param', `config=${exampleConfig}`, ...orgArgs, '--package', orgDir),
      ],
    ),
    Promise.all([
      osls('package', '--param', `config=${fileRefConfig}`, '--package', join(scratch(), 'out')),
      osls(
        'package',
        '--param',
        'config=relay.local.yaml',
        '--param',
        'local=true',
        '--package',
        join(scratch(), 'out'),
      ),
      osls('package', '--param', `config=${otherConfig}`, '--package', join(scratch(), 'out')),
    ]).then(([fileRefs, localSwitch, other]) => ({ fileRefs, localSwitch, otherConfig: other })),
    osls(
      'print',
      '--param',
      `config=${exampleConfig}`,
      '--param',
      'logRetentionDays=14',
      '--path',
      'provider.logRetentionInDays',
    ),
    // print checks no bundle, so a configuration other than the built one can show what it would deploy.
    osls('print', '--param', `config=${otherConfig}`, '--format', 'json'),
  ]);
  if (packaged.status !== 0) throw new Error(`osls package failed:\n${packaged.output}`);
  if (packagedWithParams.status !== 0)
    throw new Error(`osls package with params failed:\n${packagedWithParams.output}`);
  if (packagedForOrg.status !== 0)
    throw new Error(`osls package with the organisation params failed:\n${packagedForOrg.output}`);
  template = JSON.parse(readFileSync(join(packageDir, 'cloudformation-template-update-stack.json'), 'utf8'));
  paramTemplate = JSON.parse(readFileSync(join(paramDir, 'cloudformation-template-update-stack.json'), 'utf8'));
  orgTemplate = JSON.parse(readFileSync(join(orgDir, 'cloudformation-template-update-stack.json'), 'utf8'));
}, 120_000);

test.each(['relay', 'sync', 'retry'])(
  'the %s artifact holds only its bundle, its lazily loaded chunks, source maps and the configuration',
  (fn) => {
    // The retry function reads the relay's copy of the configuration (serverless.yml: RELAY_CONFIG), packaged with it.
    const configFile = fn === 'retry' ? 'dist/relay/relay.config.json' : `dist/${fn}/relay.config.json`;
    // dedupe.js, sqs.js, secrets-manager-sdk.js: code a cold start need not parse (scripts/build.mjs, lazyChunks).
    const code = ['index.js', 'dedupe.js', 'sqs.js', 'secrets-manager-sdk.js'].flatMap((file) => [
      `dist/${fn}/${file}`,
      `dist/${fn}/${file}.map`,
    ]);
    expect(zipEntries(join(packageDir, `${fn}.zip`))).toEqual([configFile, ...code].sort());
    expect(
      readFileSync(join(packageDir, `${fn}.zip`)).includes(readFileSync(join(root, 'local', 'github-webhook-secret'))),
    ).toBe(false);
  },
);

test('two HTTP API routes, ANY /hooks/{receiver} and the path-token route ANY /hooks/{receiver}/{token}, to the relay with payload format 2.0', () => {
  const routes = ofType('AWS::ApiGatewayV2::Route');
  expect(routes.map(([, r]) => r.Properties.RouteKey).sort()).toEqual([
    'ANY /hooks/{receiver}',
    'ANY /hooks/{receiver}/{token}',
  ]);
  const [[integrationId, integration]] = ofType('AWS::ApiGatewayV2::Integration') as [[string, Resource]];
  for (const [, route] of routes)
    expect(route.Properties.Target).toEqual({ 'Fn::Join': ['/', ['integrations', { Ref: integrationId }]] });
  expect(integration.Properties).toMatchObject({
    IntegrationType: 'AWS_PROXY',
    PayloadFormatVersion: '2.0',
    IntegrationUri: { 'Fn::GetAtt': ['RelayLambdaFunction', 'Arn'] },
  });
});

test('the function: prebuilt handler, nodejs22.x on arm64, 512 MB, 10 s, its environment', () => {
  expect(template.Resources.RelayLambdaFunction?.Properties).toMatchObject({
    Handler: 'dist/relay/index.handler',
    Runtime: 'nodejs22.x',
    Architectures: ['arm64'],
    MemorySize: 512,
    Timeout: 10,
    // No NODE_OPTIONS=--enable-source-maps: it costs ~110 ms per cold start (serverless.yml says how to enable it).
  });
  expect(template.Resources.RelayLambdaFunction?.Properties.Environment.Variables).toEqual({
    RELAY_CONFIG: 'dist/relay/relay.config.json',
    POWERTOOLS_SERVICE_NAME: 'flux-webhook-relay',
    POWERTOOLS_METRICS_NAMESPACE: metricsNamespace,
    RELAY_RETRY_QUEUE_URL: { Ref: 'RetryQueue' },
  });
});

test('the sync function: prebuilt handler, nodejs22.x on arm64, 512 MB, 300 s, the HTTP API URL in its environment', () => {
  expect(template.Resources.SyncLambdaFunction?.Properties).toMatchObject({
    Handler: 'dist/sync/index.handler',
    Runtime: 'nodejs22.x',
    Architectures: ['arm64'],
    MemorySize: 512,
    Timeout: 300,
  });
  expect(template.Resources.SyncLambdaFunction?.Properties.Environment.Variables).toEqual({
    RELAY_CONFIG: 'dist/sync/relay.config.json',
    RELAY_PUBLIC_URL: { 'Fn::GetAtt': ['HttpApi', 'ApiEndpoint'] },
    POWERTOOLS_SERVICE_NAME: 'flux-webhook-relay-sync',
    RELAY_SYNC_STATE_TABLE: { Ref: 'SyncStateTable' },
    POWERTOOLS_METRICS_NAMESPACE: metricsNamespace,
  });
  expect(template.Resources.HttpApi?.Type).toBe('AWS::ApiGatewayV2::Api');
  expect(
    ofType('AWS::Lambda::Function')
      .map(([id]) => id)
      .sort(),
  ).toEqual(['RelayLambdaFunction', 'RetryLambdaFunction', 'SyncLambdaFunction']);
});

test("one EventBridge rule runs the sync at the configuration's sync.schedule", () => {
  expect(config.sync?.schedule).toMatch(/^rate\(/);
  const rules = ofType('AWS::Events::Rule');
  expect(rules).toHaveLength(1);
  const [[ruleId, rule]] = rules as [[string, Resource]];
  expect(rule.Properties).toMatchObject({ ScheduleExpression: config.sync?.schedule, State: 'ENABLED' });
  expect(rule.Properties.Targets).toEqual([
    expect.objectContaining({ Arn: { 'Fn::GetAtt': ['SyncLambdaFunction', 'Arn'] } }),
  ]);
  const permissions = ofType('AWS::Lambda::Permission').filter(
    ([, p]) => p.Properties.Principal === 'events.amazonaws.com',
  );
  expect(permissions.map(([, p]) => p.Properties)).toEqual([
    expect.objectContaining({
      FunctionName: { 'Fn::GetAtt': ['SyncLambdaFunction', 'Arn'] },
      SourceArn: { 'Fn::GetAtt': [ruleId, 'Arn'] },
    }),
  ]);
});

test('each function has its log group, keeping logs 30 days by default', () => {
  for (const from of [template, paramTemplate]) {
    expect(Object.fromEntries(ofType('AWS::Logs::LogGroup', from).map(([id, r]) => [id, r.Properties]))).toEqual({
      RelayLogGroup: { LogGroupName: '/aws/lambda/flux-webhook-relay-dev-relay', RetentionInDays: 30 },
      RetryLogGroup: { LogGroupName: '/aws/lambda/flux-webhook-relay-dev-retry', RetentionInDays: 30 },
      SyncLogGroup: { LogGroupName: '/aws/lambda/flux-webhook-relay-dev-sync', RetentionInDays: 30 },
    });
  }
});

describe('IAM: one role per function', () => {
  const roleOf = (fn: string) => template.Resources[`${fn.charAt(0).toUpperCase()}${fn.slice(1)}Role`]!;
  const secretResources = (fn: string) => {
    const secrets = statementsOf(roleOf(fn)).filter(isSecretStatement);
    expect(secrets).toHaveLength(1);
    expect(secrets[0]).toMatchObject({ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue' });
    return secrets[0]!.Resource;
  };
  // EKS clusters have no kubeconfig: nothing of them is in Secrets Manager.
  const kubeconfigs = (names: string[]) => names.flatMap((name) => config.clusters[name]!.kubeconfig ?? []);

  test('two roles, no shared osls role, each assumable by Lambda only, each function on its own', () => {
    expect(
      ofType('AWS::IAM::Role')
        .map(([id]) => id)
        .sort(),
    ).toEqual(['RelayRole', 'RetryRole', 'SyncRole']);
    for (const fn of ['relay', 'retry', 'sync']) {
      expect(roleOf(fn).Properties.AssumeRolePolicyDocument).toEqual({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      });
      const id = `${fn.charAt(0).toUpperCase()}${fn.slice(1)}`;
      expect(template.Resources[`${id}LambdaFunction`]?.Properties.Role).toEqual({
        'Fn::GetAtt': [`${id}Role`, 'Arn'],
      });
    }
  });

  test("the relay's secrets: exactly the clusters' kubeconfigs and the receivers' secrets", () => {
    const resources = secretResources('relay');
    expect(resources).toEqual(
      expectedResources([
        ...kubeconfigs(Object.keys(config.clusters)),
        ...Object.values(config.receivers).map((r) => r.secret),
      ]),
    );
    // Both forms are exercised by the example: a full ARN kept as written, names as -?????? patterns.
    expect(resources).toContain('arn:aws:secretsmanager:eu-west-1:123456789012:secret:flux-relay/staging-AbCdEf');
    expect(resources).toContainEqual({
      'Fn::Sub':
        'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:flux-relay/prod-kubeconfig-??????',
    });
    // The sync's API tokens are not the relay's business.
    expect(JSON.stringify(resources)).not.toContain('sync-token');
  });

  test("the sync's secrets: kubeconfigs it discovers on, the receivers its registrations use, their tokens", () => {
    const registrations = Object.values(config.sync!.registrations);
    const discoveredOn = new Set(
      registrations
        .filter((r) => r.discover && !r.organizations)
        .flatMap((r) => config.receivers[r.receiver]!.clusters ?? Object.keys(config.clusters)),
    );
    const used = new Set(registrations.map((r) => r.receiver));
    const resources = secretResources('sync');
    expect(resources).toEqual(
      expectedResources([
        ...kubeconfigs(Object.keys(config.clusters).filter((c) => discoveredOn.has(c))),
        ...Object.entries(config.receivers)
          .filter(([name]) => used.has(name))
          .map(([, r]) => r.secret),
        ...registrations.map((r) => r.token ?? r.app!.privateKey),
      ]),
    );
    expect(resources).toContainEqual({
      'Fn::Sub':
        'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:flux-relay/github-sync-token-??????',
    });
  });

  test('no secret Resource contains a *; nothing but logs, GetSecretValue, the EKS statements, with CMKs kms:Decrypt and, in a VPC, the ENI statement is allowed', () => {
    for (const from of [template, paramTemplate, orgTemplate]) {
      for (const [, role] of ofType('AWS::IAM::Role', from)) {
        for (const statement of statementsOf(role)) {
          expect(statement.Effect).toBe('Allow');
          if (isSecretStatement(statement)) expect(JSON.stringify(statement.Resource)).not.toContain('*');
          else if (isKmsStatement(statement)) expect(statement.Resource).toEqual(kmsKeys);
          else if (actions(statement).some((a) => a.startsWith('ec2:'))) expect(statement).toEqual(eniStatement);
          else if (isSqsStatement(statement))
            expect(statement.Resource).toEqual({
              'Fn::GetAtt': [expect.stringMatching(/^Retry(DeadLetter)?Queue$/), 'Arn'],
            });
          else if (isEksStatement(statement)) expect(JSON.stringify(statement.Resource)).not.toMatch(/[*?]/);
          else expect(actions(statement).every((a) => a.startsWith('logs:'))).toBe(true);
          // The ENI statement is the only one whose Resource is `*` (the logs statement's `:*` is the group's streams).
          if (!actions(statement).some((a) => a.startsWith('ec2:')))
            expect([statement.Resource].flat()).not.toContain('*');
        }
      }
    }
  });

  test("each role writes only to its own function's log group", () => {
    for (const fn of ['relay', 'retry', 'sync']) {
      const logGroup = `${fn.charAt(0).toUpperCase()}${fn.slice(1)}LogGroup`;
      const logs = statementsOf(roleOf(fn)).filter(
        (s) => !isSecretStatement(s) && !isSqsStatement(s) && !isEksStatement(s),
      );
      expect(logs).toEqual([
        {
          Effect: 'Allow',
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: {
            'Fn::Sub': `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:\${${logGroup}}:*`,
          },
        },
      ]);
      // Ref of the log group is its name: the function's own.
      expect(template.Resources[logGroup]?.Properties.LogGroupName).toBe(`/aws/lambda/flux-webhook-relay-dev-${fn}`);
    }
  });
});

/**
 * A template as text with what changes on every package masked: the artifacts' S3 keys (a timestamp), the code hashes
 * and the Lambda version ids derived from them (any change to lib/ changes those). Keys sorted: osls compiles the
 * functions concurrently, so their order varies.
 */
function normalized(from: unknown): string {
  const sorted = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(sorted)
      : value !== null && typeof value === 'object'
        ? Object.fromEntries(
            Object.keys(value)
              .sort()
              .map((key) => [key, sorted((value as Record<string, unknown>)[key])]),
          )
        : value;
  return JSON.stringify(sorted(from), null, 1)
    .replace(/"S3Key": "[^"]*"/g, '"S3Key": "<artifact>"')
    .replace(/"CodeSha256": "[^"]*"/g, '"CodeSha256": "<code hash>"')
    .replace(/(\w+)LambdaVersion[A-Za-z0-9]+/g, '$1LambdaVersion<hash>');
}

test("the sync's managed-state table: on demand, keyed by registration and target; only the sync role may use it, with exactly the store's item actions", () => {
  expect(template.Resources.SyncStateTable).toEqual({
    Type: 'AWS::DynamoDB::Table',
    Properties: {
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'registration', AttributeType: 'S' },
        { AttributeName: 'target', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'registration', KeyType: 'HASH' },
        { AttributeName: 'target', KeyType: 'RANGE' },
      ],
    },
  });
  const policies = ofType('AWS::IAM::Policy').filter(([, p]) => JSON.stringify(p).includes('SyncStateTable'));
  expect(policies.map(([id]) => id)).toEqual(['SyncStatePolicy']);
  expect(policies[0]![1].Properties).toEqual({
    PolicyName: 'sync-state',
    Roles: [{ Ref: 'SyncRole' }],
    PolicyDocument: {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: ['dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:BatchWriteItem'],
          Resource: { 'Fn::GetAtt': ['SyncStateTable', 'Arn'] },
        },
      ],
    },
  });
});

describe('issue 17 params leave the default package as it was', () => {
  // Not next to this file: tests/fixtures/ is where prettier leaves generated JSON as written.
  const fixture = join(root, 'tests', 'fixtures', 'infra', 'default-package.json');

  test('the default package (no params) is the recorded one (UPDATE_DEFAULT_PACKAGE=1 records a deliberate change)', () => {
    if (process.env.UPDATE_DEFAULT_PACKAGE === '1') writeFileSync(fixture, `${normalized(template)}\n`);
    expect(normalized(template)).toBe(readFileSync(fixture, 'utf8').trimEnd());
  });

  test('the organisation package is the default one plus exactly the domain, KMS statements, the sync URLs and the cap', () => {
    const stripped: Template = JSON.parse(JSON.stringify(orgTemplate));
    delete stripped.Resources.RelayLambdaFunction!.Properties.ReservedConcurrentExecutions;
    for (const id of ['RelayDomainName', 'RelayApiMapping', 'RelayDomainRecord']) delete stripped.Resources[id];
    for (const [, role] of ofType('AWS::IAM::Role', stripped)) {
      for (const policy of role.Properties.Policies)
        policy.PolicyDocument.Statement = policy.PolicyDocument.Statement.filter(
          (st: Statement) => !isKmsStatement(st),
        );
    }
    stripped.Resources.SyncLambdaFunction!.Properties.Environment.Variables =
      template.Resources.SyncLambdaFunction!.Properties.Environment.Variables;
    for (const name of Object.keys(config.receivers)) {
      const id = `WebhookUrl${name.charAt(0).toUpperCase()}${name.slice(1)}`;
      stripped.Outputs[id] = template.Outputs[id]!;
    }
    delete stripped.Outputs.CustomDomainTarget;
    expect(normalized(stripped)).toBe(normalized(template));
  });
});

describe('customer-managed KMS keys (--param secretsKmsKeyArns, infra/serverless/kms.cjs)', () => {
  test('by default no role has a kms: permission', () => {
    for (const [, role] of ofType('AWS::IAM::Role')) expect(statementsOf(role).filter(isKmsStatement)).toEqual([]);
  });

  test('each role gets kms:Decrypt on exactly the keys, only via Secrets Manager in the region, only for its own secret ARNs; nothing else changes', () => {
    for (const id of ['RelayRole', 'RetryRole', 'SyncRole']) {
      const before = statementsOf(template.Resources[id]!);
      const secrets = before.filter(isSecretStatement);
      expect(secrets).toHaveLength(1);
      const decrypt = {
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: kmsKeys,
        Condition: {
          StringEquals: { 'kms:ViaService': { 'Fn::Sub': 'secretsmanager.${AWS::Region}.amazonaws.com' } },
          StringLike: { 'kms:EncryptionContext:SecretARN': secrets[0]!.Resource },
        },
      };
      const at = before.indexOf(secrets[0]!) + 1;
      expect(statementsOf(orgTemplate.Resources[id]!)).toEqual([...before.slice(0, at), decrypt, ...before.slice(at)]);
    }
    // The relay's key grant does not reach the sync's tokens (its SecretARN condition lists its own secrets only).
    const relayDecrypt = statementsOf(orgTemplate.Resources.RelayRole!).find(isKmsStatement) as Statement & {
      Condition: unknown;
    };
    expect(JSON.stringify(relayDecrypt.Condition)).not.toContain('sync-token');
  });
});

describe('bounded concurrency (--param relayReservedConcurrency, infra/serverless/concurrency.cjs)', () => {
  test('by default no function has reserved concurrency', () => {
    for (const [, fn] of ofType('AWS::Lambda::Function'))
      expect(fn.Properties).not.toHaveProperty('ReservedConcurrentExecutions');
  });

  test('the param reserves (and caps) the relay only; the retry and the sync are not capped', () => {
    expect(orgTemplate.Resources.RelayLambdaFunction!.Properties.ReservedConcurrentExecutions).toBe(10);
    expect(orgTemplate.Resources.RetryLambdaFunction!.Properties).not.toHaveProperty('ReservedConcurrentExecutions');
    expect(orgTemplate.Resources.SyncLambdaFunction!.Properties).not.toHaveProperty('ReservedConcurrentExecutions');
    // Not a new function version: osls leaves the setting out of the version's hash.
    const relayVersion = (from: Template) =>
      Object.keys(from.Resources).find((id) => id.startsWith('RelayLambdaVersion'));
    expect(relayVersion(orgTemplate)).toBe(relayVersion(template));
  });
});

describe('custom domain (--param domainName, certificateArn, hostedZoneId; infra/serverless/domain.cjs)', () => {
  const domainTypes = ['AWS::ApiGatewayV2::DomainName', 'AWS::ApiGatewayV2::ApiMapping', 'AWS::Route53::RecordSet'];

  test('by default: no domain, mapping or DNS record; the hooks and the sync on the API URL', () => {
    for (const type of domainTypes) expect(ofType(type)).toEqual([]);
    expect(template.Resources.SyncLambdaFunction!.Properties.Environment.Variables.RELAY_PUBLIC_URL).toEqual({
      'Fn::GetAtt': ['HttpApi', 'ApiEndpoint'],
    });
    expect(template.Resources.SyncLambdaFunction!.Properties.Environment.Variables).not.toHaveProperty(
      'RELAY_FORMER_PUBLIC_URLS',
    );
    expect(template.Outputs.CustomDomainTarget).toBeUndefined();
  });

  test('a regional domain with the certificate, mapped at its root to the $default stage, and an A alias to it in the zone', () => {
    expect(Object.fromEntries(domainTypes.flatMap((type) => ofType(type, orgTemplate)))).toEqual({
      RelayDomainName: {
        Type: 'AWS::ApiGatewayV2::DomainName',
        Properties: {
          DomainName: 'hooks.example.com',
          DomainNameConfigurations: [
            { CertificateArn: certificateArn, EndpointType: 'REGIONAL', SecurityPolicy: 'TLS_1_2' },
          ],
        },
      },
      RelayApiMapping: {
        Type: 'AWS::ApiGatewayV2::ApiMapping',
        Properties: {
          ApiId: { Ref: 'HttpApi' },
          DomainName: { Ref: 'RelayDomainName' },
          Stage: { Ref: 'HttpApiStage' },
        },
      },
      RelayDomainRecord: {
        Type: 'AWS::Route53::RecordSet',
        Properties: {
          HostedZoneId: 'Z0123456789ABCDEFGHIJ',
          Name: 'hooks.example.com',
          Type: 'A',
          AliasTarget: {
            DNSName: { 'Fn::GetAtt': ['RelayDomainName', 'RegionalDomainName'] },
            HostedZoneId: { 'Fn::GetAtt': ['RelayDomainName', 'RegionalHostedZoneId'] },
            EvaluateTargetHealth: false,
          },
        },
      },
    });
    // What the mapping and the record reference exists under those ids: osls's API and its $default stage.
    expect(orgTemplate.Resources.HttpApi?.Type).toBe('AWS::ApiGatewayV2::Api');
    expect(orgTemplate.Resources.HttpApiStage?.Properties).toMatchObject({
      ApiId: { Ref: 'HttpApi' },
      StageName: '$default',
    });
  });

  test('the outputs and the sync use the domain; the API URL is the former one the sync moves hooks from', () => {
    for (const name of Object.keys(config.receivers)) {
      expect(orgTemplate.Outputs[`WebhookUrl${name.charAt(0).toUpperCase()}${name.slice(1)}`]?.Value).toBe(
        `https://hooks.example.com/hooks/${name}`,
      );
    }
    expect(orgTemplate.Outputs.CustomDomainTarget?.Value).toEqual({
      'Fn::GetAtt': ['RelayDomainName', 'RegionalDomainName'],
    });
    expect(orgTemplate.Resources.SyncLambdaFunction!.Properties.Environment.Variables).toMatchObject({
      RELAY_PUBLIC_URL: 'https://hooks.example.com',
      RELAY_FORMER_PUBLIC_URLS: { 'Fn::GetAtt': ['HttpApi', 'ApiEndpoint'] },
    });
  });
});

describe('EKS access (infra/serverless/eks-access.cjs)', () => {
  // The example has `eu` (this account, the stack's region eu-west-1) and `partner` (another account, via roleArn).
  const eksClusters = Object.values(config.clusters).flatMap((c) => (c.eks ? [c.eks] : []));

  test('an access entry per function role for the same-account cluster, group flux-webhook-relay, type STANDARD; none for roleArn', () => {
    expect(eksClusters.map((e) => e.cluster)).toEqual(['prod-eu', 'partner-prod']);
    const entries = Object.fromEntries(ofType('AWS::EKS::AccessEntry').map(([id, r]) => [id, r.Properties]));
    const entry = (role: string) => ({
      ClusterName: 'prod-eu',
      PrincipalArn: { 'Fn::GetAtt': [role, 'Arn'] },
      KubernetesGroups: ['flux-webhook-relay'],
      Type: 'STANDARD',
    });
    // The sync discovers on every cluster of the github receiver (all): it lists GitRepositories there too.
    expect(entries).toEqual({
      EksAccessRelayProdEu: entry('RelayRole'),
      EksAccessRetryProdEu: entry('RetryRole'),
      EksAccessSyncProdEu: entry('SyncRole'),
    });
    expect(JSON.stringify(entries)).not.toContain('partner');
  });

  test('each role: eks:DescribeCluster on exactly the same-account cluster ARN, sts:AssumeRole on exactly the partner role', () => {
    for (const role of ['RelayRole', 'RetryRole', 'SyncRole']) {
      expect(statementsOf(template.Resources[role]!).filter(isEksStatement)).toEqual([
        {
          Effect: 'Allow',
          Action: 'eks:DescribeCluster',
          Resource: [{ 'Fn::Sub': 'arn:${AWS::Partition}:eks:${AWS::Region}:${AWS::AccountId}:cluster/prod-eu' }],
        },
        {
          Effect: 'Allow',
          Action: 'sts:AssumeRole',
          Resource: ['arn:aws:iam::210987654321:role/flux-webhook-relay-access'],
        },
      ]);
    }
  });

  test('nothing about the EKS clusters is in Secrets Manager grants', () => {
    for (const [, role] of ofType('AWS::IAM::Role')) {
      const secrets = JSON.stringify(statementsOf(role).filter(isSecretStatement));
      for (const name of ['eu', 'partner', 'prod-eu', 'partner-prod']) expect(secrets).not.toContain(`/${name}`);
    }
  });
});

describe('HTTP API throttling', () => {
  test('the $default stage throttles the webhook route: bursts of 50, 20 requests per second, by default', () => {
    const stages = ofType('AWS::ApiGatewayV2::Stage');
    expect(stages.map(([id]) => id)).toEqual(['HttpApiStage']);
    const stage = stages[0]![1];
    expect(stage.Properties).toMatchObject({ ApiId: { Ref: 'HttpApi' }, StageName: '$default', AutoDeploy: true });
    expect(stage.Properties.DefaultRouteSettings).toEqual({ ThrottlingBurstLimit: 50, ThrottlingRateLimit: 20 });
    // No per-route settings that would override the default for the one route.
    expect(stage.Properties.RouteSettings).toBeUndefined();
  });

  test('--param throttleBurst and throttleRate set them', () => {
    expect(paramTemplate.Resources.HttpApiStage?.Properties.DefaultRouteSettings).toEqual({
      ThrottlingBurstLimit: 100,
      ThrottlingRateLimit: 12.5,
    });
  });
});

describe('VPC', () => {
  test('by default neither function is in a VPC and no role has an EC2 permission', () => {
    for (const [, fn] of ofType('AWS::Lambda::Function')) expect(fn.Properties.VpcConfig).toBeUndefined();
    for (const [, role] of ofType('AWS::IAM::Role')) expect(JSON.stringify(statementsOf(role))).not.toContain('ec2:');
  });

  test('with vpcSubnetIds and vpcSecurityGroupIds both functions get them and each role exactly the ENI statement more', () => {
    for (const id of ['Relay', 'Retry', 'Sync']) {
      expect(paramTemplate.Resources[`${id}LambdaFunction`]?.Properties.VpcConfig).toEqual({
        SubnetIds: ['subnet-1', 'subnet-2'],
        SecurityGroupIds: ['sg-1'],
      });
      expect(statementsOf(paramTemplate.Resources[`${id}Role`]!)).toEqual([
        ...statementsOf(template.Resources[`${id}Role`]!),
        eniStatement,
      ]);
    }
    // Still no shared osls role (osls would give one AWSLambdaVPCAccessExecutionRole, with logs:* on every group).
    expect(
      ofType('AWS::IAM::Role', paramTemplate)
        .map(([id]) => id)
        .sort(),
    ).toEqual(['RelayRole', 'RetryRole', 'SyncRole']);
    for (const [, role] of ofType('AWS::IAM::Role', paramTemplate))
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });
});

type MetricStat = {
  Metric: { Namespace: string; MetricName: string; Dimensions: Array<{ Name: string; Value: unknown }> };
  Period: number;
  Stat: string;
};
type Query = { Id: string; MetricStat?: MetricStat; Expression?: string; ReturnData: boolean };

/** A metric math alarm read back: the metrics it sums (name and dimensions as an object), checked to be summed whole. */
function summedMetrics(
  alarm: Resource,
): Array<{ namespace: string; name: string; dimensions: Record<string, unknown> }> {
  const queries: Query[] = alarm.Properties.Metrics;
  const stats = queries.filter((q) => q.MetricStat);
  const returned = queries.filter((q) => q.ReturnData);
  expect(returned).toHaveLength(1);
  expect(stats.every((q) => !q.ReturnData && q.MetricStat!.Period === 300 && q.MetricStat!.Stat === 'Sum')).toBe(true);
  // The returned expression adds every metric (missing filled with 0), each once.
  expect(returned[0]!.Expression).toBe(stats.map((q) => `FILL(${q.Id}, 0)`).join(' + '));
  expect(queries).toHaveLength(stats.length + 1);
  return stats.map(({ MetricStat: m }) => ({
    namespace: m!.Metric.Namespace,
    name: m!.Metric.MetricName,
    dimensions: Object.fromEntries(m!.Metric.Dimensions.map((d) => [d.Name, d.Value])),
  }));
}

describe('alarms', () => {
  const relayProviders = () => [...new Set(Object.values(config.receivers).map((r) => r.provider))];
  const syncProviders = () => [...new Set(Object.values(config.sync!.registrations).map((r) => r.provider))];
  const alarmIds = [
    'RelayErrorsAlarm',
    'RelayFailedDeliveriesAlarm',
    'SignatureRejectionsAlarm',
    'RetryDeadLettersAlarm',
    'RetryErrorsAlarm',
    'SyncFailuresAlarm',
    'SyncErrorsAlarm',
  ];

  test('seven alarms named after service and stage, one 5-minute period, missing data not breaching, no actions by default', () => {
    expect(
      ofType('AWS::CloudWatch::Alarm')
        .map(([id]) => id)
        .sort(),
    ).toEqual([...alarmIds].sort());
    expect(relayProviders()).toEqual(['github', 'gitlab']);
    for (const id of alarmIds) {
      const { Properties: p } = template.Resources[id]!;
      expect(p.AlarmName).toMatch(/^flux-webhook-relay-dev-[a-z-]+$/);
      expect(p).toMatchObject({ EvaluationPeriods: 1, TreatMissingData: 'notBreaching' });
      expect(p.AlarmActions).toBeUndefined();
      expect(p.OKActions).toBeUndefined();
      expect(p.AlarmDescription).toEqual(expect.any(String));
    }
  });

  test.each([
    ['RelayErrorsAlarm', 'RelayLambdaFunction'],
    ['RetryErrorsAlarm', 'RetryLambdaFunction'],
    ['SyncErrorsAlarm', 'SyncLambdaFunction'],
  ])("%s: the function's own AWS/Lambda Errors, summed over 5 minutes, > 0", (id, fn) => {
    expect(template.Resources[id]?.Properties).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: fn } }],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  test("5xx answers: Deliveries with outcome failed, summed over the receivers' providers, > 0", () => {
    const alarm = template.Resources.RelayFailedDeliveriesAlarm!;
    expect(alarm.Properties).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    expect(summedMetrics(alarm)).toEqual(
      relayProviders().map((provider) => ({
        namespace: 'FluxWebhookRelay',
        name: 'Deliveries',
        dimensions: { service: 'flux-webhook-relay', provider, outcome: 'failed' },
      })),
    );
  });

  test('signature rejections: SignatureRejections summed over providers, >= 20 by default, the param sets it', () => {
    for (const [from, threshold] of [
      [template, 20],
      [paramTemplate, 5],
    ] as const) {
      const alarm = from.Resources.SignatureRejectionsAlarm!;
      expect(alarm.Properties).toMatchObject({
        Threshold: threshold,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
      expect(summedMetrics(alarm)).toEqual(
        relayProviders().map((provider) => ({
          namespace: 'FluxWebhookRelay',
          name: 'SignatureRejections',
          dimensions: { service: 'flux-webhook-relay', provider },
        })),
      );
    }
  });

  test("sync failures: SyncFailures summed over the registrations' providers, > 0", () => {
    const alarm = template.Resources.SyncFailuresAlarm!;
    expect(alarm.Properties).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    expect(syncProviders()).toEqual(['github', 'gitlab']);
    expect(summedMetrics(alarm)).toEqual(
      syncProviders().map((provider) => ({
        namespace: 'FluxWebhookRelay',
        name: 'SyncFailures',
        dimensions: { service: 'flux-webhook-relay-sync', provider },
      })),
    );
  });

  test('with alarmTopicArn every alarm notifies the topic on ALARM and on OK', () => {
    expect(
      ofType('AWS::CloudWatch::Alarm', paramTemplate)
        .map(([id]) => id)
        .sort(),
    ).toEqual([...alarmIds].sort());
    for (const [, alarm] of ofType('AWS::CloudWatch::Alarm', paramTemplate)) {
      expect(alarm.Properties).toMatchObject({ AlarmActions: [topicArn], OKActions: [topicArn] });
    }
  });

  test('the dimension sets are exactly the ones the functions publish with (lib/observability/metrics.ts + Powertools service)', () => {
    const base = {
      receiver: 'github',
      provider: 'github',
      matched: [] as string[],
      patched: [] as string[],
      duration_ms: 12,
    };
    const failed: DeliverySummary = {
      ...base,
      failed: [{ target: 'prod/flux-system/GitRepository/x', error: 'timeout' }],
      outcome: 'failed',
      status: 502,
    };
    const unsigned: DeliverySummary = {
      ...base,
      failed: [],
      outcome: 'rejected',
      reason: 'bad_signature: mismatch',
      status: 401,
    };
    const published = [...deliveryMetrics(failed), ...deliveryMetrics(unsigned)];
    /** The dimensions a metric is published with: its batch's, plus the `service` Powertools adds to every metric. */
    const publishedWith = (name: string, service: string, batches = published) => {
      const batch = batches.find((b) => b.metrics.some((m) => m.name === name && m.value > 0));
      expect(batch).toBeDefined();
      return { service, ...batch!.dimensions };
    };
    const dimensionsOf = (id: string, from = template) => summedMetrics(from.Resources[id]!)[0]!.dimensions;
    expect(dimensionsOf('RelayFailedDeliveriesAlarm')).toEqual(publishedWith('Deliveries', 'flux-webhook-relay'));
    expect(dimensionsOf('SignatureRejectionsAlarm')).toEqual(
      publishedWith('SignatureRejections', 'flux-webhook-relay'),
    );

    const report: SyncReport = {
      dryRun: false,
      plan: [],
      registrations: [
        {
          registration: 'github',
          provider: 'github',
          targets: 1,
          actions: { create: 1, update: 0, reenable: 0, delete: 0, unchanged: 0, foreign: 0 },
          redelivered: 0,
          failures: [{ target: 'org/repo', error: 'forbidden' }],
          deferred: 0,
          calls: 2,
          writes: 1,
          notModified: 0,
        },
      ],
    };
    expect(dimensionsOf('SyncFailuresAlarm')).toEqual(
      publishedWith('SyncFailures', 'flux-webhook-relay-sync', syncMetrics(report)),
    );
    // The namespace is the one the code publishes to, and both functions' environment names it for Powertools.
    expect(summedMetrics(template.Resources.SyncFailuresAlarm!)[0]!.namespace).toBe(metricsNamespace);
  });
});

describe('saved Logs Insights queries', () => {
  // Compile-time check that the queries only name fields of the relay's delivery line.
  const fields: Array<keyof DeliverySummary> = [
    'receiver',
    'provider',
    'event',
    'repository',
    'ref',
    'commit',
    'delivery_id',
    'failed',
    'outcome',
    'reason',
    'status',
    'duration_ms',
  ];
  const expected: Record<string, string[]> = {
    'deliveries that patched nothing': [
      'filter message = "delivery" and outcome in ["no_match", "ignored"]',
      'fields @timestamp, receiver, provider, event, repository, ref, outcome, reason',
      'sort @timestamp desc',
      'limit 200',
    ],
    'failed targets': [
      'filter message = "delivery" and outcome = "failed"',
      'fields jsonParse(@message) as delivery',
      'unnest delivery.failed into failure',
      'sort @timestamp desc',
      'limit 200',
      'display @timestamp, receiver, repository, ref, commit, failure.target, failure.error, delivery_id',
    ],
    'rejections by reason': [
      'filter message = "delivery" and outcome = "rejected"',
      'parse reason /^(?<rejection>[a-z_]+)/',
      'stats count(*) as deliveries, latest(reason) as example by rejection, receiver, status',
      'sort deliveries desc',
    ],
    'slowest deliveries': [
      'filter message = "delivery"',
      'fields @timestamp, duration_ms, receiver, provider, repository, ref, outcome, status, delivery_id',
      'sort duration_ms desc',
      'limit 50',
    ],
  };

  test("four queries, named <service>-<stage>/<what>, on the relay's log group, with their query strings", () => {
    const queries = ofType('AWS::Logs::QueryDefinition').map(([, q]) => q.Properties);
    expect(Object.fromEntries(queries.map((q) => [q.Name, q.QueryString]))).toEqual(
      Object.fromEntries(
        Object.entries(expected).map(([name, lines]) => [`flux-webhook-relay-dev/${name}`, lines.join('\n| ')]),
      ),
    );
    for (const q of queries) expect(q.LogGroupNames).toEqual([{ Ref: 'RelayLogGroup' }]);
    for (const field of fields) expect(queries.some((q) => q.QueryString.includes(field))).toBe(true);
  });
});

/** A dashboard graph's metric rows read back: namespace, name, dimensions and options, or an expression. */
type DashboardRow = {
  namespace?: string;
  name?: string;
  dimensions?: Record<string, string>;
  options: Record<string, Json>;
};
function dashboardRows(metrics: unknown[][]): DashboardRow[] {
  return metrics.map((row) => {
    const last = row[row.length - 1];
    const options = typeof last === 'object' && last !== null ? (last as Record<string, Json>) : {};
    const values = row.filter((v): v is string => typeof v === 'string');
    if (values.length === 0) return { options };
    const [namespace, name, ...pairs] = values;
    const dimensions: Record<string, string> = {};
    for (let i = 0; i < pairs.length; i += 2) dimensions[pairs[i]!] = pairs[i + 1]!;
    return { namespace, name, dimensions, options };
  });
}

function dashboardOf(from: { Resources: Record<string, Resource> }) {
  const [[id, dashboard]] = Object.entries(from.Resources).filter(
    ([, r]) => r.Type === 'AWS::CloudWatch::Dashboard',
  ) as [[string, Resource]];
  const text: string = dashboard.Properties.DashboardBody['Fn::Sub'];
  return {
    id,
    dashboard,
    text,
    body: JSON.parse(text.replaceAll('${AWS::Region}', 'eu-west-1')) as {
      widgets: Array<{ properties: Record<string, Json> }>;
    },
  };
}

describe('dashboard', () => {
  const dimensionNames: Record<string, string[]> = {
    Deliveries: ['outcome', 'provider', 'service'],
    SignatureRejections: ['provider', 'service'],
    Patches: ['provider', 'service'],
    PatchFailures: ['provider', 'service'],
    DeliveryDuration: ['provider', 'service'],
    SyncActions: ['action', 'provider', 'service'],
    SyncFailures: ['provider', 'service'],
  };

  test('one dashboard, named <service>-<stage>, its body JSON with only the region substituted', () => {
    const { id, dashboard, text } = dashboardOf(template);
    expect(id).toBe('RelayDashboard');
    expect(dashboard.Properties.DashboardName).toBe('flux-webhook-relay-dev');
    expect(text.match(/\$\{[^}]*\}/g)?.every((v) => v === '${AWS::Region}')).toBe(true);
  });

  test('graphs: deliveries by outcome, signature rejections, patches and failures, duration p50/p99, sync actions', () => {
    const { body } = dashboardOf(template);
    expect(body.widgets.map((w) => w.properties.title)).toEqual([
      'Deliveries by outcome (all providers)',
      'Signature rejections (401)',
      'Objects patched and patch failures',
      'Delivery duration (ms)',
      'Sync: webhook changes and failures (all providers)',
    ]);
    for (const w of body.widgets) expect(w.properties.region).toBe('eu-west-1');
    const labels = (i: number) =>
      dashboardRows(body.widgets[i]!.properties.metrics)
        .filter((r) => r.options.visible !== false)
        .map((r) => r.options.label);
    expect(labels(0)).toEqual(['patched', 'queued', 'no_match', 'ignored', 'pong', 'duplicate', 'failed', 'rejected']);
    expect(labels(1)).toEqual(['github', 'gitlab', 'all providers']);
    expect(body.widgets[1]!.properties.annotations.horizontal[0].value).toBe(20);
    expect(labels(2)).toEqual(['patched', 'failed']);
    expect(labels(3)).toEqual(['github p50', 'github p99', 'gitlab p50', 'gitlab p99']);
    expect(dashboardRows(body.widgets[3]!.properties.metrics).map((r) => r.options.stat)).toEqual([
      'p50',
      'p99',
      'p50',
      'p99',
    ]);
    expect(labels(4)).toEqual(['create', 'update', 'reenable', 'delete', 'failures']);
  });

  test("every graphed metric has its published dimension set, and the sums' expressions add metrics of their own graph", () => {
    const { body } = dashboardOf(template);
    // Deliveries rejected before the receiver is known are published with the provider lib/observability/metrics.ts
    // gives them; the outcome graph counts them too.
    const [unknown] = deliveryMetrics({
      receiver: 'nope',
      matched: [],
      patched: [],
      failed: [],
      outcome: 'rejected',
      status: 404,
      duration_ms: 1,
    });
    const deliveryProviders = new Set<string>();
    for (const widget of body.widgets) {
      const rows = dashboardRows(widget.properties.metrics);
      const ids = new Set(rows.map((r) => r.options.id).filter(Boolean));
      for (const row of rows) {
        if (row.options.expression) {
          for (const id of row.options.expression.match(/[a-z]\w*(?=, 0\))/g)) expect(ids).toContain(id);
          continue;
        }
        expect(row.namespace).toBe(metricsNamespace);
        expect(Object.keys(row.dimensions!).sort()).toEqual(dimensionNames[row.name!]);
        expect(row.dimensions!.service).toBe(
          row.name!.startsWith('Sync') ? 'flux-webhook-relay-sync' : 'flux-webhook-relay',
        );
        if (row.name === 'Deliveries') deliveryProviders.add(row.dimensions!.provider!);
      }
    }
    expect([...deliveryProviders]).toEqual(['github', 'gitlab', unknown!.dimensions.provider]);
  });
});

test('outputs: the API base URL, each receiver webhook URL, the dashboard and the sync function', () => {
  expect(template.Outputs.HttpApiUrl).toBeDefined();
  const receivers = Object.keys(config.receivers);
  expect(receivers).toEqual(['github', 'gitlab']);
  for (const name of receivers) {
    const id = `WebhookUrl${name.charAt(0).toUpperCase()}${name.slice(1)}`;
    expect(template.Outputs[id]?.Value).toEqual({ 'Fn::Sub': `\${HttpApi.ApiEndpoint}/hooks/${name}` });
  }
  // The outputs reference the API by the logical id osls gives it.
  expect(template.Resources.HttpApi?.Type).toBe('AWS::ApiGatewayV2::Api');
  expect(template.Outputs.SyncFunctionName?.Value).toEqual({ Ref: 'SyncLambdaFunction' });
  expect(template.Outputs.DashboardName?.Value).toEqual({ Ref: 'RelayDashboard' });
  expect(template.Resources.RelayDashboard?.Type).toBe('AWS::CloudWatch::Dashboard');
});

test('without sync registrations there is no sync function, role, alarm, graph or output (resolved with osls print)', () => {
  expect(printedWithoutSync).toMatchObject({ status: 0 });
  const resolved = JSON.parse(printedWithoutSync.output.slice(printedWithoutSync.output.indexOf('{')));
  expect(Object.keys(resolved.functions)).toEqual(['relay', 'retry']);
  expect(Object.keys(resolved.resources.Resources)).toEqual([
    'RelayRole',
    'RetryRole',
    'RetryQueuePolicy',
    'RetryDeadLetterQueuePolicy',
    'RetryDeadLetterQueue',
    'RetryQueue',
    'RelayErrorsAlarm',
    'RelayFailedDeliveriesAlarm',
    'SignatureRejectionsAlarm',
    'RetryDeadLettersAlarm',
    'RetryErrorsAlarm',
    'PatchedNothingQuery',
    'FailedTargetsQuery',
    'RejectionsByReasonQuery',
    'SlowestDeliveriesQuery',
    'RelayDashboard',
  ]);
  expect(Object.keys(resolved.resources.Outputs)).toEqual([
    'WebhookUrlGithub',
    'DashboardName',
    'RetryDeadLetterQueueUrl',
    'RetryDeadLetterQueueArn',
  ]);
  // Its one provider is all the alarms and graphs read.
  expect(
    summedMetrics(resolved.resources.Resources.RelayFailedDeliveriesAlarm).map((m) => m.dimensions.provider),
  ).toEqual(['github']);
  expect(dashboardOf(resolved.resources).text).not.toContain('Sync');
});

describe('durable retry (infra/serverless/retry.cjs)', () => {
  const queue = () => template.Resources.RetryQueue!;
  const dlq = () => template.Resources.RetryDeadLetterQueue!;

  test('the retry queue: SSE, redrive to the DLQ after 8 receives, visibility six times the function timeout', () => {
    expect(queue().Type).toBe('AWS::SQS::Queue');
    expect(queue().Properties).toEqual({
      VisibilityTimeout: 180,
      MessageRetentionPeriod: 345_600,
      MaximumMessageSize: 262_144,
      SqsManagedSseEnabled: true,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['RetryDeadLetterQueue', 'Arn'] }, maxReceiveCount: 8 },
    });
    expect(queue().Properties.VisibilityTimeout).toBe(6 * template.Resources.RetryLambdaFunction!.Properties.Timeout);
  });

  test('the dead-letter queue keeps messages 14 days, encrypted; its URL and ARN are outputs', () => {
    expect(dlq()).toEqual({
      Type: 'AWS::SQS::Queue',
      Properties: { MessageRetentionPeriod: 1_209_600, SqsManagedSseEnabled: true },
    });
    expect(template.Outputs.RetryDeadLetterQueueUrl?.Value).toEqual({ Ref: 'RetryDeadLetterQueue' });
    expect(template.Outputs.RetryDeadLetterQueueArn?.Value).toEqual({ 'Fn::GetAtt': ['RetryDeadLetterQueue', 'Arn'] });
  });

  test('the retry function: nodejs22.x arm64, 30 s, its role, the relay configuration, both queues and the receive count', () => {
    const fn = template.Resources.RetryLambdaFunction!;
    expect(fn.Properties).toMatchObject({
      Handler: 'dist/retry/index.handler',
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      MemorySize: 512,
      Timeout: 30,
      Role: { 'Fn::GetAtt': ['RetryRole', 'Arn'] },
    });
    expect(fn.Properties.Environment.Variables).toEqual({
      RELAY_CONFIG: 'dist/relay/relay.config.json',
      RELAY_RETRY_QUEUE_URL: { Ref: 'RetryQueue' },
      RELAY_RETRY_DLQ_URL: { Ref: 'RetryDeadLetterQueue' },
      RELAY_RETRY_MAX_RECEIVE_COUNT: String(queue().Properties.RedrivePolicy.maxReceiveCount),
      POWERTOOLS_SERVICE_NAME: 'flux-webhook-relay-retry',
      POWERTOOLS_METRICS_NAMESPACE: metricsNamespace,
    });
  });

  test('one SQS event source mapping: the retry queue to the retry function, batches of 5, partial batch responses', () => {
    const mappings = ofType('AWS::Lambda::EventSourceMapping');
    expect(mappings).toHaveLength(1);
    expect(mappings[0]![1].Properties).toEqual({
      BatchSize: 5,
      EventSourceArn: { 'Fn::GetAtt': ['RetryQueue', 'Arn'] },
      FunctionName: { 'Fn::GetAtt': ['RetryLambdaFunction', 'Arn'] },
      Enabled: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    // Created after the role that lets Lambda poll the queue.
    expect([mappings[0]![1].DependsOn].flat()).toContain('RetryRole');
  });

  test('least privilege: the relay may only send to the retry queue; the retry role has exactly its queue actions and the kubeconfigs', () => {
    const sqsOf = (role: string) => statementsOf(template.Resources[role]!).filter(isSqsStatement);
    expect(sqsOf('RelayRole')).toEqual([
      { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': ['RetryQueue', 'Arn'] } },
    ]);
    expect(sqsOf('RetryRole')).toEqual([
      {
        Effect: 'Allow',
        Action: [
          'sqs:ReceiveMessage',
          'sqs:DeleteMessage',
          'sqs:ChangeMessageVisibility',
          'sqs:GetQueueAttributes',
          'sqs:SendMessage',
        ],
        Resource: { 'Fn::GetAtt': ['RetryQueue', 'Arn'] },
      },
      { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': ['RetryDeadLetterQueue', 'Arn'] } },
    ]);
    expect(sqsOf('SyncRole')).toEqual([]);
    // It patches clusters; it never reads a webhook secret or a sync token.
    const secrets = statementsOf(template.Resources.RetryRole!).filter(isSecretStatement);
    expect(secrets).toEqual([
      {
        Effect: 'Allow',
        Action: 'secretsmanager:GetSecretValue',
        Resource: expectedResources(Object.values(config.clusters).flatMap((c) => c.kubeconfig ?? [])),
      },
    ]);
  });

  test('queue policies: only the relay and retry roles may send to the retry queue, only the retry role to the DLQ (an explicit Deny for every other principal)', () => {
    const roleArn = (role: string) => ({ 'Fn::GetAtt': [role, 'Arn'] });
    const denyOthers = (queue: string, senders: unknown[]) => ({
      Type: 'AWS::SQS::QueuePolicy',
      Properties: {
        Queues: [{ Ref: queue }],
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'OnlyTheRelayFunctionsSend',
              Effect: 'Deny',
              Principal: '*',
              Action: 'sqs:SendMessage',
              Resource: { 'Fn::GetAtt': [queue, 'Arn'] },
              Condition: { ArnNotEquals: { 'aws:PrincipalArn': senders } },
            },
          ],
        },
      },
    });
    const policies = (from: Template) => Object.fromEntries(ofType('AWS::SQS::QueuePolicy', from));
    expect(policies(template)).toEqual({
      RetryQueuePolicy: denyOthers('RetryQueue', [roleArn('RelayRole'), roleArn('RetryRole')]),
      RetryDeadLetterQueuePolicy: denyOthers('RetryDeadLetterQueue', [roleArn('RetryRole')]),
    });
    // --param retryQueueSenders: an operator's role may send to the retry queue too (a DLQ redrive needs that).
    expect(policies(paramTemplate)).toEqual({
      RetryQueuePolicy: denyOthers('RetryQueue', [roleArn('RelayRole'), roleArn('RetryRole'), operatorRole]),
      RetryDeadLetterQueuePolicy: denyOthers('RetryDeadLetterQueue', [roleArn('RetryRole')]),
    });
  });

  test('the DLQ alarm: its ApproximateNumberOfMessagesVisible > 0, to the alarm topic when given', () => {
    for (const from of [template, paramTemplate]) {
      expect(from.Resources.RetryDeadLettersAlarm!.Properties).toMatchObject({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['RetryDeadLetterQueue', 'QueueName'] } }],
        Statistic: 'Maximum',
        Period: 300,
        EvaluationPeriods: 1,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
      });
    }
    expect(template.Resources.RetryDeadLettersAlarm!.Properties.AlarmActions).toBeUndefined();
    expect(paramTemplate.Resources.RetryDeadLettersAlarm!.Properties).toMatchObject({
      AlarmActions: [topicArn],
      OKActions: [topicArn],
    });
  });
});

describe('refused for a deploy package', () => {
  test('a configuration with file:/env: secret references', () => {
    expect(refused.fileRefs.status).not.toBe(0);
    expect(refused.fileRefs.output).toContain(
      'clusters.local.kubeconfig: file:~/.kube/config is a local-only secret reference',
    );
    expect(refused.fileRefs.output).toContain('receivers.github.secret: env:SECRET is a local-only secret reference');
  });

  test('the local switch that `npm start` uses', () => {
    expect(refused.localSwitch.status).not.toBe(0);
    expect(refused.localSwitch.output).toContain('--param local=true is only for `osls offline`');
  });

  test('a configuration other than the one the bundle was built with', () => {
    expect(refused.otherConfig.status).not.toBe(0);
    expect(refused.otherConfig.output).toContain(
      `dist/relay/relay.config.json was built from another file than ${otherConfig}`,
    );
  });
});

test('--param logRetentionDays=N sets the retention (resolved with osls print)', () => {
  expect(printed).toMatchObject({ status: 0 });
  expect(printed.output.trim()).toMatch(/^14$/m);
});
