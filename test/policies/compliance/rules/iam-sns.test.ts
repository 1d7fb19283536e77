import { App, CfnResource, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import { setDeploymentEnvironment } from '../../../../policies/compliance/environment';
import { expectCompliant, expectNoncompliant, granularFindings, newStack, violatingPaths } from '../helpers';

describe('FHIR.HIPAA-IAMNoPHIDataWildcard', () => {
  const rule = 'IAMNoPHIDataWildcard';
  const bucketArn = 'arn:aws:s3:::phi-bucket';
  const keyArn = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
  const tableArn = 'arn:aws:dynamodb:us-east-1:111122223333:table/Revocations';

  function roleWith(...statements: iam.PolicyStatementProps[]): Stack {
    const stack = newStack();
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    for (const s of statements) role.addToPolicy(new iam.PolicyStatement(s));
    return stack;
  }

  test.each([
    ['healthlake:*', 'arn:aws:healthlake:us-east-1:111122223333:datastore/fhir/abc'],
    ['s3:*', `${bucketArn}/*`],
    ['kms:*', keyArn],
    ['dynamodb:*', tableArn],
    ['DynamoDB:*', tableArn],
    ['*', tableArn],
  ])('Noncompliance 1: the service-wide action %s, even on one named resource', (action, resource) => {
    expect(granularFindings(roleWith({ actions: [action], resources: [resource] }), rule)).toEqual([`Statement::0::WildcardAction::${action}`]);
  });

  test.each([
    ['s3:GetObject', 's3'],
    ['kms:Decrypt', 'kms'],
    ['dynamodb:Query', 'dynamodb'],
    ['healthlake:ReadResource', 'healthlake'],
    ['s3:Get*', 's3'],
  ])('Noncompliance 2: the data action %s on Resource *', (action, service) => {
    expect(granularFindings(roleWith({ actions: [action], resources: ['*'] }), rule)).toEqual([`Statement::0::WildcardResource::${service}`]);
  });

  test.each([
    ['arn:aws:s3:::*', 's3:GetObject', 's3'],
    ['arn:aws:s3:::*/*', 's3:PutObject', 's3'],
    ['arn:aws:kms:*:111122223333:key/*', 'kms:Decrypt', 'kms'],
    ['arn:aws:dynamodb:us-east-1:111122223333:table/*', 'dynamodb:GetItem', 'dynamodb'],
    ['arn:aws:healthlake:us-east-1:111122223333:datastore/fhir/*', 'healthlake:SearchWithGet', 'healthlake'],
  ])('Noncompliance 3: an ARN naming every resource of the service (%s)', (resource, action, service) => {
    expect(granularFindings(roleWith({ actions: [action], resources: [resource] }), rule)).toEqual([`Statement::0::WildcardResource::${service}`]);
  });

  test('Noncompliance 4: NotAction and NotResource Allow statements', () => {
    expect(granularFindings(roleWith({ notActions: ['iam:*'], resources: [bucketArn] }), rule)).toEqual(['Statement::0::NotAction']);
    expect(granularFindings(roleWith({ actions: ['dynamodb:GetItem'], notResources: [tableArn] }), rule)).toEqual(['Statement::0::NotResource::dynamodb']);
  });

  test('Noncompliance 5: AWS managed policies granting PHI data on everything, on roles, users and groups', () => {
    const stack = newStack();
    new iam.Role(stack, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonS3ReadOnlyAccess'), iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaBasicExecutionRole')],
    });
    new iam.User(stack, 'User', { managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AdministratorAccess')] });
    new iam.Group(stack, 'Group', { managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonDynamoDBFullAccess')] });
    expect(violatingPaths(stack, rule)).toEqual(['Test/Group/Resource', 'Test/Role/Resource', 'Test/User/Resource']);
    expect(granularFindings(stack, rule)).toEqual(['ManagedPolicy::AdministratorAccess', 'ManagedPolicy::AmazonDynamoDBFullAccess', 'ManagedPolicy::AmazonS3ReadOnlyAccess']);
  });

  test('Noncompliance 6: inline policies, managed policies and generic CfnResources, with Sids and policy names', () => {
    const stack = newStack();
    new iam.Role(stack, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      inlinePolicies: { data: new iam.PolicyDocument({ statements: [new iam.PolicyStatement({ sid: 'Keys', actions: ['kms:*'], resources: ['*'] })] }) },
    });
    new iam.ManagedPolicy(stack, 'Managed', { statements: [new iam.PolicyStatement({ actions: ['s3:*'], resources: [bucketArn] })] });
    new CfnResource(stack, 'Raw', {
      type: 'AWS::IAM::Policy',
      properties: { PolicyName: 'raw', Roles: ['r'], PolicyDocument: { Version: '2012-10-17', Statement: { Effect: 'Allow', Action: 'dynamodb:Scan', Resource: '*' } } },
    });
    expect(granularFindings(stack, rule)).toEqual([
      'Statement::0::WildcardAction::s3:*',
      'Statement::0::WildcardResource::dynamodb',
      'data::Statement::Keys::WildcardAction::kms:*',
      'data::Statement::Keys::WildcardResource::kms',
    ]);
  });

  test('Noncompliance 7: an unresolved Resource list counts as every resource', () => {
    const stack = newStack();
    new CfnResource(stack, 'Raw', {
      type: 'AWS::IAM::Policy',
      properties: { PolicyName: 'raw', Roles: ['r'], PolicyDocument: { Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: { 'Fn::Split': [',', 'a,b'] } }] } },
    });
    expect(granularFindings(stack, rule)).toEqual(['Statement::0::WildcardResource::s3']);
  });

  test('Compliance 1: the grants of the L2s name actions and resources', () => {
    const stack = newStack();
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    const bucket = new s3.Bucket(stack, 'Bucket', { encryptionKey: key });
    const table = new dynamodb.Table(stack, 'Table', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
    bucket.grantReadWrite(role);
    table.grantReadWriteData(role);
    key.grantDecrypt(role);
    role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [`${bucketArn}/*`] }));
    expectCompliant(stack, rule);
  });

  test('Compliance 2: other services on *, Deny statements, unresolved actions and literal partial names', () => {
    const stack = roleWith(
      { actions: ['ec2:CreateNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'xray:PutTraceSegments', 'cloudwatch:PutMetricData'], resources: ['*'] },
      { effect: iam.Effect.DENY, actions: ['*'], resources: ['*'] },
      { actions: ['s3:ListAllMyBuckets', 'kms:ListAliases', 'dynamodb:ListTables', 'healthlake:ListFHIRDatastores'], resources: ['*'] },
      { actions: ['s3:GetObject'], resources: ['arn:aws:s3:::phi-*/*', 'arn:aws:s3:::exports/*'] },
    );
    const raw = new CfnResource(stack, 'Raw', {
      type: 'AWS::IAM::Policy',
      properties: { PolicyName: 'raw', Roles: ['r'], PolicyDocument: { Statement: [{ Effect: 'Allow', Action: { 'Fn::Split': [',', 's3:*'] }, Resource: '*' }] } },
    });
    expect(raw).toBeDefined();
    expectCompliant(stack, rule);
  });

  test('Compliance 3: not applicable to other resource types (a key policy with kms:* for the account)', () => {
    const stack = newStack();
    new kms.Key(stack, 'Key', { enableKeyRotation: true });
    expectCompliant(stack, rule);
  });
});

