/**
 * IAM policy helpers for the FHIR.HIPAA rules: statements of a policy document, wildcard action
 * matching, which actions reach HealthLake data, and the policies attached to a role.
 */
import { CfnResource } from 'aws-cdk-lib';
import { HEALTHLAKE_DATA_ACTIONS } from '../../healthlake-actions';
import {
  Json, asList, asString, cfnProperties, isObject, refersTo, referencedResource, renderReferences, stackResources,
} from './cfn';

/**
 * HealthLake actions that read or change PHI: the kit's data-plane list
 * (`policies/compliance/healthlake-actions.ts`) plus the bulk and history actions that also reach FHIR data.
 */
export const HEALTHLAKE_PHI_ACTIONS: readonly string[] = [
  ...HEALTHLAKE_DATA_ACTIONS,
  'healthlake:SearchEverything',
  'healthlake:GetHistoryByResourceId',
  'healthlake:StartFHIRExportJob',
  'healthlake:StartFHIRExportJobWithGet',
  'healthlake:StartFHIRExportJobWithPost',
  'healthlake:StartFHIRImportJob',
  'healthlake:GetExportedFile',
  'healthlake:CancelFHIRExportJobWithDelete',
  'healthlake:DescribeFHIRExportJobWithGet',
];

/**
 * HealthLake control-plane actions that never return or change PHI. Any other `healthlake:`
 * action is treated as a data action, so an action AWS adds later is checked, not ignored.
 */
export const HEALTHLAKE_CONTROL_ACTIONS: readonly string[] = [
  'healthlake:CreateFHIRDatastore',
  'healthlake:DeleteFHIRDatastore',
  'healthlake:DescribeFHIRDatastore',
  'healthlake:ListFHIRDatastores',
  'healthlake:DescribeFHIRExportJob',
  'healthlake:DescribeFHIRImportJob',
  'healthlake:ListFHIRExportJobs',
  'healthlake:ListFHIRImportJobs',
  'healthlake:ListTagsForResource',
  'healthlake:TagResource',
  'healthlake:UntagResource',
];

/** The statements of a resolved policy document (a single statement object counts as one). */
export function statementsOf(document: unknown): Json[] {
  if (!isObject(document)) return [];
  const list = asList(document.Statement) ?? [];
  return list.filter(isObject);
}

/** True when the IAM action pattern (with `*` and `?`) matches `action`; case-insensitive as IAM is. */
export function actionMatches(pattern: string, action: string): boolean {
  const re = new RegExp(`^${pattern.split('').map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('')}$`, 'i');
  return re.test(action);
}

/** True when the pattern contains a wildcard. */
export function isWildcardPattern(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?');
}

/**
 * Whether one action pattern reaches HealthLake PHI: a wildcard matching any known data action,
 * or an exact `healthlake:` action that is not a known control-plane action.
 */
export function isHealthLakeDataAction(pattern: string): boolean {
  if (isWildcardPattern(pattern)) return HEALTHLAKE_PHI_ACTIONS.some((a) => actionMatches(pattern, a));
  const lower = pattern.toLowerCase();
  return lower.startsWith('healthlake:') && !HEALTHLAKE_CONTROL_ACTIONS.some((a) => a.toLowerCase() === lower);
}

/** True when the pattern is `*` or a service-wide `healthlake:*`-like wildcard (`healthlake:*`, `health*:*`). */
export function isServiceWideHealthLakeWildcard(pattern: string): boolean {
  return pattern === '*' || (isWildcardPattern(pattern) && actionMatches(pattern, 'healthlake:*') && actionMatches(pattern, 'healthlake:ZZZNotAnAction'));
}

/** The AWS managed policy name in a managed policy ARN (`arn:…:iam::aws:policy/Name`), if it is one. */
export function awsManagedPolicyName(node: CfnResource, arn: unknown): string | undefined {
  const rendered = renderReferences(node, arn);
  if (rendered === undefined) return undefined;
  const m = /:iam::aws:policy\/(?:.*\/)?([A-Za-z0-9+=,.@_-]+)$/.exec(rendered);
  return m ? m[1] : undefined;
}

/** AWS managed policies that grant HealthLake data access (or everything). */
export function isHealthLakeCapableManagedPolicy(name: string): boolean {
  return /healthlake|^AdministratorAccess$|^PowerUserAccess$/i.test(name);
}

/** A policy document attached to a role, with where it came from (for finding names). */
export interface AttachedDocument {
  readonly source: string;
  readonly document: unknown;
}

/**
 * The policy documents that apply to the role `role` (an `AWS::IAM::Role` of the same stack):
 * its inline `Policies`, `AWS::IAM::Policy` and `AWS::IAM::ManagedPolicy` resources naming it in
 * `Roles`, and in-stack managed policies referenced from its `ManagedPolicyArns`.
 */
