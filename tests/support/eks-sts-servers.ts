/**
 * Strict loopback Amazon EKS and AWS STS endpoints on 127.0.0.1 for tests, reached through the SDK-standard
 * AWS_ENDPOINT_URL_EKS and AWS_ENDPOINT_URL_STS.
 *
 * - EKS (REST-JSON): `GET /clusters/{name}` (DescribeCluster) answers `{"cluster": {...}}`; errors as EKS sends them:
 *   the status, `x-amzn-ErrorType: <code>` and a JSON body with `message` (ResourceNotFoundException is a 404 with
 *   "No cluster found for name: <name>."; EKS API reference, DescribeCluster and "Common errors").
 * - STS (Query protocol): `POST /` with an `application/x-www-form-urlencoded` body, `Action=AssumeRole&Version=
 *   2011-06-15&...`, answered in XML (`AssumeRoleResponse/AssumeRoleResult/Credentials`); errors as
 *   `<ErrorResponse><Error><Type>Sender</Type><Code>..</Code><Message>..</Message></Error>..</ErrorResponse>`.
 *
 * Both verify every request's SigV4 signature with the AWS SDK's signer (dev/sigv4.ts) against the
 * credentials the test registered, with a clock the test may set.
 */
import { startOnLoopback } from '../../dev/loopback';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer, readBoundedBody } from './http-body';
import { registerTestSecret } from './log-scan';
import { type TestCredentials, verifySignedRequest } from '../../dev/sigv4';

class AwsError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

abstract class LoopbackAws {
  readonly endpoint: string;
  now: () => number = Date.now;
  protected readonly known = new Map<string, TestCredentials>();

  protected constructor(protected readonly server: Server) {
    this.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** Credentials this endpoint recognises (what IAM knows of the caller). */
  addCredentials(credentials: TestCredentials): void {
    registerTestSecret(credentials.secretAccessKey, 'loopback AWS secret key');
    if (credentials.sessionToken) registerTestSecret(credentials.sessionToken, 'loopback AWS session token');
    this.known.set(credentials.accessKeyId, { ...credentials });
  }

  protected async authenticate(req: IncomingMessage, body: string, service: string): Promise<TestCredentials> {
    const result = await verifySignedRequest(req, body, {
      service,
      known: (id) => this.known.get(id),
      now: this.now(),
    });
    if (!result.ok) throw new AwsError(403, result.code, result.message);
    return result.credentials;
  }

  close(): Promise<void> {
    return closeServer(this.server);
  }
}

export interface DescribedCluster {
  name: string;
  endpoint: string;
  /** PEM of the cluster's CA; sent base64 as `certificateAuthority.data`. */
  caPem: string;
  status?: string;
}

export interface EksCall {
  cluster: string;
  accessKeyId: string;
}

export class EksTestServer extends LoopbackAws {
  readonly calls: EksCall[] = [];
  private readonly clusters = new Map<string, DescribedCluster>();
  private failure: { status: number; code: string; message: string } | undefined;

  static async start(): Promise<EksTestServer> {
    return startOnLoopback(createServer, (server) => {
      const instance = new EksTestServer(server);
      return { instance, handle: (req, res) => instance.handle(req, res) };
    });
  }

  put(cluster: DescribedCluster): void {
    this.clusters.set(cluster.name, cluster);
  }

  /** Answer every DescribeCluster with this error until cleared (undefined). */
  fail(failure: { status: number; code: string; message: string } | undefined): void {
    this.failure = failure;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const body = await readBoundedBody(
        req,
        64 * 1024,
        () => new AwsError(413, 'BadRequestException', 'Request too large'),
      );
      const credentials = await this.authenticate(req, body, 'eks');
      const url = new URL(req.url ?? '/', this.endpoint);
      const m = /^\/clusters\/([^/]+)$/.exec(url.pathname);
      if (req.method !== 'GET' || !m)
        throw new AwsError(404, 'UnknownOperationException', `No operation for ${req.method} ${url.pathname}`);
      const name = decodeURIComponent(m[1]!);
      this.calls.push({ cluster: name, accessKeyId: credentials.accessKeyId });
      if (this.failure) throw new AwsError(this.failure.status, this.failure.code, this.failure.message);
      const cluster = this.clusters.get(name);
      if (!cluster) throw new AwsError(404, 'ResourceNotFoundException', `No cluster found for name: ${name}.`);
      const answer = {
        cluster: {
          name,
          arn: `arn:aws:eks:eu-west-1:123456789012:cluster/${name}`,
          version: '1.31',
          endpoint: cluster.endpoint,
          status: cluster.status ?? 'ACTIVE',
          certificateAuthority: { data: Buffer.from(cluster.caPem).toString('base64') },
          accessConfig: { authenticationMode: 'API' },
        },
      };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    } catch (error) {
      const e = error instanceof AwsError ? error : new AwsError(500, 'ServerException', String(error));
      res
        .writeHead(e.status, { 'content-type': 'application/json', 'x-amzn-errortype': e.code })
        .end(JSON.stringify({ message: e.message }));
    }
  }
}

export interface StsCall {
  action: string;
  roleArn?: string;
  roleSessionName?: string;
  durationSeconds?: number;
  accessKeyId: string;
}

