'use strict';
/**
 * The one place secret references become IAM Resource values for `secretsmanager:GetSecretValue`, and which function
 * reads which secret. infra/serverless/roles.cjs puts each function's list into that function's own role.
 *
 * - relay: each cluster's `kubeconfig` and each receiver's `secret` (lib/delivery/relay.ts reads any of them per delivery).
 * - retry (lib/retry/worker.ts): each cluster's `kubeconfig` only; it patches, it never authenticates a delivery.
 * - sync (lib/sync/run.ts): each registration's `token` (or GitHub App `app.privateKey`) and its receiver's `secret`
 *   (the hooks carry it), plus the kubeconfigs of the clusters it lists GitRepositories on: for a registration that
 *   discovers (`discover`, the default, and no `organizations`, which replace discovery), its receiver's `clusters`
 *   (default all). lib/sync/desired.ts.
 * - registryEvents (lib/registry-events, with an `ecr` section): the kubeconfigs of `ecr.clusters` (default all) only;
 *   an EventBridge event carries no secret to check.
 *
 * - A full ARN is used as given.
 * - A name becomes `arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:<name>-??????`:
 *   Secrets Manager builds a secret's ARN from its name plus "-" and six random characters, and AWS recommends
 *   `-??????` (exactly six characters) rather than `-*` in policies, which would also match longer names that merely
 *   start with this one. See "Permissions reference for AWS Secrets Manager"
 *   (https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_iam-permissions.html) and "Identity-based
 *   policies" (https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_iam-policies.html).
 * - `env:` and `file:` references exist only on a developer's machine: refused unless `--param local=true` (offline).
 * A `#key` suffix selects a JSON key inside the secret and does not change the ARN.
 * Secrets encrypted with a customer-managed KMS key also need `kms:Decrypt` on that key: kms.cjs grants it, with
 * `--param secretsKmsKeyArns`, conditioned on these same Resource values (kms:EncryptionContext:SecretARN).
 */
const {
  secretRefs,
  localOnlyRefs,
  syncDeployed,
  registryEventsDeployed,
  RelayDeployError,
} = require('./relay-config.cjs');

/** Secrets Manager secret names: ASCII letters, digits and /_+=.@- (CreateSecret's Name constraint), 1-512. */
const secretName = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const secretArn = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]{1,512}$/;

/**
 * Every aws-sm reference of the configuration, validated, as `ref.text -> Resource value` (null for env:/file: refs,
 * which get no grant). Throws naming every offending field; with `local`, env:/file: refs are not offending.
 */
function resourceByRef(config, local) {
  const problems = local ? [] : localOnlyRefs(config);
  const byRef = new Map();
  for (const { field, ref } of secretRefs(config)) {
    if (ref.scheme !== 'aws-sm') {
      byRef.set(ref.text, null);
    } else if (ref.id.startsWith('arn:')) {
      if (!secretArn.test(ref.id)) problems.push(`${field}: ${ref.id} is not a Secrets Manager secret ARN`);
      else byRef.set(ref.text, ref.id);
    } else if (!secretName.test(ref.id)) {
      problems.push(
        `${field}: ${JSON.stringify(ref.id)} is not a valid Secrets Manager secret name (letters, digits, /_+=.@-)`,
      );
    } else {
      byRef.set(ref.text, {
        'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${ref.id}-??????`,
      });
    }
  }
  if (problems.length > 0) {
    throw new RelayDeployError(`the relay configuration cannot be deployed:\n  ${problems.join('\n  ')}`);
  }
  return byRef;
}

/** The Resource list for some references: env:/file: ones dropped, duplicates (same ARN, other #key) merged. */
function toResources(byRef, refs) {
  const resources = new Map();
  for (const ref of refs) {
    const resource = byRef.get(ref.text);
    if (resource) resources.set(JSON.stringify(resource), resource);
  }
  return [...resources.values()];
}

/** The secret references each function reads (see the top of this file), kubeconfigs first, in file order. */
function functionSecretRefs(config) {
  const clusters = Object.keys(config.clusters);
  // EKS clusters (`eks:`) have no kubeconfig; their access is IAM's (eks-access.cjs).
  const kubeconfigOf = (c) => (config.clusters[c].kubeconfig ? [config.clusters[c].kubeconfig] : []);
  const relay = [...clusters.flatMap(kubeconfigOf), ...Object.values(config.receivers).map((r) => r.secret)];
  const retry = clusters.flatMap(kubeconfigOf);
  const registryEvents = registryEventsDeployed(config)
    ? clusters.filter((c) => (config.ecr.clusters ?? clusters).includes(c)).flatMap(kubeconfigOf)
    : [];
  if (!syncDeployed(config)) return { relay, retry, sync: [], registryEvents };
  const registrations = Object.values(config.sync.registrations);
  const listed = new Set(
    registrations
      .filter((r) => r.discover && !r.organizations)
      .flatMap((r) => config.receivers[r.receiver].clusters ?? clusters),
  );
  const receivers = new Set(registrations.map((r) => r.receiver));
  const sync = [
    ...clusters.filter((c) => listed.has(c)).flatMap(kubeconfigOf),
    ...Object.entries(config.receivers)
      .filter(([name]) => receivers.has(name))
      .map(([, r]) => r.secret),
    ...registrations.map((r) => r.token ?? r.app.privateKey),
  ];
  return { relay, retry, sync, registryEvents };
}

/** Every secret the configuration names, as Resource values (a parsed lib/config/schema.ts RelayConfig). */
function secretArnResources(config, { local = false } = {}) {
  return toResources(
    resourceByRef(config, local),
    secretRefs(config).map(({ ref }) => ref),
  );
}

/**
 * `{ relay, retry, sync, registryEvents }`: each function's Resource list (sync's and registryEvents' are empty when
 * those functions are not deployed).
 */
function functionSecretResources(config, { local = false } = {}) {
  const byRef = resourceByRef(config, local);
  const refs = functionSecretRefs(config);
  return {
    relay: toResources(byRef, refs.relay),
    retry: toResources(byRef, refs.retry),
    sync: toResources(byRef, refs.sync),
    registryEvents: toResources(byRef, refs.registryEvents),
  };
}

module.exports = { secretArnResources, functionSecretResources, functionSecretRefs };
