import * as fs from 'fs';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import { FhirKeys, IMPORT_ACKNOWLEDGEMENT_IDS, SegmentedNetwork, ZeroTrustFhirStack } from '../../lib';
import { acknowledge, createCompliancePacks } from '../../policies';
import { createTestApp } from '../helpers/app';

const ACCOUNT = '111122223333';
const KEYS = { data: 1, logs: 2, audit: 3 };
const keyArn = (n: number) => `arn:aws:kms:us-east-1:${ACCOUNT}:key/0000000${n}-1111-2222-3333-444455556666`;
const POOL_ID = 'us-east-1_AbCdEf123';
const SUBNETS = ['subnet-0aaa1111', 'subnet-0bbb2222'];
const REASON = 'Checked on 2026-12-01 by the platform team (J. Doe) against its baseline (runbook section 4): settings as the kit requires.';

/** A platform stack holding references to what the team has, and the FHIR stack built on them. */
function build(app: App, name: string) {
  const platform = new Stack(app, `${name}Platform`);
  const keys = FhirKeys.fromKeys(platform, 'Keys', {
    data: kms.Key.fromKeyArn(platform, 'Data', keyArn(KEYS.data)),
    logs: kms.Key.fromKeyArn(platform, 'Logs', keyArn(KEYS.logs)),
    audit: kms.Key.fromKeyArn(platform, 'Audit', keyArn(KEYS.audit)),
  });
  const vpc = ec2.Vpc.fromVpcAttributes(platform, 'Vpc', {
    vpcId: 'vpc-0123456789abcdef0',
    availabilityZones: ['us-east-1a', 'us-east-1b'],
    isolatedSubnetIds: SUBNETS,
    isolatedSubnetRouteTableIds: ['rtb-0aaa', 'rtb-0bbb'],
  });
  const network = SegmentedNetwork.fromVpc(platform, 'Network', { keys, vpc });
  const userPool = cognito.UserPool.fromUserPoolArn(platform, 'Pool', `arn:aws:cognito-idp:us-east-1:${ACCOUNT}:userpool/${POOL_ID}`);
  const fhir = new ZeroTrustFhirStack(app, name, {
    environment: 'staging', keys, network, userPool, appMetricsNamespace: 'TeamFhir', scopeDenialsPerFiveMinutes: 7,
  });
  return { platform, fhir };
}

