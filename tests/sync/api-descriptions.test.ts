import { ApiDescription } from '../support/api-description';

/**
 * The providers' own API descriptions the loopback servers are held to: each loads (every schema compiles), names its
 * source, and the check it backs does catch a wrong answer and a wrong request body (a check that cannot fail would
 * prove nothing about the servers).
 */
describe.each([
  ['gitea-openapi', 'go-gitea/gitea', '/repos/acme/app/hooks', 'POST', 201],
  ['forgejo-openapi', 'raohwork/forgejo-mcp', '/repos/acme/app/hooks', 'POST', 201],
  ['bitbucket-cloud-openapi', 'coderabbitai/bitbucket', '/repositories/acme/app/hooks', 'POST', 201],
  ['bitbucket-server-openapi', 'coderabbitai/bitbucket', '/api/latest/projects/PROJ/repos/app/webhooks', 'POST', 200],
  ['gitlab-openapi', 'gitlabhq/gitlabhq', '/api/v4/projects/acme%2Fapp/hooks', 'POST', 201],
] as const)('%s', (name, repository, hooksPath, createMethod, created) => {
  const description = ApiDescription.load(name);

  it('names the repository and commit it was extracted from', () => {
    expect(description.source).toMatchObject({ repository, commit: expect.stringMatching(/^[0-9a-f]{40}$/) });
  });

  it('finds a list answer of the wrong shape, and an undocumented success status', () => {
    // Data Center describes its list page without a schema, so its one-hook answer is the one to get wrong.
    const [path, wrong] =
      name === 'bitbucket-server-openapi'
        ? [`${hooksPath}/1`, { id: 1, events: 'repo:refs_changed' }]
        : [
            hooksPath,
            name.endsWith('-openapi') && !name.startsWith('bitbucket')
              ? { not: 'an array' }
              : { values: 'not an array' },
          ];
    expect(description.check({ method: 'GET', path, status: 200, responseBody: wrong })).toEqual([
      expect.stringMatching(/-> 200: response body: /),
    ]);
    expect(description.check({ method: createMethod, path: hooksPath, status: 299 })).toEqual([
      expect.stringMatching(/status not in the description/),
    ]);
    expect(description.check({ method: 'GET', path: '/not/described', status: 200, responseBody: 1 })).toEqual([]);
  });

  it('accepts a created hook of the documented status', () => {
    const hook =
      name === 'gitlab-openapi'
        ? GITLAB_HOOK
        : !name.startsWith('bitbucket')
          ? {
              id: 1,
              type: 'gitea',
              active: true,
              events: ['push'],
              config: { url: 'https://x.example/', content_type: 'json' },
              branch_filter: '*',
            }
          : name === 'bitbucket-cloud-openapi'
            ? {
                type: 'webhook_subscription',
                uuid: '{0b1c}',
                url: 'https://x.example/',
                active: true,
                events: ['repo:push'],
                secret_set: true,
              }
            : {
                id: 1,
                name: 'n',
                url: 'https://x.example/',
                active: true,
                events: ['repo:refs_changed'],
                sslVerificationRequired: true,
              };
    expect(description.check({ method: createMethod, path: hooksPath, status: created, responseBody: hook })).toEqual(
      [],
    );
  });
});

/** A project hook as GitLab sends it: integer ids, and null where nothing is set (the fixture's corrections). */
const GITLAB_HOOK = {
  id: 1,
  url: 'https://x.example/',
  name: null,
  description: null,
  created_at: '2025-06-01T12:00:00.000Z',
  push_events: true,
  tag_push_events: true,
  merge_requests_events: false,
  repository_update_events: false,
  enable_ssl_verification: true,
  alert_status: 'executable',
  disabled_until: null,
  url_variables: [],
  push_events_branch_filter: null,
  branch_filter_strategy: 'all_branches',
  custom_webhook_template: null,
  custom_headers: [],
  project_id: 7,
};

