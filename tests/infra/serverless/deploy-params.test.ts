/**
 * The deploy params (infra/serverless/deploy-params.cjs) and the monitoring built from a configuration
 * (infra/serverless/monitoring.cjs), without osls: serverless-package.test.ts checks the packaged template.
 */
import { parseConfig } from '../../../lib/config/load';
import {
  alarmTopic,
  customDomain,
  deployParams,
  relayReservedConcurrency,
  retryQueueSenders,
  secretsKmsKeyArns,
  signatureRejectionThreshold,
  throttle,
  vpc,
} from '../../../infra/serverless/deploy-params.cjs';
import { kmsDecryptStatement } from '../../../infra/serverless/kms.cjs';
import { domainResources } from '../../../infra/serverless/domain.cjs';
import { stackOutputs } from '../../../infra/serverless/outputs.cjs';
import { routeSettings } from '../../../infra/serverless/http-api.cjs';
import {
  alarms,
  dashboardBody,
  monitoringContext,
  monitoringResources,
  relayProviders,
  syncProviders,
} from '../../../infra/serverless/monitoring.cjs';
import { functionRoles } from '../../../infra/serverless/roles.cjs';
import { eniActions, eniStatement } from '../../../infra/serverless/vpc.cjs';

// CloudFormation properties are arbitrary nested JSON that the assertions walk by key; typing them would restate the
// template. The one `any` is here, with this reason.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const resolverOf = (values: Record<string, unknown>) => ({
  resolveConfigurationProperty: async (path: string[]) => path.reduce<Json>((node, key) => node?.[key], values),
});

describe('throttle', () => {
  test('defaults to bursts of 50 and 20 requests per second; CLI strings are numbers', () => {
    expect(throttle({ throttleBurst: 50, throttleRate: 20 })).toEqual({ burst: 50, rate: 20 });
    expect(throttle({})).toEqual({ burst: 50, rate: 20 });
    expect(throttle({ throttleBurst: '200', throttleRate: '0.5' })).toEqual({ burst: 200, rate: 0.5 });
    expect(routeSettings({ burst: 200, rate: 0.5 })).toEqual({ ThrottlingBurstLimit: 200, ThrottlingRateLimit: 0.5 });
  });

  test.each([
    [{ throttleBurst: 'abc' }, 'throttleBurst=abc must be a whole number'],
    [{ throttleBurst: '1.5' }, 'throttleBurst=1.5 must be a whole number'],
    [{ throttleBurst: '0' }, 'throttleBurst=0 must be a whole number from 1'],
    [{ throttleRate: '0' }, 'throttleRate=0 must be a positive number'],
    [{ throttleRate: '-3' }, 'throttleRate=-3 must be a positive number'],
  ])('%j is refused', (settings, message) => {
    expect(() => throttle(settings)).toThrow(message);
  });
});

describe('retryQueueSenders', () => {
  test('unset: none; otherwise IAM role ARNs, comma separated, duplicates dropped', () => {
    expect(retryQueueSenders({})).toEqual([]);
    expect(retryQueueSenders({ retryQueueSenders: null })).toEqual([]);
    expect(
      retryQueueSenders({
        retryQueueSenders:
          'arn:aws:iam::123456789012:role/a, arn:aws:iam::123456789012:role/path/b,arn:aws:iam::123456789012:role/a',
      }),
    ).toEqual(['arn:aws:iam::123456789012:role/a', 'arn:aws:iam::123456789012:role/path/b']);
  });

  test.each([
    '*',
    'arn:aws:iam::123456789012:user/alice',
    'arn:aws:iam::123456789012:root',
    'arn:aws:iam::*:role/a',
    'arn:aws:sts::123456789012:assumed-role/a/s',
  ])('%s is refused: only role ARNs, no wildcards', (value) => {
    expect(() => retryQueueSenders({ retryQueueSenders: value })).toThrow('retryQueueSenders: not an IAM role ARN');
  });
});

