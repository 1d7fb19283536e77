import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { FhirKeys, SegmentedNetwork } from '../../lib';
import { createTestApp } from '../helpers/app';

const app = createTestApp();
const stack = new Stack(app, 'NetStack');
const keys = new FhirKeys(stack, 'Keys');
const network = new SegmentedNetwork(stack, 'Network', { keys });
const template = Template.fromStack(stack);
const sgId = (sg: { securityGroupId: string }) => stack.resolve(sg.securityGroupId);

type Rule = { IpProtocol: string; FromPort?: number; ToPort?: number; CidrIp?: string; SourceSecurityGroupId?: unknown; DestinationSecurityGroupId?: unknown };

describe('SegmentedNetwork', () => {
  test('has only isolated subnets, 2 by default', () => {
    template.resourceCountIs('AWS::EC2::Subnet', 2);
    for (const subnet of Object.values(template.findResources('AWS::EC2::Subnet'))) {
      expect(subnet.Properties.MapPublicIpOnLaunch).toBe(false);
      expect(JSON.stringify(subnet.Properties.Tags)).toContain('Isolated');
    }
  });

  test('has no internet gateway, NAT gateway, egress-only gateway or route out', () => {
    template.resourceCountIs('AWS::EC2::InternetGateway', 0);
    template.resourceCountIs('AWS::EC2::VPCGatewayAttachment', 0);
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::EgressOnlyInternetGateway', 0);
    template.resourceCountIs('AWS::EC2::Route', 0);
  });

  test('availability zones come from Fn::GetAZs, so synth needs no lookup', () => {
    for (const subnet of Object.values(template.findResources('AWS::EC2::Subnet'))) {
      expect(JSON.stringify(subnet.Properties.AvailabilityZone)).toContain('Fn::GetAZs');
    }
  });

  test('three availability zones when asked', () => {
    const s = new Stack(createTestApp(), 'Three');
    new SegmentedNetwork(s, 'Network', { keys: new FhirKeys(s, 'Keys'), maxAzs: 3 });
    Template.fromStack(s).resourceCountIs('AWS::EC2::Subnet', 3);
  });

  test.each([1, 4, 2.5])('maxAzs %p is refused', (maxAzs) => {
    const s = new Stack(createTestApp(), 'Bad');
    expect(() => new SegmentedNetwork(s, 'Network', { keys: new FhirKeys(s, 'Keys'), maxAzs })).toThrow(/use 2 or 3/);
  });

  test('the default security group is closed', () => {
    template.resourceCountIs('Custom::VpcRestrictDefaultSG', 1);
  });

  test('flow logs capture ALL traffic into the flow-log group', () => {
    template.hasResourceProperties('AWS::EC2::FlowLog', {
      TrafficType: 'ALL',
      LogDestinationType: 'cloud-watch-logs',
      LogGroupName: stack.resolve(network.flowLogGroup.logGroupName),
    });
  });

  test('the flow-log group is encrypted with the logs key and kept six years', () => {
    template.hasResource('AWS::Logs::LogGroup', {
      Properties: { KmsKeyId: stack.resolve(keys.logs.keyArn), RetentionInDays: 2192 },
      DeletionPolicy: 'Retain',
    });
  });

  test('flow-log delivery uses a managed policy, not an inline one', () => {
    template.resourceCountIs('AWS::IAM::Policy', 0);
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', { Roles: [stack.resolve(network.flowLogRole.roleName)] });
  });

  test.each([
    ['healthlake', 'HealthLake'],
    ['kms', 'KMS'],
    ['logs', 'CloudWatch Logs'],
    ['sts', 'STS'],
    ['xray', 'X-Ray'],
  ])('an interface endpoint for %s (%s) with private DNS', (service) => {
    const endpoints = Object.values(template.findResources('AWS::EC2::VPCEndpoint')).filter((e) => JSON.stringify(e.Properties.ServiceName).endsWith(`.${service}"]]}`));
    expect(endpoints).toHaveLength(1);
    expect(endpoints[0].Properties.VpcEndpointType).toBe('Interface');
    expect(endpoints[0].Properties.PrivateDnsEnabled).toBe(true);
    expect(endpoints[0].Properties.SecurityGroupIds).toEqual([sgId(network.endpointSecurityGroup)]);
  });

  test('the endpoint security group accepts 443 only from the proxy security group', () => {
    const endpointSg = Object.entries(template.findResources('AWS::EC2::SecurityGroup')).find(([, r]) => r.Properties.GroupDescription.startsWith('Interface endpoints'))![1];
    expect(endpointSg.Properties.SecurityGroupIngress ?? []).toEqual([]);
    const ingress = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress')).map((r) => r.Properties as Rule & { GroupId: unknown });
    expect(ingress).toEqual([expect.objectContaining({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, SourceSecurityGroupId: sgId(network.proxySecurityGroup), GroupId: sgId(network.endpointSecurityGroup) })]);
  });

  test('the proxy security group has no egress but 443 to the endpoints', () => {
    const proxySg = Object.values(template.findResources('AWS::EC2::SecurityGroup')).find((r) => r.Properties.GroupDescription.startsWith('FHIR proxy'))!;
    // CDK's placeholder rule for "no outbound" (255.255.255.255/32, ICMP type 252) opens nothing.
    for (const rule of (proxySg.Properties.SecurityGroupEgress ?? []) as Rule[]) {
      expect(rule.CidrIp).toBe('255.255.255.255/32');
    }
    const egress = Object.values(template.findResources('AWS::EC2::SecurityGroupEgress')).map((r) => r.Properties as Rule & { GroupId: unknown });
    expect(egress).toEqual([expect.objectContaining({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, DestinationSecurityGroupId: sgId(network.endpointSecurityGroup), GroupId: sgId(network.proxySecurityGroup) })]);
  });

  test('the HealthLake endpoint policy admits only FHIR data actions by this account on its datastores', () => {
    const policy = template.toJSON().Resources[stack.getLogicalId(network.healthLakeEndpoint.node.defaultChild as never)].Properties.PolicyDocument;
    expect(policy.Statement).toHaveLength(1);
    const [statement] = policy.Statement;
    expect(statement.Condition).toEqual({ StringEquals: { 'aws:PrincipalAccount': { Ref: 'AWS::AccountId' } } });
    expect(statement.Action).not.toContain('healthlake:*');
    expect(statement.Action.every((a: string) => a.startsWith('healthlake:'))).toBe(true);
    expect(JSON.stringify(statement.Resource)).toContain(':datastore/fhir/*');
  });

  test('the other endpoints admit only this account', () => {
    for (const ep of [network.kmsEndpoint, network.logsEndpoint, network.stsEndpoint]) {
      const policy = template.toJSON().Resources[stack.getLogicalId(ep.node.defaultChild as never)].Properties.PolicyDocument;
      for (const statement of policy.Statement) {
        expect(statement.Condition.StringEquals['aws:PrincipalAccount']).toEqual({ Ref: 'AWS::AccountId' });
      }
    }
  });
});