describe('gitlab-openapi', () => {
  const description = ApiDescription.load('gitlab-openapi');

  it('records the corrections made to what the description says, and that it describes no group hooks', () => {
    expect(description.source).toMatchObject({
      groupHooksDescribed: false,
      corrections: expect.arrayContaining([
        expect.stringMatching(/^API_Entities_ProjectHook\.id: "string" -> "integer": /),
        expect.stringMatching(/^API_Entities_ProjectHook\.alert_status: "symbol" -> "string": /),
        expect.stringMatching(/^API_Entities_ProjectHook\.disabled_until: "string" -> \["string","null"\]: /),
      ]),
    });
    const path = '/api/v4/groups/acme/hooks';
    expect(description.check({ method: 'GET', path, status: 200, responseBody: { not: 'an array' } })).toEqual([]);
  });

  it('finds a hook field of the wrong type, and a token or flag sent as a string', () => {
    const path = '/api/v4/projects/7/hooks/1';
    const wrong = { ...GITLAB_HOOK, id: '1', enable_ssl_verification: 'true', alert_status: 1 };
    expect(description.check({ method: 'GET', path, status: 200, responseBody: wrong })).toEqual([
      expect.stringMatching(/^GET \/api\/v4\/projects\/\{id\}\/hooks\/\{hook_id\} -> 200: response body: /),
    ]);
    expect(description.check({ method: 'GET', path, status: 200, responseBody: wrong })[0]).toMatch(
      /\/id must be integer; \/enable_ssl_verification must be boolean; \/alert_status must be string/,
    );
    // Grape would coerce "true"; the client sends JSON booleans, and that is what is held to the description.
    const body = { url: 'https://x.example/', token: 42, push_events: 'true' };
    expect(
      description.check({ method: 'PUT', path, requestBody: body, status: 200, responseBody: GITLAB_HOOK }),
    ).toEqual([expect.stringMatching(/request body: \/push_events must be boolean; \/token must be string/)]);
    expect(
      description.check({
        method: 'POST',
        path: `${path}/test/push_events`,
        status: 201,
        responseBody: { message: '201 Created' },
      }),
    ).toEqual([]);
  });
});

describe('azure-devops-openapi', () => {
  const description = ApiDescription.load('azure-devops-openapi');
  const path = '/acme/_apis/hooks/subscriptions';
  const subscription = {
    id: '0b1c2d3e-4f50-4617-8899-aabbccddeeff',
    status: 'enabled',
    publisherId: 'tfs',
    eventType: 'git.push',
    resourceVersion: '1.0',
    consumerId: 'webHooks',
    consumerActionId: 'httpRequest',
    publisherInputs: { projectId: '11111111-2222-4333-8444-555555555555', repository: '', branch: '' },
    consumerInputs: { url: 'https://x.example/', basicAuthUsername: 'relay', basicAuthPassword: '********' },
    modifiedDate: '2026-12-04T00:00:00.000Z',
  };

  it('names its source and records the one correction (collections come as {count, value})', () => {
    expect(description.source).toMatchObject({
      repository: 'MicrosoftDocs/vsts-rest-api-specs',
      commit: expect.stringMatching(/^[0-9a-f]{40}$/),
      corrections: [expect.stringMatching(/\{count, value\}/)],
    });
    expect(
      description.check({ method: 'GET', path, status: 200, responseBody: { count: 1, value: [subscription] } }),
    ).toEqual([]);
    expect(description.check({ method: 'GET', path, status: 200, responseBody: [subscription] })).toEqual([
      expect.stringMatching(/-> 200: response body: /),
    ]);
  });

  it('finds a status the service does not have, and an input that is not a string', () => {
    const wrong = { ...subscription, status: 'active', consumerInputs: { url: 'https://x.example/', port: 443 } };
    const [problem] = description.check({
      method: 'GET',
      path: `${path}/${subscription.id}`,
      status: 200,
      responseBody: wrong,
    });
    expect(problem).toMatch(/\/status must be equal to one of the allowed values/);
    expect(problem).toMatch(/\/consumerInputs\/port must be string/);
    expect(
      description.check({ method: 'POST', path, requestBody: subscription, status: 200, responseBody: subscription }),
    ).toEqual([]);
  });
});

test('a request body the description refuses is found when the server took it (Gitea create: config must be a string map)', () => {
  const description = ApiDescription.load('gitea-openapi');
  const body = { type: 'gitea', config: { url: 'https://x.example/', content_type: 'json', secret: 7 } };
  expect(description.check({ method: 'POST', path: '/repos/acme/app/hooks', requestBody: body, status: 201 })).toEqual([
    expect.stringMatching(/request body: \/config\/secret must be string/),
  ]);
  // Refused by the server (422): the test's own probe of the server's validation, not the client's contract.
  expect(description.check({ method: 'POST', path: '/repos/acme/app/hooks', requestBody: body, status: 422 })).toEqual(
    [],
  );
});
