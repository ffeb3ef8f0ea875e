/**
 * Builds the bundle and runs `osls package` exactly as CI does (example configuration, no AWS credentials, no
 * network), then checks the CloudFormation it generates. Note: this rewrites dist/ with the example configuration.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../lib/config/load';
import type { RelayConfig } from '../../lib/config/schema';

const root = join(__dirname, '..', '..');
const exampleConfig = 'relay.config.example.yaml';
const bin = (name: string) => join(root, 'node_modules', '.bin', name);

interface Run {
  status: number | null;
  output: string;
}

/** No AWS credentials at all, as on CI; HOME is a scratch dir so nothing from ~/.aws or ~/.serverless is used. */
function run(command: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  const home = mkdtempSync(join(tmpdir(), 'relay-home-'));
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && k !== 'RELAY_CONFIG'));
  const child = spawn(bin(command), args, {
    cwd: root,
    env: { ...clean, HOME: home, CI: 'true', SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, output }));
  });
}

function osls(...args: string[]): Promise<Run> {
  return run('osls', args);
}

/** File names in a zip, from its central directory (no unzip binary needed). */
function zipEntries(file: string): string[] {
  const zip = readFileSync(file);
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  let offset = zip.readUInt32LE(eocd + 16);
  const names: string[] = [];
  for (let i = 0; i < zip.readUInt16LE(eocd + 10); i++) {
    const nameLength = zip.readUInt16LE(offset + 28);
    names.push(zip.toString('utf8', offset + 46, offset + 46 + nameLength));
    offset += 46 + nameLength + zip.readUInt16LE(offset + 30) + zip.readUInt16LE(offset + 32);
  }
  return names.sort();
}

type Resource = { Type: string; Properties: Record<string, any>; DependsOn?: unknown };
type Statement = { Effect: string; Action: string | string[]; Resource: unknown };
type SecretRef = RelayConfig['receivers'][string]['secret'];
let template: { Resources: Record<string, Resource>; Outputs: Record<string, { Value: unknown }> };
let packageDir: string;
const scratch = () => mkdtempSync(join(tmpdir(), 'relay-deploy-'));
const fileRefConfig = join(scratch(), 'relay.yaml');
const otherConfig = join(scratch(), 'other.yaml');
let refused: { fileRefs: Run; localSwitch: Run; otherConfig: Run };
let printed: Run;
let printedWithoutSync: Run;

const config = parseConfig(readFileSync(join(root, exampleConfig), 'utf8'), exampleConfig);
const ofType = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);
const actions = (s: Statement) => [s.Action].flat();
const statementsOf = (role: Resource): Statement[] =>
  role.Properties.Policies.flatMap((p: { PolicyDocument: { Statement: Statement[] } }) => p.PolicyDocument.Statement);
const isSecretStatement = (s: Statement) => actions(s).some((a) => a.startsWith('secretsmanager:'));

