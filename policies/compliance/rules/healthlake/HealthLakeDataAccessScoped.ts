import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { Json, asList, asString, cfnProperties, isCfnType, isObject, statementLabel } from '../common/cfn';
import {
  allowedActions, awsManagedPolicyName, isHealthLakeCapableManagedPolicy, isHealthLakeDataAction,
  isServiceWideHealthLakeWildcard, notActionReachesHealthLake, statementsOf,
} from '../common/iam';

/** Condition operators under which `aws:SourceVpce` really restricts (no `IfExists`, no negation, no `ForAllValues`). */
const RESTRICTING_OPERATORS = ['stringequals', 'stringlike', 'foranyvalue:stringequals', 'foranyvalue:stringlike'];

/**
 * No IAM statement grants HealthLake data actions (read, search, create, update, delete,
 * export/import, or any wildcard reaching them) unless it is limited to the VPC endpoint
 * (`aws:SourceVpce` condition), names the actions (no `*`/`healthlake:*`/`NotAction`) and names
 * the datastore (no `Resource: *`, no wildcard ARN, no `NotResource`). Applies to
 * `AWS::IAM::Policy`, `AWS::IAM::ManagedPolicy` and the inline policies and AWS managed
 * policies of `AWS::IAM::Role`. One finding per statement and problem:
 * `Statement::<Sid|index>::NoSourceVpce|WildcardAction|WildcardResource|NotAction|NotResource|UnresolvedAction`
 * (prefixed `<PolicyName>::` for role inline policies) and `ManagedPolicy::<name>`.
 * @param node the CfnResource to check
 */
export function HealthLakeDataAccessScoped(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy', 'AWS::IAM::Role')) return NagRuleCompliance.NOT_APPLICABLE;
  const props = cfnProperties(node);
  const findings: string[] = [];
  if (node.cfnResourceType === 'AWS::IAM::Role') {
    for (const p of asList(props.Policies) ?? []) {
      if (!isObject(p)) continue;
      findings.push(...checkDocument(p.PolicyDocument, `${asString(p.PolicyName) ?? 'InlinePolicy'}::`));
    }
    for (const arn of asList(props.ManagedPolicyArns) ?? []) {
      const name = awsManagedPolicyName(node, arn);
      if (name !== undefined && isHealthLakeCapableManagedPolicy(name)) findings.push(`ManagedPolicy::${name}`);
    }
  } else {
    findings.push(...checkDocument(props.PolicyDocument, ''));
  }
  return findings.length === 0 ? NagRuleCompliance.COMPLIANT : findings;
}

function checkDocument(document: unknown, prefix: string): string[] {
  const findings: string[] = [];
  statementsOf(document).forEach((st, i) => {
    if (st.Effect !== 'Allow') return;
    const where = `${prefix}Statement::${statementLabel(st, i)}`;
    const problems: string[] = [];
    if (st.NotAction !== undefined) {
      if (!notActionReachesHealthLake(st)) return;
      problems.push('NotAction');
    } else {
      const actions = allowedActions(st);
      if (actions === undefined) {
        findings.push(`${where}::UnresolvedAction`);
        return;
      }
      if (!actions.some(isHealthLakeDataAction)) return;
      if (actions.some(isServiceWideHealthLakeWildcard)) problems.push('WildcardAction');
    }
    if (st.NotResource !== undefined) problems.push('NotResource');
    const resources = asList(st.Resource);
    if (resources === undefined || resources.length === 0
      || resources.some((r) => typeof r === 'string' && r.includes('*'))) {
      problems.push('WildcardResource');
    }
    if (!hasSourceVpceCondition(st)) problems.push('NoSourceVpce');
    findings.push(...problems.map((p) => `${where}::${p}`));
  });
  return findings;
}

function hasSourceVpceCondition(statement: Json): boolean {
  const condition = statement.Condition;
  if (!isObject(condition)) return false;
  return Object.entries(condition).some(([operator, block]) => {
    if (!RESTRICTING_OPERATORS.includes(operator.toLowerCase()) || !isObject(block)) return false;
    return Object.entries(block).some(([key, value]) => {
      if (key.toLowerCase() !== 'aws:sourcevpce') return false;
      const values = asList(value);
      return values !== undefined && values.length > 0 && values.every((v) => v !== '*' && v !== '');
    });
  });
}