describe('FHIR.HIPAA-SNSAlarmTopicSubscribed', () => {
  const rule = 'SNSAlarmTopicSubscribed';

  /** A topic that an alarm notifies, in a stack marked `env`. */
  function alarmed(env?: 'sandbox' | 'staging' | 'production'): { stack: Stack; topic: sns.Topic } {
    const stack = newStack(env);
    const topic = new sns.Topic(stack, 'AlarmTopic');
    const alarm = new cloudwatch.Alarm(stack, 'Alarm', {
      metric: new cloudwatch.Metric({ namespace: 'Test', metricName: 'Events' }),
      threshold: 1,
      evaluationPeriods: 1,
    });
    alarm.addAlarmAction(new cwActions.SnsAction(topic));
    return { stack, topic };
  }

  test('Noncompliance 1: in production, an alarmed topic nobody subscribes to', () => {
    const { stack } = alarmed('production');
    expectNoncompliant(stack, rule);
    expect(violatingPaths(stack, rule)).toEqual(['Test/AlarmTopic/Resource']);
  });

  test('Noncompliance 2: a composite alarm notifies it; a subscription to another topic does not count', () => {
    const stack = newStack('production');
    const topic = new sns.Topic(stack, 'AlarmTopic');
    const other = new sns.Topic(stack, 'Other');
    other.addSubscription(new subs.EmailSubscription('soc@example.org'));
    const a = new cloudwatch.Alarm(stack, 'A', { metric: new cloudwatch.Metric({ namespace: 'T', metricName: 'M' }), threshold: 1, evaluationPeriods: 1 });
    new cloudwatch.CompositeAlarm(stack, 'Composite', { alarmRule: cloudwatch.AlarmRule.fromAlarm(a, cloudwatch.AlarmState.ALARM) })
      .addAlarmAction(new cwActions.SnsAction(topic));
    expect(violatingPaths(stack, rule)).toEqual(['Test/AlarmTopic/Resource']);
  });

  test('Noncompliance 3: a subscription naming the topic by a literal ARN proves nothing', () => {
    const { stack } = alarmed('production');
    new sns.CfnSubscription(stack, 'Literal', { topicArn: 'arn:aws:sns:us-east-1:111122223333:alarms', protocol: 'email', endpoint: 'soc@example.org' });
    expectNoncompliant(stack, rule);
  });

  test('Compliance 1: an e-mail subscription (AWS::SNS::Subscription referencing the topic)', () => {
    const { stack, topic } = alarmed('production');
    topic.addSubscription(new subs.EmailSubscription('soc@example.org'));
    expectCompliant(stack, rule);
  });

  test('Compliance 2: the topic\'s own Subscription property', () => {
    const stack = newStack('production');
    const topic = new sns.CfnTopic(stack, 'AlarmTopic', { subscription: [{ protocol: 'email', endpoint: 'soc@example.org' }] });
    new cloudwatch.CfnAlarm(stack, 'Alarm', {
      comparisonOperator: 'GreaterThanOrEqualToThreshold', evaluationPeriods: 1, threshold: 1, metricName: 'M', namespace: 'T', period: 60, statistic: 'Sum',
      alarmActions: [topic.ref],
    });
    expectCompliant(stack, rule);
  });

  test('Compliance 3: a subscription in another stack of the app', () => {
    const { stack, topic } = alarmed('production');
    const responders = new Stack(stack.node.scope as App, 'Responders');
    setDeploymentEnvironment(responders, 'production');
    new sns.Subscription(responders, 'Soc', { topic, protocol: sns.SubscriptionProtocol.EMAIL, endpoint: 'soc@example.org' });
    expectCompliant(stack, rule);
  });

  test('Compliance 4: outside production, and topics no alarm names, are not applicable', () => {
    expectCompliant(alarmed('sandbox').stack, rule);
    expectCompliant(alarmed('staging').stack, rule);
    expectCompliant(alarmed().stack, rule);
    const stack = newStack('production');
    new sns.Topic(stack, 'Notifications');
    expectCompliant(stack, rule);
  });
});
