import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { FhirDatastore, FhirKeys, SegmentedNetwork } from '../../lib';
import { KitFunction } from '../../lib/private/kit-function';
import { createCompliancePacks } from '../../policies';
import { createTestApp } from '../helpers/app';

const stack = new Stack(createTestApp(), 'FnStack');
const keys = new FhirKeys(stack, 'Keys');
const network = new SegmentedNetwork(stack, 'Network', { keys });
const datastore = new FhirDatastore(stack, 'Datastore', { keys, network });
const inVpc = new KitFunction(stack, 'InVpc', {
  handlerDir: 'smart-authorizer',
  description: 'test function in the isolated subnets',
  invocation: 'synchronous',
  logsKey: keys.logs,
  vpc: network.vpc,
  vpcSubnets: network.isolatedSubnets,
  securityGroups: [network.proxySecurityGroup],
});
datastore.grantFhirAccess(inVpc);
inVpc.fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [keys.data.keyArn] }));
const template = Template.fromStack(stack);

describe('KitFunction', () => {
  test('runs Node.js 24 on ARM with reserved concurrency', () => {
    template.hasResourceProperties('AWS::Lambda::Function', { Runtime: 'nodejs24.x', Architectures: ['arm64'], ReservedConcurrentExecutions: 50 });
  });

  test('logs to its own log group, CMK-encrypted and kept six years', () => {
    template.hasResourceProperties('AWS::Lambda::Function', { LoggingConfig: { LogGroup: stack.resolve(inVpc.logGroup.logGroupName), LogFormat: 'JSON' } });
    template.hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: stack.resolve(keys.logs.keyArn), RetentionInDays: 2192 });
  });

  test('has no inline policy and no AWS-managed policy; grants land in its one managed policy', () => {
    template.resourceCountIs('AWS::IAM::Policy', 0);
    const role = template.toJSON().Resources[stack.getLogicalId(inVpc.role.node.defaultChild as iam.CfnRole)];
    expect(JSON.stringify(role.Properties.ManagedPolicyArns ?? [])).not.toContain(':iam::aws:policy/');
    for (const statement of [
      Match.objectLike({ Action: Match.arrayWith(['healthlake:ReadResource']) }),
      
      Match.objectLike({ Sid: 'WriteOwnLogGroup' }),
      Match.objectLike({ Action: 'kms:Decrypt', Resource: stack.resolve(keys.data.keyArn) }),
    ]) {
      template.hasResourceProperties('AWS::IAM::ManagedPolicy', { Roles: [stack.resolve(inVpc.role.roleName)], PolicyDocument: { Statement: Match.arrayWith([statement]) } });
    }
  });

  test('the VPC networking wildcard sits in a separate, acknowledged policy', () => {
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      Roles: [stack.resolve(inVpc.role.roleName)],
      PolicyDocument: { Statement: [Match.objectLike({ Sid: 'LambdaVpcNetworkInterfaces', Resource: '*' })] },
    });
    const main = template.toJSON().Resources[stack.getLogicalId(inVpc.role.policy.node.defaultChild as iam.CfnManagedPolicy)];
    expect(JSON.stringify(main.Properties.PolicyDocument)).not.toContain('"Resource":"*"');
  });

  test('an AWS-managed policy is refused', () => {
    expect(() => inVpc.role.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('AdministratorAccess'))).toThrow(/not allowed/);
  });

  test('a synchronous HealthLake function in the isolated subnets passes all three packs', () => {
    const findings = createCompliancePacks().flatMap((p) => p.validateScope(stack).violations.map((v) => v.ruleName));
    expect(findings).toEqual([]);
  });

  test('an asynchronous function gets an encrypted, TLS-only dead-letter queue', () => {
    const s = new Stack(createTestApp(), 'Async');
    const k = new FhirKeys(s, 'Keys');
    const fn = new KitFunction(s, 'Fn', { handlerDir: 'smart-authorizer', description: 'async', logsKey: k.logs, invocation: 'asynchronous', deadLetterKey: k.audit });
    const t = Template.fromStack(s);
    t.hasResourceProperties('AWS::SQS::Queue', { KmsMasterKeyId: s.resolve(k.audit.keyArn) });
    t.hasResourceProperties('AWS::Lambda::Function', { DeadLetterConfig: { TargetArn: s.resolve(fn.deadLetterQueue!.queueArn) } });
    t.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      Roles: [s.resolve(fn.role.roleName)],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: s.resolve(k.audit.keyArn) })]) },
    });
    expect(createCompliancePacks().flatMap((p) => p.validateScope(s).violations.map((v) => v.ruleName)).filter((r) => /DLQ|SQS/.test(r))).toEqual([]);
  });
});