describe('vpc', () => {
  test('neither param: no VPC', () => {
    expect(vpc({})).toBeNull();
    expect(vpc({ vpcSubnetIds: null, vpcSecurityGroupIds: '' })).toBeNull();
  });

  test('both: comma-separated lists, trimmed, duplicates dropped', () => {
    expect(
      vpc({ vpcSubnetIds: 'subnet-0a1b, subnet-0c2d,subnet-0a1b', vpcSecurityGroupIds: 'sg-0123456789abcdef0' }),
    ).toEqual({
      subnetIds: ['subnet-0a1b', 'subnet-0c2d'],
      securityGroupIds: ['sg-0123456789abcdef0'],
    });
  });

  test.each([
    [
      { vpcSubnetIds: 'subnet-1' },
      'go together: set both to run the functions in a VPC, or neither (got only vpcSubnetIds)',
    ],
    [{ vpcSecurityGroupIds: 'sg-1' }, '(got only vpcSecurityGroupIds)'],
    [{ vpcSubnetIds: 'sg-1', vpcSecurityGroupIds: 'sg-1' }, 'vpcSubnetIds: not a subnet id (subnet-<hex>): sg-1'],
    [
      { vpcSubnetIds: 'subnet-1', vpcSecurityGroupIds: 'subnet-1,sg-x' },
      'vpcSecurityGroupIds: not a security group id (sg-<hex>): subnet-1, sg-x',
    ],
    [{ vpcSubnetIds: ',', vpcSecurityGroupIds: 'sg-1' }, 'vpcSubnetIds=, names no id'],
    [
      { vpcSubnetIds: 'subnet-1', vpcSecurityGroupIds: 'sg-1,sg-2,sg-3,sg-4,sg-5,sg-6' },
      'vpcSecurityGroupIds: Lambda takes at most 5, got 6',
    ],
  ])('%j is refused', (settings, message) => {
    expect(() => vpc(settings)).toThrow(message);
  });

  test('the ENI statement: exactly the documented actions on *, and in every role only with the VPC', () => {
    expect(eniStatement()).toEqual({ Effect: 'Allow', Action: [...eniActions], Resource: '*' });
    expect(eniActions.every((a) => a.startsWith('ec2:'))).toBe(true);
    const config = parseConfig(
      'clusters: { c: { kubeconfig: k } }\nreceivers: { r: { provider: github, secret: s } }\n',
      'x.yaml',
    );
    const statements = (roles: ReturnType<typeof functionRoles>) =>
      Object.values(roles).flatMap((r) => r.Properties.Policies[0]!.PolicyDocument.Statement);
    expect(statements(functionRoles(config)).filter((s) => s.Resource === '*')).toEqual([]);
    // One per role (relay and retry here; no sync without registrations).
    const vpcRoles = functionRoles(config, { vpc: true });
    expect(Object.keys(vpcRoles)).toEqual(['RelayRole', 'RetryRole']);
    expect(statements(vpcRoles).filter((s) => s.Resource === '*')).toEqual([eniStatement(), eniStatement()]);
  });
});

