import aws4 from 'aws4';
import { type AwsCredentials, type Environment, awsCredentials, awsRegion, processEnv } from '../runtime/env';
import { AwsServiceError, serviceEndpoint, signedRequest } from '../aws/signed-http';
import { ClusterCallError } from './cluster-client';
import type { BearerSource, ClusterEndpoint } from './kubeconfig';
import { firstLine } from './status';

/**
 * Authentication to an EKS cluster without any stored cluster secret: the relay's own IAM identity (its Lambda role,
 * or a role it assumes for a cluster in another account) signs a bearer token, which EKS maps to Kubernetes groups
 * through an access entry (https://docs.aws.amazon.com/eks/latest/userguide/access-entries.html).
 *
 * The token is what `aws eks get-token` and aws-iam-authenticator make: `k8s-aws-v1.` + unpadded base64url of a
 * SigV4-presigned `GET https://sts.<region>.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15` with
 * `X-Amz-Expires=60` and the signed header `x-k8s-aws-id: <cluster name>` (kubernetes-sigs/aws-iam-authenticator
 * pkg/token/token.go, GetWithSTS and Verify; aws/aws-cli awscli/customizations/eks/get_token.py, TokenGenerator).
 * The API server's authenticator accepts it for 15 minutes after its X-Amz-Date whatever X-Amz-Expires says
 * (token.go: presignedURLExpiration; it only requires X-Amz-Expires to lie in 0..900), and hands the URL to STS,
 * which checks the signature, so the cluster name is bound to the token by the signature alone.
 */
export interface EksClusterConfig {
  cluster: string;
  region?: string;
  roleArn?: string;
  endpoint?: string;
  certificateAuthority?: string;
}

const tokenPrefix = 'k8s-aws-v1.';
/** How long the API server accepts a token after its X-Amz-Date (token.go presignedURLExpiration). */
export const tokenValidityMs = 15 * 60_000;
/**
 * A token is re-signed once it is this old, well inside its validity, so a token handed to a request is always good
 * for minutes more (clock skew, a slow request). Signing is local (an HMAC chain), so this never waits on the network.
 */
export const tokenRenewAfterMs = 10 * 60_000;
/** Assumed-role credentials are renewed in the background this long before they expire... */
const credentialsRefreshAheadMs = 5 * 60_000;
/** ...and waited for only within this last stretch (a renewal that failed in the background is tried again). */
const credentialsMinimumValidityMs = 60_000;
/** A 401 renews assumed-role credentials at most this often: an API server refusing every token must not flood STS. */
const forcedCredentialRenewalMs = 30_000;
/** Session length asked of AssumeRole; one hour is also the limit for role chaining (a Lambda role assuming another). */
const assumeRoleSeconds = 3600;
const roleSessionName = 'flux-webhook-relay';

/** The STS host a token names; the API server's authenticator accepts the partition's regional STS hosts. */
export function stsHost(region: string): string {
  return region.startsWith('cn-') ? `sts.${region}.amazonaws.com.cn` : `sts.${region}.amazonaws.com`;
}

/** The bearer token for `cluster`, signed at `now` (ms since the epoch) with `credentials` for STS in `region`. */
export function eksToken(options: {
  cluster: string;
  region: string;
  credentials: AwsCredentials;
  now: number;
}): string {
  const amzDate = new Date(options.now).toISOString().replace(/[:-]|\.\d{3}/g, '');
  const host = stsHost(options.region);
  const signed = aws4.sign(
    {
      host,
      // X-Amz-Date in the query: aws4 then signs for that time instead of reading the system clock.
      path: `/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Expires=60&X-Amz-Date=${amzDate}`,
      method: 'GET',
      service: 'sts',
      region: options.region,
      signQuery: true,
      headers: { 'x-k8s-aws-id': options.cluster },
    },
    options.credentials,
  );
  return tokenPrefix + Buffer.from(`https://${host}${signed.path}`, 'utf8').toString('base64url');
}

/** Where the relay's own AWS credentials come from: the environment, or AssumeRole on top of it. */
interface CredentialSource {
  get(): AwsCredentials | Promise<AwsCredentials>;
  renew(): Promise<AwsCredentials>;
}

function configFailure(name: string, detail: string): ClusterCallError {
  return new ClusterCallError(`cluster ${name}: ${detail}`, undefined, 'config');
}

/** An AWS call failed: 'config' (not retried) for answers that would repeat, 'unreachable' for the rest. */
function awsFailure(name: string, what: string, error: unknown): ClusterCallError {
  if (error instanceof ClusterCallError) return error;
  if (error instanceof AwsServiceError)
    return new ClusterCallError(
      `cluster ${name}: ${what} failed (${error.message})`,
      undefined,
      error.retryable ? 'unreachable' : 'config',
    );
  const code = (error as { code?: unknown } | undefined)?.code;
  return new ClusterCallError(
    `cluster ${name}: ${what} failed (${typeof code === 'string' ? code : firstLine(error)})`,
    undefined,
    'unreachable',
  );
}