/** The oracle for a role's secret Resources, written out independently of secret-arns.cjs: ARNs as written, names as -??????. */
function expectedResources(refs: SecretRef[]): unknown[] {
  const values = refs.map((ref) =>
    ref.id.startsWith('arn:') ? ref.id : { 'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${ref.id}-??????` },
  );
  return [...new Map(values.map((value) => [JSON.stringify(value), value] as const)).values()];
}

// One build, then every osls run at once (each takes ~2-4 s, mostly start-up).
beforeAll(async () => {
  const build = await run('tsx', ['scripts/build.mjs'], { RELAY_CONFIG: exampleConfig });
  if (build.status !== 0) throw new Error(`build failed:\n${build.output}`);
  packageDir = scratch();
  writeFileSync(fileRefConfig, 'clusters:\n  local: { kubeconfig: "file:~/.kube/config" }\nreceivers:\n  github: { provider: github, secret: env:SECRET }\n');
  writeFileSync(otherConfig, 'clusters:\n  prod: { kubeconfig: aws-sm:k }\nreceivers:\n  github: { provider: github, secret: aws-sm:s }\n');
  let packaged: Run;
  [packaged, refused, printed, printedWithoutSync] = await Promise.all([
    osls('package', '--param', `config=${exampleConfig}`, '--package', packageDir),
    Promise.all([
      osls('package', '--param', `config=${fileRefConfig}`, '--package', join(scratch(), 'out')),
      osls('package', '--param', 'config=relay.local.yaml', '--param', 'local=true', '--package', join(scratch(), 'out')),
      osls('package', '--param', `config=${otherConfig}`, '--package', join(scratch(), 'out')),
    ]).then(([fileRefs, localSwitch, other]) => ({ fileRefs, localSwitch, otherConfig: other })),
    osls('print', '--param', `config=${exampleConfig}`, '--param', 'logRetentionDays=14', '--path', 'provider.logRetentionInDays'),
    // print checks no bundle, so a configuration other than the built one can show what it would deploy.
    osls('print', '--param', `config=${otherConfig}`, '--format', 'json'),
  ]);
  if (packaged.status !== 0) throw new Error(`osls package failed:\n${packaged.output}`);
  template = JSON.parse(readFileSync(join(packageDir, 'cloudformation-template-update-stack.json'), 'utf8'));
}, 120_000);

test.each(['relay', 'sync'])('the %s artifact holds only its bundle, source map and the configuration', (fn) => {
  expect(zipEntries(join(packageDir, `${fn}.zip`))).toEqual([`dist/${fn}/index.js`, `dist/${fn}/index.js.map`, `dist/${fn}/relay.config.yaml`]);
  expect(readFileSync(join(packageDir, `${fn}.zip`)).includes(readFileSync(join(root, 'local', 'github-webhook-secret')))).toBe(false);
});

test('one HTTP API route, ANY /hooks/{receiver}, to the relay with payload format 2.0', () => {
  const routes = ofType('AWS::ApiGatewayV2::Route');
  expect(routes.map(([, r]) => r.Properties.RouteKey)).toEqual(['ANY /hooks/{receiver}']);
  const [[integrationId, integration]] = ofType('AWS::ApiGatewayV2::Integration') as [[string, Resource]];
  expect(routes[0]![1].Properties.Target).toEqual({ 'Fn::Join': ['/', ['integrations', { Ref: integrationId }]] });
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
    RELAY_CONFIG: 'dist/relay/relay.config.yaml',
    POWERTOOLS_SERVICE_NAME: 'flux-webhook-relay',
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
    RELAY_CONFIG: 'dist/sync/relay.config.yaml',
    RELAY_PUBLIC_URL: { 'Fn::GetAtt': ['HttpApi', 'ApiEndpoint'] },
    POWERTOOLS_SERVICE_NAME: 'flux-webhook-relay-sync',
  });
  expect(template.Resources.HttpApi?.Type).toBe('AWS::ApiGatewayV2::Api');
  expect(ofType('AWS::Lambda::Function').map(([id]) => id).sort()).toEqual(['RelayLambdaFunction', 'SyncLambdaFunction']);
});

