'use strict';
/**
 * Stack outputs with each receiver's webhook URL, the address to paste into GitHub/GitLab, the CloudWatch dashboard's
 * name (`DashboardName`, monitoring.cjs), the retry dead-letter queue's URL and ARN (retry.cjs), and, when the sync is deployed, its function name (`SyncFunctionName`, for
 * `aws lambda invoke` and its logs), and with an `ecr` section `RegistryEventsFunctionName`:
 *
 *   resources:
 *     Outputs: ${file(./infra/serverless/outputs.cjs):outputs}
 *
 * osls itself adds `HttpApiUrl` (the API's base URL). `HttpApi` is osls's logical id for the HTTP API, and
 * `ApiEndpoint` is AWS::ApiGatewayV2::Api's `https://<id>.execute-api.<region>.amazonaws.com` attribute. With a custom
 * domain (domain.cjs) the webhook URLs are on `https://<domainName>`, and `CustomDomainTarget` is the regional
 * endpoint name the domain's DNS record must point at (the stack makes that record itself only with hostedZoneId).
 */
const { relayContext, syncDeployed, registryEventsDeployed, RelayDeployError } = require('./relay-config.cjs');
const { domainOf } = require('./domain.cjs');

/** `github-main` -> `GithubMain` (output logical ids are alphanumeric). */
function pascal(name) {
  return name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

/** `domain`: deploy-params.cjs's customDomain, or null (the hooks on the HTTP API's own URL). */
function webhookUrlOutputs(config, domain = null) {
  const outputs = {};
  const owners = new Map();
  for (const [name, receiver] of Object.entries(config.receivers)) {
    const id = `WebhookUrl${pascal(name)}`;
    if (owners.has(id))
      throw new RelayDeployError(
        `receivers ${owners.get(id)} and ${name} would share the stack output ${id}; rename one`,
      );
    owners.set(id, name);
    outputs[id] = {
      Description: `Webhook URL of receiver ${name} (${receiver.provider})`,
      Value:
        domain === null
          ? { 'Fn::Sub': `\${HttpApi.ApiEndpoint}/hooks/${name}` }
          : `https://${domain.domainName}/hooks/${name}`,
    };
  }
  return outputs;
}

/** The webhook URLs, the dashboard's name, and the sync function's name (`Ref` of a Lambda function) when it is deployed. */
function stackOutputs(config, domain = null) {
  const outputs = webhookUrlOutputs(config, domain);
  // Ref of an AWS::CloudWatch::Dashboard is its name.
  outputs.DashboardName = {
    Description: 'Name of the CloudWatch dashboard (deliveries, rejections, patches, duration, sync)',
    Value: { Ref: 'RelayDashboard' },
  };
  // Ref of an AWS::SQS::Queue is its URL; the ARN is what `aws sqs start-message-move-task --source-arn` redrives.
  outputs.RetryDeadLetterQueueUrl = {
    Description: 'URL of the retry dead-letter queue (cluster jobs that could not be applied)',
    Value: { Ref: 'RetryDeadLetterQueue' },
  };
  outputs.RetryDeadLetterQueueArn = {
    Description: 'ARN of the retry dead-letter queue, for a redrive (aws sqs start-message-move-task --source-arn)',
    Value: { 'Fn::GetAtt': ['RetryDeadLetterQueue', 'Arn'] },
  };
  if (domain !== null) {
    outputs.CustomDomainTarget = {
      Description: `Where ${domain.domainName} must point (a CNAME or alias record)${domain.hostedZoneId === null ? '' : '; the stack made the alias record'}`,
      Value: { 'Fn::GetAtt': ['RelayDomainName', 'RegionalDomainName'] },
    };
  }
  if (syncDeployed(config)) {
    outputs.SyncFunctionName = {
      Description: 'Name of the scheduled webhook sync function',
      Value: { Ref: 'SyncLambdaFunction' },
    };
  }
  if (registryEventsDeployed(config)) {
    outputs.RegistryEventsFunctionName = {
      Description: 'Name of the function that routes ECR pushes from EventBridge (the ecr section)',
      Value: { Ref: 'RegistryEventsLambdaFunction' },
    };
  }
  return outputs;
}

module.exports = {
  webhookUrlOutputs,
  stackOutputs,
  outputs: async (resolver) => stackOutputs((await relayContext(resolver)).config, await domainOf(resolver)),
};
