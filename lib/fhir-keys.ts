import { ArnFormat, Aws, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct, IConstruct } from 'constructs';
import { recordImport } from '../policies/compliance/imported-resources';

/**
 * The platform's three customer-managed keys, as the other constructs use them: ones
 * {@link FhirKeys} created, or ones a platform team already has ({@link FhirKeys.fromKeys}).
 */
export interface IFhirKeys extends IConstruct {
  /** Encrypts PHI at rest: the HealthLake datastore and the kit's DynamoDB tables. */
  readonly data: kms.IKey;
  /** Encrypts CloudWatch log groups in this account and region. */
  readonly logs: kms.IKey;
  /** Encrypts the CloudTrail trail, its bucket and the security-alarm topic. */
  readonly audit: kms.IKey;
  /** The name of the CloudTrail trail the `audit` key policy allows (`AuditTrail` creates the trail with it). */
  readonly auditTrailName: string;
  /** The ARN of that trail (this account and region). */
  readonly auditTrailArn: string;
}

/** Keys a platform team already has ({@link FhirKeys.fromKeys}). */
export interface FhirKeysImport {
  /** Encrypts PHI at rest: `kms.Key.fromKeyArn(scope, 'Data', 'arn:aws:kms:<region>:<account>:key/<key id>')`. */
  readonly data: kms.IKey;
  /** Encrypts every CloudWatch log group of the kit. */
  readonly logs: kms.IKey;
  /** Encrypts the CloudTrail trail, its bucket and the security-alarm topic. */
  readonly audit: kms.IKey;
  /**
   * Name of the CloudTrail trail the `audit` key's policy lets CloudTrail encrypt for
   * (`aws:SourceArn`); `AuditTrail` creates its trail with this name.
   *
   * @default - `<stack name>-audit`
   */
  readonly auditTrailName?: string;
}

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
export class FhirKeys extends Construct implements IFhirKeys {
  /**
   * Keys a platform team already has, used wherever the kit would use its own (HealthLake, the
   * DynamoDB tables, every log group, the trail, its bucket and the alarm topic). Nothing is
   * created: no key, alias or key-policy statement.
   *
   * Checked at synth: each is a key, not an alias (`kms.Alias`, an ARN with `:alias/`: HealthLake
   * takes a key ARN only); a literal ARN is a KMS key ARN
   * (`arn:<partition>:kms:<region>:<account>:key/<key id>`); the three are different keys; a
   * literal key region is the stack's region when the stack has one.
   *
   * Not checkable at synth (the kit cannot read another stack's key): each key is a symmetric
   * `ENCRYPT_DECRYPT` customer-managed key (not AWS managed) in this account and region, with
   * yearly rotation on, not pending deletion, and a key policy that:
   * - lets the account's IAM policies grant its use (the account root as principal), which the
   *   kit's grants (`kms:ViaService` HealthLake, DynamoDB) rely on, and lets HealthLake and
   *   DynamoDB create grants for their resources (deny `kms:CreateGrant` except with
   *   `kms:GrantIsForAWSResource`, AWS Control Tower CT.KMS.PR.3: `denyGrantsExceptForAwsResources()`);
   * - `logs`: allows `logs.<region>.amazonaws.com` `kms:Encrypt*`, `kms:Decrypt*`,
   *   `kms:ReEncrypt*`, `kms:GenerateDataKey*`, `kms:Describe*` with
   *   `kms:EncryptionContext:aws:logs:arn` limited to this account's log groups;
   * - `audit`: allows `cloudtrail.amazonaws.com` `kms:GenerateDataKey*` and `kms:DescribeKey`
   *   with `aws:SourceArn` the trail (`auditTrailArn`), and `cloudwatch.amazonaws.com`
   *   `kms:Decrypt`, `kms:GenerateDataKey*` for this account's alarms (the alarm topic); the
   *   statements `AuditTrail` adds to a key it created are dropped for an imported key;
   * - has no wildcard principal without conditions.
   *
   * The kit does not vouch for these, because the rules that hold the kit's own keys to them
   * (FHIR.HIPAA-KMSKeyRotation, -KMSKeyRetained, -KMSKeyPolicyNoWildcardPrincipal,
   * -KMSKeyCreateGrantRestricted) read only keys in the template. The import is recorded on the
   * returned construct; the constructs that encrypt with the keys copy the record onto their
   * resource (FhirDatastore's datastore for `data`, AuditTrail's trail for `audit`,
   * SegmentedNetwork's flow-log group for `logs`), where the compliance gate reports
   * `FHIR.HIPAA-ImportedResourceAttested[keys]` listing them; the synth fails until it is
   * acknowledged with how, when and by whom they were checked, in every stack that uses the keys:
   * `acknowledge(stack, 'FHIR.HIPAA-ImportedResourceAttested[keys]', reason)`.
   * @throws Error naming the key and what to change when a check fails
   */
  public static fromKeys(scope: Construct, id: string, keys: FhirKeysImport): IFhirKeys {
    return new ImportedFhirKeys(scope, id, keys);
  }

