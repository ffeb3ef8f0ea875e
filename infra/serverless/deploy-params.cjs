'use strict';
/**
 * The deploy's own `--param`s (everything but the relay configuration), read from `custom.relay` and checked here so
 * that a typo fails `osls package` with a message naming the param instead of a CloudFormation rollback:
 *
 *   throttleBurst, throttleRate          the HTTP API stage's default route throttle (http-api.cjs)
 *   vpcSubnetIds, vpcSecurityGroupIds    both or neither: run both functions in a VPC (vpc.cjs)
 *   alarmTopicArn                        SNS topic the alarms notify (monitoring.cjs); without it they have no actions
 *   signatureRejectionThreshold          401s per 5 minutes, over all providers, that raise the rejections alarm
 *   retryQueueSenders                    IAM role ARNs that may send to the retry queue besides the relay and retry
 *                                        roles (retry.cjs's queue policy), e.g. the role that redrives the DLQ
 *   secretsKmsKeyArns                    customer-managed KMS keys (key ARNs) the secrets are encrypted with: each
 *                                        role may decrypt its own secrets with them through Secrets Manager (kms.cjs)
 *   domainName, certificateArn           both or neither: the hooks' custom domain and its ACM certificate (domain.cjs)
 *   hostedZoneId                         with domainName: the Route 53 zone that gets the domain's alias record
 *   relayReservedConcurrency             the relay function's reserved concurrency: at most this many relay
 *                                        containers at once (concurrency.cjs); default unset, no limit of its own
 *
 * CLI params arrive as strings, the defaults in serverless.yml as numbers, unset ones as null.
 */
const { RelayDeployError } = require('./relay-config.cjs');

const isUnset = (value) => value === undefined || value === null || String(value).trim() === '';

/** A whole number within [min, max]; `fallback` when unset. */
function integerParam(name, value, fallback, { min = 1, max = Number.MAX_SAFE_INTEGER } = {}) {
  if (isUnset(value)) return fallback;
  const text = String(value).trim();
  const number = Number(text);
  if (!/^\d+$/.test(text) || number < min || number > max) {
    throw new RelayDeployError(`${name}=${value} must be a whole number from ${min} to ${max}`);
  }
  return number;
}

/** A positive number (fractions allowed); `fallback` when unset. */
function positiveParam(name, value, fallback) {
  if (isUnset(value)) return fallback;
  const text = String(value).trim();
  const number = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(number > 0))
    throw new RelayDeployError(`${name}=${value} must be a positive number`);
  return number;
}

/** `a,b, c` -> ['a', 'b', 'c'] (duplicates dropped), each checked against `pattern` (`what` names it). */
function idList(name, value, pattern, what, max) {
  const ids = [
    ...new Set(
      String(value)
        .split(',')
        .map((id) => id.trim())
        .filter(Boolean),
    ),
  ];
  const bad = ids.filter((id) => !pattern.test(id));
  if (bad.length > 0) throw new RelayDeployError(`${name}: not ${what}: ${bad.join(', ')}`);
  if (ids.length === 0) throw new RelayDeployError(`${name}=${value} names no id`);
  if (ids.length > max) throw new RelayDeployError(`${name}: Lambda takes at most ${max}, got ${ids.length}`);
  return ids;
}

const subnetId = /^subnet-[0-9a-f]+$/;
const securityGroupId = /^sg-[0-9a-f]+$/;
// A role, never a user, root or wildcard: the queue policy's exception is for a known operator role.
const roleArn = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
// Standard topics only: CloudWatch alarm actions cannot publish to FIFO topics.
const topicArn = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;