class EnvironmentCredentials implements CredentialSource {
  constructor(
    private readonly name: string,
    private readonly env: Environment,
  ) {}

  get(): AwsCredentials {
    const credentials = awsCredentials(this.env);
    // On Lambda they are always there; a local run needs them exported (`aws configure export-credentials --format env`).
    if (!credentials)
      throw configFailure(
        this.name,
        'EKS authentication needs AWS credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)',
      );
    return credentials;
  }

  renew(): Promise<AwsCredentials> {
    return Promise.resolve().then(() => this.get());
  }
}

/** The characters XML escapes in STS's answers (the five predefined entities and numeric references). */
function xmlText(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (_, entity: string) => {
    const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
    if (entity.startsWith('#x') || entity.startsWith('#X')) return String.fromCodePoint(parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(Number(entity.slice(1)));
    return named[entity.toLowerCase()] ?? '';
  });
}

function xmlElement(xml: string, name: string): string | undefined {
  const match = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  return match ? xmlText(match[1]!) : undefined;
}

/**
 * `sts:AssumeRole` through the Query API (POST form, answer in XML: STS API reference, AssumeRole; errors as
 * `<ErrorResponse><Error><Code>..</Code><Message>..</Message></Error></ErrorResponse>`), signed with the base
 * credentials. The answer is cached until shortly before its Expiration and renewed in the background before that.
 */
class AssumedRoleCredentials implements CredentialSource {
  private current: { credentials: AwsCredentials; expiresAt: number } | undefined;
  private pending: Promise<AwsCredentials> | undefined;
  private forcedAt = -Infinity;

  constructor(
    private readonly name: string,
    private readonly roleArn: string,
    private readonly region: string,
    private readonly base: CredentialSource,
    private readonly env: Environment,
    private readonly now: () => number,
  ) {}

  get(): AwsCredentials | Promise<AwsCredentials> {
    const now = this.now();
    const current = this.current;
    if (current && now < current.expiresAt - credentialsMinimumValidityMs) {
      // Still good for a while: answer at once, and renew in the background once the end is near.
      if (now >= current.expiresAt - credentialsRefreshAheadMs) this.refresh().catch(() => undefined);
      return current.credentials;
    }
    return this.refresh();
  }

  renew(): Promise<AwsCredentials> {
    const now = this.now();
    if (this.current && now - this.forcedAt < forcedCredentialRenewalMs) return Promise.resolve(this.get());
    this.forcedAt = now;
    return this.refresh();
  }

  private refresh(): Promise<AwsCredentials> {
    this.pending ??= this.assumeRole().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async assumeRole(): Promise<AwsCredentials> {
    const what = `sts:AssumeRole of ${this.roleArn}`;
    let answer;
    try {
      const base = await this.base.get();
      const body = new URLSearchParams({
        Action: 'AssumeRole',
        Version: '2011-06-15',
        RoleArn: this.roleArn,
        RoleSessionName: roleSessionName,
        DurationSeconds: String(assumeRoleSeconds),
      }).toString();
      answer = await signedRequest({
        endpoint: serviceEndpoint('sts', this.region, this.env),
        method: 'POST',
        path: '/',
        service: 'sts',
        region: this.region,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' },
        body,
        credentials: base,
        now: this.now(),
      });
    } catch (error) {
      throw awsFailure(this.name, what, error);
    }
    if (answer.status !== 200) {
      const code = xmlElement(answer.text, 'Code') ?? `HTTP ${answer.status}`;
      throw awsFailure(
        this.name,
        what,
        new AwsServiceError(code, (xmlElement(answer.text, 'Message') ?? '').slice(0, 300), answer.status),
      );
    }
    const accessKeyId = xmlElement(answer.text, 'AccessKeyId');
    const secretAccessKey = xmlElement(answer.text, 'SecretAccessKey');
    const sessionToken = xmlElement(answer.text, 'SessionToken');
    const expiresAt = Date.parse(xmlElement(answer.text, 'Expiration') ?? '');
    if (!accessKeyId || !secretAccessKey || !sessionToken || Number.isNaN(expiresAt)) {
      throw configFailure(this.name, `${what} answered without credentials`);
    }
    const credentials = { accessKeyId, secretAccessKey, sessionToken };
    this.current = { credentials, expiresAt };
    return credentials;
  }
}

export interface EksAuthOptions {
  env?: Environment;
  /** Milliseconds clock for signing and token age; injectable for tests. */
  now?: () => number;
}

/**
 * One configured EKS cluster: its endpoint and CA (from the configuration, or DescribeCluster once per container) and
 * its bearer tokens (re-signed before they get old; see tokenRenewAfterMs). Serves as the cluster client's BearerSource.
 */
export class EksClusterAuth implements BearerSource {
  private readonly region: string | undefined;
  private readonly credentials: CredentialSource;
  private readonly now: () => number;
  private readonly env: Environment;
  private described: Promise<ClusterEndpoint> | undefined;
  private token: { value: string; signedAt: number } | undefined;