test("one EventBridge rule runs the sync at the configuration's sync.schedule", () => {
  expect(config.sync?.schedule).toMatch(/^rate\(/);
  const rules = ofType('AWS::Events::Rule');
  expect(rules).toHaveLength(1);
  const [[ruleId, rule]] = rules as [[string, Resource]];
  expect(rule.Properties).toMatchObject({ ScheduleExpression: config.sync?.schedule, State: 'ENABLED' });
  expect(rule.Properties.Targets).toEqual([expect.objectContaining({ Arn: { 'Fn::GetAtt': ['SyncLambdaFunction', 'Arn'] } })]);
  const permissions = ofType('AWS::Lambda::Permission').filter(([, p]) => p.Properties.Principal === 'events.amazonaws.com');
  expect(permissions.map(([, p]) => p.Properties)).toEqual([
    expect.objectContaining({ FunctionName: { 'Fn::GetAtt': ['SyncLambdaFunction', 'Arn'] }, SourceArn: { 'Fn::GetAtt': [ruleId, 'Arn'] } }),
  ]);
});

test('each function has its log group, keeping logs 30 days by default', () => {
  expect(Object.fromEntries(ofType('AWS::Logs::LogGroup').map(([id, r]) => [id, r.Properties]))).toEqual({
    RelayLogGroup: { LogGroupName: '/aws/lambda/flux-webhook-relay-dev-relay', RetentionInDays: 30 },
    SyncLogGroup: { LogGroupName: '/aws/lambda/flux-webhook-relay-dev-sync', RetentionInDays: 30 },
  });
});

describe('IAM: one role per function', () => {
  const roleOf = (fn: string) => template.Resources[`${fn.charAt(0).toUpperCase()}${fn.slice(1)}Role`]!;
  const secretResources = (fn: string) => {
    const secrets = statementsOf(roleOf(fn)).filter(isSecretStatement);
    expect(secrets).toHaveLength(1);
    expect(secrets[0]).toMatchObject({ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue' });
    return secrets[0]!.Resource;
  };
  const kubeconfigs = (names: string[]) => names.map((name) => config.clusters[name]!.kubeconfig);

  test('two roles, no shared osls role, each assumable by Lambda only, each function on its own', () => {
    expect(ofType('AWS::IAM::Role').map(([id]) => id).sort()).toEqual(['RelayRole', 'SyncRole']);
    for (const fn of ['relay', 'sync']) {
      expect(roleOf(fn).Properties.AssumeRolePolicyDocument).toEqual({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      });
      const id = `${fn.charAt(0).toUpperCase()}${fn.slice(1)}`;
      expect(template.Resources[`${id}LambdaFunction`]?.Properties.Role).toEqual({ 'Fn::GetAtt': [`${id}Role`, 'Arn'] });
    }
  });

  test("the relay's secrets: exactly the clusters' kubeconfigs and the receivers' secrets", () => {
    const resources = secretResources('relay');
    expect(resources).toEqual(expectedResources([...kubeconfigs(Object.keys(config.clusters)), ...Object.values(config.receivers).map((r) => r.secret)]));
    // Both forms are exercised by the example: a full ARN kept as written, names as -?????? patterns.
    expect(resources).toContain('arn:aws:secretsmanager:eu-west-1:123456789012:secret:flux-relay/staging-AbCdEf');
    expect(resources).toContainEqual({
      'Fn::Sub': 'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:flux-relay/prod-kubeconfig-??????',
    });
    // The sync's API tokens are not the relay's business.
    expect(JSON.stringify(resources)).not.toContain('sync-token');
  });

  test("the sync's secrets: kubeconfigs it discovers on, the receivers its registrations use, their tokens", () => {
    const registrations = Object.values(config.sync!.registrations);
    const discoveredOn = new Set(
      registrations.filter((r) => r.discover && !r.organizations).flatMap((r) => config.receivers[r.receiver]!.clusters ?? Object.keys(config.clusters)),
    );
    const used = new Set(registrations.map((r) => r.receiver));
    const resources = secretResources('sync');
    expect(resources).toEqual(
      expectedResources([
        ...kubeconfigs(Object.keys(config.clusters).filter((c) => discoveredOn.has(c))),
        ...Object.entries(config.receivers).filter(([name]) => used.has(name)).map(([, r]) => r.secret),
        ...registrations.map((r) => r.token),
      ]),
    );
    expect(resources).toContainEqual({
      'Fn::Sub': 'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:flux-relay/github-sync-token-??????',
    });
  });

  test('no secret Resource contains a *; nothing but logs and GetSecretValue is allowed', () => {
    for (const [, role] of ofType('AWS::IAM::Role')) {
      for (const statement of statementsOf(role)) {
        expect(statement.Effect).toBe('Allow');
        if (isSecretStatement(statement)) expect(JSON.stringify(statement.Resource)).not.toContain('*');
        else expect(actions(statement).every((a) => a.startsWith('logs:'))).toBe(true);
      }
    }
  });

  test("each role writes only to its own function's log group", () => {
    for (const fn of ['relay', 'sync']) {
      const logGroup = `${fn.charAt(0).toUpperCase()}${fn.slice(1)}LogGroup`;
      const logs = statementsOf(roleOf(fn)).filter((s) => !isSecretStatement(s));
      expect(logs).toEqual([
        {
          Effect: 'Allow',
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: { 'Fn::Sub': `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:\${${logGroup}}:*` },
        },
      ]);
      // Ref of the log group is its name: the function's own.
      expect(template.Resources[logGroup]?.Properties.LogGroupName).toBe(`/aws/lambda/flux-webhook-relay-dev-${fn}`);
    }
  });
});

test('outputs: the API base URL and each receiver webhook URL', () => {
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
});

test('without sync registrations there is no sync function, role or output (resolved with osls print)', () => {
  expect(printedWithoutSync).toMatchObject({ status: 0 });
  const resolved = JSON.parse(printedWithoutSync.output.slice(printedWithoutSync.output.indexOf('{')));
  expect(Object.keys(resolved.functions)).toEqual(['relay']);
  expect(Object.keys(resolved.resources.Resources)).toEqual(['RelayRole']);
  expect(Object.keys(resolved.resources.Outputs)).toEqual(['WebhookUrlGithub']);
});

describe('refused for a deploy package', () => {
  test('a configuration with file:/env: secret references', () => {
    expect(refused.fileRefs.status).not.toBe(0);
    expect(refused.fileRefs.output).toContain('clusters.local.kubeconfig: file:~/.kube/config is a local-only secret reference');
    expect(refused.fileRefs.output).toContain('receivers.github.secret: env:SECRET is a local-only secret reference');
  });

  test('the local switch that `npm start` uses', () => {
    expect(refused.localSwitch.status).not.toBe(0);
    expect(refused.localSwitch.output).toContain('--param local=true is only for `osls offline`');
  });

  test('a configuration other than the one the bundle was built with', () => {
    expect(refused.otherConfig.status).not.toBe(0);
    expect(refused.otherConfig.output).toContain(`dist/relay/relay.config.yaml was built from another file than ${otherConfig}`);
  });
});

test('--param logRetentionDays=N sets the retention (resolved with osls print)', () => {
  expect(printed).toMatchObject({ status: 0 });
  expect(printed.output.trim()).toMatch(/^14$/m);
});
