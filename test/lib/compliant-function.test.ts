/**
 * CompliantFunction: a team's Lambda built the way the README suggests (isolated subnets, CMK log
 * group, grantFhirAccess) is born with zero findings from the three packs, in production.
 */
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { CompliantFunction, FhirDatastore, FhirKeys, SegmentedNetwork } from '../../lib';
import { setDeploymentEnvironment } from '../../policies/compliance/environment';
import { createCompliancePacks } from '../../policies';
import { createTestApp } from '../helpers/app';

const app = createTestApp();
const stack = new Stack(app, 'TeamStack');
setDeploymentEnvironment(stack, 'production');
const keys = new FhirKeys(stack, 'Keys');
const network = new SegmentedNetwork(stack, 'Network', { keys });
const datastore = new FhirDatastore(stack, 'Datastore', { keys, network });
const code = lambda.Code.fromInline('exports.handler = async () => ({ statusCode: 200 });');
const reader = new CompliantFunction(stack, 'Reader', { code, description: 'Nightly quality measures', keys, network, invocation: 'asynchronous' });
const api = new CompliantFunction(stack, 'Api', { code, description: 'Team API', keys, network, invocation: 'synchronous', reservedConcurrentExecutions: 5 });
datastore.grantFhirAccess(reader, { readOnly: true });
datastore.grantFhirAccess(api);
const template = Template.fromStack(stack);

/** Findings of the three packs on a construct (validateScope leaves out what is acknowledged). */
function findings(scope: CompliantFunction): string[] {
  return createCompliancePacks().flatMap((p) => p.validateScope(scope).violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} @ ${r.constructPath}`)));
}

describe('CompliantFunction', () => {
  test('the three packs find nothing on a granted asynchronous and a synchronous function', () => {
    expect(findings(reader)).toEqual([]);
    expect(findings(api)).toEqual([]);
  });

  test('the same function built with lambda.Function directly has findings (the test is not vacuous)', () => {
    const plain = new lambda.Function(stack, 'Plain', { code, handler: 'index.handler', runtime: lambda.Runtime.NODEJS_24_X, vpc: network.vpc, vpcSubnets: network.isolatedSubnets });
    datastore.grantFhirAccess(plain);
    const found = createCompliancePacks().flatMap((p) => p.validateScope(plain).violations.map((v) => v.ruleName));
    expect(found).toEqual(expect.arrayContaining(['HIPAA.Security-LambdaConcurrency', 'HIPAA.Security-LambdaDLQ']));
  });

  test('runs in the isolated subnets on the newest Node.js runtime, with reserved concurrency', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Team API',
      Runtime: 'nodejs24.x',
      ReservedConcurrentExecutions: 5,
      VpcConfig: { SubnetIds: Match.anyValue(), SecurityGroupIds: [stack.resolve(api.securityGroup.securityGroupId)] },
    });
  });

  test('its security group reaches only the endpoints, on 443', () => {
    template.hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
      GroupId: stack.resolve(api.securityGroup.securityGroupId),
      IpProtocol: 'tcp',
      FromPort: 443,
      ToPort: 443,
      DestinationSecurityGroupId: stack.resolve(network.endpointSecurityGroup.securityGroupId),
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroup', { GroupDescription: 'Team API: HTTPS to the AWS service endpoints only', SecurityGroupEgress: Match.absent() });
  });

  test('its log group is encrypted with keys.logs and kept six years', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: stack.resolve(keys.logs.keyArn), RetentionInDays: 2192 });
  });

  test('an asynchronous function has an encrypted dead-letter queue', () => {
    template.hasResourceProperties('AWS::Lambda::Function', { Description: 'Nightly quality measures', DeadLetterConfig: { TargetArn: stack.resolve(reader.deadLetterQueue!.queueArn) } });
    expect(api.deadLetterQueue).toBeUndefined();
  });

  test('grants land in its managed policy: no inline policy anywhere', () => {
    template.resourceCountIs('AWS::IAM::Policy', 0);
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      Roles: [stack.resolve(reader.role.roleName)],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: Match.arrayWith(['healthlake:ReadResource']) })]) },
    });
  });

  test('a blank description is refused', () => {
    expect(() => new CompliantFunction(stack, 'Blank', { code, description: ' ', keys, network, invocation: 'synchronous' })).toThrow(/description must say what the function does/);
  });
});
