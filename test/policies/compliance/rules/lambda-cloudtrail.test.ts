import { Stack } from 'aws-cdk-lib';
import * as cloudtrail from 'aws-cdk-lib/aws-cloudtrail';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { expectCompliant, expectNoncompliant, granularFindings, newStack } from '../helpers';

const code = lambda.Code.fromInline('exports.handler = async () => ({})');

/** A function that can call HealthLake, placed by `placement`. */
function healthLakeFunction(stack: Stack, placement: Partial<lambda.FunctionProps> = {}, canCallHealthLake = true): lambda.Function {
  const fn = new lambda.Function(stack, 'Proxy', { runtime: lambda.Runtime.NODEJS_20_X, handler: 'index.handler', code, ...placement });
  if (canCallHealthLake) {
    fn.addToRolePolicy(new iam.PolicyStatement({
      actions: ['healthlake:ReadResource'],
      resources: ['arn:aws:healthlake:us-east-1:111122223333:datastore/fhir/abc'],
      conditions: { StringEquals: { 'aws:SourceVpce': 'vpce-0123456789abcdef0' } },
    }));
  }
  return fn;
}

describe('FHIR.HIPAA-LambdaHealthLakeIsolated', () => {
  const rule = 'LambdaHealthLakeIsolated';

  test('Noncompliance 1: not in a VPC', () => {
    const stack = newStack();
    healthLakeFunction(stack);
    expect(granularFindings(stack, rule)).toEqual(['NoVpcConfig']);
  });

  test('Noncompliance 2: in private subnets with a NAT route', () => {
    const stack = newStack();
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 1, natGateways: 1 });
    healthLakeFunction(stack, { vpc, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS } });
    expect(granularFindings(stack, rule)).toEqual([expect.stringMatching(/^Subnet::VpcPrivateSubnet1Subnet\w+::InternetRoute$/)]);
  });

  test('Noncompliance 3: in a public subnet (internet gateway route)', () => {
    const stack = newStack();
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 1, natGateways: 0, subnetConfiguration: [{ name: 'Public', subnetType: ec2.SubnetType.PUBLIC }] });
    healthLakeFunction(stack, { vpc, vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC }, allowPublicSubnet: true });
    expect(granularFindings(stack, rule)).toEqual([expect.stringMatching(/^Subnet::VpcPublicSubnet1Subnet\w+::InternetRoute$/)]);
  });

  test('Noncompliance 4: imported subnets cannot be verified', () => {
    const stack = newStack();
    const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', { vpcId: 'vpc-1', availabilityZones: ['us-east-1a'], isolatedSubnetIds: ['subnet-0abc'] });
    healthLakeFunction(stack, { vpc, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED } });
    expect(granularFindings(stack, rule)).toEqual(['Subnet::subnet-0abc::Unverifiable']);
  });

  test('Compliance 1: isolated subnets only', () => {
    const stack = newStack();
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
    healthLakeFunction(stack, { vpc, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED } });
    expectCompliant(stack, rule);
  });

  test('Compliance 2: a function that cannot call HealthLake is not applicable', () => {
    const stack = newStack();
    healthLakeFunction(stack, {}, false);
    expectCompliant(stack, rule);
  });
});

