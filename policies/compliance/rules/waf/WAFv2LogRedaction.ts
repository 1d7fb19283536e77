import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { asList, asString, cfnProperties, isCfnType, isObject } from '../common/cfn';

/** Request headers whose values WAF logs must never hold (bearer tokens, session cookies). */
export const REDACTED_HEADERS = ['authorization', 'cookie'] as const;

/**
 * The WAF logging configuration (`AWS::WAFv2::LoggingConfiguration`) redacts the
 * `authorization` and `cookie` headers: `RedactedFields` has a `SingleHeader` entry for each
 * (names compared case-insensitively). An unresolved `RedactedFields` redacts nothing.
 * Findings: `NotRedacted::authorization`, `NotRedacted::cookie`.
 * @param node the CfnResource to check
 */
export function WAFv2LogRedaction(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::WAFv2::LoggingConfiguration')) return NagRuleCompliance.NOT_APPLICABLE;
  const fields = asList(cfnProperties(node).RedactedFields) ?? [];
  const redacted = new Set(fields
    .map((f) => (isObject(f) && isObject(f.SingleHeader) ? asString(f.SingleHeader.Name)?.toLowerCase() : undefined))
    .filter((n): n is string => n !== undefined));
  const missing = REDACTED_HEADERS.filter((h) => !redacted.has(h)).map((h) => `NotRedacted::${h}`);
  return missing.length === 0 ? NagRuleCompliance.COMPLIANT : missing;
}
