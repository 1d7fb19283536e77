import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { Json, asList, asString, cfnProperties, isCfnType, isObject, statementLabel } from '../common/cfn';
import { PHI_DATA_ACTIONS, actionMatches, allowedActions, awsManagedPolicyName, isPHIDataManagedPolicy, isWildcardPattern, statementsOf } from '../common/iam';

/** A made-up action name: a pattern matching it matches every action of the service. */
const ANY_ACTION = 'ZzzEveryActionOfTheService';

/**
 * No IAM statement grants the data actions of a service that holds PHI or its keys (`healthlake`,
 * `s3`, `kms`, `dynamodb`, see `PHI_DATA_ACTIONS`) on everything: no `*` or service-wide action
 * wildcard (`healthlake:*`, `s3:*`, `kms:*`, `dynamodb:*`, `s3:*Object*` is not service-wide and
 * is judged by its resources), no data action on `Resource: *` or an ARN that names every
 * resource of the service (`arn:aws:s3:::*`, `…:key/*`, `…:table/*`), no `NotAction` or
 * `NotResource` Allow reaching them, and no AWS managed policy that does the same
 * (`AdministratorAccess`, `PowerUserAccess`, `ReadOnlyAccess`, `AmazonS3FullAccess`, …).
 * Applies to `AWS::IAM::Policy`, `AWS::IAM::ManagedPolicy` and the inline and AWS managed
 * policies of `AWS::IAM::Role`, `AWS::IAM::User` and `AWS::IAM::Group`. Findings, one per
 * statement and problem: `Statement::<Sid|index>::WildcardAction::<pattern>`,
 * `…::WildcardResource::<service>`, `…::NotAction`, `…::NotResource::<service>` (prefixed
 * `<PolicyName>::` for inline policies) and `ManagedPolicy::<name>`. An unresolved `Action`
 * is not judged (it decides whether the rule applies); an unresolved `Resource` list counts as
 * every resource. Non-waivable in production.
 * @param node the CfnResource to check
 */
export function IAMNoPHIDataWildcard(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy', 'AWS::IAM::Role', 'AWS::IAM::User', 'AWS::IAM::Group')) {
    return NagRuleCompliance.NOT_APPLICABLE;
  }
  const props = cfnProperties(node);
  const findings: string[] = [];
  if (node.cfnResourceType === 'AWS::IAM::Policy' || node.cfnResourceType === 'AWS::IAM::ManagedPolicy') {
    findings.push(...checkDocument(props.PolicyDocument, ''));
  } else {
    for (const p of asList(props.Policies) ?? []) {
      if (isObject(p)) findings.push(...checkDocument(p.PolicyDocument, `${asString(p.PolicyName) ?? 'InlinePolicy'}::`));
    }
    for (const arn of asList(props.ManagedPolicyArns) ?? []) {
      const name = awsManagedPolicyName(node, arn);
      if (name !== undefined && isPHIDataManagedPolicy(name)) findings.push(`ManagedPolicy::${name}`);
    }
  }
  return findings.length === 0 ? NagRuleCompliance.COMPLIANT : [...new Set(findings)];
}

function checkDocument(document: unknown, prefix: string): string[] {
  const findings: string[] = [];
  statementsOf(document).forEach((st, i) => {
    if (st.Effect !== 'Allow') return;
    const where = `${prefix}Statement::${statementLabel(st, i)}`;
    let services: string[];
    if (st.NotAction !== undefined) {
      services = servicesReachedByNotAction(st);
      if (services.length > 0) findings.push(`${where}::NotAction`);
    } else {
      const actions = allowedActions(st);
      if (actions === undefined) return;
      for (const pattern of actions) {
        if (isServiceWide(pattern)) findings.push(`${where}::WildcardAction::${pattern}`);
      }
      services = Object.keys(PHI_DATA_ACTIONS).filter((svc) => actions.some((a) => PHI_DATA_ACTIONS[svc].some((d) => actionMatches(a, d))));
    }
    if (services.length === 0) return;
    if (st.NotResource !== undefined) {
      findings.push(...services.map((svc) => `${where}::NotResource::${svc}`));
      return;
    }
    const resources = asList(st.Resource);
    for (const svc of services) {
      if (resources === undefined || resources.length === 0 || resources.some((r) => isEveryResource(r, svc))) {
        findings.push(`${where}::WildcardResource::${svc}`);
      }
    }
  });
  return findings;
}

/** `*`, or a pattern matching every action of a PHI service (`s3:*`, `Dynamo*:*`). */
function isServiceWide(pattern: string): boolean {
  if (pattern === '*') return true;
  if (!isWildcardPattern(pattern)) return false;
  return Object.keys(PHI_DATA_ACTIONS).some((svc) => actionMatches(pattern, `${svc}:${ANY_ACTION}`));
}

/** The PHI services an Allow statement with `NotAction` still reaches (an unresolved list reaches all). */
function servicesReachedByNotAction(statement: Json): string[] {
  const list = asList(statement.NotAction);
  const excluded = list?.map(asString);
  if (excluded === undefined || excluded.some((s) => s === undefined)) return Object.keys(PHI_DATA_ACTIONS);
  return Object.keys(PHI_DATA_ACTIONS).filter((svc) => !PHI_DATA_ACTIONS[svc].every((a) => excluded.some((p) => actionMatches(p as string, a))));
}

/**
 * `*`, or an ARN of `service` whose resource name is `*`: every bucket (`arn:aws:s3:::*`,
 * `arn:aws:s3:::*\/*`), every key (`…:key/*`), table (`…:table/*`, `…:table/*\/index/*`) or
 * datastore (`…:datastore/fhir/*`). A reference, or a name with any literal part, is a resource.
 */
function isEveryResource(resource: unknown, service: string): boolean {
  if (resource === '*') return true;
  const arn = asString(resource);
  if (arn === undefined) return false;
  const parts = arn.split(':');
  if (parts.length < 6 || parts[0] !== 'arn' || (parts[2] !== service && parts[2] !== '*')) return false;
  const path = parts.slice(5).join(':').split('/');
  if (path[0] === '*') return true;
  if (service === 's3') return false;
  // `<type>/<name>…`, and HealthLake's `datastore/fhir/<id>`
  const name = service === 'healthlake' && path[1] === 'fhir' ? path[2] : path[1];
  return name === '*';
}
