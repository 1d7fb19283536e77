import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { FhirKeys, importRecordsFor, importRecordsOf, SegmentedNetwork, SegmentedNetworkFromVpcProps } from '../../lib';
import { createTestApp } from '../helpers/app';
import { validate } from '../policies/compliance/helpers';

const ISOLATED = ['subnet-0aaa1111', 'subnet-0bbb2222'];
const attributes: ec2.VpcAttributes = {
  vpcId: 'vpc-0123456789abcdef0',
  availabilityZones: ['us-east-1a', 'us-east-1b'],
  publicSubnetIds: ['subnet-0pub1', 'subnet-0pub2'],
  publicSubnetRouteTableIds: ['rtb-0pub', 'rtb-0pub'],
  isolatedSubnetIds: ISOLATED,
  isolatedSubnetRouteTableIds: ['rtb-0aaa', 'rtb-0bbb'],
};

const app = createTestApp();
const stack = new Stack(app, 'NetImport');
const keys = new FhirKeys(stack, 'Keys');
const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', attributes);
const network = SegmentedNetwork.fromVpc(stack, 'Network', { keys, vpc });
const assembly = app.synth();
const template = Template.fromJSON(assembly.getStackByName('NetImport').template);

describe('SegmentedNetwork.fromVpc', () => {
  test('creates no VPC, subnet, route or gateway, and no default-security-group lock-down', () => {
    for (const type of ['AWS::EC2::VPC', 'AWS::EC2::Subnet', 'AWS::EC2::Route', 'AWS::EC2::RouteTable', 'AWS::EC2::InternetGateway', 'AWS::EC2::NatGateway', 'Custom::VpcRestrictDefaultSG']) {
      template.resourceCountIs(type, 0);
    }
    expect(network.defaultSecurityGroupLockDown).toBeUndefined();
    expect(network.importedVpc).toBe(true);
  });

  test('adds the five interface endpoints in the isolated subnets of the given VPC, with private DNS and the endpoint security group', () => {
    const endpoints = Object.values(template.findResources('AWS::EC2::VPCEndpoint'));
    expect(endpoints).toHaveLength(5);
    for (const ep of endpoints) {
      expect(ep.Properties).toMatchObject({ VpcId: attributes.vpcId, SubnetIds: ISOLATED, PrivateDnsEnabled: true, VpcEndpointType: 'Interface' });
      expect(ep.Properties.SecurityGroupIds).toEqual([stack.resolve(network.endpointSecurityGroup.securityGroupId)]);
    }
  });

  test('the endpoints are the network\'s own (in this construct, not under the imported VPC)', () => {
    expect(network.healthLakeEndpoint.node.path).toBe('NetImport/Network/HealthLakeEndpoint');
  });

  test('the proxy and endpoint security groups are in the given VPC: 443 from the proxy only, no other egress', () => {
    template.hasResourceProperties('AWS::EC2::SecurityGroup', { VpcId: attributes.vpcId, GroupDescription: 'FHIR proxy: HTTPS to the interface endpoints only', SecurityGroupEgress: Match.absent() });
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { FromPort: 443, ToPort: 443, SourceSecurityGroupId: stack.resolve(network.proxySecurityGroup.securityGroupId) });
  });

  test('flow logs of ALL traffic of the given VPC go to the CMK log group kept six years', () => {
    template.hasResourceProperties('AWS::EC2::FlowLog', { ResourceId: attributes.vpcId, ResourceType: 'VPC', TrafficType: 'ALL' });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 2192, KmsKeyId: Match.anyValue() });
  });

  test('the isolated subnets are the selection functions use', () => {
    expect(vpc.selectSubnets(network.isolatedSubnets).subnetIds).toEqual(ISOLATED);
  });

  test('records the import on the network and on its HealthLake endpoint, where the gate reports [vpc] naming the subnets to check; no warning', () => {
    const [record] = importRecordsOf(network);
    expect(record).toMatchObject({ kind: 'vpc', resources: [attributes.vpcId, ...ISOLATED], acknowledgementId: 'FHIR.HIPAA-ImportedResourceAttested[vpc]' });
    expect(importRecordsFor(network.healthLakeEndpoint.node.defaultChild as never)).toEqual([record]);
    const violations = validate(stack).violations.filter((v) => v.ruleName.startsWith('FHIR.HIPAA-ImportedResourceAttested'));
    expect(violations.map((v) => `${v.ruleName} @ ${v.violatingResources[0].constructPath}`)).toEqual(['FHIR.HIPAA-ImportedResourceAttested[vpc] @ NetImport/Network/HealthLakeEndpoint/Resource']);
    expect(violations[0].description).toMatch(/^Imported VPC \(vpc-.*\): .*subnet-0aaa1111, subnet-0bbb2222.*default security group has no rules.*'FHIR\.HIPAA-ImportedResourceAttested\[vpc\]'/);
    expect(assembly.getStackByName('NetImport').messages.filter((m) => m.level === 'warning')).toEqual([]);
  });
});

describe('SegmentedNetwork.fromVpc: what is checked at synth', () => {
  const attempt = (attrs: Partial<ec2.VpcAttributes>, props: (v: ec2.IVpc) => Partial<SegmentedNetworkFromVpcProps> = () => ({})) => () => {
    const s = new Stack(createTestApp(), 'S');
    const k = new FhirKeys(s, 'Keys');
    const v = ec2.Vpc.fromVpcAttributes(s, 'Vpc', { ...attributes, ...attrs } as ec2.VpcAttributes);
    SegmentedNetwork.fromVpc(s, 'Network', { keys: k, vpc: v, ...props(v) } as SegmentedNetworkFromVpcProps);
  };

  test('no VPC', () => {
    expect(attempt({}, () => ({ vpc: undefined }))).toThrow(/^SegmentedNetwork\.fromVpc: vpc is missing; give the VPC, e.g\. ec2\.Vpc\.fromVpcAttributes/);
  });

  test('a selection of another subnet type', () => {
    expect(attempt({ privateSubnetIds: ['subnet-0prv1', 'subnet-0prv2'], privateSubnetRouteTableIds: ['rtb-0prv', 'rtb-0prv'] }, () => ({ isolatedSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS } })))
      .toThrow(/^SegmentedNetwork\.fromVpc: isolatedSubnets selects Private subnets; the data tier runs only in subnets with no route out: select PRIVATE_ISOLATED subnets/);
  });

  test('a VPC without isolated subnets', () => {
    expect(attempt({ isolatedSubnetIds: undefined, isolatedSubnetRouteTableIds: undefined })).toThrow(/^SegmentedNetwork\.fromVpc: the VPC has no subnets matching isolatedSubnets; declare its isolated subnets/);
  });

  test('a subnet the VPC lists as public', () => {
    expect(attempt({}, (v) => ({ isolatedSubnets: { subnets: [v.publicSubnets[0], v.isolatedSubnets[1]] } })))
      .toThrow(/^SegmentedNetwork\.fromVpc: subnet-0pub1 is a public subnet \(it routes to an internet gateway\) of the VPC/);
  });

  test('fewer than two availability zones', () => {
    expect(attempt({ availabilityZones: ['us-east-1a'], isolatedSubnetIds: ['subnet-0aaa1111'], isolatedSubnetRouteTableIds: ['rtb-0aaa'], publicSubnetIds: ['subnet-0pub1'], publicSubnetRouteTableIds: ['rtb-0pub'] }))
      .toThrow(/^SegmentedNetwork\.fromVpc: isolatedSubnets selects 1 subnet\(s\) in 1 availability zone\(s\); the kit needs isolated subnets in at least two zones\.$/);
  });
});
