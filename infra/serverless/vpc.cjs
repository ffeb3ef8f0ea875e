'use strict';
/**
 * Optional VPC for both functions, for clusters whose API server is a private (EKS) endpoint:
 *
 *   --param vpcSubnetIds=subnet-a,subnet-b --param vpcSecurityGroupIds=sg-1
 *
 *   provider:
 *     vpc: ${file(./infra/serverless/vpc.cjs):vpc, null}     # { subnetIds, securityGroupIds }, or null: no VPC
 *
 * In a VPC the functions reach nothing outside it unless the subnets route there: both need Secrets Manager (an
 * interface VPC endpoint, or a NAT gateway), the sync also needs the Git providers' APIs (a NAT gateway). The
 * security groups must allow HTTPS out to the cluster endpoints, and the clusters' security groups HTTPS in.
 *
 * Lambda creates the functions' network interfaces with the *execution role's* permissions, so each role (roles.cjs)
 * gets `eniStatement` when the VPC is set, and only then. Its Resource is `*` by AWS's design, and the only `*` in
 * the stack: ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets support no resource-level permissions at all, and
 * for the others the Lambda guide says to allow all resources (or the exact interface ids, which Lambda picks itself
 * at run time); a narrower scope makes VPC attachment fail. The actions are exactly those the Lambda developer guide
 * lists as required ("Configuring a Lambda function to access resources in a VPC" -> execution role permissions), the
 * AWSLambdaVPCAccessExecutionRole managed policy minus its logs actions (roles.cjs grants logs on the own group only).
 */
const { deployParams } = require('./deploy-params.cjs');

const eniActions = [
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:DeleteNetworkInterface',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
];

/** The IAM statement a VPC function's role needs for Lambda to manage its network interfaces. */
function eniStatement() {
  return { Effect: 'Allow', Action: [...eniActions], Resource: '*' };
}

module.exports = {
  eniActions,
  eniStatement,
  vpc: async (resolver) => (await deployParams(resolver, ['vpc'])).vpc,
};
