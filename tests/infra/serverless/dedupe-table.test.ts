/**
 * Replay protection in the packaged CloudFormation: `osls package` (offline, no credentials) of a configuration with
 * a `dedupe` receiver and of one without. Runs in a scratch copy of the service (node_modules linked), because the
 * package must be built from the very configuration it packages and tests/infra/serverless/serverless-package.test.ts rebuilds
 * this tree's dist/ with the example configuration at the same time.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from '../../support/run-tool';
import { packageService, scratchService, type Statement, type Template } from '../../support/scratch-service';

/** The example configuration with `dedupe` on its github receiver: everything else the same. */
function dedupeConfig(): string {
  const example = readFileSync(join(root, 'relay.config.example.yaml'), 'utf8');
  const receiver = /^ {2}github:\n {4}provider: github\n/m;
  if (!receiver.test(example))
    throw new Error('relay.config.example.yaml no longer has receivers.github; adapt this test');
  return example.replace(receiver, (found) => `${found}    dedupe: { windowSeconds: 900 }\n`);
}

let withDedupe: Template;
let without: Template;

beforeAll(async () => {
  const service = scratchService('relay-dedupe-service', { 'dedupe.yaml': dedupeConfig() });
  // One after the other: both build into the same dist/.
  withDedupe = await packageService(service, 'dedupe.yaml', 'package-dedupe');
  without = await packageService(service, 'relay.config.example.yaml', 'package-example');
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

// The sync's own table (infra/serverless/sync-state.cjs, tested in serverless-package.test.ts) comes with the example
// configuration's sync registrations in both packages; these tests are about replay protection's.
const syncState = (text: unknown) => JSON.stringify(text).includes('SyncState');
const dynamoStatements = (template: Template) =>
  statements(template).filter(
    ({ statement }) =>
      actions(statement).some((a) => a.toLowerCase().startsWith('dynamodb:')) && !syncState(statement.Resource),
  );
const dedupeTables = (template: Template) => ofType(template, 'AWS::DynamoDB::Table').filter(([id]) => !syncState(id));

test('with a dedupe receiver: one on-demand table keyed by `id` with TTL on `expiration`, as Powertools Idempotency expects', () => {
  const tables = dedupeTables(withDedupe);
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
  expect(dedupeTables(without)).toEqual([]);
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
