import { ConfigError, parseConfig } from '../../lib/config/load';

const valid = `
clusters:
  prod:
    kubeconfig: aws-sm:flux-relay/prod-kubeconfig
  staging:
    kubeconfig: arn:aws:secretsmanager:eu-west-1:123456789012:secret:staging-kubeconfig-AbCdEf#kubeconfig
    namespaces: [flux-system, apps]
receivers:
  github:
    provider: github
    secret: flux-relay/github#secret
    targets:
      - { cluster: prod, kind: Kustomization, name: apps, namespace: flux-system }
  gitlab:
    provider: gitlab
    secret: env:GITLAB_TOKEN
    clusters: [staging]
`;

test('a valid file parses, with defaults filled in', () => {
  const config = parseConfig(valid, 'relay.config.yaml');
  expect(config.limits).toEqual({
    maxBodyBytes: 3 * 1024 * 1024,
    clusterTimeoutMs: 4000,
    deliveryBudgetMs: 8000,
    secretCacheTtlSeconds: 300,
  });
  expect(config.clusters.prod?.kubeconfig).toMatchObject({ scheme: 'aws-sm', id: 'flux-relay/prod-kubeconfig' });
  expect(config.clusters.staging?.kubeconfig).toMatchObject({
    scheme: 'aws-sm',
    id: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:staging-kubeconfig-AbCdEf',
    key: 'kubeconfig',
  });
  expect(config.receivers.github?.secret).toMatchObject({ scheme: 'aws-sm', id: 'flux-relay/github', key: 'secret' });
  expect(config.receivers.gitlab?.secret).toMatchObject({ scheme: 'env', id: 'GITLAB_TOKEN' });
  expect(config.receivers.github?.targets).toEqual([
    {
      cluster: 'prod',
      kind: 'Kustomization',
      name: 'apps',
      namespace: 'flux-system',
      apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    },
  ]);
});

