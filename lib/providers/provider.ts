import type { ReceiverConfig } from '../config/schema';
import type { ProviderName } from './names';
import type { WebhookRequest } from '../http/request';

/** One ref that a push moved. */
export interface RefChange {
  /** Full ref: `refs/heads/main`, `refs/tags/v1.2.0`. */
  ref: string;
  /** Commit the ref points to after the push (for logs). */
  commit?: string;
  /** The ref was deleted: nothing to reconcile. */
  deleted: boolean;
}

/** The provider-independent content of a push delivery. */
export interface PushEvent {
  /** Human-readable repository name for answers and logs, e.g. `org/repo`. */
  repository: string;
  /** Every URL the payload gives for the repository (web, https clone, ssh clone); matched by identity key. */
  repositoryUrls: string[];
  /** Bitbucket Server can carry several ref changes in one delivery; the others carry one. */
  changes: RefChange[];
}

/** One artifact a registry push reports. */
export interface PushedArtifactReport {
  /** The pushed repository as the registry names it (`host/path`, possibly with `:tag` or `@digest`), matched by artifactKey. */
  reference: string;
  tag?: string;
  digest?: string;
}

/**
 * The provider-independent content of a registry push (an image or OCI artifact): not a Git push, so no refs.
 * Routed to OCIRepositories, HelmCharts of OCI HelmRepositories and ImageRepositories (lib/matching/artifact-routing.ts).
 */
export interface ArtifactPushEvent {
  /** Human-readable repository for answers and logs, e.g. `harbor.example.com/team/app`. */
  repository: string;
  artifacts: PushedArtifactReport[];
}

/** The result of checking a delivery's credential header. Getting it needs no secret. */
export interface Inspection {
  /** Checks the delivery's credential against one candidate secret, in constant time. */
  verify(secret: string): boolean;
}

/**
 * One Git provider: how it authenticates deliveries and what its push payload looks like. Each provider lives in its
 * own module; the relay core knows only this interface.
 */
export interface Provider {
  readonly name: ProviderName;
  /** Events acted on when a receiver does not list its own. */
  readonly defaultEvents: readonly string[];
  /**
   * Lower-case header naming the event, where the provider sends one. It is read before authentication only to
   * say in the log what was refused; nothing acts on it until the delivery is authenticated.
   */
  readonly eventHeader?: string;
  /** The event of every delivery, for providers that send none (generic receivers). */
  readonly fixedEvent?: string;
  /** Lower-case headers carrying the provider's delivery id, first present wins (for logs and de-duplication). */
  readonly deliveryHeaders: readonly string[];
  /**
   * Checks the content type and the shape of the credential header. Throws
   * UnsupportedMediaType, MissingSignature or BadSignature. Runs before any secret is read.
   */
  inspect(request: WebhookRequest, body: Buffer, receiver: ReceiverConfig): Inspection;
  /**
   * Providers whose sender also proves who it is with a token its issuer signs (gcr: the OpenID Connect token Google
   * signs for a Pub/Sub push): the token, read without checking it. The core verifies it once the secret has
   * (lib/auth/google-id-token.ts), so no key is fetched for a request without the right path token. Throws
   * MissingSignature or BadSignature.
   */
  issuerToken?(request: WebhookRequest): string;
  /**
   * For providers that name the event only in the body (Azure DevOps `eventType`): read it once the delivery is
   * authenticated, never before. Throws MalformedPayload.
   */
  eventAfterAuthentication?(body: Buffer): string | undefined;
  /** Test deliveries the provider sends to check a hook; answered after authentication, never routed. */
  isPing(event: string): boolean;
  /** Whether `event` is a push that should be routed. */
  isPush(event: string): boolean;
  /** Reads an authenticated push delivery. Throws MalformedPayload. */
  parsePush(request: WebhookRequest, body: Buffer, event: string): PushEvent;
  /**
   * Registries (and GitHub's `package` event): reads an authenticated push event that pushed an artifact, or
   * undefined when `event` is a Git push for parsePush. Throws MalformedPayload.
   */
  parseArtifactPush?(
    request: WebhookRequest,
    body: Buffer,
    event: string,
    receiver: ReceiverConfig,
  ): ArtifactPushEvent | undefined;
}