export class StsTestServer extends LoopbackAws {
  readonly calls: StsCall[] = [];
  private readonly roles = new Map<string, { trusted: Set<string>; credentials: TestCredentials[]; issued: number }>();

  static async start(): Promise<StsTestServer> {
    return startOnLoopback(createServer, (server) => {
      const instance = new StsTestServer(server);
      return { instance, handle: (req, res) => instance.handle(req, res) };
    });
  }

  /**
   * A role that the holders of `trusted` access keys may assume; AssumeRole hands out `credentials` (a list: one
   * after the other, the last one again once they are used up).
   */
  addRole(roleArn: string, options: { trusted: string[]; credentials: TestCredentials | TestCredentials[] }): void {
    const list = Array.isArray(options.credentials) ? options.credentials : [options.credentials];
    for (const c of list) {
      registerTestSecret(c.secretAccessKey, 'loopback STS issued secret key');
      if (c.sessionToken) registerTestSecret(c.sessionToken, 'loopback STS issued session token');
    }
    this.roles.set(roleArn, { trusted: new Set(options.trusted), credentials: list.map((c) => ({ ...c })), issued: 0 });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const body = await readBoundedBody(
        req,
        64 * 1024,
        () => new AwsError(413, 'RequestEntityTooLarge', 'Request too large'),
      );
      if (req.method !== 'POST' || (req.url ?? '') !== '/')
        throw new AwsError(400, 'InvalidAction', `Only POST / is served here (got ${req.method} ${req.url})`);
      const contentType = String(req.headers['content-type'] ?? '')
        .split(';')[0]!
        .trim()
        .toLowerCase();
      if (contentType !== 'application/x-www-form-urlencoded')
        throw new AwsError(400, 'InvalidParameterValue', `Unsupported content type ${contentType || '(none)'}`);
      const caller = await this.authenticate(req, body, 'sts');
      const form = new URLSearchParams(body);
      const action = form.get('Action') ?? '';
      if (form.get('Version') !== '2011-06-15')
        throw new AwsError(400, 'InvalidParameterValue', 'Version must be 2011-06-15');
      const roleArn = form.get('RoleArn') ?? undefined;
      const roleSessionName = form.get('RoleSessionName') ?? undefined;
      const duration = form.get('DurationSeconds');
      this.calls.push({
        action,
        accessKeyId: caller.accessKeyId,
        ...(roleArn ? { roleArn } : {}),
        ...(roleSessionName ? { roleSessionName } : {}),
        ...(duration ? { durationSeconds: Number(duration) } : {}),
      });
      if (action !== 'AssumeRole')
        throw new AwsError(400, 'InvalidAction', `Could not find operation ${action} for version 2011-06-15`);
      if (!roleArn || !roleSessionName || !/^[\w+=,.@-]{2,64}$/.test(roleSessionName))
        throw new AwsError(400, 'ValidationError', 'RoleArn and a valid RoleSessionName are required');
      const seconds = duration ? Number(duration) : 3600;
      if (!(seconds >= 900 && seconds <= 3600))
        throw new AwsError(
          400,
          'ValidationError',
          'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.',
        );
      const role = this.roles.get(roleArn);
      if (!role || !role.trusted.has(caller.accessKeyId)) {
        throw new AwsError(
          403,
          'AccessDenied',
          `User: arn:aws:sts::123456789012:assumed-role/relay/${caller.accessKeyId} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
        );
      }
      const expiration = new Date(this.now() + seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
      const { accessKeyId, secretAccessKey, sessionToken } =
        role.credentials[Math.min(role.issued, role.credentials.length - 1)]!;
      role.issued += 1;
      const xml = [
        '<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">',
        '  <AssumeRoleResult>',
        `    <AssumedRoleUser><AssumedRoleId>AROAEXAMPLE:${escapeXml(roleSessionName)}</AssumedRoleId><Arn>${escapeXml(roleArn.replace(':iam::', ':sts::').replace(':role/', ':assumed-role/'))}/${escapeXml(roleSessionName)}</Arn></AssumedRoleUser>`,
        '    <Credentials>',
        `      <AccessKeyId>${escapeXml(accessKeyId)}</AccessKeyId>`,
        `      <SecretAccessKey>${escapeXml(secretAccessKey)}</SecretAccessKey>`,
        `      <SessionToken>${escapeXml(sessionToken ?? '')}</SessionToken>`,
        `      <Expiration>${expiration}</Expiration>`,
        '    </Credentials>',
        '  </AssumeRoleResult>',
        `  <ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata>`,
        '</AssumeRoleResponse>',
      ].join('\n');
      res.writeHead(200, { 'content-type': 'text/xml' }).end(xml);
    } catch (error) {
      const e = error instanceof AwsError ? error : new AwsError(500, 'InternalFailure', String(error));
      const type = e.status >= 500 ? 'Receiver' : 'Sender';
      const xml = `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>${type}</Type><Code>${e.code}</Code><Message>${escapeXml(e.message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`;
      res.writeHead(e.status, { 'content-type': 'text/xml' }).end(xml);
    }
  }
}

function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!,
  );
}