export function documentsAttachedToRole(role: CfnResource): AttachedDocument[] {
  const out: AttachedDocument[] = [];
  const props = cfnProperties(role);
  for (const p of asList(props.Policies) ?? []) {
    if (isObject(p)) out.push({ source: `InlinePolicy::${asString(p.PolicyName) ?? '?'}`, document: p.PolicyDocument });
  }
  for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']) {
    for (const policy of stackResources(role, type)) {
      const pp = cfnProperties(policy);
      if ((asList(pp.Roles) ?? []).some((r) => refersTo(r, role))) {
        out.push({ source: policy.node.path, document: pp.PolicyDocument });
      }
    }
  }
  for (const arn of asList(props.ManagedPolicyArns) ?? []) {
    const managed = referencedResource(role, arn, 'AWS::IAM::ManagedPolicy');
    if (managed && !(asList(cfnProperties(managed).Roles) ?? []).some((r) => refersTo(r, role))) {
      out.push({ source: managed.node.path, document: cfnProperties(managed).PolicyDocument });
    }
  }
  return out;
}

/** The literal action patterns of an Allow statement (`undefined` when `Action` is an unresolved intrinsic). */
export function allowedActions(statement: Json): string[] | undefined {
  const list = asList(statement.Action);
  if (list === undefined) return undefined;
  const strings = list.map(asString);
  return strings.every((s): s is string => s !== undefined) ? strings : undefined;
}

/**
 * Whether an Allow statement with `NotAction` still reaches HealthLake data: unless its
 * `NotAction` excludes every data action, it grants them (unresolved `NotAction` counts as yes).
 */
export function notActionReachesHealthLake(statement: Json): boolean {
  const list = asList(statement.NotAction);
  if (list === undefined) return true;
  const excluded = list.map(asString);
  if (excluded.some((s) => s === undefined)) return true;
  return !HEALTHLAKE_PHI_ACTIONS.every((a) => excluded.some((p) => actionMatches(p as string, a)));
}

/**
 * Whether one policy statement lets its principal call HealthLake: an Allow statement with any
 * `healthlake:` action or a wildcard matching a data action (`*`, `health*:*`), or a `NotAction`
 * that does not exclude every data action. An unresolved `Action` counts as no.
 */
export function statementCallsHealthLake(statement: Json): boolean {
  if (statement.Effect !== 'Allow') return false;
  if (statement.NotAction !== undefined) return notActionReachesHealthLake(statement);
  const actions = allowedActions(statement);
  return actions !== undefined && actions.some((a) => a.toLowerCase().startsWith('healthlake:') || isHealthLakeDataAction(a));
}

/**
 * Whether the role can call HealthLake: an Allow statement whose actions reach HealthLake
 * (any `healthlake:` action or a wildcard matching one, `NotAction` statements included), or an
 * AWS managed HealthLake/administrator policy.
 */
export function roleCanCallHealthLake(role: CfnResource): boolean {
  for (const { document } of documentsAttachedToRole(role)) {
    if (statementsOf(document).some(statementCallsHealthLake)) return true;
  }
  for (const arn of asList(cfnProperties(role).ManagedPolicyArns) ?? []) {
    const name = awsManagedPolicyName(role, arn);
    if (name && isHealthLakeCapableManagedPolicy(name)) return true;
  }
  return false;
}

/**
 * Services that hold PHI or the keys to it, with the actions that read or change that data. A
 * service-wide wildcard of one of them, or its data actions on every resource, is what
 * `FHIR.HIPAA-IAMNoPHIDataWildcard` reports (non-waivable in production).
 */
export const PHI_DATA_ACTIONS: Readonly<Record<string, readonly string[]>> = {
  healthlake: HEALTHLAKE_PHI_ACTIONS,
  s3: [
    's3:GetObject', 's3:GetObjectVersion', 's3:GetObjectAttributes', 's3:PutObject', 's3:DeleteObject',
    's3:DeleteObjectVersion', 's3:RestoreObject', 's3:ReplicateObject', 's3:ListBucket', 's3:ListBucketVersions',
  ],
  kms: [
    'kms:Decrypt', 'kms:Encrypt', 'kms:ReEncryptFrom', 'kms:ReEncryptTo', 'kms:GenerateDataKey',
    'kms:GenerateDataKeyWithoutPlaintext', 'kms:GenerateDataKeyPair', 'kms:CreateGrant',
  ],
  dynamodb: [
    'dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:PutItem',
    'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:TransactGetItems',
    'dynamodb:TransactWriteItems', 'dynamodb:PartiQLSelect', 'dynamodb:PartiQLInsert', 'dynamodb:PartiQLUpdate',
    'dynamodb:PartiQLDelete', 'dynamodb:ExportTableToPointInTime', 'dynamodb:GetRecords',
  ],
};

/**
 * AWS managed policies that grant PHI data actions on every resource: administrator, power-user
 * and read-only access, and the full or read-only policies of the PHI services.
 */
export function isPHIDataManagedPolicy(name: string): boolean {
  return /^(AdministratorAccess|PowerUserAccess|ReadOnlyAccess)$/.test(name)
    || /^Amazon(S3|DynamoDB|HealthLake)(FullAccess|ReadOnlyAccess)$/.test(name)
    || isHealthLakeCapableManagedPolicy(name);
}
