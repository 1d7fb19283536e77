import { ArnFormat, Aws, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/** Properties of {@link FhirKeys}. */
export interface FhirKeysProps {
  /**
   * Prefix of the three key aliases (`alias/<prefix>/data`, `/logs`, `/audit`).
   *
   * @default - the stack name
   */
  readonly aliasPrefix?: string;

  /**
   * Name of the CloudTrail trail that may use the `audit` key. The key policy names this trail's
   * ARN in an `aws:SourceArn` condition, so the trail must be created with exactly this name
   * (`AuditTrail` does).
   *
   * @default - `<stack name>-audit`
   */
  readonly auditTrailName?: string;

  /**
   * Days a key waits in `PendingDeletion` before AWS deletes it, should someone schedule that.
   * 30 is the longest AWS allows and the kit's floor: a shorter window leaves less time to notice
   * and cancel a deletion that would make PHI unreadable.
   *
   * @default Duration.days(30)
   */
  readonly pendingWindow?: Duration;
}

/**
 * The platform's customer-managed KMS keys, one per kind of data so that access to each is
 * granted and audited separately:
 * - `data`: the HealthLake datastore (PHI at rest) and the kit's DynamoDB tables;
 * - `logs`: every CloudWatch log group (flow logs, API access logs, AuditEvents, CloudTrail copy);
 * - `audit`: the CloudTrail trail, its bucket and the security-alarm topic.
 *
 * Enforced: symmetric keys, yearly rotation, RETAIN on stack deletion, a 30-day pending window,
 * and key policies with no wildcard principal: the account root (IAM delegation) and, on the
 * `logs` and `audit` keys, one service principal each, limited by conditions to this account's
 * log groups and to this stack's trail. Every key policy denies `kms:CreateGrant` unless the
 * grant is for an AWS resource made through an AWS service (AWS Control Tower CT.KMS.PR.3): no
 * principal of the account can hand out lasting use of a key, while HealthLake, DynamoDB and
 * Lambda still create the grants their own resources need.
 */
export class FhirKeys extends Construct {
  /** Encrypts PHI at rest: the HealthLake datastore. */
  public readonly data: kms.Key;
  /** Encrypts CloudWatch log groups in this account and region. */
  public readonly logs: kms.Key;
  /** Encrypts the CloudTrail trail, its bucket and the alarm topic. */
  public readonly audit: kms.Key;
  /** The trail name the `audit` key policy allows. */
  public readonly auditTrailName: string;
  /** The ARN of that trail (this account and region). */
  public readonly auditTrailArn: string;

  constructor(scope: Construct, id: string, props: FhirKeysProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    const pendingWindow = props.pendingWindow ?? Duration.days(30);
    if (!Token.isUnresolved(pendingWindow.toDays()) && pendingWindow.toDays() < 30) {
      throw new Error(`FhirKeys: pendingWindow is ${pendingWindow.toDays()} days; the kit requires 30 days (the AWS maximum) so a scheduled deletion of a PHI key can be noticed and cancelled.`);
    }
    const prefix = props.aliasPrefix ?? stack.stackName;
    this.auditTrailName = props.auditTrailName ?? `${stack.stackName}-audit`;
    this.auditTrailArn = stack.formatArn({ service: 'cloudtrail', resource: 'trail', resourceName: this.auditTrailName });

    const key = (id: string, purpose: string) =>
      new kms.Key(this, id, {
        description: `zero-trust-fhir ${purpose}`,
        alias: `alias/${prefix}/${id.toLowerCase()}`,
        enableKeyRotation: true,
        keySpec: kms.KeySpec.SYMMETRIC_DEFAULT,
        keyUsage: kms.KeyUsage.ENCRYPT_DECRYPT,
        pendingWindow,
        removalPolicy: RemovalPolicy.RETAIN,
      });

    this.data = key('Data', 'PHI at rest (HealthLake datastore)');
    this.logs = key('Logs', 'CloudWatch log groups');
    this.audit = key('Audit', 'CloudTrail trail, bucket and security alarms');
    for (const k of [this.data, this.logs, this.audit]) k.addToResourcePolicy(denyGrantsExceptForAwsResources());

    // CloudWatch Logs may use the logs key only for log groups of this account and region.
    this.logs.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchLogsForThisAccountLogGroups',
        principals: [new iam.ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
          },
        },
      }),
    );

    // CloudTrail may use the audit key only on behalf of this stack's trail.
    this.audit.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudTrailToEncryptForThisTrail',
        principals: [new iam.ServicePrincipal('cloudtrail.amazonaws.com')],
        actions: ['kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'aws:SourceArn': this.auditTrailArn },
          StringLike: { 'kms:EncryptionContext:aws:cloudtrail:arn': `arn:${Aws.PARTITION}:cloudtrail:*:${Aws.ACCOUNT_ID}:trail/*` },
        },
      }),
    );
    this.audit.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudTrailToDescribeKeyForThisTrail',
        principals: [new iam.ServicePrincipal('cloudtrail.amazonaws.com')],
        actions: ['kms:DescribeKey'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceArn': this.auditTrailArn } },
      }),
    );
  }
}

/**
 * The key policy statement AWS Control Tower's CT.KMS.PR.3 asks for (checked by
 * `FHIR.HIPAA-KMSKeyCreateGrantRestricted`): nobody may create a grant on the key unless the
 * grant is for an AWS resource (`kms:GrantIsForAWSResource`, set when an integrated service such
 * as HealthLake or DynamoDB calls `CreateGrant` for its resource) or the caller is an AWS service.
 */
export function denyGrantsExceptForAwsResources(): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'DenyGrantsExceptForAwsResourcesThroughAwsServices',
    effect: iam.Effect.DENY,
    principals: [new iam.AnyPrincipal()],
    actions: ['kms:CreateGrant'],
    resources: ['*'],
    conditions: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
  });
}
