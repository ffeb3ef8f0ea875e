import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignatureV4 } from '@smithy/signature-v4';
import { SecretsManagerError, signedGetSecretValue } from '../../lib/secrets/secrets-manager-http';
import { Sha256 } from '../../dev/sigv4';

// The relay's own GetSecretValue (used on Lambda instead of the SDK, for cold start) must sign exactly as the SDK
// does: every request it sends is re-signed here with the SDK's own signer (@smithy/signature-v4, what
// @aws-sdk/client-secrets-manager uses) over the same method, path, headers, body and time, and the two must agree.

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

let server: http.Server;
let endpoint: string;
const seen: Seen[] = [];
let answers: Array<{ status: number; body: unknown }> = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString('utf8')));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const answer = answers.shift() ?? { status: 200, body: { Name: 's', SecretString: 'value', VersionId: 'v1' } };
      const text = JSON.stringify(answer.body);
      res
        .writeHead(answer.status, {
          'content-type': 'application/x-amz-json-1.1',
          'content-length': Buffer.byteLength(text),
        })
        .end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  seen.length = 0;
  answers = [];
});

const credentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  sessionToken: 'session-token-example',
};
const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  AWS_ACCESS_KEY_ID: credentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
  AWS_SESSION_TOKEN: credentials.sessionToken,
  AWS_REGION: 'eu-west-1',
  AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint,
  ...extra,
});

async function sdkAuthorization(request: Seen): Promise<string> {
  const authorization = String(request.headers.authorization);
  const signedHeaders = /SignedHeaders=([^,]+)/.exec(authorization)![1]!.split(';');
  const amzDate = String(request.headers['x-amz-date']);
  const signingDate = new Date(
    Date.UTC(
      +amzDate.slice(0, 4),
      +amzDate.slice(4, 6) - 1,
      +amzDate.slice(6, 8),
      +amzDate.slice(9, 11),
      +amzDate.slice(11, 13),
      +amzDate.slice(13, 15),
    ),
  );
  // applyChecksum: false, as the SDK's JSON-protocol clients sign (no x-amz-content-sha256 header).
  const signer = new SignatureV4({
    service: 'secretsmanager',
    region: 'eu-west-1',
    credentials,
    sha256: Sha256,
    applyChecksum: false,
  });
  const url = new URL(endpoint);
  const headers = Object.fromEntries(signedHeaders.map((name) => [name, String(request.headers[name])]));
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path: request.url,
      query: {},
      headers,
      body: request.body,
    },
    { signingDate },
  );
  return String(signed.headers.authorization ?? signed.headers.Authorization);
}

test('each request is signed exactly as the SDK signs it, over the JSON 1.1 GetSecretValue call', async () => {
  const get = signedGetSecretValue(env())!;
  expect(await get('relay/github', 'AWSCURRENT')).toEqual({ Name: 's', SecretString: 'value', VersionId: 'v1' });
  await get('arn:aws:secretsmanager:eu-west-1:123456789012:secret:relay/üñí-AbCdEf', 'AWSPREVIOUS');
  expect(seen).toHaveLength(2);
  for (const request of seen) {
    expect(request).toMatchObject({ method: 'POST', url: '/' });
    expect(request.headers).toMatchObject({
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': 'secretsmanager.GetSecretValue',
      'x-amz-security-token': credentials.sessionToken,
    });
    expect(String(request.headers.authorization)).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/secretsmanager\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/,
    );
    expect(request.headers.authorization).toBe(await sdkAuthorization(request));
  }
  expect(JSON.parse(seen[1]!.body)).toEqual({
    SecretId: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:relay/üñí-AbCdEf',
    VersionStage: 'AWSPREVIOUS',
  });
});

test('errors carry the exception name; 5xx and throttling are tried twice, 4xx once', async () => {
  const get = signedGetSecretValue(env())!;
  answers = [
    {
      status: 400,
      body: { __type: 'ResourceNotFoundException', Message: "Secrets Manager can't find the specified secret." },
    },
  ];
  await expect(get('missing', 'AWSCURRENT')).rejects.toMatchObject({ type: 'ResourceNotFoundException', status: 400 });
  expect(seen).toHaveLength(1);

  seen.length = 0;
  answers = [{ status: 500, body: { __type: 'InternalServiceError', Message: 'boom' } }];
  expect(await get('s', 'AWSCURRENT')).toMatchObject({ SecretString: 'value' });
  expect(seen).toHaveLength(2);

  seen.length = 0;
  answers = [
    { status: 400, body: { __type: 'ThrottlingException', message: 'Rate exceeded' } },
    { status: 400, body: { __type: 'ThrottlingException', message: 'Rate exceeded' } },
  ];
  const error = await get('s', 'AWSCURRENT').catch((e: unknown) => e);
  expect(error).toBeInstanceOf(SecretsManagerError);
  expect((error as Error).message).toBe('ThrottlingException: Rate exceeded');
  expect(seen).toHaveLength(2);
});

test('an unreachable endpoint is a transport error (after two attempts), not a hang', async () => {
  const get = signedGetSecretValue(env({ AWS_ENDPOINT_URL_SECRETS_MANAGER: 'http://127.0.0.1:1' }))!;
  await expect(get('s', 'AWSCURRENT')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
});

test('without credentials or a region in the environment there is no such client (the SDK chain decides then)', () => {
  expect(signedGetSecretValue(env({ AWS_ACCESS_KEY_ID: '' }))).toBeUndefined();
  expect(signedGetSecretValue(env({ AWS_SECRET_ACCESS_KEY: undefined }))).toBeUndefined();
  expect(signedGetSecretValue(env({ AWS_REGION: undefined, AWS_DEFAULT_REGION: undefined }))).toBeUndefined();
  expect(signedGetSecretValue(env({ AWS_REGION: undefined, AWS_DEFAULT_REGION: 'us-east-1' }))).toBeDefined();
});

test('regions and settings whose endpoint is not secretsmanager.<region>.amazonaws.com are left to the SDK', () => {
  const noEndpoint = (extra: NodeJS.ProcessEnv) =>
    env({ AWS_ENDPOINT_URL_SECRETS_MANAGER: undefined, AWS_ENDPOINT_URL: undefined, ...extra });
  for (const region of ['eu-west-1', 'us-gov-west-1', 'ap-southeast-4', 'il-central-1'])
    expect(signedGetSecretValue(noEndpoint({ AWS_REGION: region }))).toBeDefined();
  for (const region of ['cn-north-1', 'us-iso-east-1', 'us-isob-east-1', 'eu-isoe-west-1', 'mars-1'])
    expect(signedGetSecretValue(noEndpoint({ AWS_REGION: region }))).toBeUndefined();
  expect(signedGetSecretValue(noEndpoint({ AWS_USE_FIPS_ENDPOINT: 'true' }))).toBeUndefined();
  expect(signedGetSecretValue(noEndpoint({ AWS_USE_DUALSTACK_ENDPOINT: 'TRUE' }))).toBeUndefined();
  expect(signedGetSecretValue(noEndpoint({ AWS_USE_FIPS_ENDPOINT: 'false' }))).toBeDefined();
  // An explicit endpoint is used as given, whatever the region.
  expect(signedGetSecretValue(env({ AWS_REGION: 'cn-north-1' }))).toBeDefined();
});
