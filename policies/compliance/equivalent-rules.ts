/**
 * Rules of AWS-authored Guard rule sets that check the same thing as a rule of the gate, so that
 * one decision (an acknowledgement with its reason) is seen by every checker:
 *
 * - the AWS Guard Rules Registry (`aws-cloudformation/aws-guard-rules-registry`, its HIPAA
 *   Security rule set): its rules skip a resource whose CloudFormation `Metadata.guard.SuppressedRules`
 *   names them, so the gate writes those names there (`policies/guard-metadata.ts`) for every
 *   acknowledgement, and an outside `cfn-guard validate` over `cdk.out` sees the same decisions;
 * - the AWS Control Tower proactive controls (`policies/compliance/control-tower.ts`, run at synth): an
 *   acknowledgement of a gate rule is also recorded for its Control Tower equivalent, with the
 *   same reason, on each resource of the types that control evaluates.
 *
 * Only rules that check the same property of the same resource types are listed. A rule with no
 * equivalent is simply not here.
 */

/** One gate rule and the AWS-authored rules that check the same. */
export interface RuleEquivalence {
  /** The gate's rule id, without a granular finding: `HIPAA.Security-LambdaInsideVPC`. */
  readonly rule: string;
  /** Guard Rules Registry rule names (the names `Metadata.guard.SuppressedRules` takes). */
  readonly guardRegistry: readonly string[];
  /** AWS Control Tower rule names (cfn-guard rule names of `@cdklabs/cdk-validator-cfnguard`'s bundled controls). */
  readonly controlTower: readonly string[];
  /** The CloudFormation types the equivalents evaluate. */
  readonly types: readonly string[];
}

const LAMBDA = ['AWS::Lambda::Function'];
const IAM = ['AWS::IAM::Role', 'AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy', 'AWS::IAM::User', 'AWS::IAM::Group'];
const BUCKET = ['AWS::S3::Bucket'];
const LOG_GROUP = ['AWS::Logs::LogGroup'];
const KEY = ['AWS::KMS::Key'];

export const RULE_EQUIVALENCES: readonly RuleEquivalence[] = [
  { rule: 'HIPAA.Security-LambdaDLQ', guardRegistry: ['LAMBDA_DLQ_CHECK'], controlTower: [], types: LAMBDA },
  { rule: 'HIPAA.Security-LambdaConcurrency', guardRegistry: ['LAMBDA_CONCURRENCY_CHECK'], controlTower: [], types: LAMBDA },
  { rule: 'HIPAA.Security-LambdaInsideVPC', guardRegistry: ['LAMBDA_INSIDE_VPC'], controlTower: ['lambda_inside_vpc_check'], types: LAMBDA },
  { rule: 'HIPAA.Security-IAMNoInlinePolicy', guardRegistry: ['IAM_NO_INLINE_POLICY_CHECK'], controlTower: [], types: IAM },
  {
    rule: 'HIPAA.Security-IAMPolicyNoStatementsWithAdminAccess', guardRegistry: ['IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS'],
    controlTower: ['iam_inline_policy_no_statements_with_admin_access_check', 'iam_managed_policy_no_statements_with_admin_access_check'], types: IAM,
  },
  {
    rule: 'HIPAA.Security-IAMPolicyNoStatementsWithFullAccess', guardRegistry: ['IAM_POLICY_NO_STATEMENTS_WITH_FULL_ACCESS'],
    controlTower: ['iam_inline_policy_no_statements_with_full_access_check', 'iam_managed_policy_no_statements_with_full_access_check'], types: IAM,
  },
  { rule: 'HIPAA.Security-S3BucketReplicationEnabled', guardRegistry: ['S3_BUCKET_REPLICATION_ENABLED'], controlTower: [], types: BUCKET },
  { rule: 'HIPAA.Security-S3DefaultEncryptionKMS', guardRegistry: ['S3_DEFAULT_ENCRYPTION_KMS'], controlTower: ['s3_bucket_default_encryption_kms_check'], types: BUCKET },
  { rule: 'HIPAA.Security-S3BucketLoggingEnabled', guardRegistry: ['S3_BUCKET_LOGGING_ENABLED'], controlTower: ['s3_bucket_logging_enabled_check'], types: BUCKET },
  { rule: 'HIPAA.Security-S3BucketVersioningEnabled', guardRegistry: ['S3_BUCKET_VERSIONING_ENABLED'], controlTower: ['s3_bucket_versioning_enabled_check'], types: BUCKET },
  { rule: 'HIPAA.Security-S3BucketLevelPublicAccessProhibited', guardRegistry: ['S3_BUCKET_LEVEL_PUBLIC_ACCESS_PROHIBITED'], controlTower: ['s3_bucket_level_public_access_prohibited_check'], types: BUCKET },
  { rule: 'HIPAA.Security-APIGWCacheEnabledAndEncrypted', guardRegistry: ['API_GW_CACHE_ENABLED_AND_ENCRYPTED'], controlTower: ['api_gw_cache_encrypted_check'], types: ['AWS::ApiGateway::Stage'] },
  { rule: 'HIPAA.Security-APIGWExecutionLoggingEnabled', guardRegistry: ['API_GW_EXECUTION_LOGGING_ENABLED'], controlTower: ['api_gw_v1_execution_logging_enabled_check'], types: ['AWS::ApiGateway::Stage'] },
  { rule: 'HIPAA.Security-DynamoDBPITREnabled', guardRegistry: ['DYNAMODB_PITR_ENABLED'], controlTower: ['dynamodb_table_pitr_enabled_check'], types: ['AWS::DynamoDB::Table'] },
  { rule: 'HIPAA.Security-CloudWatchLogGroupEncrypted', guardRegistry: ['CLOUDWATCH_LOG_GROUP_ENCRYPTED'], controlTower: ['cloudwatch_log_group_encrypted_check'], types: LOG_GROUP },
  { rule: 'FHIR.HIPAA-LogGroupCMKEncryption', guardRegistry: ['CLOUDWATCH_LOG_GROUP_ENCRYPTED'], controlTower: ['cloudwatch_log_group_encrypted_check'], types: LOG_GROUP },
  { rule: 'HIPAA.Security-CloudWatchLogGroupRetentionPeriod', guardRegistry: ['CW_LOGGROUP_RETENTION_PERIOD_CHECK'], controlTower: ['cloudwatch_log_group_retention_period_check'], types: LOG_GROUP },
  { rule: 'FHIR.HIPAA-LogGroupRetention', guardRegistry: ['CW_LOGGROUP_RETENTION_PERIOD_CHECK'], controlTower: ['cloudwatch_log_group_retention_period_check'], types: LOG_GROUP },
  { rule: 'HIPAA.Security-SNSEncryptedKMS', guardRegistry: ['SNS_ENCRYPTED_KMS'], controlTower: [], types: ['AWS::SNS::Topic'] },
  { rule: 'FHIR.HIPAA-KMSKeyRotation', guardRegistry: [], controlTower: ['kms_key_rotation_enabled_check'], types: KEY },
  { rule: 'FHIR.HIPAA-KMSKeyCreateGrantRestricted', guardRegistry: [], controlTower: ['kms_create_grant_aws_service_check'], types: KEY },
  { rule: 'FHIR.HIPAA-APIGWDomainTLSPolicy', guardRegistry: [], controlTower: ['api_gw_domain_tls_check'], types: ['AWS::ApiGateway::DomainName'] },
];

/** The equivalences of a gate rule (granular finding and namespace ignored by the caller). */
export function equivalencesOf(rule: string): RuleEquivalence[] {
  return RULE_EQUIVALENCES.filter((e) => e.rule === rule);
}
