'use strict';
/**
 * Stack outputs with each receiver's webhook URL, the address to paste into GitHub/GitLab, the CloudWatch dashboard's
 * name (`DashboardName`, monitoring.cjs), the retry dead-letter queue's URL and ARN (retry.cjs), and, when the sync is deployed, its function name (`SyncFunctionName`, for
 * `aws lambda invoke` and its logs):
 *
 *   resources:
 *     Outputs: ${file(./infra/serverless/outputs.cjs):outputs}
 *
 * osls itself adds `HttpApiUrl` (the API's base URL). `HttpApi` is osls's logical id for the HTTP API, and
 * `ApiEndpoint` is AWS::ApiGatewayV2::Api's `https://<id>.execute-api.<region>.amazonaws.com` attribute.
 */
const { relayContext, syncDeployed, RelayDeployError } = require('./relay-config.cjs');

/** `github-main` -> `GithubMain` (output logical ids are alphanumeric). */
function pascal(name) {
  return name.split('-').map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join('');
}

function webhookUrlOutputs(config) {
  const outputs = {};
  const owners = new Map();
  for (const [name, receiver] of Object.entries(config.receivers)) {
    const id = `WebhookUrl${pascal(name)}`;
    if (owners.has(id)) throw new RelayDeployError(`receivers ${owners.get(id)} and ${name} would share the stack output ${id}; rename one`);
    owners.set(id, name);
    outputs[id] = {
      Description: `Webhook URL of receiver ${name} (${receiver.provider})`,
      Value: { 'Fn::Sub': `\${HttpApi.ApiEndpoint}/hooks/${name}` },
    };
  }
  return outputs;
}

/** The webhook URLs, the dashboard's name, and the sync function's name (`Ref` of a Lambda function) when it is deployed. */
function stackOutputs(config) {
  const outputs = webhookUrlOutputs(config);
  // Ref of an AWS::CloudWatch::Dashboard is its name.
  outputs.DashboardName = { Description: 'Name of the CloudWatch dashboard (deliveries, rejections, patches, duration, sync)', Value: { Ref: 'RelayDashboard' } };
  // Ref of an AWS::SQS::Queue is its URL; the ARN is what `aws sqs start-message-move-task --source-arn` redrives.
  outputs.RetryDeadLetterQueueUrl = { Description: 'URL of the retry dead-letter queue (cluster jobs that could not be applied)', Value: { Ref: 'RetryDeadLetterQueue' } };
  outputs.RetryDeadLetterQueueArn = { Description: 'ARN of the retry dead-letter queue, for a redrive (aws sqs start-message-move-task --source-arn)', Value: { 'Fn::GetAtt': ['RetryDeadLetterQueue', 'Arn'] } };
  if (syncDeployed(config)) {
    outputs.SyncFunctionName = { Description: 'Name of the scheduled webhook sync function', Value: { Ref: 'SyncLambdaFunction' } };
  }
  return outputs;
}

module.exports = {
  webhookUrlOutputs,
  stackOutputs,
  outputs: async (resolver) => stackOutputs((await relayContext(resolver)).config),
};
