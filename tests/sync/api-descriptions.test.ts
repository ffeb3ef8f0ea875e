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
    const hook = !name.startsWith('bitbucket')
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
