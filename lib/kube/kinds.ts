/**
 * Flux kinds the relay may annotate, with the apiVersion used when a static target leaves it out. These are the GA
 * versions of Flux 2.7; Flux's Receiver defaults the same way (notification-controller `spec.resources`).
 */
export const fluxKinds = {
  GitRepository: { apiVersion: 'source.toolkit.fluxcd.io/v1', plural: 'gitrepositories' },
  HelmRepository: { apiVersion: 'source.toolkit.fluxcd.io/v1', plural: 'helmrepositories' },
  OCIRepository: { apiVersion: 'source.toolkit.fluxcd.io/v1', plural: 'ocirepositories' },
  Bucket: { apiVersion: 'source.toolkit.fluxcd.io/v1', plural: 'buckets' },
  HelmChart: { apiVersion: 'source.toolkit.fluxcd.io/v1', plural: 'helmcharts' },
  Kustomization: { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', plural: 'kustomizations' },
  HelmRelease: { apiVersion: 'helm.toolkit.fluxcd.io/v2', plural: 'helmreleases' },
  ImageRepository: { apiVersion: 'image.toolkit.fluxcd.io/v1', plural: 'imagerepositories' },
} as const;

export type FluxKind = keyof typeof fluxKinds;
export const fluxKindNames = Object.keys(fluxKinds) as FluxKind[];

/** The annotation `flux reconcile` sets; any new value makes the controller reconcile the object. */
export const requestedAtAnnotation = 'reconcile.fluxcd.io/requestedAt';

/** A Flux object on a named cluster. */
export interface FluxObjectRef {
  cluster: string;
  apiVersion: string;
  kind: FluxKind;
  namespace: string;
  name: string;
}

/** `cluster/namespace/Kind/name`: how targets are named in answers and logs. */
export function describeTarget(t: FluxObjectRef): string {
  return `${t.cluster}/${t.namespace}/${t.kind}/${t.name}`;
}
