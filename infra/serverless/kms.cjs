'use strict';
/**
 * `kms:Decrypt` for secrets encrypted with customer-managed KMS keys, with `--param secretsKmsKeyArns=<arn>,<arn>`.
 * Secrets Manager decrypts a secret's data key with its KMS key *as the caller*: GetSecretValue on a secret under a
 * customer-managed key also needs `kms:Decrypt` on that key, or it fails with `AccessDeniedException: Access to KMS is
 * not allowed` ("Secret encryption and decryption in AWS Secrets Manager",
 * https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html). Secrets under the AWS managed
 * key `aws/secretsmanager` need nothing more: without the param no role changes.
 *
 * Each role that reads secrets (roles.cjs; secret-arns.cjs decides which) gets one statement:
 *   Action kms:Decrypt, Resource exactly the given key ARNs, and two conditions from the page above:
 *   - kms:ViaService = secretsmanager.<stack region>.amazonaws.com: the key decrypts only inside Secrets Manager calls,
 *     never a ciphertext the function hands to KMS itself;
 *   - kms:EncryptionContext:SecretARN like the role's own secret ARNs (Secrets Manager puts the secret's ARN in the
 *     encryption context of every data key): the key decrypts only the secrets that role may already read, so a key
 *     that also protects other secrets, or the sync's tokens, opens nothing more to the relay. StringLike because
 *     secrets named by name are granted as `<name>-??????` (secret-arns.cjs).
 * So the param is one list for all roles, yet each role can use a key only for its own secrets.
 *
 * Key ARNs only: an IAM policy cannot name a KMS key by alias, alias ARN or key id ("Specifying KMS keys in IAM
 * policy statements", https://docs.aws.amazon.com/kms/latest/developerguide/cmks-in-iam-policies.html). The key's own
 * policy must also let the account's IAM policies grant its use (the default key policy does).
 */
const { deployParams } = require('./deploy-params.cjs');

/** The one IAM statement that lets a role decrypt `secretResources` (its GetSecretValue Resource list) with `keyArns`. */
function kmsDecryptStatement(keyArns, secretResources) {
  return {
    Effect: 'Allow',
    Action: 'kms:Decrypt',
    Resource: [...keyArns],
    Condition: {
      StringEquals: { 'kms:ViaService': { 'Fn::Sub': 'secretsmanager.${AWS::Region}.amazonaws.com' } },
      StringLike: { 'kms:EncryptionContext:SecretARN': [...secretResources] },
    },
  };
}

module.exports = {
  kmsDecryptStatement,
  secretsKmsKeyArns: async (resolver) => (await deployParams(resolver, ['secretsKmsKeyArns'])).secretsKmsKeyArns,
};