describe('secretsKmsKeyArns (customer-managed KMS keys)', () => {
  const key = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
  const mrk = 'arn:aws:kms:eu-west-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab';
  const sub = (name: string) => ({
    'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${name}-??????`,
  });
  const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:kube/b-AbCdEf';
  const config = parseConfig(
    `
clusters:
  a: { kubeconfig: kube/a }
  b: { kubeconfig: "${arn}#kubeconfig" }
receivers:
  github: { provider: github, secret: hooks/github, clusters: [a] }
sync:
  registrations:
    gh: { provider: github, token: tokens/github, receiver: github, discover: false, repositories: [acme/app] }
`,
    'x.yaml',
  );
  const statementsOf = (role: { Properties: { Policies: Array<{ PolicyDocument: { Statement: unknown[] } }> } }) =>
    role.Properties.Policies[0]!.PolicyDocument.Statement;

  test('unset: none; key ARNs (UUID or multi-Region mrk- ids), comma separated, duplicates dropped', () => {
    expect(secretsKmsKeyArns({})).toEqual([]);
    expect(secretsKmsKeyArns({ secretsKmsKeyArns: null, region: 'eu-west-1' })).toEqual([]);
    expect(secretsKmsKeyArns({ secretsKmsKeyArns: `${key}, ${mrk},${key}`, region: 'eu-west-1' })).toEqual([key, mrk]);
  });

  test.each([
    ['*', 'secretsKmsKeyArns: not a KMS key ARN'],
    ['arn:aws:kms:eu-west-1:123456789012:key/*', 'secretsKmsKeyArns: not a KMS key ARN'],
    ['1234abcd-12ab-34cd-56ef-1234567890ab', 'secretsKmsKeyArns: not a KMS key ARN'],
    ['arn:aws:secretsmanager:eu-west-1:123456789012:secret:x-AbCdEf', 'secretsKmsKeyArns: not a KMS key ARN'],
    ['arn:aws:kms:eu-west-1:123456789012:alias/relay', 'an alias cannot grant a KMS key in IAM, give the key ARN'],
    ['alias/relay', 'an alias cannot grant a KMS key in IAM'],
    [
      'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      "secretsKmsKeyArns: not in the stack's region eu-west-1: arn:aws:kms:us-east-1",
    ],
  ])('%s is refused', (value, message) => {
    expect(() => secretsKmsKeyArns({ secretsKmsKeyArns: value, region: 'eu-west-1' })).toThrow(message);
  });

  test("deployParams checks the key's region against provider.region", async () => {
    const resolver = resolverOf({
      provider: { region: 'eu-central-1' },
      custom: { relay: { secretsKmsKeyArns: key } },
    });
    await expect(deployParams(resolver, ['secretsKmsKeyArns'])).rejects.toThrow(
      "not in the stack's region eu-central-1",
    );
  });

  test('each role that reads secrets gets kms:Decrypt on exactly the keys, via Secrets Manager, for exactly its own secret ARNs', () => {
    const plain = functionRoles(config);
    const roles = functionRoles(config, { kmsKeyArns: [key, mrk] });
    const decrypt = (secrets: unknown[]) => ({
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: [key, mrk],
      Condition: {
        StringEquals: { 'kms:ViaService': { 'Fn::Sub': 'secretsmanager.${AWS::Region}.amazonaws.com' } },
        StringLike: { 'kms:EncryptionContext:SecretARN': secrets },
      },
    });
    const expected = {
      RelayRole: [sub('kube/a'), arn, sub('hooks/github')],
      RetryRole: [sub('kube/a'), arn],
      SyncRole: [sub('hooks/github'), sub('tokens/github')],
    };
    for (const [id, secrets] of Object.entries(expected)) {
      const before = statementsOf(plain[id]!);
      // The same statements, and the decrypt one right after GetSecretValue (whose Resource is the same list).
      expect(before[1]).toEqual({ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: secrets });
      expect(statementsOf(roles[id]!)).toEqual([...before.slice(0, 2), decrypt(secrets), ...before.slice(2)]);
    }
    expect(JSON.stringify(plain)).not.toContain('kms:');
    expect(kmsDecryptStatement([key], [arn])).toEqual({ ...decrypt([arn]), Resource: [key] });
  });

  test('a role without secrets (every one local-only, offline) gets no decrypt statement', () => {
    const local = parseConfig(
      'clusters: { c: { kubeconfig: "file:/k" } }\nreceivers: { r: { provider: github, secret: "env:S" } }\n',
      'x.yaml',
    );
    expect(JSON.stringify(functionRoles(local, { local: true, kmsKeyArns: [key] }))).not.toContain('kms:');
  });
});

