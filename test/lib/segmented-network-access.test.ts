/**
 * `SegmentedNetwork.allowEndpointAccessFrom`: a team's own function (not a CompliantFunction)
 * reaches the interface endpoints on HTTPS and nothing else, without security-group plumbing.
 */
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { FhirKeys, SegmentedNetwork } from '../../lib';
import { createTestApp } from '../helpers/app';

const stack = new Stack(createTestApp(), 'Access');
const keys = new FhirKeys(stack, 'Keys');
const network = new SegmentedNetwork(stack, 'Network', { keys });
const group = new ec2.SecurityGroup(stack, 'TeamGroup', { vpc: network.vpc, allowAllOutbound: false });
const fn = new lambda.Function(stack, 'TeamFn', {
  runtime: lambda.Runtime.NODEJS_22_X,
  handler: 'index.handler',
  code: lambda.Code.fromInline('exports.handler = async () => ({})'),
  vpc: network.vpc,
  vpcSubnets: network.isolatedSubnets,
  securityGroups: [group],
});
network.allowEndpointAccessFrom(fn);
const template = Template.fromStack(stack);
const ref = (c: { node: { defaultChild?: unknown } } | ec2.SecurityGroup) => ({ 'Fn::GetAtt': [stack.getLogicalId((c as ec2.SecurityGroup).node.defaultChild as never), 'GroupId'] });

test("the team's group may send HTTPS to the endpoints' group, and nothing else", () => {
  const egress = Object.values(template.findResources('AWS::EC2::SecurityGroupEgress')).map((r) => r.Properties).filter((p) => JSON.stringify(p.GroupId) === JSON.stringify(ref(group)));
  expect(egress).toEqual([expect.objectContaining({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, DestinationSecurityGroupId: ref(network.endpointSecurityGroup) })]);
});

test("the endpoints' group admits HTTPS from the team's group", () => {
  const ingress = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress')).map((r) => r.Properties).filter((p) => JSON.stringify(p.SourceSecurityGroupId) === JSON.stringify(ref(group)));
  expect(ingress).toEqual([expect.objectContaining({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, GroupId: ref(network.endpointSecurityGroup) })]);
});