// One synth: the stacks as built, and the same with every required acknowledgement given.
const app = createTestApp();
const plain = build(app, 'Fhir');
const acked = build(app, 'Acked');
// By rule id, on each stack where the kit built on an import.
acknowledge(acked.platform, 'FHIR.HIPAA-ImportedResourceAttested[keys]', REASON);
acknowledge(acked.platform, IMPORT_ACKNOWLEDGEMENT_IDS.vpc, REASON);
acknowledge(acked.fhir, IMPORT_ACKNOWLEDGEMENT_IDS.keys, REASON);
acknowledge(acked.fhir, 'FHIR.HIPAA-ImportedResourceAttested[user-pool]', REASON);
for (const subnet of SUBNETS) acknowledge(acked.fhir, `FHIR.HIPAA-LambdaHealthLakeIsolated[Subnet::${subnet}::Unverifiable]`, REASON);
const assembly = app.synth();
const template = Template.fromJSON(assembly.getStackByName(plain.fhir.stackName).template);
const warnings = (stack: Stack) => assembly.getStackByName(stack.stackName).messages.filter((m) => m.level === 'warning').map((m) => `${m.id}: ${String(m.entry.data).split(':')[0]}`);
const findings = (stack: Stack) => createCompliancePacks().flatMap((pack) => pack.validateScope(stack).violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} @ ${r.constructPath}`)));
const json = JSON.stringify(template.toJSON());

describe('ZeroTrustFhirStack with the platform team\'s keys, VPC and user pool', () => {
  test('creates no key, VPC, subnet or user pool of its own', () => {
    for (const type of ['AWS::KMS::Key', 'AWS::KMS::Alias', 'AWS::EC2::VPC', 'AWS::EC2::Subnet', 'AWS::Cognito::UserPool']) template.resourceCountIs(type, 0);
  });

  test('the imported key ARNs are where the kit\'s keys would be', () => {
    template.hasResourceProperties('AWS::HealthLake::FHIRDatastore', { SseConfiguration: { KmsEncryptionConfig: { CmkType: 'CUSTOMER_MANAGED_KMS_KEY', KmsKeyId: keyArn(KEYS.data) } } });
    template.hasResourceProperties('AWS::CloudTrail::Trail', { KMSKeyId: keyArn(KEYS.audit) });
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: keyArn(KEYS.audit) });
    template.hasResourceProperties('AWS::DynamoDB::Table', { SSESpecification: { KMSMasterKeyId: keyArn(KEYS.data) } });
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup'));
    expect(groups.length).toBeGreaterThan(3);
    for (const group of groups) expect(group.Properties.KmsKeyId).toBe(keyArn(KEYS.logs));
  });

  test('the FHIR proxy runs in the imported VPC\'s isolated subnets, in the kit\'s proxy security group', () => {
    const proxy = template.toJSON().Resources[plain.fhir.getLogicalId(plain.fhir.gateway.proxyFunction.fn.node.defaultChild as never)];
    expect(proxy.Properties.VpcConfig.SubnetIds).toEqual(SUBNETS);
    expect(JSON.stringify(proxy.Properties.VpcConfig.SecurityGroupIds)).toContain('ProxySecurityGroup');
  });

  test('the imported user pool gets the resource servers, the app clients and the domain', () => {
    for (const identifier of ['patient', 'user', 'system', 'launch']) template.hasResourceProperties('AWS::Cognito::UserPoolResourceServer', { Identifier: identifier, UserPoolId: POOL_ID });
    const clients = Object.values(template.findResources('AWS::Cognito::UserPoolClient'));
    expect(clients.length).toBeGreaterThan(0);
    for (const client of clients) expect(client.Properties.UserPoolId).toBe(POOL_ID);
    template.hasResourceProperties('AWS::Cognito::UserPoolDomain', { UserPoolId: POOL_ID, ManagedLoginVersion: 2 });
  });

  test('passes the per-app monitoring settings: the metrics namespace and the scope-denial threshold', () => {
    expect(json).toContain('"TeamFhir"');
    // The per-app alarms are in the nested stack AppMonitors.
    const monitors = Template.fromJSON(JSON.parse(fs.readFileSync(path.join(assembly.directory, plain.fhir.monitoringStack.templateFile), 'utf8')));
    monitors.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'TeamFhir', MetricName: 'DistinctPatients' });
    const scopeDenials = Object.values(monitors.findResources('AWS::CloudWatch::Alarm')).filter((a) => /scope denials/.test(a.Properties.AlarmDescription));
    expect(scopeDenials.length).toBeGreaterThan(0);
    for (const alarm of scopeDenials) expect(alarm.Properties.Threshold).toBe(7);
  });

  test('the packs find each import where the kit built on it, and the imported subnets, unverifiable on the proxy; no warning', () => {
    expect(findings(plain.fhir).sort()).toEqual([
      'FHIR.HIPAA-ImportedResourceAttested[keys] @ Fhir/Audit/Trail',
      'FHIR.HIPAA-ImportedResourceAttested[keys] @ Fhir/Datastore/Resource',
      'FHIR.HIPAA-ImportedResourceAttested[user-pool] @ Fhir/Identity/UserPool/Domain/Resource',
      ...SUBNETS.map((s) => `FHIR.HIPAA-LambdaHealthLakeIsolated[Subnet::${s}::Unverifiable] @ Fhir/Gateway/Proxy/Resource/Resource`),
    ]);
    expect(findings(plain.platform).sort()).toEqual([
      'FHIR.HIPAA-ImportedResourceAttested[keys] @ FhirPlatform/Network/FlowLogGroup/Resource',
      'FHIR.HIPAA-ImportedResourceAttested[vpc] @ FhirPlatform/Network/HealthLakeEndpoint/Resource',
    ]);
    expect(warnings(plain.platform)).toEqual([]);
    expect(warnings(plain.fhir)).toEqual([]);
  });

  test('acknowledging them by rule id, with a reason, clears every finding', () => {
    expect(findings(acked.fhir)).toEqual([]);
    expect(findings(acked.platform)).toEqual([]);
    expect(warnings(acked.fhir)).toEqual([]);
    expect(warnings(acked.platform)).toEqual([]);
  });

  test('maxAzs with a network is refused', () => {
    const other = createTestApp();
    const { fhir } = build(other, 'Ok');
    expect(() => new ZeroTrustFhirStack(other, 'Bad', { environment: 'staging', network: fhir.network, maxAzs: 3 })).toThrow(/^ZeroTrustFhirStack: maxAzs is a setting of the network the stack creates/);
  });
});