function errorOf(text: string): string {
  try {
    parseConfig(text, 'relay.config.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected the configuration to be refused');
}

test.each(
  (
    [
      ['provider: bitbucket', valid.replace('provider: gitlab', 'provider: bitbucket'), 'receivers.gitlab.provider'],
      [
        'unknown cluster in receiver',
        valid.replace('clusters: [staging]', 'clusters: [nope]'),
        'receivers.gitlab.clusters[0]: unknown cluster nope',
      ],
      [
        'unknown cluster in target',
        valid.replace('cluster: prod, kind', 'cluster: qa, kind'),
        'receivers.github.targets[0].cluster: unknown cluster qa',
      ],
      [
        'target outside receiver clusters',
        valid.replace(
          '    clusters: [staging]\n',
          '    clusters: [staging]\n    targets: [{ cluster: prod, kind: GitRepository, name: a, namespace: b }]\n',
        ),
        'receivers.gitlab.targets[0].cluster: cluster prod is not in',
      ],
      ['unknown kind', valid.replace('kind: Kustomization', 'kind: Deployment'), 'receivers.github.targets[0].kind'],
      ['missing secret', valid.replace('    secret: env:GITLAB_TOKEN\n', ''), 'receivers.gitlab.secret'],
      [
        'bad secret scheme',
        valid.replace('env:GITLAB_TOKEN', 'vault:x'),
        'receivers.gitlab.secret: secret reference "vault:x" has an unknown scheme',
      ],
      ['empty #key', valid.replace('#secret', '#'), 'receivers.github.secret'],
      ['typo in a field name', valid.replace('namespaces:', 'namespace:'), 'clusters.staging'],
      ['receiver name not a DNS label', valid.replace('  github:\n', '  GitHub_Main:\n'), 'receivers.GitHub_Main'],
      ['no clusters', 'clusters: {}\nreceivers: {}\n', 'clusters: at least one cluster is required'],
      ['negative limit', `${valid}limits:\n  maxBodyBytes: -1\n`, 'limits.maxBodyBytes'],
      [
        'cluster timeout over the budget',
        `${valid}limits:\n  clusterTimeoutMs: 9000\n`,
        'limits.clusterTimeoutMs: must not exceed',
      ],
      [
        'answers not a mode',
        `${valid}answers: minimal\n`,
        'answers: Invalid option: expected one of "detailed"|"counts"',
      ],
      [
        "a receiver's answers not a mode",
        valid.replace('    clusters: [staging]\n', '    clusters: [staging]\n    answers: none\n'),
        'receivers.gitlab.answers',
      ],
    ] as Array<[string, string, string]>
  ).map(([name, text, field]) => [name, field, text]),
)('%s is refused naming %s', (_name, field, text) => {
  expect(errorOf(text)).toContain(field);
});

test('answers: detailed by default, counts where asked; a receiver without its own has none (the top-level one applies)', () => {
  expect(parseConfig(valid, 'relay.config.yaml').answers).toBe('detailed');
  const config = parseConfig(
    `${valid.replace('    clusters: [staging]\n', '    clusters: [staging]\n    answers: detailed\n')}answers: counts\n`,
    'relay.config.yaml',
  );
  expect([config.answers, config.receivers.github?.answers, config.receivers.gitlab?.answers]).toEqual([
    'counts',
    undefined,
    'detailed',
  ]);
});

test('all problems are reported at once', () => {
  const message = errorOf(
    valid.replace('provider: gitlab', 'provider: svn').replace('kind: Kustomization', 'kind: Pod'),
  );
  expect(message).toContain('receivers.gitlab.provider');
  expect(message).toContain('receivers.github.targets[0].kind');
});

test('YAML syntax errors say so', () => {
  expect(errorOf('clusters: [unclosed')).toContain('not valid YAML');
});

const withReceiver = (receiver: string) => `clusters:\n  c: { kubeconfig: k }\nreceivers:\n  r: ${receiver}\n`;

test.each([
  [
    'name "*" without matchLabels',
    '{ provider: github, secret: s, targets: [{ cluster: c, kind: GitRepository, name: "*", namespace: n }] }',
    'receivers.r.targets[0].matchLabels: is required with name "*"',
  ],
  [
    'matchLabels with a name',
    '{ provider: github, secret: s, targets: [{ cluster: c, kind: GitRepository, name: a, namespace: n, matchLabels: { a: b } }] }',
    'receivers.r.targets[0].matchLabels: applies only with name "*"',
  ],
  [
    'allowSha1 on github',
    '{ provider: github, secret: s, allowSha1: true }',
    'receivers.r.allowSha1: applies only to provider generic-hmac',
  ],
  [
    'a generic receiver without targets',
    '{ provider: generic, secret: s }',
    'receivers.r.targets: provider generic routes nothing by payload',
  ],
  [
    'events on a generic receiver',
    '{ provider: generic, secret: s, events: [push], targets: [{ cluster: c, kind: GitRepository, name: a, namespace: n }] }',
    'receivers.r.events: provider generic has no events to choose from',
  ],
  [
    'a generic-hmac receiver without targets',
    '{ provider: generic-hmac, secret: s, allowSha1: true }',
    'receivers.r.targets: provider generic-hmac routes nothing by payload',
  ],
])('%s is refused', (_name, receiver, message) => {
  expect(errorOf(withReceiver(receiver))).toContain(message);
});

test('label-selected targets and generic receivers with targets are accepted', () => {
  const config = parseConfig(
    withReceiver(
      '{ provider: generic-hmac, secret: s, allowSha1: true, targets: [{ cluster: c, kind: GitRepository, name: "*", namespace: n, matchLabels: { team: a } }] }',
    ),
    'x.yaml',
  );
  expect(config.receivers.r?.targets).toEqual([
    {
      cluster: 'c',
      kind: 'GitRepository',
      name: '*',
      namespace: 'n',
      matchLabels: { team: 'a' },
      apiVersion: 'source.toolkit.fluxcd.io/v1',
    },
  ]);
});

/** The message a config is refused with, or '' when it is accepted. */
function problemOf(text: string): string {
  try {
    parseConfig(text, 'relay.config.yaml');
  } catch (error) {
    return (error as Error).message;
  }
  return '';
}

describe('sync registrations: apiUrl must be https (the token travels with every call)', () => {
  const withRegistration = (apiUrl: string, extra = '') => `${valid}
sync:
  publicUrl: https://relay.example${extra}
  registrations:
    gl: { provider: gitlab, apiUrl: '${apiUrl}', token: env:GL_TOKEN, receiver: gitlab, repositories: [g/p] }
`;

  test.each([
    'http://gitlab.example.com/api/v4',
    'http://127.0.0.1:8080/api/v4',
    'http://localhost/api/v4',
    'ftp://gitlab.example.com/api/v4',
  ])('%s is refused, naming the field', (apiUrl) => {
    expect(problemOf(withRegistration(apiUrl))).toMatch(/sync\.registrations\.gl\.apiUrl: must be an https: URL/);
  });

  test('allowHttpLoopback admits http: to a loopback host only', () => {
    for (const apiUrl of ['http://127.0.0.1:8080/api/v4', 'http://[::1]:8080/api/v4', 'http://localhost:8080/api/v4']) {
      expect(problemOf(withRegistration(apiUrl, '\n  allowHttpLoopback: true'))).toBe('');
    }
    for (const apiUrl of [
      'http://gitlab.example.com/api/v4',
      'http://127.0.0.1.nip.io/api/v4',
      'http://10.0.0.1/api/v4',
    ]) {
      expect(problemOf(withRegistration(apiUrl, '\n  allowHttpLoopback: true'))).toMatch(
        /sync\.registrations\.gl\.apiUrl: must be an https: URL/,
      );
    }
  });

  test('https is accepted', () => {
    expect(problemOf(withRegistration('https://gitlab.example.com/api/v4'))).toBe('');
  });

  test("the relay's public URL (where providers post the webhook secret) is held to the same rule", () => {
    const withPublicUrl = (url: string, extra = '') =>
      withRegistration('https://gitlab.example.com/api/v4', extra).replace(
        'publicUrl: https://relay.example',
        `publicUrl: '${url}'`,
      );
    expect(problemOf(withPublicUrl('http://relay.example'))).toMatch(/sync\.publicUrl: must be an https: URL/);
    expect(problemOf(withPublicUrl('http://relay.example', '\n  allowHttpLoopback: true'))).toMatch(
      /sync\.publicUrl: must be an https: URL/,
    );
    expect(problemOf(withPublicUrl('http://127.0.0.1:3000', '\n  allowHttpLoopback: true'))).toBe('');
    expect(problemOf(withPublicUrl('https://hooks.example.com'))).toBe('');
  });
});

const withCluster = (cluster: string) =>
  `clusters:\n  c: ${cluster}\nreceivers:\n  r: { provider: github, secret: s }\n`;

test('an EKS cluster needs no kubeconfig', () => {
  const config = parseConfig(
    withCluster(
      '{ eks: { cluster: prod_EKS-1, region: eu-west-1, roleArn: "arn:aws:iam::210987654321:role/relay-access" }, namespaces: [flux-system] }',
    ),
    'x.yaml',
  );
  expect(config.clusters.c).toEqual({
    eks: { cluster: 'prod_EKS-1', region: 'eu-west-1', roleArn: 'arn:aws:iam::210987654321:role/relay-access' },
    namespaces: ['flux-system'],
  });
  expect(
    parseConfig(
      withCluster(
        '{ eks: { cluster: p, endpoint: "https://ABC.gr7.eu-west-1.eks.amazonaws.com", certificateAuthority: "LS0tLS1CRUdJTg==" } }',
      ),
      'x.yaml',
    ).clusters.c?.eks,
  ).toMatchObject({ endpoint: 'https://ABC.gr7.eu-west-1.eks.amazonaws.com' });
});

test.each([
  [
    'neither kubeconfig nor eks',
    '{ namespaces: [a] }',
    'clusters.c.kubeconfig: exactly one of kubeconfig and eks is required',
  ],
  [
    'both kubeconfig and eks',
    '{ kubeconfig: k, eks: { cluster: p } }',
    'clusters.c.kubeconfig: exactly one of kubeconfig and eks is required',
  ],
  ['a context with eks', '{ eks: { cluster: p }, context: x }', 'clusters.c.context: applies only with kubeconfig'],
  [
    'an EKS cluster name with a slash',
    '{ eks: { cluster: "a/b" } }',
    'clusters.c.eks.cluster: must be an EKS cluster name',
  ],
  [
    'a region that is not one',
    '{ eks: { cluster: p, region: "eu west" } }',
    'clusters.c.eks.region: must be an AWS region',
  ],
  [
    'a role ARN that is a user',
    '{ eks: { cluster: p, roleArn: "arn:aws:iam::123456789012:user/bob" } }',
    'clusters.c.eks.roleArn: must be an IAM role ARN',
  ],
  [
    'an http endpoint',
    '{ eks: { cluster: p, endpoint: "http://x", certificateAuthority: "QQ==" } }',
    'clusters.c.eks.endpoint: must be an https:// URL',
  ],
  [
    'an endpoint without its CA',
    '{ eks: { cluster: p, endpoint: "https://x" } }',
    'clusters.c.eks.certificateAuthority: endpoint and certificateAuthority go together',
  ],
  ['an unknown eks field', '{ eks: { cluster: p, profile: x } }', 'clusters.c.eks'],
])('%s is refused', (_name, cluster, message) => {
  expect(errorOf(withCluster(cluster))).toContain(message);
});

describe('sync registrations: a GitHub App instead of a token', () => {
  const withRegistration = (registration: string) => `${valid}
sync:
  publicUrl: https://relay.example
  registrations:
    gh: { provider: github, receiver: github, repositories: [acme/app], ${registration} }
`;

  test('app: appId, privateKey (a secret reference) and an optional installationId', () => {
    const config = parseConfig(
      withRegistration('app: { appId: 123456, privateKey: flux-relay/github-app#pem, installationId: 987 }'),
      'relay.config.yaml',
    );
    expect(config.sync!.registrations.gh).toMatchObject({
      app: {
        appId: '123456',
        privateKey: { scheme: 'aws-sm', id: 'flux-relay/github-app', key: 'pem' },
        installationId: 987,
      },
    });
    expect(config.sync!.registrations.gh!.token).toBeUndefined();
    // The client id is accepted as the JWT's issuer too, as GitHub accepts it.
    expect(problemOf(withRegistration('app: { appId: Iv23liAbCdEf012345, privateKey: env:KEY }'))).toBe('');
  });

  test('exactly one of token and app, each message naming the field', () => {
    expect(problemOf(withRegistration('token: env:T, app: { appId: 1, privateKey: env:KEY }'))).toMatch(
      /sync\.registrations\.gh\.app: cannot be given with token/,
    );
    expect(problemOf(withRegistration('discover: false'))).toMatch(
      /sync\.registrations\.gh\.token: is required \(or app: a GitHub App\)/,
    );
  });

  test('app is for provider github only', () => {
    const text = `${valid}
sync:
  publicUrl: https://relay.example
  registrations:
    gl: { provider: gitlab, receiver: gitlab, repositories: [g/p], app: { appId: 1, privateKey: env:KEY } }
`;
    expect(problemOf(text)).toMatch(
      /sync\.registrations\.gl\.app: GitHub App authentication applies only to provider github/,
    );
  });

  test.each([
    ['appId: 0, privateKey: env:KEY', /sync\.registrations\.gh\.app\.appId/],
    ['appId: my-app, privateKey: env:KEY', /sync\.registrations\.gh\.app\.appId: .*app id \(digits\) or its client id/],
    ['appId: 1', /sync\.registrations\.gh\.app\.privateKey/],
    ['appId: 1, privateKey: "nope:x"', /sync\.registrations\.gh\.app\.privateKey: .*unknown scheme/],
    ['appId: 1, privateKey: env:KEY, installationId: -3', /sync\.registrations\.gh\.app\.installationId/],
    ['appId: 1, privateKey: env:KEY, clientSecret: x', /sync\.registrations\.gh\.app.*clientSecret/],
  ])('app: { %s } is refused, naming the field', (app, message) => {
    expect(problemOf(withRegistration(`app: { ${app} }`))).toMatch(message);
  });
});

describe('ecr: Amazon ECR pushes through EventBridge', () => {
  test('optional; accounts, repositories (names and prefixes) and clusters as given, targets with their apiVersion', () => {
    expect(parseConfig(valid, 'relay.config.yaml').ecr).toBeUndefined();
    const config = parseConfig(
      `${valid}ecr:
  accounts: ['123456789012']
  repositories: [team/app, charts/*, team-*]
  clusters: [prod]
  targets:
    - { cluster: prod, kind: OCIRepository, name: manifests, namespace: flux-system }
`,
      'relay.config.yaml',
    );
    expect(config.ecr).toEqual({
      accounts: ['123456789012'],
      repositories: ['team/app', 'charts/*', 'team-*'],
      clusters: ['prod'],
      targets: [
        {
          cluster: 'prod',
          kind: 'OCIRepository',
          name: 'manifests',
          namespace: 'flux-system',
          apiVersion: 'source.toolkit.fluxcd.io/v1',
        },
      ],
    });
    expect(parseConfig(`${valid}ecr: {}\n`, 'relay.config.yaml').ecr).toEqual({ targets: [] });
  });

  test.each([
    ["accounts: ['12345']", 'ecr.accounts[0]: must be a 12-digit AWS account id'],
    ['accounts: []', 'ecr.accounts'],
    ['repositories: [Team/App]', 'ecr.repositories[0]: must be an ECR repository name'],
    ['repositories: [team//app]', 'ecr.repositories[0]: must be an ECR repository name'],
    ['repositories: ["*"]', 'ecr.repositories[0]: must be an ECR repository name'],
    ['clusters: [nope]', 'ecr.clusters[0]: unknown cluster nope'],
    [
      'clusters: [staging]\n  targets: [{ cluster: prod, kind: Kustomization, name: apps, namespace: flux-system }]',
      "ecr.targets[0].cluster: cluster prod is not in the ecr section's clusters",
    ],
    ['secret: x', 'ecr'],
  ])('%s is refused, naming the field', (section, message) => {
    expect(errorOf(`${valid}ecr:\n  ${section}\n`)).toContain(message);
  });
});

describe('receivers: nexus registryHosts', () => {
  const withNexus = (fields: string, provider = 'nexus') => `${valid}
  nx:
    provider: ${provider}
    secret: env:NEXUS_SECRET
    ${fields}
`;
  test('repository names to registry hosts, with a port or a path', () => {
    const config = parseConfig(
      withNexus(
        "registryHosts: { docker-hosted: 'nexus.example.com:8082', docker-path: 'nexus.example.com/repository/docker-path' }",
      ),
      'relay.config.yaml',
    );
    expect(config.receivers.nx!.registryHosts).toEqual({
      'docker-hosted': 'nexus.example.com:8082',
      'docker-path': 'nexus.example.com/repository/docker-path',
    });
  });

  test.each([
    ["registryHosts: { docker-hosted: 'https://nexus.example.com' }", 'receivers.nx.registryHosts.docker-hosted'],
    ["registryHosts: { docker-hosted: 'Nexus.Example.com' }", 'must be a registry host in lower case'],
    ["registryHosts: { 'a b': 'nexus.example.com' }", 'receivers.nx.registryHosts.a b: Invalid key'],
  ])('%s is refused, naming the field', (fields, message) => {
    expect(problemOf(withNexus(fields))).toContain(message);
  });

  test('registryHosts applies only to provider nexus', () => {
    expect(problemOf(withNexus("registryHosts: { docker-hosted: 'nexus.example.com' }", 'harbor'))).toContain(
      'receivers.nx.registryHosts: applies only to provider nexus',
    );
  });
});

describe('receivers: gcr audience and serviceAccount', () => {
  const withGcr = (fields: string, provider = 'gcr') => `${valid}
  gar: { provider: ${provider}, secret: env:GAR_PATH_TOKEN, ${fields} }
`;
  const both =
    "audience: 'https://relay.example.com/hooks/gar', serviceAccount: relay-push@proj.iam.gserviceaccount.com";

  test('both given: accepted', () => {
    const config = parseConfig(withGcr(both), 'relay.config.yaml');
    expect(config.receivers.gar).toMatchObject({
      audience: 'https://relay.example.com/hooks/gar',
      serviceAccount: 'relay-push@proj.iam.gserviceaccount.com',
    });
  });

  test.each([
    ["audience: 'https://relay.example.com/hooks/gar'", 'receivers.gar.serviceAccount: is required for provider gcr'],
    ['serviceAccount: relay-push@proj.iam.gserviceaccount.com', 'receivers.gar.audience: is required for provider gcr'],
    [
      "audience: 'https://r.example', serviceAccount: Relay-Push@proj.iam.gserviceaccount.com",
      'receivers.gar.serviceAccount: must be a service account e-mail address in lower case',
    ],
    ["audience: 'https://r.example', serviceAccount: relay-push", 'receivers.gar.serviceAccount: must be a service'],
    ["audience: '', serviceAccount: relay-push@proj.iam.gserviceaccount.com", 'receivers.gar.audience'],
  ])('%s is refused, naming the field', (fields, message) => {
    expect(problemOf(withGcr(fields))).toContain(message);
  });

  test('neither field applies to another provider', () => {
    const problem = problemOf(withGcr(both, 'quay'));
    expect(problem).toContain('receivers.gar.audience: applies only to provider gcr');
    expect(problem).toContain('receivers.gar.serviceAccount: applies only to provider gcr');
  });
});

describe('sync registrations: azure-devops', () => {
  const withAzure = (registration: string) => `${valid}  ado:
    provider: azure-devops
    secret: env:ADO_SECRET
    clusters: [prod]
sync:
  publicUrl: https://relay.example
  registrations:
    az: { provider: azure-devops, token: env:ADO_PAT, receiver: ado, ${registration} }
`;

  test('an organization URL with repositories (project/repo) or projects (organizations) is accepted', () => {
    expect(problemOf(withAzure('apiUrl: https://dev.azure.com/acme, repositories: [Fabrikam/app]'))).toBe('');
    expect(problemOf(withAzure('apiUrl: https://dev.azure.com/acme, organizations: [Fabrikam]'))).toBe('');
  });

  test.each(['acme/Fabrikam/app', 'app', 'Fabrikam/../x', '../app'])(
    'a repository %p that is not project/repository is refused, naming it',
    (repo) => {
      expect(problemOf(withAzure(`apiUrl: https://dev.azure.com/acme, repositories: ['${repo}']`))).toMatch(
        /sync\.registrations\.az\.repositories\[0\]: must be project\/repository/,
      );
    },
  );

  test('project names with spaces are project names', () => {
    expect(problemOf(withAzure("apiUrl: https://dev.azure.com/acme, repositories: ['Fabrikam Fiber/app']"))).toBe('');
  });

  test('without apiUrl it is refused, saying it is the organization', () => {
    expect(problemOf(withAzure('repositories: [Fabrikam/app]'))).toMatch(
      /sync\.registrations\.az\.apiUrl: is required for azure-devops: the organization, https:\/\/dev\.azure\.com\/<organization>/,
    );
  });
});

describe('sync registrations: gogs', () => {
  const withGogs = (registration: string) => `${valid}  gogs:
    provider: gogs
    secret: env:GOGS_SECRET
    clusters: [prod]
sync:
  publicUrl: https://relay.example
  registrations:
    gg: { provider: gogs, token: env:GOGS_TOKEN, receiver: gogs, ${registration} }
`;

  test('a gogs registration with an apiUrl and repositories, paired with a gogs receiver, is accepted', () => {
    expect(problemOf(withGogs('apiUrl: https://gogs.example.com/api/v1, repositories: [acme/app]'))).toBe('');
  });

  test.each([
    ['repositories: [acme/app]', /sync\.registrations\.gg\.apiUrl: is required for gogs/],
    [
      'apiUrl: https://gogs.example.com/api/v1, organizations: [acme]',
      /sync\.registrations\.gg\.organizations: organisation hooks are not supported for gogs/,
    ],
  ])('%s is refused, naming the field', (registration, message) => {
    expect(problemOf(withGogs(registration))).toMatch(message);
  });

  test('a gogs registration cannot deliver to a receiver of another provider', () => {
    const text = withGogs('apiUrl: https://gogs.example.com/api/v1, repositories: [acme/app]').replace(
      'receiver: gogs,',
      'receiver: github,',
    );
    expect(problemOf(text)).toMatch(/receiver github is a github receiver, not gogs/);
  });
});
