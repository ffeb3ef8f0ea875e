'use strict';
/**
 * IAM resources for the relay's only AWS permission, `secretsmanager:GetSecretValue`: exactly the secrets the relay
 * configuration names (each cluster's `kubeconfig` and each receiver's `secret`), never a `*`.
 *
 *   Resource: ${file(./infra/serverless/secret-arns.cjs):resources}
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
 * Secrets encrypted with a customer-managed KMS key also need `kms:Decrypt` on that key, which is not granted here.
 */
const { relayContext, secretRefs, localOnlyRefs, RelayDeployError } = require('./relay-config.cjs');

/** Secrets Manager secret names: ASCII letters, digits and /_+=.@- (CreateSecret's Name constraint), 1-512. */
const secretName = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const secretArn = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]{1,512}$/;

/**
 * The CloudFormation Resource values for a parsed relay configuration (lib/config/schema.ts's RelayConfig).
 * Throws naming every offending field; with `local`, env:/file: refs are skipped instead.
 */
function secretArnResources(config, { local = false } = {}) {
  const problems = local ? [] : localOnlyRefs(config);
  const resources = new Map();
  for (const { field, ref } of secretRefs(config)) {
    if (ref.scheme !== 'aws-sm') continue;
    if (ref.id.startsWith('arn:')) {
      if (!secretArn.test(ref.id)) problems.push(`${field}: ${ref.id} is not a Secrets Manager secret ARN`);
      else resources.set(ref.id, ref.id);
    } else if (!secretName.test(ref.id)) {
      problems.push(`${field}: ${JSON.stringify(ref.id)} is not a valid Secrets Manager secret name (letters, digits, /_+=.@-)`);
    } else {
      const sub = `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${ref.id}-??????`;
      resources.set(sub, { 'Fn::Sub': sub });
    }
  }
  if (problems.length > 0) {
    throw new RelayDeployError(`the relay configuration cannot be deployed:\n  ${problems.join('\n  ')}`);
  }
  return [...resources.values()];
}

module.exports = {
  secretArnResources,
  /** serverless.yml entry point: the Resource list for the configuration selected by custom.relay. */
  resources: async (resolver) => {
    const { config, local } = await relayContext(resolver);
    return secretArnResources(config, { local });
  },
};