// Key ARNs only (a UUID key id, or mrk-<32 hex> for a multi-Region key): IAM cannot name a key by alias (kms.cjs).
const kmsKeyArn =
  /^arn:aws[a-z-]*:kms:([a-z0-9-]+):\d{12}:key\/(?:mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

// ACM certificate ARNs: arn:aws:acm:<region>:<account>:certificate/<uuid>.
const certificateArn =
  /^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// A host name of two or more labels, lowercase (API Gateway does not support uppercase in a custom domain name), no
// wildcard: the hooks need one exact name.
const hostName = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
// Route 53 hosted zone ids: uppercase letters and digits (the console's Z0123456789ABCDEFGHIJ).
const hostedZone = /^[A-Z0-9]{1,32}$/;

/** `{ burst, rate }` for the stage's DefaultRouteSettings: requests per second and the bucket above it. */
function throttle(settings = {}) {
  return {
    burst: integerParam('throttleBurst', settings.throttleBurst, 50),
    rate: positiveParam('throttleRate', settings.throttleRate, 20),
  };
}

/** `{ subnetIds, securityGroupIds }` when both params are set, null when neither is; one alone is refused. */
function vpc(settings = {}) {
  const subnets = !isUnset(settings.vpcSubnetIds);
  const groups = !isUnset(settings.vpcSecurityGroupIds);
  if (!subnets && !groups) return null;
  if (subnets !== groups) {
    throw new RelayDeployError(
      `vpcSubnetIds and vpcSecurityGroupIds go together: set both to run the functions in a VPC, or neither (got only ${subnets ? 'vpcSubnetIds' : 'vpcSecurityGroupIds'})`,
    );
  }
  // Lambda's VpcConfig limits: 16 subnets, 5 security groups.
  return {
    subnetIds: idList('vpcSubnetIds', settings.vpcSubnetIds, subnetId, 'a subnet id (subnet-<hex>)', 16),
    securityGroupIds: idList(
      'vpcSecurityGroupIds',
      settings.vpcSecurityGroupIds,
      securityGroupId,
      'a security group id (sg-<hex>)',
      5,
    ),
  };
}

/** The alarms' SNS topic ARN, or null. */
function alarmTopic(settings = {}) {
  if (isUnset(settings.alarmTopicArn)) return null;
  const arn = String(settings.alarmTopicArn).trim();
  if (!topicArn.test(arn))
    throw new RelayDeployError(
      `alarmTopicArn=${arn} is not an SNS standard topic ARN (arn:aws:sns:<region>:<account>:<name>)`,
    );
  return arn;
}

/** The relay's reserved concurrency, or null (unset). 0 would throttle every delivery, so the least is 1. */
function relayReservedConcurrency(settings = {}) {
  return integerParam('relayReservedConcurrency', settings.relayReservedConcurrency, null);
}

function signatureRejectionThreshold(settings = {}) {
  return integerParam('signatureRejectionThreshold', settings.signatureRejectionThreshold, 20);
}

/** The extra senders of the retry queue's policy (retry.cjs), [] when unset. */
function retryQueueSenders(settings = {}) {
  if (isUnset(settings.retryQueueSenders)) return [];
  return idList(
    'retryQueueSenders',
    settings.retryQueueSenders,
    roleArn,
    'an IAM role ARN (arn:aws:iam::<account>:role/<name>)',
    10,
  );
}

/**
 * The KMS key ARNs of `secretsKmsKeyArns`, [] when unset. With `region` (the stack's), a key of another region is
 * refused: the relay calls Secrets Manager in its own region, and a secret's key is always in the secret's region.
 */
function secretsKmsKeyArns(settings = {}) {
  if (isUnset(settings.secretsKmsKeyArns)) return [];
  const keys = [
    ...new Set(
      String(settings.secretsKmsKeyArns)
        .split(',')
        .map((key) => key.trim())
        .filter(Boolean),
    ),
  ];
  const aliases = keys.filter((key) => /^alias\/|:alias\//.test(key));
  if (aliases.length > 0) {
    throw new RelayDeployError(
      `secretsKmsKeyArns: an alias cannot grant a KMS key in IAM, give the key ARN (aws kms describe-key --key-id <alias> --query KeyMetadata.Arn): ${aliases.join(', ')}`,
    );
  }
  const arns = idList(
    'secretsKmsKeyArns',
    settings.secretsKmsKeyArns,
    kmsKeyArn,
    'a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key id>)',
    20,
  );
  const region = isUnset(settings.region) ? null : String(settings.region);
  const elsewhere = region === null ? [] : arns.filter((arn) => kmsKeyArn.exec(arn)[1] !== region);
  if (elsewhere.length > 0)
    throw new RelayDeployError(`secretsKmsKeyArns: not in the stack's region ${region}: ${elsewhere.join(', ')}`);
  return arns;
}

/**
 * `{ domainName, certificateArn, hostedZoneId }` (hostedZoneId null when not given) when the custom domain params are
 * set, null when none is. domainName and certificateArn go together; hostedZoneId needs them. The certificate must be
 * in the stack's region: a REGIONAL custom domain takes a certificate of its own region only.
 */
function customDomain(settings = {}) {
  const set = (name) => !isUnset(settings[name]);
  if (!set('domainName') && !set('certificateArn') && !set('hostedZoneId')) return null;
  if (!set('domainName') || !set('certificateArn')) {
    const given = ['domainName', 'certificateArn', 'hostedZoneId'].filter(set).join(', ');
    throw new RelayDeployError(
      `domainName and certificateArn go together (hostedZoneId needs both): set both for a custom domain, or none (got only ${given})`,
    );
  }
  const domainName = String(settings.domainName).trim();
  if (!hostName.test(domainName)) {
    throw new RelayDeployError(
      `domainName=${domainName} is not a lowercase host name (like hooks.example.com; no wildcard, no scheme or path)`,
    );
  }
  const certificate = String(settings.certificateArn).trim();
  const match = certificateArn.exec(certificate);
  if (!match)
    throw new RelayDeployError(
      `certificateArn=${certificate} is not an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)`,
    );
  const region = isUnset(settings.region) ? null : String(settings.region);
  if (region !== null && match[1] !== region) {
    throw new RelayDeployError(
      `certificateArn=${certificate} is in ${match[1]}; the HTTP API's regional custom domain needs a certificate in the stack's region ${region}`,
    );
  }
  let hostedZoneId = null;
  if (set('hostedZoneId')) {
    hostedZoneId = String(settings.hostedZoneId)
      .trim()
      .replace(/^\/hostedzone\//, '');
    if (!hostedZone.test(hostedZoneId))
      throw new RelayDeployError(
        `hostedZoneId=${settings.hostedZoneId} is not a Route 53 hosted zone id (like Z0123456789ABCDEFGHIJ)`,
      );
  }
  return { domainName, certificateArn: certificate, hostedZoneId };
}

/** `custom.relay`, where serverless.yml puts the params, and `region`: the stack's (provider.region). */
async function settingsOf({ resolveConfigurationProperty }) {
  const settings = (await resolveConfigurationProperty(['custom', 'relay'])) ?? {};
  return { ...settings, region: await resolveConfigurationProperty(['provider', 'region']) };
}

/**
 * Each resolver checks only the params it uses, so that a bad one is reported once, by the variable that needs it.
 * `which` is any of 'throttle', 'vpc', 'alarmTopicArn', 'signatureRejectionThreshold', 'retryQueueSenders',
 * 'secretsKmsKeyArns', 'customDomain', 'relayReservedConcurrency'.
 */
async function deployParams(resolver, which) {
  const settings = await settingsOf(resolver);
  const readers = {
    throttle,
    vpc,
    alarmTopicArn: alarmTopic,
    signatureRejectionThreshold,
    retryQueueSenders,
    secretsKmsKeyArns,
    customDomain,
    relayReservedConcurrency,
  };
  return Object.fromEntries(which.map((name) => [name, readers[name](settings)]));
}

module.exports = {
  throttle,
  vpc,
  alarmTopic,
  signatureRejectionThreshold,
  retryQueueSenders,
  secretsKmsKeyArns,
  customDomain,
  relayReservedConcurrency,
  deployParams,
};
