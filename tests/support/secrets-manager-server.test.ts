import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  SecretsManagerServiceException,
  type SecretsManagerClientConfig,
} from '@aws-sdk/client-secrets-manager';
import { SecretsManagerTestServer } from './secrets-manager-server';

const REGION = 'eu-west-1';
const ACCOUNT = '111122223333';
const credentials = { accessKeyId: 'AKIDTESTTESTTEST', secretAccessKey: 'test-secret-key' };

let server: SecretsManagerTestServer;
const clients: SecretsManagerClient[] = [];

function client(extra: Partial<SecretsManagerClientConfig> = {}): SecretsManagerClient {
  const c = new SecretsManagerClient({
    region: REGION,
    endpoint: server.endpoint,
    credentials,
    maxAttempts: 1,
    ...extra,
  });
  clients.push(c);
  return c;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the promise to reject');
}

beforeEach(async () => {
  server = await SecretsManagerTestServer.start({ region: REGION, accountId: ACCOUNT });
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await server.close();
});

describe('SecretsManagerTestServer with the real SecretsManagerClient', () => {
  it('returns a secret by name with the AWSCURRENT version by default', async () => {
    const { arn, versionId } = server.put('github/webhook', 's3cr3t');
    expect(arn).toMatch(
      new RegExp(`^arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:github/webhook-[A-Za-z0-9]{6}$`),
    );
    expect(server.arn('github/webhook')).toBe(arn);

    const out = await client().send(new GetSecretValueCommand({ SecretId: 'github/webhook' }));

    expect(out).toMatchObject({
      ARN: arn,
      Name: 'github/webhook',
      VersionId: versionId,
      SecretString: 's3cr3t',
      VersionStages: ['AWSCURRENT'],
    });
    expect(out.CreatedDate).toBeInstanceOf(Date);
    expect(out.$metadata.httpStatusCode).toBe(200);
    expect(out.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(server.calls).toEqual([{ target: 'secretsmanager.GetSecretValue', secretId: 'github/webhook' }]);
  });

  it('sends SigV4 headers and the JSON 1.1 content type', async () => {
    server.put('s', 'v');
    await client().send(new GetSecretValueCommand({ SecretId: 's' }));
    const req = server.requests[0];
    expect(req).toBeDefined();
    expect(req?.method).toBe('POST');
    expect(req?.url).toBe('/');
    expect(req?.headers['content-type']).toBe('application/x-amz-json-1.1');
    expect(req?.headers['x-amz-target']).toBe('secretsmanager.GetSecretValue');
    expect(req?.headers['authorization']).toMatch(
      new RegExp(
        `^AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/\\d{8}/${REGION}/secretsmanager/aws4_request, `,
      ),
    );
    expect(req?.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
  });

  it('returns a secret by full ARN', async () => {
    const { arn } = server.put('gitlab/token', 'glpat');
    const out = await client().send(new GetSecretValueCommand({ SecretId: arn }));
    expect(out.SecretString).toBe('glpat');
    expect(out.Name).toBe('gitlab/token');
    expect(server.calls[0]?.secretId).toBe(arn);
  });

  it('moves AWSCURRENT to AWSPREVIOUS on a second put', async () => {
    const first = server.put('rotating', 'old');
    const second = server.put('rotating', 'new');
    const c = client();

    const current = await c.send(new GetSecretValueCommand({ SecretId: 'rotating' }));
    expect(current).toMatchObject({ SecretString: 'new', VersionId: second.versionId, VersionStages: ['AWSCURRENT'] });
    expect(second.arn).toBe(first.arn);

    const previous = await c.send(new GetSecretValueCommand({ SecretId: 'rotating', VersionStage: 'AWSPREVIOUS' }));
    expect(previous).toMatchObject({ SecretString: 'old', VersionId: first.versionId, VersionStages: ['AWSPREVIOUS'] });

    const byId = await c.send(new GetSecretValueCommand({ SecretId: 'rotating', VersionId: first.versionId }));
    expect(byId.SecretString).toBe('old');

    expect(server.calls.map((x) => x.versionStage)).toEqual([undefined, 'AWSPREVIOUS', undefined]);
    expect(server.calls[2]?.versionId).toBe(first.versionId);
  });

  it('keeps only one AWSPREVIOUS after a third put', async () => {
    server.put('r', 'one');
    server.put('r', 'two');
    server.put('r', 'three');
    const previous = await client().send(new GetSecretValueCommand({ SecretId: 'r', VersionStage: 'AWSPREVIOUS' }));
    expect(previous.SecretString).toBe('two');
  });

  it('rejects AWSPREVIOUS before any rotation with a typed ResourceNotFoundException', async () => {
    server.put('fresh', 'v1');
    const err = await rejection(
      client().send(new GetSecretValueCommand({ SecretId: 'fresh', VersionStage: 'AWSPREVIOUS' })),
    );
    expect(err).toBeInstanceOf(ResourceNotFoundException);
    expect(err).toBeInstanceOf(SecretsManagerServiceException);
    const e = err as ResourceNotFoundException;
    expect(e.name).toBe('ResourceNotFoundException');
    expect(e.message).toBe("Secrets Manager can't find the specified secret value for staging label: AWSPREVIOUS");
    // The typings declare `Message`, but smithy's decorateServiceException folds it into `message` and deletes it.
    expect(e.Message).toBeUndefined();
    expect(e.$fault).toBe('client');
    expect(e.$metadata.httpStatusCode).toBe(400);
  });

  it('rejects an unknown secret, by name or ARN, with ResourceNotFoundException', async () => {
    const c = client();
    const byName = await rejection(c.send(new GetSecretValueCommand({ SecretId: 'nope' })));
    expect(byName).toBeInstanceOf(ResourceNotFoundException);
    expect((byName as Error).message).toBe("Secrets Manager can't find the specified secret.");

    const byArn = await rejection(
      c.send(new GetSecretValueCommand({ SecretId: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:nope-AbC123` })),
    );
    expect(byArn).toBeInstanceOf(ResourceNotFoundException);
  });

  it('surfaces an injected 500 InternalServiceError as the SDK exception (maxAttempts: 1)', async () => {
    server.put('s', 'v');
    server.fault({ status: 500, type: 'InternalServiceError', message: 'boom', times: 1 });
    const c = client();

    const err = await rejection(c.send(new GetSecretValueCommand({ SecretId: 's' })));
    expect(err).toBeInstanceOf(SecretsManagerServiceException);
    const e = err as SecretsManagerServiceException;
    expect(e.name).toBe('InternalServiceError');
    expect(e.message).toBe('boom');
    expect(e.$fault).toBe('server');
    expect(e.$metadata.httpStatusCode).toBe(500);
    expect(e.$metadata.attempts).toBe(1);

    // times: 1 — the fault has cleared.
    await expect(c.send(new GetSecretValueCommand({ SecretId: 's' }))).resolves.toMatchObject({ SecretString: 'v' });
  });

  it('surfaces an unmodelled ThrottlingException as the service base exception', async () => {
    server.put('s', 'v');
    server.fault({ status: 400, type: 'ThrottlingException', message: 'Rate exceeded' });
    const err = await rejection(client().send(new GetSecretValueCommand({ SecretId: 's' })));
    expect(err).toBeInstanceOf(SecretsManagerServiceException);
    expect(err).not.toBeInstanceOf(ResourceNotFoundException);
    expect((err as Error).name).toBe('ThrottlingException');
    expect((err as Error).message).toBe('Rate exceeded');
    server.fault(undefined);
    await expect(client().send(new GetSecretValueCommand({ SecretId: 's' }))).resolves.toMatchObject({
      SecretString: 'v',
    });
  });

  it('is retried by the SDK when maxAttempts allows it', async () => {
    server.put('s', 'v');
    server.fault({ status: 500, type: 'InternalServiceError', times: 1 });
    const out = await client({ maxAttempts: 3 }).send(new GetSecretValueCommand({ SecretId: 's' }));
    expect(out.SecretString).toBe('v');
    expect(out.$metadata.attempts).toBe(2);
    expect(server.calls).toHaveLength(2);
  });

  describe('AWS_ENDPOINT_URL_SECRETS_MANAGER', () => {
    const keys = [
      'AWS_ENDPOINT_URL_SECRETS_MANAGER',
      'AWS_ENDPOINT_URL',
      'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS',
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_SESSION_TOKEN',
      'AWS_REGION',
      'AWS_PROFILE',
    ] as const;
    const saved: Partial<Record<(typeof keys)[number], string>> = {};

    beforeEach(() => {
      for (const k of keys) {
        const v = process.env[k];
        if (v !== undefined) saved[k] = v;
        delete process.env[k];
      }
    });

    afterEach(() => {
      for (const k of keys) {
        const v = saved[k];
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
        delete saved[k];
      }
    });

    it('is honoured when the client has no endpoint (credentials and region from env too)', async () => {
      server.put('from-env', 'ok');
      process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = server.endpoint;
      process.env.AWS_ACCESS_KEY_ID = 'AKIDENVENVENV';
      process.env.AWS_SECRET_ACCESS_KEY = 'env-secret';
      process.env.AWS_REGION = REGION;

      const c = new SecretsManagerClient({ maxAttempts: 1 });
      clients.push(c);
      const out = await c.send(new GetSecretValueCommand({ SecretId: 'from-env' }));

      expect(out.SecretString).toBe('ok');
      expect(server.requests[0]?.headers['authorization']).toContain('Credential=AKIDENVENVENV/');
    });
  });
});

describe('SecretsManagerTestServer strictness (raw HTTP)', () => {
  const signedHeaders = {
    'Content-Type': 'application/x-amz-json-1.1',
    'X-Amz-Target': 'secretsmanager.GetSecretValue',
    'X-Amz-Date': '20250101T000000Z',
    Authorization:
      'AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=' +
      '0'.repeat(64),
  };

  async function post(headers: Record<string, string>, body = '{"SecretId":"s"}') {
    const res = await fetch(`${server.endpoint}/`, { method: 'POST', headers, body });
    return {
      status: res.status,
      errorType: res.headers.get('x-amzn-errortype'),
      body: (await res.json()) as Record<string, unknown>,
    };
  }

  beforeEach(() => {
    server.put('s', 'v');
  });

  it('accepts a well-formed request', async () => {
    const res = await post(signedHeaders);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ Name: 's', SecretString: 'v', VersionStages: ['AWSCURRENT'] });
    expect(typeof res.body.CreatedDate).toBe('number');
  });

  it('rejects a missing Authorization header', async () => {
    const { Authorization: _omit, ...headers } = signedHeaders;
    const res = await post(headers);
    expect(res).toEqual({
      status: 400,
      errorType: 'MissingAuthenticationTokenException',
      body: { __type: 'MissingAuthenticationTokenException', message: 'Request is missing Authentication Token' },
    });
    expect(server.calls).toHaveLength(0);
  });

  it('rejects a non-SigV4 Authorization header and a missing X-Amz-Date', async () => {
    expect((await post({ ...signedHeaders, Authorization: 'Bearer x' })).errorType).toBe(
      'IncompleteSignatureException',
    );
    const { 'X-Amz-Date': _omit, ...noDate } = signedHeaders;
    const res = await post(noDate);
    expect(res.status).toBe(400);
    expect(res.body.__type).toBe('IncompleteSignatureException');
    expect(String(res.body.message)).toContain("'X-Amz-Date'");
  });

  it('rejects the wrong content type', async () => {
    const res = await post({ ...signedHeaders, 'Content-Type': 'application/json' });
    expect(res.status).toBe(400);
    expect(res.body.__type).toBe('SerializationException');
  });

  it('rejects an unknown or unimplemented target with UnknownOperationException', async () => {
    for (const target of ['secretsmanager.Nope', 'kms.Decrypt', 'secretsmanager.DescribeSecret']) {
      const res = await post({ ...signedHeaders, 'X-Amz-Target': target });
      expect(res.status).toBe(400);
      expect(res.errorType).toBe('UnknownOperationException');
    }
  });

  it('rejects malformed JSON and a missing SecretId', async () => {
    expect((await post(signedHeaders, '{')).body.__type).toBe('SerializationException');
    expect((await post(signedHeaders, '{}')).body.__type).toBe('ValidationException');
  });
});
