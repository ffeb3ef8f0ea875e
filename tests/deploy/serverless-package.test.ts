/**
 * Builds the bundle and runs `osls package` exactly as CI does (example configuration, no AWS credentials, no
 * network), then checks the CloudFormation it generates. Note: this rewrites dist/ with the example configuration.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../lib/config/load';

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
let template: { Resources: Record<string, Resource>; Outputs: Record<string, { Value: unknown }> };
let packageDir: string;
const scratch = () => mkdtempSync(join(tmpdir(), 'relay-deploy-'));
const fileRefConfig = join(scratch(), 'relay.yaml');
const otherConfig = join(scratch(), 'other.yaml');
let refused: { fileRefs: Run; localSwitch: Run; otherConfig: Run };
let printed: Run;

const ofType = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);
const actions = (s: Statement) => [s.Action].flat();

// One build, then every osls run at once (each takes ~2-4 s, mostly start-up).
beforeAll(async () => {
  const build = await run('tsx', ['scripts/build.mjs'], { RELAY_CONFIG: exampleConfig });
  if (build.status !== 0) throw new Error(`build failed:\n${build.output}`);
  packageDir = scratch();
  writeFileSync(fileRefConfig, 'clusters:\n  local: { kubeconfig: "file:~/.kube/config" }\nreceivers:\n  github: { provider: github, secret: env:SECRET }\n');
  writeFileSync(otherConfig, 'clusters:\n  prod: { kubeconfig: aws-sm:k }\nreceivers:\n  github: { provider: github, secret: aws-sm:s }\n');
  let packaged: Run;
  [packaged, refused, printed] = await Promise.all([
    osls('package', '--param', `config=${exampleConfig}`, '--package', packageDir),
    Promise.all([
      osls('package', '--param', `config=${fileRefConfig}`, '--package', join(scratch(), 'out')),
      osls('package', '--param', 'config=relay.local.yaml', '--param', 'local=true', '--package', join(scratch(), 'out')),
      osls('package', '--param', `config=${otherConfig}`, '--package', join(scratch(), 'out')),
    ]).then(([fileRefs, localSwitch, other]) => ({ fileRefs, localSwitch, otherConfig: other })),
    osls('print', '--param', `config=${exampleConfig}`, '--param', 'logRetentionDays=14', '--path', 'provider.logRetentionInDays'),
  ]);
  if (packaged.status !== 0) throw new Error(`osls package failed:\n${packaged.output}`);
  template = JSON.parse(readFileSync(join(packageDir, 'cloudformation-template-update-stack.json'), 'utf8'));
}, 120_000);

test('the artifact holds only the bundle, its source map and the configuration', () => {
  expect(zipEntries(join(packageDir, 'relay.zip'))).toEqual(['dist/relay/index.js', 'dist/relay/index.js.map', 'dist/relay/relay.config.yaml']);
  expect(readFileSync(join(packageDir, 'relay.zip')).includes(readFileSync(join(root, 'local', 'github-webhook-secret')))).toBe(false);
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

test('the log group keeps logs 30 days by default', () => {
  expect(ofType('AWS::Logs::LogGroup').map(([, r]) => r.Properties)).toEqual([
    { LogGroupName: '/aws/lambda/flux-webhook-relay-dev-relay', RetentionInDays: 30 },
  ]);
});

test('IAM: GetSecretValue on exactly the configured secrets, no wildcard; otherwise only osls log-group grants', () => {
  const roles = ofType('AWS::IAM::Role');
  expect(roles).toHaveLength(1);
  const statements: Statement[] = roles[0]![1].Properties.Policies.flatMap((p: { PolicyDocument: { Statement: Statement[] } }) => p.PolicyDocument.Statement);
  const secretStatements = statements.filter((s) => actions(s).some((a) => a.startsWith('secretsmanager:')));
  expect(secretStatements).toHaveLength(1);
  const [secrets] = secretStatements as [Statement];
  expect(secrets.Effect).toBe('Allow');
  expect(actions(secrets)).toEqual(['secretsmanager:GetSecretValue']);
  expect(JSON.stringify(secrets.Resource)).not.toContain('*');

  // The oracle: every aws-sm reference of the example configuration, written out independently of secret-arns.cjs.
  const config = parseConfig(readFileSync(join(root, exampleConfig), 'utf8'), exampleConfig);
  const refs = [...Object.values(config.clusters).map((c) => c.kubeconfig), ...Object.values(config.receivers).map((r) => r.secret)];
  const expected = [
    ...new Map(
      refs.map((ref) => {
        const value = ref.id.startsWith('arn:')
          ? ref.id
          : { 'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${ref.id}-??????` };
        return [JSON.stringify(value), value] as const;
      }),
    ).values(),
  ];
  expect(secrets.Resource).toEqual(expected);
  // Both forms are exercised by the example: a full ARN kept as written, names as -?????? patterns.
  expect(secrets.Resource).toContain('arn:aws:secretsmanager:eu-west-1:123456789012:secret:flux-relay/staging-AbCdEf');
  expect(secrets.Resource).toContainEqual({
    'Fn::Sub': 'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:flux-relay/prod-kubeconfig-??????',
  });

  // What osls adds for CloudWatch Logs: logs actions on this service's own log groups only.
  for (const other of statements.filter((s) => s !== secrets)) {
    expect(actions(other).every((a) => a.startsWith('logs:'))).toBe(true);
    for (const resource of [other.Resource].flat()) {
      expect(JSON.stringify(resource)).toContain(':log-group:/aws/lambda/flux-webhook-relay-dev');
    }
  }
});

test('outputs: the API base URL and each receiver webhook URL', () => {
  expect(template.Outputs.HttpApiUrl).toBeDefined();
  const config = parseConfig(readFileSync(join(root, exampleConfig), 'utf8'), exampleConfig);
  const receivers = Object.keys(config.receivers);
  expect(receivers).toEqual(['github', 'gitlab']);
  for (const name of receivers) {
    const id = `WebhookUrl${name.charAt(0).toUpperCase()}${name.slice(1)}`;
    expect(template.Outputs[id]?.Value).toEqual({ 'Fn::Sub': `\${HttpApi.ApiEndpoint}/hooks/${name}` });
  }
  // The outputs reference the API by the logical id osls gives it.
  expect(template.Resources.HttpApi?.Type).toBe('AWS::ApiGatewayV2::Api');
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
