/**
 * ECR through EventBridge in the packaged CloudFormation: `osls package` (offline, no credentials) of the example
 * configuration plus an `ecr` section. Runs in a scratch copy of the service (node_modules linked), because the package
 * must be built from the very configuration it packages and tests/infra/serverless/serverless-package.test.ts rebuilds
 * this tree's dist/ with the example configuration (which has no ecr section: no registryEvents function, as that
 * test checks) at the same time. The bundle built there is also loaded and run once, as Lambda would.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../../lib/config/load';
import { eventPattern } from '../../../infra/serverless/registry-events.cjs';
import { collectOutput, root, type ToolRun } from '../../support/run-tool';
import {
  packageService,
  scratchService,
  zipEntries,
  type Resource,
  type Statement,
  type Template,
} from '../../support/scratch-service';

/** The example with an ecr section: two of its four clusters (the same-account EKS one and a kubeconfig one). */
const ecrSection = `
ecr:
  accounts: ['123456789012']
  repositories: [team/app, charts/*]
  clusters: [eu, prod]
`;

let service: string;
let template: Template;
let packageDir: string;

beforeAll(async () => {
  service = scratchService('relay-ecr-service', {
    'ecr.yaml': `${readFileSync(join(root, 'relay.config.example.yaml'), 'utf8')}${ecrSection}`,
  });
  packageDir = join(service, 'package');
  template = await packageService(service, 'ecr.yaml', 'package');
}, 180_000);

const ofType = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);
const statementsOf = (id: string): Statement[] =>
  template.Resources[id]!.Properties.Policies.flatMap(
    (p: { PolicyDocument: { Statement: Statement[] } }) => p.PolicyDocument.Statement,
  );
const fn = () => template.Resources.RegistryEventsLambdaFunction!;

test('the registryEvents function: its bundle, nodejs22.x on arm64, 30 s, its role, the relay configuration and the retry queue', () => {
  expect(fn().Properties).toMatchObject({
    Handler: 'dist/registry-events/index.handler',
    Runtime: 'nodejs22.x',
    Architectures: ['arm64'],
    MemorySize: 512,
    Timeout: 30,
    Role: { 'Fn::GetAtt': ['RegistryEventsRole', 'Arn'] },
  });
  expect(fn().Properties.Environment.Variables).toEqual({
    RELAY_CONFIG: 'dist/relay/relay.config.json',
    RELAY_RETRY_QUEUE_URL: { Ref: 'RetryQueue' },
    POWERTOOLS_SERVICE_NAME: 'flux-webhook-relay-registry-events',
    POWERTOOLS_METRICS_NAMESPACE: 'FluxWebhookRelay',
  });
  expect(template.Resources.RegistryEventsLogGroup?.Properties).toEqual({
    LogGroupName: '/aws/lambda/flux-webhook-relay-dev-registryEvents',
    RetentionInDays: 30,
  });
  expect(template.Outputs.RegistryEventsFunctionName?.Value).toEqual({ Ref: 'RegistryEventsLambdaFunction' });
});

test('its artifact holds only its bundle, its lazy chunks, source maps and the relay configuration', () => {
  const code = ['index.js', 'dedupe.js', 'sqs.js', 'secrets-manager-sdk.js'].flatMap((file) => [
    `dist/registry-events/${file}`,
    `dist/registry-events/${file}.map`,
  ]);
  expect(zipEntries(join(packageDir, 'registryEvents.zip'))).toEqual(['dist/relay/relay.config.json', ...code].sort());
});

test('an EventBridge rule on the default bus: successful ECR pushes of the listed accounts and repositories, to this function only', () => {
  const rules = ofType('AWS::Events::Rule').filter(([, r]) =>
    r.Properties.Targets.some(
      (t: { Arn: unknown }) =>
        JSON.stringify(t.Arn) === JSON.stringify({ 'Fn::GetAtt': ['RegistryEventsLambdaFunction', 'Arn'] }),
    ),
  );
  expect(rules).toHaveLength(1);
  const [[, rule]] = rules as [[string, Resource]];
  expect(rule.Properties.EventBusName).toBeUndefined();
  expect(rule.Properties.State).toBe('ENABLED');
  expect(rule.Properties.EventPattern).toEqual({
    source: ['aws.ecr'],
    'detail-type': ['ECR Image Action'],
    account: ['123456789012'],
    detail: { 'action-type': ['PUSH'], result: ['SUCCESS'], 'repository-name': ['team/app', { prefix: 'charts/' }] },
  });
  expect(rule.Properties.Targets).toHaveLength(1);
  // Lambda's resource policy: invoked by EventBridge for this rule's ARN only (the function has no other trigger).
  const permissions = ofType('AWS::Lambda::Permission').filter(
    ([, p]) =>
      JSON.stringify(p.Properties.FunctionName) ===
      JSON.stringify({ 'Fn::GetAtt': ['RegistryEventsLambdaFunction', 'Arn'] }),
  );
  expect(permissions.map(([, p]) => p.Properties)).toEqual([
    {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': ['RegistryEventsLambdaFunction', 'Arn'] },
      Principal: 'events.amazonaws.com',
      SourceArn: {
        'Fn::Join': [
          ':',
          [
            'arn',
            { Ref: 'AWS::Partition' },
            'events',
            { Ref: 'AWS::Region' },
            { Ref: 'AWS::AccountId' },
            { 'Fn::Join': ['/', ['rule', rule.Properties.Name]] },
          ],
        ],
      },
    },
  ]);
  // No HTTP route reaches it.
  for (const [, integration] of ofType('AWS::ApiGatewayV2::Integration'))
    expect(integration.Properties.IntegrationUri).toEqual({ 'Fn::GetAtt': ['RelayLambdaFunction', 'Arn'] });
});