  /** Encrypts PHI at rest: the HealthLake datastore. */
  public readonly data: kms.IKey;
  /** Encrypts CloudWatch log groups in this account and region. */
  public readonly logs: kms.IKey;
  /** Encrypts the CloudTrail trail, its bucket and the alarm topic. */
  public readonly audit: kms.IKey;
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

    const data = key('Data', 'PHI at rest (HealthLake datastore)');
    const logsKey = key('Logs', 'CloudWatch log groups');
    const audit = key('Audit', 'CloudTrail trail, bucket and security alarms');
    this.data = data;
    this.logs = logsKey;
    this.audit = audit;
    for (const k of [data, logsKey, audit]) k.addToResourcePolicy(denyGrantsExceptForAwsResources());

    // CloudWatch Logs may use the logs key only for log groups of this account and region.
    logsKey.addToResourcePolicy(
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
    audit.addToResourcePolicy(
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
    audit.addToResourcePolicy(
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

/** What an imported key must satisfy that the kit cannot check (the record's text, which the finding shows). */
const IMPORTED_KEY_REQUIREMENTS: readonly string[] = [
  'each key is a symmetric customer-managed key of this account and region with yearly rotation on and not pending deletion;',
  'each key policy lets the account\'s IAM policies grant its use, has no unconditioned wildcard principal and denies kms:CreateGrant unless kms:GrantIsForAWSResource (CT.KMS.PR.3);',
  'the logs key policy allows logs.<region>.amazonaws.com for this account\'s log groups (kms:EncryptionContext:aws:logs:arn);',
  'the audit key policy allows cloudtrail.amazonaws.com for the trail (aws:SourceArn) and cloudwatch.amazonaws.com for this account\'s alarms.',
];

/** Key ids: a UUID, or a multi-Region key's `mrk-` and 32 hex digits. */
const KEY_ARN = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):key\/(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/;

/** Keys a platform team already has: see {@link FhirKeys.fromKeys}. */
class ImportedFhirKeys extends Construct implements IFhirKeys {
  public readonly data: kms.IKey;
  public readonly logs: kms.IKey;
  public readonly audit: kms.IKey;
  public readonly auditTrailName: string;
  public readonly auditTrailArn: string;

  constructor(scope: Construct, id: string, keys: FhirKeysImport) {
    super(scope, id);
    const stack = Stack.of(this);
    const roles = ['data', 'logs', 'audit'] as const;
    for (const role of roles) checkImportedKey(stack, role, keys?.[role]);
    for (let i = 0; i < roles.length; i++) {
      for (let j = i + 1; j < roles.length; j++) {
        if (keys[roles[i]].keyArn === keys[roles[j]].keyArn) {
          throw new Error(`FhirKeys.fromKeys: ${roles[i]} and ${roles[j]} are the same key; the kit keeps PHI, logs and audit records under separate keys so that use of each is granted and audited separately: give three different keys.`);
        }
      }
    }
    this.data = keys.data;
    this.logs = keys.logs;
    this.audit = keys.audit;
    this.auditTrailName = keys.auditTrailName ?? `${stack.stackName}-audit`;
    this.auditTrailArn = stack.formatArn({ service: 'cloudtrail', resource: 'trail', resourceName: this.auditTrailName });
    recordImport(this, 'keys', {
      resources: roles.map((role) => keys[role].keyArn),
      requirements: IMPORTED_KEY_REQUIREMENTS,
      rulesThatCannotSee: ['FHIR.HIPAA-KMSKeyRotation', 'FHIR.HIPAA-KMSKeyRetained', 'FHIR.HIPAA-KMSKeyPolicyNoWildcardPrincipal', 'FHIR.HIPAA-KMSKeyCreateGrantRestricted', 'HIPAA.Security-KMSBackingKeyRotationEnabled', 'AwsSolutions-KMS5'],
    });
  }
}

/** What can be checked of an imported key at synth: a key (not an alias), a KMS key ARN, the stack's region. */
function checkImportedKey(stack: Stack, role: 'data' | 'logs' | 'audit', key: kms.IKey | undefined): void {
  const how = `kms.Key.fromKeyArn(scope, '${role}', 'arn:aws:kms:<region>:<account>:key/<key id>')`;
  if (!key || typeof key !== 'object' || typeof key.keyArn !== 'string') {
    throw new Error(`FhirKeys.fromKeys: ${role} is missing; give the key: ${how}.`);
  }
  const arn = key.keyArn;
  if ('aliasName' in key || arn.includes(':alias/')) {
    throw new Error(`FhirKeys.fromKeys: ${role} is a key alias, not a key; HealthLake and CloudWatch Logs take the key's ARN: give ${how}.`);
  }
  if (Token.isUnresolved(arn)) return;
  const match = KEY_ARN.exec(arn);
  if (!match) {
    throw new Error(`FhirKeys.fromKeys: ${role} (${arn.slice(0, 120)}) is not a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<key id>); give ${how}.`);
  }
  if (!Token.isUnresolved(stack.region) && match[1] !== stack.region) {
    throw new Error(`FhirKeys.fromKeys: ${role} is a key in ${match[1]}, and this stack deploys to ${stack.region}; HealthLake, CloudWatch Logs and CloudTrail use keys of their own region: give a key of ${stack.region}.`);
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
