import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { apiAssociationsOfWebAcl } from '../common/apigw';
import { Json, asList, asString, cfnProperties, definedKeys, isCfnType, isObject } from '../common/cfn';

/** The AWS managed rule groups a web ACL in front of the FHIR API must run, blocking. */
export const REQUIRED_MANAGED_RULE_GROUPS = [
  'AWSManagedRulesCommonRuleSet',
  'AWSManagedRulesKnownBadInputsRuleSet',
  'AWSManagedRulesSQLiRuleSet',
  'AWSManagedRulesAmazonIpReputationList',
] as const;

/**
 * The one rule of a required group that may be set to Count: the common rule set's 8 KB body
 * limit, which FHIR bundles exceed, provided the ACL enforces its own (larger) body size limit.
 */
export const COUNT_EXCEPTION = { group: 'AWSManagedRulesCommonRuleSet', rule: 'SizeRestrictions_BODY' } as const;

/**
 * A web ACL associated with an API Gateway stage runs the AWS managed rule groups
 * `AWSManagedRulesCommonRuleSet`, `AWSManagedRulesKnownBadInputsRuleSet`,
 * `AWSManagedRulesSQLiRuleSet` and `AWSManagedRulesAmazonIpReputationList` and a rate-based
 * rule, all blocking: each group's `OverrideAction` is `None`, no `RuleActionOverrides` /
 * `ExcludedRules` entry turns one of its rules to Count or Allow — except the common set's
 * `SizeRestrictions_BODY` set to Count (never Allow) when the ACL has its own blocking
 * `SizeConstraintStatement` on the body — and the rate-based rule's `Action` is `Block`. Top-level rules only. Not applicable to
 * an ACL no association ties to an API. Findings: `Missing::<group>`, `NotBlocking::<group>`,
 * `CountOverride::<group>::<rule>`, `Missing::RateBasedRule`, `NotBlocking::RateBasedRule`,
 * `RulesUnresolved`.
 * @param node the CfnResource to check
 */
export function WAFv2ManagedRuleGroups(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::WAFv2::WebACL')) return NagRuleCompliance.NOT_APPLICABLE;
  if (apiAssociationsOfWebAcl(node).length === 0) return NagRuleCompliance.NOT_APPLICABLE;
  const rules = asList(cfnProperties(node).Rules);
  if (rules === undefined) return ['RulesUnresolved'];
  const objects = rules.filter(isObject);
  const findings: string[] = [];
  const ownBodySizeLimit = objects.some((r) => blocks(r.Action) && hasBodySizeConstraint(r.Statement));

  for (const group of REQUIRED_MANAGED_RULE_GROUPS) {
    const rule = objects.find((r) => managedGroupName(r) === group);
    if (!rule) {
      findings.push(`Missing::${group}`);
      continue;
    }
    if (!overrideIsNone(rule.OverrideAction)) findings.push(`NotBlocking::${group}`);
    const statement = (rule.Statement as Json).ManagedRuleGroupStatement as Json;
    for (const { name, action } of countedRules(statement)) {
      // The exception is a Count only: Allow would skip every later rule, the body-size one included.
      const excepted = group === COUNT_EXCEPTION.group && name === COUNT_EXCEPTION.rule && action === 'count' && ownBodySizeLimit;
      if (!excepted) findings.push(`CountOverride::${group}::${name}`);
    }
  }

  const rateRules = objects.filter((r) => isObject(r.Statement) && r.Statement.RateBasedStatement !== undefined);
  if (rateRules.length === 0) findings.push('Missing::RateBasedRule');
  else if (!rateRules.some((r) => blocks(r.Action))) findings.push('NotBlocking::RateBasedRule');
  return findings.length === 0 ? NagRuleCompliance.COMPLIANT : findings;
}

function managedGroupName(rule: Json): string | undefined {
  const statement = isObject(rule.Statement) ? rule.Statement.ManagedRuleGroupStatement : undefined;
  if (!isObject(statement) || asString(statement.VendorName) !== 'AWS') return undefined;
  return asString(statement.Name);
}

function overrideIsNone(action: unknown): boolean {
  return isObject(action) && definedKeys(action).length === 1 && action.None !== undefined;
}

function blocks(action: unknown): boolean {
  return isObject(action) && definedKeys(action).length === 1 && action.Block !== undefined;
}

/**
 * Rules of a managed group set to Count or Allow (or excluded, which counts), with how; an
 * unresolved entry is `?`, never an exception.
 */
function countedRules(statement: Json): Array<{ name: string; action: 'count' | 'other' }> {
  const out: Array<{ name: string; action: 'count' | 'other' }> = [];
  for (const o of asList(statement.RuleActionOverrides) ?? ['?']) {
    if (!isObject(o)) {
      out.push({ name: '?', action: 'other' });
      continue;
    }
    const use = o.ActionToUse;
    const onlyCount = isObject(use) && definedKeys(use).length === 1 && use.Count !== undefined;
    if (!isObject(use) || use.Count !== undefined || use.Allow !== undefined) out.push({ name: asString(o.Name) ?? '?', action: onlyCount ? 'count' : 'other' });
  }
  for (const e of asList(statement.ExcludedRules) ?? ['?']) {
    out.push({ name: isObject(e) ? asString(e.Name) ?? '?' : '?', action: 'other' });
  }
  return out;
}

function hasBodySizeConstraint(statement: unknown): boolean {
  const size = isObject(statement) ? statement.SizeConstraintStatement : undefined;
  return isObject(size) && isObject(size.FieldToMatch) && size.FieldToMatch.Body !== undefined;
}