test("without ecr.accounts the rule takes the stack's own account; without repositories, every repository", () => {
  const config = parseConfig(
    'clusters: { c: { kubeconfig: k } }\nreceivers: { a: { provider: github, secret: s } }\necr: {}\n',
    'x.yaml',
  );
  expect(eventPattern(config.ecr!)).toEqual({
    source: ['aws.ecr'],
    'detail-type': ['ECR Image Action'],
    account: [{ Ref: 'AWS::AccountId' }],
    detail: { 'action-type': ['PUSH'], result: ['SUCCESS'] },
  });
});

test("its role: its own logs, the ecr clusters' kubeconfigs, DescribeCluster on the same-account EKS one, sending to the retry queue; nothing else", () => {
  expect(statementsOf('RegistryEventsRole')).toEqual([
    {
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: {
        'Fn::Sub': 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${RegistryEventsLogGroup}:*',
      },
    },
    {
      Effect: 'Allow',
      Action: 'secretsmanager:GetSecretValue',
      // prod's only: eu is EKS (no stored kubeconfig), staging and partner are not the ecr section's; no webhook secret.
      Resource: [
        {
          'Fn::Sub':
            'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:flux-relay/prod-kubeconfig-??????',
        },
      ],
    },
    { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': ['RetryQueue', 'Arn'] } },
    {
      Effect: 'Allow',
      Action: 'eks:DescribeCluster',
      Resource: [{ 'Fn::Sub': 'arn:${AWS::Partition}:eks:${AWS::Region}:${AWS::AccountId}:cluster/prod-eu' }],
    },
  ]);
  expect(template.Resources.RegistryEventsRole!.Properties.AssumeRolePolicyDocument).toEqual({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
  });
  expect(template.Resources.EksAccessRegistryEventsProdEu?.Properties).toEqual({
    ClusterName: 'prod-eu',
    PrincipalArn: { 'Fn::GetAtt': ['RegistryEventsRole', 'Arn'] },
    KubernetesGroups: ['flux-webhook-relay'],
    Type: 'STANDARD',
  });
});

test('the retry queue lets it send (its policy denies every other principal); the dead-letter queue does not', () => {
  const senders = (id: string) =>
    template.Resources[id]!.Properties.PolicyDocument.Statement[0].Condition.ArnNotEquals['aws:PrincipalArn'];
  expect(senders('RetryQueuePolicy')).toEqual([
    { 'Fn::GetAtt': ['RelayRole', 'Arn'] },
    { 'Fn::GetAtt': ['RetryRole', 'Arn'] },
    { 'Fn::GetAtt': ['RegistryEventsRole', 'Arn'] },
  ]);
  expect(senders('RetryDeadLetterQueuePolicy')).toEqual([{ 'Fn::GetAtt': ['RetryRole', 'Arn'] }]);
});

test('alarms on its errors and on pushes that could not be applied', () => {
  expect(template.Resources.RegistryEventsErrorsAlarm?.Properties).toMatchObject({
    AlarmName: 'flux-webhook-relay-dev-registry-events-errors',
    MetricName: 'Errors',
    Dimensions: [{ Name: 'FunctionName', Value: { Ref: 'RegistryEventsLambdaFunction' } }],
  });
  expect(template.Resources.RegistryEventsFailedAlarm?.Properties).toMatchObject({
    AlarmName: 'flux-webhook-relay-dev-registry-events-failed',
    Namespace: 'FluxWebhookRelay',
    MetricName: 'Deliveries',
    Dimensions: [
      { Name: 'service', Value: 'flux-webhook-relay-registry-events' },
      { Name: 'provider', Value: 'ecr' },
      { Name: 'outcome', Value: 'failed' },
    ],
  });
});

/** Runs `script` with this Node in the scratch service's bundle directory, as Lambda runs the function. */
function node(script: string, cwd: string): Promise<ToolRun> {
  const child = spawn(process.execPath, ['-e', script], {
    cwd,
    env: { PATH: process.env.PATH ?? '', RELAY_CONFIG: 'dist/relay/relay.config.json', HOME: cwd },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
  });
  return collectOutput(child);
}

test("the bundle loads and handles AWS's documented push (a repository the section does not list: one log line, no cluster call)", async () => {
  const event = readFileSync(join(root, 'tests', 'fixtures', 'ecr', 'push.json'), 'utf8');
  const run = await node(
    `const { handler } = require('./dist/registry-events/index.js');
     handler(${event}, { invokedFunctionArn: 'arn:aws:lambda:us-west-2:123456789012:function:f' })
       .then((result) => console.log(JSON.stringify({ returned: result === undefined })));`,
    service,
  );
  expect(run.status).toBe(0);
  const lines = run.output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(lines.find((l) => l.message === 'delivery')).toMatchObject({
    service: 'flux-webhook-relay-registry-events',
    provider: 'ecr',
    repository: '123456789012.dkr.ecr.us-west-2.amazonaws.com/my-repository-name',
    outcome: 'ignored',
    reason: 'repository my-repository-name is not in ecr.repositories',
  });
  expect(lines).toContainEqual({ returned: true });
});
