import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { COVERAGE_BASELINE, missingBaselineRules } from '../../coverage';

/**
 * A resource of a type that can carry PHI or run code (`policies/compliance/coverage.ts`,
 * `COVERAGE_BASELINE`) was evaluated by every baseline rule for its type that the gate runs.
 * Typically fails for a resource added as plain CloudFormation (`CfnResource` with a `type`),
 * which cdk-nag's rules do not recognise. Not applicable to other types, and when the pack runs
 * without the gate's other packs (`FhirHipaaChecks` alone: nothing to compare with).
 * @param node the CfnResource to check
 */
export function ResourceEvaluated(node: CfnResource): NagRuleResult {
  if (!COVERAGE_BASELINE[node.cfnResourceType]) return NagRuleCompliance.NOT_APPLICABLE;
  const missing = missingBaselineRules(node);
  if (missing === undefined) return NagRuleCompliance.NOT_APPLICABLE;
  return missing.length === 0 ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
}

/** The finding's detail: which baseline rules did not evaluate the resource. */
export function describeResourceEvaluated(node: CfnResource): string | undefined {
  const missing = missingBaselineRules(node);
  if (!missing || missing.length === 0) return undefined;
  return `${node.cfnResourceType} ${node.node.path} was not evaluated by ${missing.join(', ')}${node.constructor === CfnResource ? ' (it is a plain CfnResource, which these rules do not read)' : ''}.`;
}