describe('custom domain (domainName, certificateArn, hostedZoneId)', () => {
  const cert = 'arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012';
  const domain = { domainName: 'hooks.example.com', certificateArn: cert, hostedZoneId: null };

  test('none: null; domain and certificate, optionally a zone (the console form /hostedzone/<id> accepted)', () => {
    expect(customDomain({ region: 'eu-west-1' })).toBeNull();
    expect(customDomain({ domainName: null, certificateArn: '', hostedZoneId: null })).toBeNull();
    expect(customDomain({ domainName: ' hooks.example.com ', certificateArn: cert, region: 'eu-west-1' })).toEqual(
      domain,
    );
    expect(
      customDomain({
        domainName: 'hooks.example.com',
        certificateArn: cert,
        hostedZoneId: '/hostedzone/Z0123456789ABCDEFGHIJ',
      }),
    ).toEqual({ ...domain, hostedZoneId: 'Z0123456789ABCDEFGHIJ' });
  });

  test.each([
    [
      { domainName: 'hooks.example.com' },
      'domainName and certificateArn go together (hostedZoneId needs both): set both for a custom domain, or none (got only domainName)',
    ],
    [{ certificateArn: cert }, '(got only certificateArn)'],
    [{ domainName: 'hooks.example.com', hostedZoneId: 'Z1' }, '(got only domainName, hostedZoneId)'],
    [{ hostedZoneId: 'Z1' }, '(got only hostedZoneId)'],
    [
      { domainName: 'Hooks.Example.com', certificateArn: cert },
      'domainName=Hooks.Example.com is not a lowercase host name',
    ],
    [{ domainName: '*.example.com', certificateArn: cert }, 'domainName=*.example.com is not a lowercase host name'],
    [{ domainName: 'https://hooks.example.com', certificateArn: cert }, 'is not a lowercase host name'],
    [{ domainName: 'hooks.example.com/hooks', certificateArn: cert }, 'is not a lowercase host name'],
    [{ domainName: 'localhost', certificateArn: cert }, 'is not a lowercase host name'],
    [
      { domainName: 'hooks.example.com', certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/*' },
      'is not an ACM certificate ARN',
    ],
    [
      { domainName: 'hooks.example.com', certificateArn: 'arn:aws:iam::123456789012:server-certificate/x' },
      'is not an ACM certificate ARN',
    ],
    [
      { domainName: 'hooks.example.com', certificateArn: cert.replace('eu-west-1', 'us-east-1') },
      "is in us-east-1; the HTTP API's regional custom domain needs a certificate in the stack's region eu-west-1",
    ],
    [
      { domainName: 'hooks.example.com', certificateArn: cert, hostedZoneId: 'example.com' },
      'hostedZoneId=example.com is not a Route 53 hosted zone id',
    ],
  ])('%j is refused', (settings, message) => {
    expect(() => customDomain({ region: 'eu-west-1', ...settings })).toThrow(message);
  });

  test('resources: a regional domain with the certificate, TLS 1.2, mapped at the root to the $default stage; the alias record only with a zone', () => {
    expect(domainResources(null)).toEqual({});
    const resources = domainResources(domain);
    expect(resources).toEqual({
      RelayDomainName: {
        Type: 'AWS::ApiGatewayV2::DomainName',
        Properties: {
          DomainName: 'hooks.example.com',
          DomainNameConfigurations: [{ CertificateArn: cert, EndpointType: 'REGIONAL', SecurityPolicy: 'TLS_1_2' }],
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
    });
    expect(domainResources({ ...domain, hostedZoneId: 'Z0123456789ABCDEFGHIJ' }).RelayDomainRecord).toEqual({
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
    });
  });

  test('outputs: the webhook URLs on the domain, and where its DNS record must point', () => {
    const config = parseConfig(
      'clusters: { c: { kubeconfig: k } }\nreceivers: { github-main: { provider: github, secret: s } }\n',
      'x.yaml',
    );
    expect(stackOutputs(config).WebhookUrlGithubMain!.Value).toEqual({
      'Fn::Sub': '${HttpApi.ApiEndpoint}/hooks/github-main',
    });
    expect(stackOutputs(config).CustomDomainTarget).toBeUndefined();
    const outputs = stackOutputs(config, domain);
    expect(outputs.WebhookUrlGithubMain!.Value).toBe('https://hooks.example.com/hooks/github-main');
    expect(outputs.CustomDomainTarget).toEqual({
      Description: 'Where hooks.example.com must point (a CNAME or alias record)',
      Value: { 'Fn::GetAtt': ['RelayDomainName', 'RegionalDomainName'] },
    });
  });
});

describe('relayReservedConcurrency', () => {
  test('unset: null (no cap); a whole number from 1', () => {
    expect(relayReservedConcurrency({})).toBeNull();
    expect(relayReservedConcurrency({ relayReservedConcurrency: null })).toBeNull();
    expect(relayReservedConcurrency({ relayReservedConcurrency: '25' })).toBe(25);
  });

  test.each(['0', '-1', '2.5', 'ten', '1e3'])('%s is refused (0 would throttle every delivery)', (value) => {
    expect(() => relayReservedConcurrency({ relayReservedConcurrency: value })).toThrow(
      `relayReservedConcurrency=${value} must be a whole number from 1`,
    );
  });
});

describe('alarm params', () => {
  test('alarmTopicArn: a standard topic ARN, or nothing', () => {
    expect(alarmTopic({})).toBeNull();
    expect(alarmTopic({ alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:ops-alarms' })).toBe(
      'arn:aws:sns:eu-west-1:123456789012:ops-alarms',
    );
    expect(alarmTopic({ alarmTopicArn: 'arn:aws-cn:sns:cn-north-1:123456789012:ops' })).toBe(
      'arn:aws-cn:sns:cn-north-1:123456789012:ops',
    );
    for (const bad of [
      'ops-alarms',
      'arn:aws:sns:eu-west-1:123456789012:ops.fifo',
      'arn:aws:sqs:eu-west-1:123456789012:ops',
    ]) {
      expect(() => alarmTopic({ alarmTopicArn: bad })).toThrow(`alarmTopicArn=${bad} is not an SNS standard topic ARN`);
    }
  });

  test('signatureRejectionThreshold: 20 by default, a whole number from 1', () => {
    expect(signatureRejectionThreshold({})).toBe(20);
    expect(signatureRejectionThreshold({ signatureRejectionThreshold: '7' })).toBe(7);
    expect(() => signatureRejectionThreshold({ signatureRejectionThreshold: '0' })).toThrow(
      'signatureRejectionThreshold=0 must be a whole number from 1',
    );
  });

  test('deployParams reads custom.relay and checks only what it is asked for', async () => {
    const resolver = resolverOf({
      custom: { relay: { throttleBurst: 'bad', vpcSubnetIds: 'subnet-1', vpcSecurityGroupIds: 'sg-1' } },
    });
    await expect(deployParams(resolver, ['vpc'])).resolves.toEqual({
      vpc: { subnetIds: ['subnet-1'], securityGroupIds: ['sg-1'] },
    });
    await expect(deployParams(resolver, ['throttle'])).rejects.toThrow('throttleBurst=bad');
  });
});

describe('monitoring', () => {
  const config = parseConfig(
    `
clusters: { c: { kubeconfig: k } }
receivers:
  a: { provider: github, secret: s }
  b: { provider: gitea, secret: s }
  c: { provider: github, secret: t }
sync:
  registrations:
    g: { provider: github, token: t, receiver: a }
`,
    'x.yaml',
  );
  const context = {
    prefix: 'svc-prod',
    namespace: 'FluxWebhookRelay',
    relayService: 'relay-svc',
    syncService: 'sync-svc',
    registryEventsService: 'registry-events-svc',
    alarmTopicArn: null,
    signatureRejectionThreshold: 20,
  };

  test("providers: the receivers' and the registrations', once each, in file order", () => {
    expect(relayProviders(config)).toEqual(['github', 'gitea']);
    expect(syncProviders(config)).toEqual(['github']);
  });

  test('alarm names start with <service>-<stage>; per-provider sums cover each provider once', () => {
    const result = alarms(config, context);
    expect(Object.values(result).map((a) => a.Properties.AlarmName)).toEqual([
      'svc-prod-relay-errors',
      'svc-prod-relay-failed-deliveries',
      'svc-prod-signature-rejections',
      'svc-prod-retry-dead-letters',
      'svc-prod-retry-errors',
      'svc-prod-sync-failures',
      'svc-prod-sync-errors',
    ]);
    expect(result.RelayFailedDeliveriesAlarm!.Properties.Metrics.at(-1)).toEqual({
      Id: 'total',
      Label: 'failed deliveries',
      Expression: 'FILL(m0, 0) + FILL(m1, 0)',
      ReturnData: true,
    });
    expect(result.SyncFailuresAlarm!.Properties.Metrics.at(-1).Expression).toBe('FILL(m0, 0)');
  });

  test("with an ecr section: the registryEvents function's Errors and its failed ECR deliveries, under its own service", () => {
    const withEcr = parseConfig(
      'clusters: { c: { kubeconfig: k } }\nreceivers: { a: { provider: github, secret: s } }\necr: {}\n',
      'x.yaml',
    );
    const result = alarms(withEcr, context);
    expect(result.RegistryEventsErrorsAlarm!.Properties).toMatchObject({
      AlarmName: 'svc-prod-registry-events-errors',
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: 'RegistryEventsLambdaFunction' } }],
      Threshold: 0,
    });
    expect(result.RegistryEventsFailedAlarm!.Properties).toMatchObject({
      AlarmName: 'svc-prod-registry-events-failed',
      Namespace: 'FluxWebhookRelay',
      MetricName: 'Deliveries',
      Dimensions: [
        { Name: 'service', Value: 'registry-events-svc' },
        { Name: 'provider', Value: 'ecr' },
        { Name: 'outcome', Value: 'failed' },
      ],
      Statistic: 'Sum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(Object.keys(alarms(config, context)).filter((id) => id.startsWith('RegistryEvents'))).toEqual([]);
  });

  test('the dashboard body has the region as the one substitution and names no function', () => {
    const text = JSON.stringify(dashboardBody(config, context));
    expect(text.match(/\$\{[^}]*\}/g)?.every((v) => v === '${AWS::Region}')).toBe(true);
    expect(Object.keys(monitoringResources(config, context)).filter((id) => id.endsWith('Query'))).toHaveLength(4);
  });

  test("the namespace and services come from the functions' environment, which must name them", async () => {
    const values = {
      service: 'flux-webhook-relay',
      provider: { stage: 'prod' },
      functions: { relay: { environment: { POWERTOOLS_SERVICE_NAME: 'r', POWERTOOLS_METRICS_NAMESPACE: 'NS' } } },
      custom: {
        relay: {},
        syncFunction: { environment: { POWERTOOLS_SERVICE_NAME: 's', POWERTOOLS_METRICS_NAMESPACE: 'NS' } },
        registryEventsFunction: { environment: { POWERTOOLS_SERVICE_NAME: 'e', POWERTOOLS_METRICS_NAMESPACE: 'NS' } },
      },
    };
    await expect(monitoringContext(resolverOf(values))).resolves.toEqual({
      prefix: 'flux-webhook-relay-prod',
      namespace: 'NS',
      relayService: 'r',
      syncService: 's',
      registryEventsService: 'e',
      alarmTopicArn: null,
      signatureRejectionThreshold: 20,
    });
    values.custom.registryEventsFunction.environment.POWERTOOLS_METRICS_NAMESPACE = 'Other';
    await expect(monitoringContext(resolverOf(values))).rejects.toThrow(
      'the relay, sync and registryEvents functions need the same POWERTOOLS_METRICS_NAMESPACE',
    );
    values.custom.registryEventsFunction.environment.POWERTOOLS_METRICS_NAMESPACE = 'NS';
    values.custom.syncFunction.environment.POWERTOOLS_METRICS_NAMESPACE = 'Other';
    await expect(monitoringContext(resolverOf(values))).rejects.toThrow(
      'the relay, sync and registryEvents functions need the same POWERTOOLS_METRICS_NAMESPACE',
    );
  });
});
