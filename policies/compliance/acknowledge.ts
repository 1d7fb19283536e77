/**
 * `acknowledge(scope, ruleId, reason)`: the documented way to accept a compliance finding.
 *
 * - The reason is required: missing, empty or only whitespace throws. It is what the reviewer
 *   reads in the report, so say how the control is met another way or why it does not apply.
 * - The id may be given bare (`FHIR.HIPAA-HealthLakeDataAccessScoped[Statement::0::NoSourceVpce]`,
 *   `AwsSolutions-IAM5[Action::s3:*]`, `HIPAA.Security-S3BucketReplicationEnabled`) or exactly as
 *   the synth prints it after "Acknowledge with" (`HIPAA.Security::HIPAA.Security-…`). It is read
 *   by `policies/compliance/rule-ids.ts`, the same code the reviewer's report reads acknowledgements with, and
 *   recorded so that both the pack and CDK honour it: a nag pack's rule bare, another plugin's
 *   rule (`CloudFormation-Validate::W3010`) with its namespace.
 * - A `FHIR.HIPAA` id that is not a rule of the pack throws (a typo would otherwise acknowledge
 *   nothing, silently).
 * - A rule that is non-waivable in production (`FhirHipaaChecks.NON_WAIVABLE_IN_PRODUCTION`)
 *   throws when `scope` is known, at the call, to be in or to hold a production stack. Where the
 *   environment is only stated later, the pack refuses the acknowledgement at synth with a
 *   `fatal` finding instead; either way it never clears the finding in production.
 */
import { Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { deploymentEnvironmentSource, reachesProduction } from './environment';
import { FHIR_HIPAA_PACK_NAME, FHIR_HIPAA_RULE_IDS, NON_WAIVABLE_IN_PRODUCTION } from './fhir-hipaa-checks';
import { isAnnotationNamespace, packOfRuleId, parseRuleId } from './rule-ids';

/** The nag packs of the gate, by rule id prefix. */
const NAG_PACKS: readonly string[] = [FHIR_HIPAA_PACK_NAME, 'HIPAA.Security', 'AwsSolutions'];

/**
 * Acknowledges the finding `ruleId` on `scope` (the narrowest construct it is reported on, or an
 * ancestor to cover all of them) with `reason`.
 * @throws Error when the reason is missing or blank, the id is malformed or names no `FHIR.HIPAA`
 *   rule, or the rule is non-waivable and `scope` reaches a production stack
 */
export function acknowledge(scope: IConstruct, ruleId: string, reason: string): void {
  if (!scope || typeof scope !== 'object' || !('node' in scope)) {
    throw new Error('acknowledge: the first argument must be the construct the finding is on');
  }
  const id = acknowledgementId(ruleId);
  if (typeof reason !== 'string' || reason.trim() === '') {
    throw new Error(`acknowledge: ${id} on ${scope.node.path || 'the app'} needs a reason: say how the control is met another way, or why it does not apply`);
  }
  const { rule } = parseRuleId(id);
  if (NON_WAIVABLE_IN_PRODUCTION.includes(rule) && reachesProduction(scope)) {
    const assumed = deploymentEnvironmentSource(scope) === 'gate-default'
      ? ' (the stack states no environment, and the compliance gate treats that as production)' : '';
    throw new Error(`acknowledge: ${rule} cannot be acknowledged in production${assumed}: it is non-waivable there. Fix the finding on ${scope.node.path || 'the app'} instead (policies/compliance/RULES.md: ${rule}).`);
  }
  Validations.of(scope).acknowledge({ id, reason: reason.trim() });
}

/**
 * The key `acknowledge` records for `ruleId`: a nag pack's rule without namespace (the pack
 * itself clears it, and the report finds it), another plugin's rule with its namespace (only CDK
 * clears those).
 * @throws Error when the id is not a string, is malformed, names a different pack in its
 *   namespace than in its prefix, or is an unknown `FHIR.HIPAA` rule
 */
export function acknowledgementId(ruleId: string): string {
  if (typeof ruleId !== 'string' || ruleId.trim() === '') {
    throw new Error('acknowledge: the rule id is missing; give it as the synth prints it, e.g. FHIR.HIPAA-LogGroupRetention');
  }
  const parsed = parseRuleId(ruleId);
  const shown = JSON.stringify(ruleId.trim().slice(0, 120));
  if (/\s/.test(parsed.ruleName) || parsed.ruleName === '' || (parsed.namespace !== undefined && parsed.namespace.trim() === '')
    || (parsed.ruleName.includes('[') && parsed.finding === undefined)) {
    throw new Error(`acknowledge: ${shown} is not a rule id; give it as the synth prints it, e.g. FHIR.HIPAA-LogGroupRetention or AwsSolutions-IAM5[Action::s3:*]`);
  }
  const pack = packOfRuleId(parsed.ruleName, NAG_PACKS);
  if (pack !== undefined && parsed.namespace !== undefined && !isAnnotationNamespace(parsed.namespace) && parsed.namespace !== pack) {
    throw new Error(`acknowledge: ${shown} puts a ${pack} rule under the namespace "${parsed.namespace}"; use ${parsed.ruleName} or ${pack}::${parsed.ruleName}`);
  }
  if (pack === FHIR_HIPAA_PACK_NAME && !FHIR_HIPAA_RULE_IDS.includes(parsed.rule)) {
    throw new Error(`acknowledge: ${shown} is not a rule of the ${FHIR_HIPAA_PACK_NAME} pack (policies/compliance/RULES.md lists them)`);
  }
  if (pack !== undefined || parsed.namespace === undefined || isAnnotationNamespace(parsed.namespace)) return parsed.ruleName;
  return `${parsed.namespace}::${parsed.ruleName}`;
}
