/**
 * The providers a receiver can name, and what the configuration must know about each, as data: the schema
 * (lib/config/schema.ts) checks receivers against it without loading the provider modules, which themselves depend on
 * the schema's types.
 */
export const providerNames = [
  'github',
  'gitlab',
  'bitbucket-cloud',
  'bitbucket-server',
  'gitea',
  'forgejo',
  'gogs',
  'azure-devops',
  'generic-hmac',
  'generic',
  'harbor',
  'dockerhub',
  'quay',
  'acr',
  'cdevents',
  'nexus',
  'gcr',
] as const;

export type ProviderName = (typeof providerNames)[number];

/**
 * Providers whose deliveries name no repository (generic receivers): every authenticated delivery annotates the
 * receiver's static `targets`, so the configuration must give some.
 */
const staticTargetsOnlyProviders: ReadonlySet<ProviderName> = new Set(['generic-hmac', 'generic']);

export function routesStaticTargetsOnly(provider: ProviderName): boolean {
  return staticTargetsOnlyProviders.has(provider);
}

/**
 * Providers that cannot send a credential made with a shared secret (Docker Hub, Quay; Pub/Sub for gcr sends only a
 * token Google signs): the receiver's secret is a path segment, `POST /hooks/{receiver}/{token}`, as Flux
 * authenticates them by an unguessable receiver URL. A wrong or missing token answers exactly as an unknown receiver
 * does (404), and such a receiver is not reachable without one.
 */
const pathTokenProviders: ReadonlySet<ProviderName> = new Set(['dockerhub', 'quay', 'gcr']);
/** Providers that take either their own credential header or, when the sender can set none, a path token (ACR, CDEvents). */
const optionalPathTokenProviders: ReadonlySet<ProviderName> = new Set(['acr', 'cdevents']);

/** Whether a receiver of `provider` needs (`required`), may take (`optional`) or never takes (`none`) a path token. */
export function pathTokenUse(provider: ProviderName): 'required' | 'optional' | 'none' {
  return pathTokenProviders.has(provider) ? 'required' : optionalPathTokenProviders.has(provider) ? 'optional' : 'none';
}

export function authenticatesByPathToken(provider: ProviderName): boolean {
  return pathTokenUse(provider) === 'required';
}

/**
 * Providers whose sender also presents a token its issuer signs (gcr: Google's OpenID Connect token for a Pub/Sub
 * push). Their receivers name what the token must say (`audience`, `serviceAccount`), checked after the path token.
 */
export function presentsIssuerToken(provider: ProviderName): boolean {
  return provider === 'gcr';
}
