'use strict';
/**
 * The hooks on a name the organisation owns instead of the HTTP API's generated host, which changes whenever the stack
 * is recreated, moved to another region or split into stages (and with it every registered hook would point nowhere):
 *
 *   --param domainName=hooks.example.com --param certificateArn=arn:aws:acm:<stack region>:<account>:certificate/<id>
 *   [--param hostedZoneId=Z0123456789ABCDEFGHIJ]
 *
 *   resources.Resources   (resources.cjs) + domainResources
 *   resources.Outputs     (outputs.cjs)   WebhookUrl<Receiver> on https://<domainName>, and CustomDomainTarget
 *   custom.syncFunction.environment:
 *     RELAY_PUBLIC_URL:         ${file(./infra/serverless/domain.cjs):publicUrl}
 *     RELAY_FORMER_PUBLIC_URLS: ${file(./infra/serverless/domain.cjs):formerPublicUrls, null}
 *
 * Resources (none without the params, so the default stack is unchanged):
 * - RelayDomainName, AWS::ApiGatewayV2::DomainName: REGIONAL (HTTP APIs have no edge-optimized endpoint), with an ACM
 *   certificate that must be in the API's region (deploy-params.cjs checks it), TLS 1.2, the one version HTTP APIs
 *   support (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-apigatewayv2-domainname.html;
 *   https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-custom-domain-names.html;
 *   https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-regional-api-custom-domain-create.html).
 * - RelayApiMapping, AWS::ApiGatewayV2::ApiMapping: the whole API at the domain's root (no ApiMappingKey), so paths stay
 *   /hooks/<receiver>; Stage is `Ref` of osls's `$default` stage, HttpApiStage, which also orders the mapping after it
 *   (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-apigatewayv2-apimapping.html).
 * - RelayDomainRecord, AWS::Route53::RecordSet, only with hostedZoneId: an A alias to the domain's regional endpoint,
 *   DNSName its RegionalDomainName and HostedZoneId its RegionalHostedZoneId (the endpoint's zone, not the
 *   user's) (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-route53-recordset-aliastarget.html;
 *   "Routing traffic to an Amazon API Gateway API", https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-to-api-gateway.html).
 *   Without it, point a CNAME (or an alias) at the CustomDomainTarget output in your DNS.
 *
 * The sync registers hooks on RELAY_PUBLIC_URL = https://<domainName>, and RELAY_FORMER_PUBLIC_URLS names the API's
 * own execute-api URL: hooks registered there before the switch are moved to the domain in place (lib/sync/plan.ts),
 * instead of being left as foreign hooks that would deliver every push a second time. The execute-api URL keeps working
 * (the relay behind it is the same), so the switch loses no delivery.
 */
const { deployParams } = require('./deploy-params.cjs');

const apiEndpoint = { 'Fn::GetAtt': ['HttpApi', 'ApiEndpoint'] };

/** The custom domain's resources for `customDomain` (deploy-params.cjs), {} without one. */
function domainResources(domain) {
  if (domain === null) return {};
  const resources = {
    RelayDomainName: {
      Type: 'AWS::ApiGatewayV2::DomainName',
      Properties: {
        DomainName: domain.domainName,
        DomainNameConfigurations: [
          { CertificateArn: domain.certificateArn, EndpointType: 'REGIONAL', SecurityPolicy: 'TLS_1_2' },
        ],
      },
    },
    RelayApiMapping: {
      Type: 'AWS::ApiGatewayV2::ApiMapping',
      // Ref of an AWS::ApiGatewayV2::DomainName is its domain name; of an AWS::ApiGatewayV2::Stage its stage name.
      Properties: { ApiId: { Ref: 'HttpApi' }, DomainName: { Ref: 'RelayDomainName' }, Stage: { Ref: 'HttpApiStage' } },
    },
  };
  if (domain.hostedZoneId !== null) {
    resources.RelayDomainRecord = {
      Type: 'AWS::Route53::RecordSet',
      Properties: {
        HostedZoneId: domain.hostedZoneId,
        Name: domain.domainName,
        Type: 'A',
        AliasTarget: {
          DNSName: { 'Fn::GetAtt': ['RelayDomainName', 'RegionalDomainName'] },
          HostedZoneId: { 'Fn::GetAtt': ['RelayDomainName', 'RegionalHostedZoneId'] },
          EvaluateTargetHealth: false,
        },
      },
    };
  }
  return resources;
}

/** The relay's public base URL: https://<domainName>, or the HTTP API's own URL. */
function publicUrl(domain) {
  return domain === null ? apiEndpoint : `https://${domain.domainName}`;
}

/** The URLs hooks may have been registered under before: the HTTP API's own when a domain is set, else null (none). */
function formerPublicUrls(domain) {
  return domain === null ? null : apiEndpoint;
}

const domainOf = async (resolver) => (await deployParams(resolver, ['customDomain'])).customDomain;

module.exports = {
  domainResources,
  publicUrl: async (resolver) => publicUrl(await domainOf(resolver)),
  formerPublicUrls: async (resolver) => formerPublicUrls(await domainOf(resolver)),
  resources: async (resolver) => domainResources(await domainOf(resolver)),
  domainOf,
};