describe('SegmentedNetwork: CDK\'s default security group lock-down provider', () => {
  const handlerId = Object.keys(template.findResources('AWS::Lambda::Function')).find((id) => id.startsWith('CustomVpcRestrictDefaultSG'))!;

  test('is the plain CfnResource function and role aws-cdk-lib adds, exposed on the construct', () => {
    expect(network.defaultSecurityGroupLockDown!.handler.node.path).toBe('NetStack/Custom::VpcRestrictDefaultSGCustomResourceProvider/Handler');
    expect(network.defaultSecurityGroupLockDown!.role.node.path).toBe('NetStack/Custom::VpcRestrictDefaultSGCustomResourceProvider/Role');
    expect(handlerId).toBeDefined();
  });

  test('its function logs to a CMK-encrypted log group kept six years, not to an implicit /aws/lambda group', () => {
    const group = network.defaultSecurityGroupLockDown!.logGroup;
    expect(template.findResources('AWS::Lambda::Function')[handlerId].Properties.LoggingConfig).toEqual({ LogGroup: stack.resolve(group.logGroupName) });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 2192, KmsKeyId: stack.resolve(keys.logs.keyArn) });
  });

  test('its function and role are acknowledged for FHIR.HIPAA-ResourceEvaluated with what was reviewed', () => {
    for (const resource of [network.defaultSecurityGroupLockDown!.handler, network.defaultSecurityGroupLockDown!.role]) {
      const acks = resource.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules').map((m) => m.data as Record<string, string>);
      expect(acks).toEqual([{ 'Annotation::FHIR.HIPAA-ResourceEvaluated': expect.stringMatching(/^CDK's own (provider|role) for .{200,}/) }]);
    }
  });

  test('configured once per stack however many networks it holds', () => {
    const s = new Stack(createTestApp(), 'Two');
    const k = new FhirKeys(s, 'Keys');
    const a = new SegmentedNetwork(s, 'A', { keys: k });
    const b = new SegmentedNetwork(s, 'B', { keys: k, ipAddresses: undefined });
    expect(b.defaultSecurityGroupLockDown).toBe(a.defaultSecurityGroupLockDown);
  });
});
