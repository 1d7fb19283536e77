import { Aws, CfnResource, Duration, Lazy, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as cloudtrail from 'aws-cdk-lib/aws-cloudtrail';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct, IConstruct } from 'constructs';
import { DeploymentEnvironment, MIN_RETENTION_DAYS } from './config';
import { IFhirKeys } from './fhir-keys';
import { createAuditLogGroup } from './private/log-group';
import { acknowledge } from '../policies/compliance/acknowledge';
import { markImportedUse } from '../policies/compliance/imported-resources';

/** Properties of {@link AuditTrail}. */
export interface AuditTrailProps {
  /**
   * `audit` encrypts the trail, its bucket and the alarm topic; `logs` the log groups. Imported
   * keys (`FhirKeys.fromKeys`): the trail carries their record, reported as
   * `FHIR.HIPAA-ImportedResourceAttested[keys]` until acknowledged.
   */
  readonly keys: IFhirKeys;

  /**
   * Decides the object-lock mode of the trail bucket: COMPLIANCE in `production` (nobody, root
   * included, can shorten it), GOVERNANCE elsewhere (a privileged role can clean up a sandbox).
   *
   * @default 'sandbox'
   */
  readonly environment?: DeploymentEnvironment;

  /**
   * Retention of the CloudTrail log group and the AuditEvent log group; at least six years.
   *
   * @default logs.RetentionDays.SIX_YEARS (2192 days)
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Default object-lock retention of the trail bucket, in days; at least 2192.
   *
   * @default 2192
   */
  readonly bucketRetentionDays?: number;

  /**
   * E-mail address subscribed to the security alarm topic. In production the topic must have a
   * subscriber (`FHIR.HIPAA-SNSAlarmTopicSubscribed`): give this, or subscribe your own endpoint
   * to `alarmTopic`.
   *
   * @default - no subscription; subscribe your own endpoint to `alarmTopic` (a finding in production until you do)
   */
  readonly alarmEmail?: string;
}

/** A CloudWatch Logs metric filter and alarm the trail raises to `alarmTopic`. */
interface SecurityAlarmSpec {
  readonly id: string;
  readonly metricName: string;
  readonly description: string;
  readonly pattern: string;
}

/**
 * CIS AWS Foundations style alarms on the trail's log group: what a HIPAA security officer must
 * hear about without reading logs (164.308(a)(1)(ii)(D) information system activity review,
 * 164.308(a)(6)(ii) response and reporting).
 */
const SECURITY_ALARMS: readonly SecurityAlarmSpec[] = [
  {
    id: 'UnauthorizedApiCalls',
    metricName: 'UnauthorizedApiCalls',
    description: 'An AWS API call was refused (UnauthorizedOperation or AccessDenied).',
    pattern: '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }',
  },
  {
    id: 'CloudTrailConfigurationChanges',
    metricName: 'CloudTrailConfigurationChanges',
    description: 'A CloudTrail trail was created, updated, deleted, started or stopped.',
    pattern: '{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) || ($.eventName = StartLogging) || ($.eventName = StopLogging) }',
  },
  {
    id: 'KmsKeyDisabledOrScheduledForDeletion',
    metricName: 'KmsKeyDisabledOrScheduledForDeletion',
    description: 'A KMS key was disabled or scheduled for deletion: data encrypted under it may become unreadable.',
    pattern: '{ ($.eventSource = kms.amazonaws.com) && (($.eventName = DisableKey) || ($.eventName = ScheduleKeyDeletion)) }',
  },
];

/** Metric namespace of the security alarms. */
export const SECURITY_METRIC_NAMESPACE = 'ZeroTrustFhir/Security';

/**
 * The platform's audit controls (45 CFR 164.312(b)):
 * - a multi-region CloudTrail trail with global service events, log-file validation, the `audit`
 *   CMK, delivery to a CMK-encrypted CloudWatch log group, management events (read and write)
 *   and data events for every Lambda function in the stack and for buckets registered with
 *   {@link logS3DataEvents} (never the trail's own bucket);
 * - its bucket: public access blocked, TLS only, versioned, SSE-KMS, object lock (COMPLIANCE in
 *   production, GOVERNANCE elsewhere) for at least 2192 days, server access logs to a separate
 *   bucket, archive tiers after 90 and 365 days;
 * - the AuditEvent log group the FHIR proxy writes one BALP AuditEvent per request to;
 * - metric filters and alarms (unauthorized API calls, trail changes, KMS key disable/deletion) to
 *   an SNS topic encrypted with the `audit` CMK.
 */