  constructor(
    readonly name: string,
    private readonly config: EksClusterConfig,
    options: EksAuthOptions = {},
  ) {
    this.env = options.env ?? processEnv();
    this.now = options.now ?? Date.now;
    this.region = config.region ?? awsRegion(this.env);
    const base = new EnvironmentCredentials(name, this.env);
    this.credentials =
      config.roleArn && this.region
        ? new AssumedRoleCredentials(name, config.roleArn, this.region, base, this.env, this.now)
        : base;
  }

  private requireRegion(): string {
    if (!this.region) throw configFailure(this.name, 'eks.region is not set and neither is AWS_REGION');
    return this.region;
  }

  /** The API server's URL and CA, with this object as its token source. Rejections are not cached. */
  endpoint(): Promise<ClusterEndpoint> {
    if (!this.described) {
      const described = this.describe();
      this.described = described;
      described.catch(() => {
        if (this.described === described) this.described = undefined;
      });
    }
    return this.described;
  }

  /** Forget the described endpoint (a TLS failure may mean a new CA); the next endpoint() asks EKS again. */
  forgetEndpoint(): void {
    this.described = undefined;
  }

  /** Forget the current token: the next request signs a fresh one. */
  forgetToken(): void {
    this.token = undefined;
  }

  current(): string | Promise<string> {
    const token = this.token;
    if (token && this.now() - token.signedAt < tokenRenewAfterMs) return token.value;
    const credentials = this.credentials.get();
    return credentials instanceof Promise ? credentials.then((c) => this.sign(c)) : this.sign(credentials);
  }

  async renew(): Promise<string> {
    return this.sign(await this.credentials.renew());
  }

  private sign(credentials: AwsCredentials): string {
    const now = this.now();
    const value = eksToken({ cluster: this.config.cluster, region: this.requireRegion(), credentials, now });
    this.token = { value, signedAt: now };
    return value;
  }

  private async describe(): Promise<ClusterEndpoint> {
    const { config } = this;
    if (config.endpoint && config.certificateAuthority) {
      return {
        server: new URL(config.endpoint),
        tls: { ca: Buffer.from(config.certificateAuthority, 'base64'), rejectUnauthorized: true },
        bearer: this,
      };
    }
    const region = this.requireRegion();
    const what = `eks:DescribeCluster of ${config.cluster} in ${region}`;
    let answer;
    try {
      answer = await signedRequest({
        endpoint: serviceEndpoint('eks', region, this.env),
        method: 'GET',
        path: `/clusters/${encodeURIComponent(config.cluster)}`,
        service: 'eks',
        region,
        headers: { Accept: 'application/json' },
        credentials: await this.credentials.get(),
        now: this.now(),
      });
    } catch (error) {
      throw awsFailure(this.name, what, error);
    }
    let parsed: Record<string, unknown> = {};
    try {
      parsed = JSON.parse(answer.text) as Record<string, unknown>;
    } catch {
      // A proxy's error page: reported by its status below.
    }
    if (answer.status !== 200) {
      // REST-JSON errors: the code in x-amzn-ErrorType (maybe with a `:<uri>` suffix), else in the body.
      const header = answer.headers['x-amzn-errortype'];
      const code = (
        typeof header === 'string' ? header : String(parsed.__type ?? parsed.code ?? `HTTP ${answer.status}`)
      )
        .replace(/^.*#/, '')
        .split(':')[0]!;
      throw awsFailure(
        this.name,
        what,
        new AwsServiceError(code, String(parsed.message ?? parsed.Message ?? '').slice(0, 300), answer.status),
      );
    }
    const cluster = (parsed.cluster ?? {}) as {
      endpoint?: unknown;
      certificateAuthority?: { data?: unknown };
      status?: unknown;
    };
    const endpoint = typeof cluster.endpoint === 'string' ? cluster.endpoint : undefined;
    const ca = typeof cluster.certificateAuthority?.data === 'string' ? cluster.certificateAuthority.data : undefined;
    if (!endpoint || !ca) {
      throw configFailure(
        this.name,
        `${what} answered without an endpoint and certificate authority (cluster status ${String(cluster.status ?? 'unknown')})`,
      );
    }
    let server: URL;
    try {
      server = new URL(endpoint);
    } catch {
      throw configFailure(this.name, `${what} answered an endpoint that is not a URL`);
    }
    if (server.protocol !== 'https:')
      throw configFailure(this.name, `${what} answered an endpoint that is not https://`);
    return { server, tls: { ca: Buffer.from(ca, 'base64'), rejectUnauthorized: true }, bearer: this };
  }
}
