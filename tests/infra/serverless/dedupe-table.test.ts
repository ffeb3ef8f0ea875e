/**
 * Replay protection in the packaged CloudFormation: `osls package` (offline, no credentials) of a configuration with
 * a `dedupe` receiver and of one without. Runs in a scratch copy of the service (node_modules linked), because the
 * package must be built from the very configuration it packages and tests/infra/serverless/serverless-package.test.ts rebuilds
 * this tree's dist/ with the example configuration at the same time.
 */
import { cpSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root, runTool, type ToolRun } from '../../support/run-tool';

// CloudFormation properties are arbitrary nested JSON that the assertions walk by key; typing them would restate the
// template. The one `any` is here, with this reason.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const copied = [
  'serverless.yml',
  'package.json',
  'tsconfig.json',
  'relay.config.example.yaml',
  'infra',
  'lib',
  'functions',
  'scripts',
  'local',
];

type Resource = { Type: string; Properties: Record<string, Json>; DependsOn?: unknown };
type Template = { Resources: Record<string, Resource> };
type Statement = { Effect: string; Action: string | string[]; Resource: unknown };

/** The example configuration with `dedupe` on its github receiver: everything else the same. */
function dedupeConfig(): string {
  const example = readFileSync(join(root, 'relay.config.example.yaml'), 'utf8');
  const receiver = /^ {2}github:\n {4}provider: github\n/m;
  if (!receiver.test(example))
    throw new Error('relay.config.example.yaml no longer has receivers.github; adapt this test');
  return example.replace(receiver, (found) => `${found}    dedupe: { windowSeconds: 900 }\n`);
}

function run(cwd: string, command: string, args: string[], env: Record<string, string> = {}): Promise<ToolRun> {
  return runTool(command, args, { cwd, env });
}

/** Builds the bundle from `config` in the scratch service and packages it; the generated template. */
async function packaged(service: string, config: string): Promise<Template> {
  const build = await run(service, 'tsx', ['scripts/build.mjs'], { RELAY_CONFIG: config });
  if (build.status !== 0) throw new Error(`build of ${config} failed:\n${build.output}`);
  const out = join(service, `package-${config.replace(/\W/g, '-')}`);
  const pkg = await run(service, 'osls', ['package', '--param', `config=${config}`, '--package', out]);
  if (pkg.status !== 0) throw new Error(`osls package of ${config} failed:\n${pkg.output}`);
  return JSON.parse(readFileSync(join(out, 'cloudformation-template-update-stack.json'), 'utf8')) as Template;
}

let withDedupe: Template;
let without: Template;

beforeAll(async () => {
  const service = mkdtempSync(join(tmpdir(), 'relay-dedupe-service-'));
  for (const entry of copied) cpSync(join(root, entry), join(service, entry), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(service, 'node_modules'), 'dir');
  writeFileSync(join(service, 'dedupe.yaml'), dedupeConfig());
  // One after the other: both build into the same dist/.
  withDedupe = await packaged(service, 'dedupe.yaml');
  without = await packaged(service, 'relay.config.example.yaml');
}, 180_000);

const ofType = (template: Template, type: string) =>
  Object.entries(template.Resources).filter(([, r]) => r.Type === type);
const actions = (s: Statement) => [s.Action].flat();

/** Every IAM statement in the template with the role(s) it applies to: inline role policies and AWS::IAM::Policy. */
function statements(template: Template): Array<{ roles: unknown[]; statement: Statement }> {
  const found: Array<{ roles: unknown[]; statement: Statement }> = [];
  for (const [id, r] of Object.entries(template.Resources)) {
    if (r.Type === 'AWS::IAM::Role') {
      for (const p of r.Properties.Policies ?? [])
        for (const statement of p.PolicyDocument.Statement) found.push({ roles: [{ Ref: id }], statement });
    }
    if (r.Type === 'AWS::IAM::Policy')
      for (const statement of r.Properties.PolicyDocument.Statement)
        found.push({ roles: r.Properties.Roles, statement });
  }
  return found;
}

const dynamoStatements = (template: Template) =>
  statements(template).filter(({ statement }) =>
    actions(statement).some((a) => a.toLowerCase().startsWith('dynamodb:')),
  );

test('with a dedupe receiver: one on-demand table keyed by `id` with TTL on `expiration`, as Powertools Idempotency expects', () => {
  const tables = ofType(withDedupe, 'AWS::DynamoDB::Table');
  expect(tables.map(([id]) => id)).toEqual(['DedupeTable']);
  expect(tables[0]![1].Properties).toEqual({
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
  });
});

test('with a dedupe receiver: the relay role, and only it, may GetItem/PutItem/UpdateItem/DeleteItem on exactly that table', () => {
  expect(dynamoStatements(withDedupe)).toEqual([
    {
      roles: [{ Ref: 'RelayRole' }],
      statement: {
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
        Resource: { 'Fn::GetAtt': ['DedupeTable', 'Arn'] },
      },
    },
  ]);
});

test("with a dedupe receiver: the relay's RELAY_DEDUPE_TABLE is the table's name, and no other function has it", () => {
  expect(withDedupe.Resources.RelayLambdaFunction?.Properties.Environment.Variables.RELAY_DEDUPE_TABLE).toEqual({
    Ref: 'DedupeTable',
  });
  for (const [id, fn] of ofType(withDedupe, 'AWS::Lambda::Function')) {
    if (id !== 'RelayLambdaFunction') expect(fn.Properties.Environment?.Variables?.RELAY_DEDUPE_TABLE).toBeUndefined();
  }
});

test('without a dedupe receiver: no table, no DynamoDB permission, no RELAY_DEDUPE_TABLE', () => {
  expect(ofType(without, 'AWS::DynamoDB::Table')).toEqual([]);
  expect(dynamoStatements(without)).toEqual([]);
  for (const [, fn] of ofType(without, 'AWS::Lambda::Function'))
    expect(fn.Properties.Environment?.Variables?.RELAY_DEDUPE_TABLE).toBeUndefined();
  // The rest of the stack is the same: dedupe adds exactly its two resources (function versions are named by a hash
  // of the code and configuration, so they differ by name).
  const ids = (template: Template) => Object.keys(template.Resources).filter((id) => !/LambdaVersion/.test(id));
  expect(
    ids(withDedupe)
      .filter((id) => !ids(without).includes(id))
      .sort(),
  ).toEqual(['DedupeTable', 'RelayDedupePolicy']);
  expect(ids(without).filter((id) => !ids(withDedupe).includes(id))).toEqual([]);
});