export class AuditTrail extends Construct {
  public readonly trail: cloudtrail.CfnTrail;
  /** Assumed by CloudTrail (this trail only) to write to `trailLogGroup`. */
  public readonly trailLogsRole: iam.Role;
  public readonly trailLogsPolicy: iam.ManagedPolicy;
  public readonly trailBucket: s3.Bucket;
  /** Receives the trail bucket's server access logs (SSE-S3: S3 log delivery cannot use SSE-KMS). */
  public readonly accessLogsBucket: s3.Bucket;
  /** The trail's CloudWatch Logs copy. */
  public readonly trailLogGroup: logs.LogGroup;
  /** The FHIR proxy's AuditEvent log group. */
  public readonly auditEventLogGroup: logs.LogGroup;
  public readonly alarmTopic: sns.Topic;
  public readonly alarms: cloudwatch.Alarm[] = [];
  public readonly metricFilters: logs.MetricFilter[] = [];
  private readonly s3DataEventBuckets: s3.IBucket[] = [];

  constructor(scope: Construct, id: string, props: AuditTrailProps) {
    super(scope, id);
    const environment = props.environment ?? 'sandbox';
    const retention = props.logRetention ?? logs.RetentionDays.SIX_YEARS;
    const bucketRetentionDays = props.bucketRetentionDays ?? MIN_RETENTION_DAYS;
    if (!Token.isUnresolved(bucketRetentionDays) && (!Number.isInteger(bucketRetentionDays) || bucketRetentionDays < MIN_RETENTION_DAYS)) {
      throw new Error(`AuditTrail: bucketRetentionDays is ${bucketRetentionDays}; CloudTrail records are kept at least ${MIN_RETENTION_DAYS} days (six years).`);
    }
    const keys = props.keys;

    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogsBucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [archiveRule()],
    });

    this.trailBucket = new s3.Bucket(this, 'TrailBucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: keys.audit,
      bucketKeyEnabled: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      objectLockEnabled: true,
      objectLockDefaultRetention:
        environment === 'production'
          ? s3.ObjectLockRetention.compliance(Duration.days(bucketRetentionDays))
          : s3.ObjectLockRetention.governance(Duration.days(bucketRetentionDays)),
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [archiveRule()],
    });

    // Server access logs of the trail bucket, delivered by the S3 logging service under a bucket
    // policy (not the legacy LogDeliveryWrite ACL), so the result does not depend on the app's
    // `@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy` feature flag.
    const accessLogPrefix = 'trail-bucket/';
    (this.trailBucket.node.defaultChild as s3.CfnBucket).loggingConfiguration = {
      destinationBucketName: this.accessLogsBucket.bucketName,
      logFilePrefix: accessLogPrefix,
    };
    this.accessLogsBucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'S3ServerAccessLogsForTheTrailBucket',
        principals: [new iam.ServicePrincipal('logging.s3.amazonaws.com')],
        actions: ['s3:PutObject'],
        resources: [this.accessLogsBucket.arnForObjects(`${accessLogPrefix}*`)],
        conditions: {
          ArnLike: { 'aws:SourceArn': this.trailBucket.bucketArn },
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
        },
      }),
    );

    this.acknowledgeControlTowerFindings();

    this.trailLogGroup = createAuditLogGroup(this, 'TrailLogGroup', { encryptionKey: keys.logs, retention, owner: 'AuditTrail' });
    this.auditEventLogGroup = createAuditLogGroup(this, 'AuditEventLogGroup', { encryptionKey: keys.logs, retention, owner: 'AuditTrail' });

    // The trail is written at the L1 level so that its CloudWatch Logs role carries a
    // customer-managed policy instead of the L2's inline one (HIPAA.Security-IAMNoInlinePolicy).
    const trailArn = keys.auditTrailArn;
    const cloudTrail = new iam.ServicePrincipal('cloudtrail.amazonaws.com');
    this.trailBucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudTrailAclCheckForThisTrail',
        principals: [cloudTrail],
        actions: ['s3:GetBucketAcl'],
        resources: [this.trailBucket.bucketArn],
        conditions: { StringEquals: { 'aws:SourceArn': trailArn } },
      }),
    );
    this.trailBucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudTrailWriteForThisTrail',
        principals: [cloudTrail],
        actions: ['s3:PutObject'],
        resources: [this.trailBucket.arnForObjects(`AWSLogs/${Aws.ACCOUNT_ID}/*`)],
        conditions: { StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control', 'aws:SourceArn': trailArn } },
      }),
    );
    this.trailLogsRole = new iam.Role(this, 'TrailLogsRole', {
      description: 'CloudTrail delivery to the CMK-encrypted trail log group',
      assumedBy: cloudTrail.withConditions({ StringEquals: { 'aws:SourceArn': trailArn } }),
    });
    this.trailLogsPolicy = new iam.ManagedPolicy(this, 'TrailLogsPolicy', {
      description: 'Write CloudTrail events to the trail log group only',
      roles: [this.trailLogsRole],
      statements: [new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [this.trailLogGroup.logGroupArn] })],
    });
    this.trail = new cloudtrail.CfnTrail(this, 'Trail', {
      trailName: keys.auditTrailName,
      isLogging: true,
      s3BucketName: this.trailBucket.bucketName,
      isMultiRegionTrail: true,
      includeGlobalServiceEvents: true,
      enableLogFileValidation: true,
      kmsKeyId: keys.audit.keyArn,
      cloudWatchLogsLogGroupArn: this.trailLogGroup.logGroupArn,
      cloudWatchLogsRoleArn: this.trailLogsRole.roleArn,
      advancedEventSelectors: Lazy.any({ produce: () => this.eventSelectors() }, { omitEmptyArray: true }),
    });
    if (this.trailBucket.policy) this.trail.node.addDependency(this.trailBucket.policy);
    // Imported keys (FhirKeys.fromKeys) create no resource: their record goes on the trail `audit` encrypts.
    markImportedUse(this.trail, keys, 'keys');
    this.trail.node.addDependency(this.trailLogsPolicy);

    // Alarms: the topic is encrypted with the audit key; CloudWatch may use the key only for
    // alarms of this account and region.
    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', { masterKey: keys.audit, enforceSSL: true, displayName: 'zero-trust-fhir security alarms' });
    keys.audit.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublishToEncryptedTopic',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*` } },
      }),
    );
    if (props.alarmEmail) {
      this.alarmTopic.addSubscription(new subs.EmailSubscription(props.alarmEmail));
    }
    for (const spec of SECURITY_ALARMS) {
      const filter = new logs.MetricFilter(this, `${spec.id}Filter`, {
        logGroup: this.trailLogGroup,
        filterPattern: logs.FilterPattern.literal(spec.pattern),
        metricNamespace: SECURITY_METRIC_NAMESPACE,
        metricName: spec.metricName,
        metricValue: '1',
        defaultValue: 0,
      });
      const alarm = new cloudwatch.Alarm(this, `${spec.id}Alarm`, {
        alarmDescription: spec.description,
        metric: filter.metric({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(new cwActions.SnsAction(this.alarmTopic));
      this.metricFilters.push(filter);
      this.alarms.push(alarm);
    }
  }

  /**
   * Records object-level (data) events of a bucket that may hold PHI: exports, imports,
   * attachments. The trail's own bucket is refused: logging it would log its own deliveries in a
   * loop.
   */
  public logS3DataEvents(...buckets: s3.IBucket[]): void {
    for (const bucket of buckets) {
      if (bucket === this.trailBucket) {
        throw new Error("AuditTrail.logS3DataEvents: the trail's own bucket cannot log data events to itself (every delivery would create another event).");
      }
      this.s3DataEventBuckets.push(bucket);
    }
  }

  /** Every `AWS::Lambda::Function` in this stack, resolved at synth time. */
  private stackFunctions(): CfnResource[] {
    return Stack.of(this)
      .node.findAll()
      .filter((c: IConstruct): c is CfnResource => CfnResource.isCfnResource(c) && c.cfnResourceType === 'AWS::Lambda::Function');
  }

  /**
   * The AWS Control Tower controls (the `AWS.ControlTower` cross-check) that ask these buckets
   * for what their role makes pointless, each with why.
   */
  private acknowledgeControlTowerFindings(): void {
    const tamperEvidence = 'Each object is kept: the bucket is versioned and retained on stack deletion, public access is blocked and only TLS is accepted; a change to the bucket itself (its policy, versioning, lifecycle, encryption) is a management event in the multi-region trail, whose log group is kept six years.';
    acknowledge(this.accessLogsBucket, 'AWS.ControlTower::s3_bucket_logging_enabled_check',
      `This bucket is where S3 delivers the trail bucket's server access logs. Logging its own access into itself would log every delivery again without end (AWS advises against it), and a third bucket would only move the question one bucket along. ${tamperEvidence}`);
    acknowledge(this.accessLogsBucket, 'AWS.ControlTower::s3_bucket_object_lock_enabled_check',
      `S3 server access log delivery refuses a target bucket with an Object Lock default retention, and it writes objects without a retention of their own, so Object Lock here would protect nothing. The records it holds are secondary: the trail bucket they describe has Object Lock (COMPLIANCE mode in production) for at least ${MIN_RETENTION_DAYS} days. ${tamperEvidence}`);
    acknowledge(this.accessLogsBucket, 'AWS.ControlTower::s3_event_notifications_enabled_check',
      `Objects arrive here only from S3 log delivery for the trail bucket, under a bucket policy that names that bucket and this account; no process acts on each new object, so an event notification would have no consumer. ${tamperEvidence}`);
    acknowledge(this.trailBucket, 'AWS.ControlTower::s3_event_notifications_enabled_check',
      'Objects arrive here only from this stack\'s CloudTrail trail, under a bucket policy that names the trail; no process acts on each new log file, so an event notification would have no consumer. What matters is that no record is altered or removed, and that is enforced otherwise: Object Lock (COMPLIANCE mode in production) and versioning keep every version for the retention period, CloudTrail log file validation signs hourly digests, and the trail also delivers every event to its CMK-encrypted log group, where the security alarms (CloudTrail configuration changes, refused API calls, KMS keys disabled) notify the alarm topic.');
  }

  private eventSelectors(): cloudtrail.CfnTrail.AdvancedEventSelectorProperty[] {
    const selectors: cloudtrail.CfnTrail.AdvancedEventSelectorProperty[] = [
      { name: 'Management events', fieldSelectors: [{ field: 'eventCategory', equalTo: ['Management'] }] },
    ];
    const functions = this.stackFunctions();
    if (functions.length > 0) {
      selectors.push({
        name: 'Lambda data events for the stack functions',
        fieldSelectors: [
          { field: 'eventCategory', equalTo: ['Data'] },
          { field: 'resources.type', equalTo: ['AWS::Lambda::Function'] },
          { field: 'resources.ARN', equalTo: functions.map((fn) => Token.asString(fn.getAtt('Arn'))) },
        ],
      });
    }
    if (this.s3DataEventBuckets.length > 0) {
      selectors.push({
        name: 'S3 data events for buckets that may hold PHI',
        fieldSelectors: [
          { field: 'eventCategory', equalTo: ['Data'] },
          { field: 'resources.type', equalTo: ['AWS::S3::Object'] },
          { field: 'resources.ARN', startsWith: this.s3DataEventBuckets.map((b) => `${b.bucketArn}/`) },
        ],
      });
    }
    return selectors;
  }
}

function archiveRule(): s3.LifecycleRule {
  return {
    id: 'archive',
    transitions: [
      { storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, transitionAfter: Duration.days(90) },
      { storageClass: s3.StorageClass.DEEP_ARCHIVE, transitionAfter: Duration.days(365) },
    ],
    noncurrentVersionTransitions: [{ storageClass: s3.StorageClass.DEEP_ARCHIVE, transitionAfter: Duration.days(90) }],
  };
}
