import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AuditTrail, FhirKeys } from '../../lib';
import { setDeploymentEnvironment } from '../../policies/compliance/environment';
import { FhirHipaaChecks } from '../../policies/compliance/fhir-hipaa-checks';
import { createTestApp } from '../helpers/app';

const app = createTestApp();
const stack = new Stack(app, 'AuditStack');
const keys = new FhirKeys(stack, 'Keys');
const audit = new AuditTrail(stack, 'Audit', { keys, alarmEmail: 'security@example.org' });
const fn = new lambda.Function(stack, 'Fn', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler=async()=>1') });
const phiBucket = new s3.Bucket(stack, 'PhiBucket');
audit.logS3DataEvents(phiBucket);
const template = Template.fromStack(stack);
const trail = Object.values(template.findResources('AWS::CloudTrail::Trail'))[0].Properties;
const bucketProps = (b: s3.Bucket) => template.toJSON().Resources[stack.getLogicalId(b.node.defaultChild as s3.CfnBucket)];

const productionTemplate = (() => {
  const s = new Stack(createTestApp(), 'Prod');
  new AuditTrail(s, 'Audit', { keys: new FhirKeys(s, 'Keys'), environment: 'production', bucketRetentionDays: 2557 });
  return Template.fromStack(s);
})();

describe('AuditTrail: the trail', () => {
  test('is multi-region with global service events and log-file validation', () => {
    expect(trail).toMatchObject({ IsMultiRegionTrail: true, IncludeGlobalServiceEvents: true, EnableLogFileValidation: true, IsLogging: true });
  });

  test('is encrypted with the audit key', () => {
    expect(trail.KMSKeyId).toEqual(stack.resolve(keys.audit.keyArn));
  });

  test('is named as the audit key policy expects', () => {
    expect(trail.TrailName).toBe(keys.auditTrailName);
  });

  test('delivers to a CloudWatch log group encrypted with the logs key and kept six years', () => {
    expect(trail.CloudWatchLogsLogGroupArn).toEqual(stack.resolve(audit.trailLogGroup.logGroupArn));
    template.hasResource('AWS::Logs::LogGroup', {
      Properties: { KmsKeyId: stack.resolve(keys.logs.keyArn), RetentionInDays: 2192 },
      DeletionPolicy: 'Retain',
    });
  });

  test('records read and write management events', () => {
    expect(trail.AdvancedEventSelectors[0]).toEqual({ Name: 'Management events', FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }] });
    expect(trail.EventSelectors).toBeUndefined();
  });

  test('records data events for every Lambda function of the stack', () => {
    const lambdaSelector = trail.AdvancedEventSelectors.find((s: { Name: string }) => s.Name.startsWith('Lambda'));
    expect(lambdaSelector.FieldSelectors).toContainEqual({ Field: 'resources.type', Equals: ['AWS::Lambda::Function'] });
    expect(JSON.stringify(lambdaSelector.FieldSelectors)).toContain(stack.getLogicalId(fn.node.defaultChild as lambda.CfnFunction));
  });

  test('records data events for registered PHI buckets, never its own bucket', () => {
    const s3Selector = trail.AdvancedEventSelectors.find((s: { Name: string }) => s.Name.startsWith('S3'));
    expect(JSON.stringify(s3Selector)).toContain(stack.getLogicalId(phiBucket.node.defaultChild as s3.CfnBucket));
    expect(JSON.stringify(s3Selector)).not.toContain(stack.getLogicalId(audit.trailBucket.node.defaultChild as s3.CfnBucket));
    expect(() => audit.logS3DataEvents(audit.trailBucket)).toThrow(/own bucket/);
  });

  test('its CloudWatch Logs role is assumable only by CloudTrail for this trail and has no inline policy', () => {
    template.resourceCountIs('AWS::IAM::Policy', 0);
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Principal: { Service: 'cloudtrail.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceArn': Match.anyValue() } } })],
      },
    });
  });
});

describe('AuditTrail: the trail bucket', () => {
  const bucket = bucketProps(audit.trailBucket);

  test('blocks all public access', () => {
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
  });

  test('refuses requests without TLS', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: stack.resolve(audit.trailBucket.bucketName),
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  test('is versioned', () => {
    expect(bucket.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
  });

  test('is encrypted with the audit key (SSE-KMS)', () => {
    expect(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault).toEqual({
      SSEAlgorithm: 'aws:kms',
      KMSMasterKeyID: stack.resolve(keys.audit.keyArn),
    });
  });

  test('locks objects for 2192 days in GOVERNANCE mode outside production', () => {
    expect(bucket.Properties.ObjectLockEnabled).toBe(true);
    expect(bucket.Properties.ObjectLockConfiguration).toEqual({ ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 2192 } } });
  });

  test('locks objects in COMPLIANCE mode in production', () => {
    productionTemplate.hasResourceProperties('AWS::S3::Bucket', { ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 2557 } } } });
  });

  test('sends server access logs to a separate bucket', () => {
    expect(bucket.Properties.LoggingConfiguration.DestinationBucketName).toEqual(stack.resolve(audit.accessLogsBucket.bucketName));
    expect(audit.accessLogsBucket).not.toBe(audit.trailBucket);
  });

  test('moves objects to archive tiers', () => {
    const rule = bucket.Properties.LifecycleConfiguration.Rules[0];
    expect(rule.Transitions).toEqual([
      { StorageClass: 'GLACIER_IR', TransitionInDays: 90 },
      { StorageClass: 'DEEP_ARCHIVE', TransitionInDays: 365 },
    ]);
  });

  test('is retained on stack deletion', () => {
    expect(bucket.DeletionPolicy).toBe('Retain');
  });

  test('lets CloudTrail write only for this trail', () => {
    const policy = Object.values(template.findResources('AWS::S3::BucketPolicy')).find((p) => JSON.stringify(p.Properties.Bucket) === JSON.stringify(stack.resolve(audit.trailBucket.bucketName)))!;
    const trailStatements = policy.Properties.PolicyDocument.Statement.filter((s: { Principal?: { Service?: string } }) => s.Principal?.Service === 'cloudtrail.amazonaws.com');
    expect(trailStatements).toHaveLength(2);
    for (const s of trailStatements) expect(s.Condition.StringEquals['aws:SourceArn']).toBeDefined();
  });
});