describe('FHIR.HIPAA-LambdaNoSecretsInEnvironment', () => {
  const rule = 'LambdaNoSecretsInEnvironment';
  const withEnv = (environment: Record<string, string>) => {
    const stack = newStack();
    new lambda.Function(stack, 'Fn', { runtime: lambda.Runtime.NODEJS_20_X, handler: 'index.handler', code, environment });
    return stack;
  };

  test('Noncompliance 1: a password by name', () => {
    expect(granularFindings(withEnv({ DB_PASSWORD: 'hunter2', LOG_LEVEL: 'info' }), rule)).toEqual(['Variable::DB_PASSWORD']);
  });
  test('Noncompliance 2: a PEM private key under an innocent name', () => {
    expect(granularFindings(withEnv({ CONFIG: '-----BEGIN RSA PRIVATE KEY-----\nMIIB...\n-----END RSA PRIVATE KEY-----' }), rule)).toEqual(['Variable::CONFIG']);
  });
  test('Noncompliance 3: an AWS secret access key', () => {
    expect(granularFindings(withEnv({ AWS_CREDS: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' }), rule)).toEqual(['Variable::AWS_CREDS']);
  });
  test('Noncompliance 4: a Secrets Manager dynamic reference resolved into plain text', () => {
    expect(granularFindings(withEnv({ UPSTREAM: '{{resolve:secretsmanager:fhir/upstream:SecretString:key}}' }), rule)).toEqual(['Variable::UPSTREAM']);
  });
  test('Noncompliance 5: an API key by name', () => {
    expect(granularFindings(withEnv({ 'partner-api-key': 'abc123' }), rule)).toEqual(['Variable::partner-api-key']);
  });
  test('Compliance: pointers to secrets and configuration', () => {
    const stack = newStack();
    const bucket = new s3.Bucket(stack, 'Bucket');
    new lambda.Function(stack, 'Fn', {
      runtime: lambda.Runtime.NODEJS_20_X, handler: 'index.handler', code,
      environment: {
        CLIENT_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:fhir/client',
        TOKEN_URL: 'https://auth.example.org/oauth2/token',
        API_KEY_PARAMETER: '/fhir/partner/api-key',
        TOKEN_USE: 'access',
        SECRET_BUCKET: bucket.bucketName,
        COMMIT: '3f786850e387550fdab836ed7e6dc881de23001b',
        LOG_LEVEL: 'info',
      },
    });
    expectCompliant(stack, rule);
  });
});

describe('FHIR.HIPAA-CloudTrail*', () => {
  function trail(props: Partial<cloudtrail.TrailProps> = {}, dataEvents = true): Stack {
    const stack = newStack();
    const t = new cloudtrail.Trail(stack, 'Trail', {
      isMultiRegionTrail: true,
      sendToCloudWatchLogs: true,
      cloudWatchLogGroup: new logs.LogGroup(stack, 'TrailLogs'),
      ...props,
    });
    if (dataEvents) t.addS3EventSelector([{ bucket: new s3.Bucket(stack, 'Phi') }]);
    return stack;
  }

  test('CloudTrailMultiRegion Noncompliance: single region', () => expectNoncompliant(trail({ isMultiRegionTrail: false }), 'CloudTrailMultiRegion'));
  test('CloudTrailMultiRegion Compliance', () => expectCompliant(trail(), 'CloudTrailMultiRegion'));

  test('CloudTrailCloudWatchLogs Noncompliance: no CloudWatch Logs delivery', () => {
    expectNoncompliant(trail({ sendToCloudWatchLogs: false, cloudWatchLogGroup: undefined }), 'CloudTrailCloudWatchLogs');
  });
  test('CloudTrailCloudWatchLogs Compliance', () => expectCompliant(trail(), 'CloudTrailCloudWatchLogs'));

  test('CloudTrailDataEvents Noncompliance: management events only', () => expectNoncompliant(trail({}, false), 'CloudTrailDataEvents'));
  test('CloudTrailDataEvents Compliance 1: S3 data event selector', () => expectCompliant(trail(), 'CloudTrailDataEvents'));
  test('CloudTrailDataEvents Compliance 2: advanced selector on resources.type', () => {
    const stack = trail({}, false);
    const cfn = stack.node.findChild('Trail').node.defaultChild as cloudtrail.CfnTrail;
    cfn.advancedEventSelectors = [{ fieldSelectors: [
      { field: 'eventCategory', equalTo: ['Data'] },
      { field: 'resources.type', equalTo: ['AWS::HealthLake::FHIRDatastore'] },
    ] }];
    expectCompliant(stack, 'CloudTrailDataEvents');
  });
});
