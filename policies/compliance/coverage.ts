/**
 * Which rules must have evaluated a resource for "zero unacknowledged findings" to cover it.
 *
 * A nag rule decides only about the resources it recognises. cdk-nag's rules recognise a typed L1
 * (`instanceof CfnFunction`), so a resource added as plain CloudFormation (`new CfnResource(this,
 * id, { type: 'AWS::Lambda::Function', … })`, as CDK's own custom-resource providers are) is
 * `NOT_APPLICABLE` to every one of them: the gate passes without having looked at it.
 *
 * {@link COVERAGE_BASELINE} names, per resource type that can carry PHI or run code, the rules
 * that evaluate every resource of that type they recognise. The `FHIR.HIPAA-ResourceEvaluated`
 * rule reports a resource of such a type that one of them (among the packs of the gate) did not
 * evaluate. {@link withCoverage} gives that rule, while the pack runs, what each rule of the
 * gate's other packs evaluated (observed by `policies/compliance/observe.ts`) and what the pack's own rules
 * evaluated so far.
 */
import { CfnResource } from 'aws-cdk-lib';

/** Rules, by resource type, that evaluate every resource of that type (they return NOT_APPLICABLE for nothing else). */
export const COVERAGE_BASELINE: Readonly<Record<string, readonly string[]>> = {
  'AWS::Lambda::Function': ['HIPAA.Security-LambdaDLQ', 'HIPAA.Security-LambdaConcurrency', 'HIPAA.Security-LambdaInsideVPC', 'AwsSolutions-L1', 'FHIR.HIPAA-LambdaNoSecretsInEnvironment'],
  'AWS::IAM::Role': ['HIPAA.Security-IAMNoInlinePolicy', 'HIPAA.Security-IAMPolicyNoStatementsWithAdminAccess', 'HIPAA.Security-IAMPolicyNoStatementsWithFullAccess', 'AwsSolutions-IAM4', 'AwsSolutions-IAM5', 'FHIR.HIPAA-IAMNoPHIDataWildcard'],
  'AWS::IAM::Policy': ['HIPAA.Security-IAMPolicyNoStatementsWithAdminAccess', 'HIPAA.Security-IAMPolicyNoStatementsWithFullAccess', 'AwsSolutions-IAM5', 'FHIR.HIPAA-IAMNoPHIDataWildcard'],
  'AWS::IAM::ManagedPolicy': ['HIPAA.Security-IAMPolicyNoStatementsWithAdminAccess', 'HIPAA.Security-IAMPolicyNoStatementsWithFullAccess', 'AwsSolutions-IAM5', 'FHIR.HIPAA-IAMNoPHIDataWildcard'],
  'AWS::S3::Bucket': ['HIPAA.Security-S3BucketLevelPublicAccessProhibited', 'HIPAA.Security-S3BucketSSLRequestsOnly', 'HIPAA.Security-S3DefaultEncryptionKMS', 'HIPAA.Security-S3BucketVersioningEnabled', 'HIPAA.Security-S3BucketLoggingEnabled', 'AwsSolutions-S10'],
  'AWS::DynamoDB::Table': ['HIPAA.Security-DynamoDBPITREnabled', 'HIPAA.Security-DynamoDBInBackupPlan'],
  'AWS::Logs::LogGroup': ['HIPAA.Security-CloudWatchLogGroupEncrypted', 'HIPAA.Security-CloudWatchLogGroupRetentionPeriod', 'FHIR.HIPAA-LogGroupCMKEncryption', 'FHIR.HIPAA-LogGroupRetention'],
  'AWS::KMS::Key': ['AwsSolutions-KMS5', 'FHIR.HIPAA-KMSKeyRotation', 'FHIR.HIPAA-KMSKeyRetained', 'FHIR.HIPAA-KMSKeyPolicyNoWildcardPrincipal'],
  'AWS::HealthLake::FHIRDatastore': ['FHIR.HIPAA-HealthLakeCMKEncryption'],
};

/** Resource types that can carry PHI or run code: each must be evaluated by its baseline. */
export const COVERED_RESOURCE_TYPES: readonly string[] = Object.keys(COVERAGE_BASELINE);

/** What the gate's packs evaluated, while one pack runs. */
export interface CoverageContext {
  /** Ids of every rule of the gate's packs (a baseline rule of a pack not in the gate is not expected). */
  readonly ruleIds: ReadonlySet<string>;
  /** The rules that evaluated `node`: the other packs' (already run) and this pack's so far. */
  evaluatedBy(node: CfnResource): ReadonlySet<string>;
}

let current: CoverageContext | undefined;

/** Runs `fn` with `context` as the coverage the `ResourceEvaluated` rule reads. */
export function withCoverage<T>(context: CoverageContext | undefined, fn: () => T): T {
  const previous = current;
  current = context;
  try {
    return fn();
  } finally {
    current = previous;
  }
}

/**
 * The baseline rules of `node`'s type that did not evaluate it (only rules of the gate's packs
 * count); `undefined` when its type has no baseline or there is no coverage context.
 */
export function missingBaselineRules(node: CfnResource, context: CoverageContext | undefined = current): string[] | undefined {
  const baseline = COVERAGE_BASELINE[node.cfnResourceType];
  if (!baseline || !context) return undefined;
  const evaluated = context.evaluatedBy(node);
  return baseline.filter((id) => context.ruleIds.has(id) && !evaluated.has(id));
}