describe('AuditTrail: the access-log bucket', () => {
  const bucket = bucketProps(audit.accessLogsBucket);
  test('blocks public access, is versioned, SSE-S3 (what S3 log delivery supports) and retained', () => {
    expect(bucket.Properties.PublicAccessBlockConfiguration.BlockPublicPolicy).toBe(true);
    expect(bucket.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe('AES256');
    expect(bucket.DeletionPolicy).toBe('Retain');
  });
});

describe('AuditTrail: the AuditEvent log group', () => {
  test('is encrypted with the logs key, kept six years and retained', () => {
    const lg = template.toJSON().Resources[stack.getLogicalId(audit.auditEventLogGroup.node.defaultChild as logs.CfnLogGroup)];
    expect(lg.Properties).toMatchObject({ KmsKeyId: stack.resolve(keys.logs.keyArn), RetentionInDays: 2192 });
    expect(lg.DeletionPolicy).toBe('Retain');
  });
});

describe('AuditTrail: alarms', () => {
  test.each([
    ['UnauthorizedApiCalls', 'UnauthorizedOperation'],
    ['CloudTrailConfigurationChanges', 'StopLogging'],
    ['KmsKeyDisabledOrScheduledForDeletion', 'ScheduleKeyDeletion'],
  ])('%s: a metric filter on the trail log group and an alarm to the topic', (metricName, patternWord) => {
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      LogGroupName: stack.resolve(audit.trailLogGroup.logGroupName),
      FilterPattern: Match.stringLikeRegexp(patternWord),
      MetricTransformations: [Match.objectLike({ MetricName: metricName, MetricValue: '1' })],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: metricName,
      Threshold: 1,
      AlarmActions: [stack.resolve(audit.alarmTopic.topicArn)],
    });
  });

  test('the alarm topic is encrypted with the audit key and refuses non-TLS publishing', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: stack.resolve(keys.audit.keyArn) });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  test('CloudWatch may use the audit key only for alarms of this account', () => {
    const auditKey = template.toJSON().Resources[stack.getLogicalId(keys.audit.node.defaultChild as never)];
    const cw = auditKey.Properties.KeyPolicy.Statement.find((s: { Principal?: { Service?: string } }) => s.Principal?.Service === 'cloudwatch.amazonaws.com');
    expect(JSON.stringify(cw.Condition)).toContain(':alarm:*');
  });

  test('the configured e-mail address is subscribed', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'security@example.org' });
  });
});

describe('AuditTrail: someone receives the security alarms in production (FHIR.HIPAA-SNSAlarmTopicSubscribed)', () => {
  const findings = (alarmEmail?: string, subscribe = false) => {
    const s = new Stack(createTestApp(), 'Alarmed');
    setDeploymentEnvironment(s, 'production');
    const trail = new AuditTrail(s, 'Audit', { keys: new FhirKeys(s, 'Keys'), environment: 'production', alarmEmail });
    if (subscribe) trail.alarmTopic.addSubscription(new subs.SqsSubscription(new sqs.Queue(s, 'Soc', { enforceSSL: true })));
    return new FhirHipaaChecks().validateScope(s).violations
      .filter((v) => v.ruleName === 'FHIR.HIPAA-SNSAlarmTopicSubscribed')
      .flatMap((v) => v.violatingResources.map((r) => r.constructPath));
  };

  test('without alarmEmail or a subscription of your own, the alarm topic is a finding', () => {
    expect(findings()).toEqual(['Alarmed/Audit/AlarmTopic/Resource']);
  });

  test('alarmEmail, or a subscription added to alarmTopic, clears it', () => {
    expect(findings('soc@example.org')).toEqual([]);
    expect(findings(undefined, true)).toEqual([]);
  });
});

describe('AuditTrail: refuses short retention', () => {
  test.each([
    [{ logRetention: logs.RetentionDays.ONE_YEAR }, /logRetention is 365 days/],
    [{ bucketRetentionDays: 365 }, /bucketRetentionDays is 365/],
  ])('%p', (props, message) => {
    const s = new Stack(createTestApp(), 'Short');
    expect(() => new AuditTrail(s, 'Audit', { keys: new FhirKeys(s, 'Keys'), ...props })).toThrow(message);
  });
});

describe('AuditTrail: independent of the app feature flags', () => {
  test('builds in a plain App without the cdk.json context, logging through a bucket policy', () => {
    const s = new Stack(new App(), 'Plain');
    const t = new AuditTrail(s, 'Audit', { keys: new FhirKeys(s, 'Keys') });
    const tpl = Template.fromStack(s);
    tpl.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: s.resolve(t.accessLogsBucket.bucketName),
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: 'logging.s3.amazonaws.com' }, Action: 's3:PutObject' })]) },
    });
    expect(JSON.stringify(tpl.toJSON())).not.toContain('LogDeliveryWrite');
  });
});
