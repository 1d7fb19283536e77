import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { asNumber, cfnProperties, isCfnType, isIntrinsic, isObject } from '../common/cfn';

/** Longest access or ID token lifetime accepted, in minutes. */
export const MAX_TOKEN_VALIDITY_MINUTES = 60;

const MINUTES_PER_UNIT: Record<string, number> = { seconds: 1 / 60, minutes: 1, hours: 60, days: 1440 };

/**
 * Access and ID tokens of the app client live at most 60 minutes: `AccessTokenValidity` and
 * `IdTokenValidity` read in their `TokenValidityUnits` (`AccessToken` / `IdToken`, default
 * `hours` as in Cognito); absent validity is Cognito's default of 60 minutes. Findings:
 * `AccessToken`, `IdToken` (too long, or an unresolved value or unit).
 * @param node the CfnResource to check
 */
export function CognitoClientTokenValidity(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::Cognito::UserPoolClient')) return NagRuleCompliance.NOT_APPLICABLE;
  const props = cfnProperties(node);
  const findings: string[] = [];
  if (isIntrinsic(props.TokenValidityUnits)) {
    if (props.AccessTokenValidity !== undefined) findings.push('AccessToken');
    if (props.IdTokenValidity !== undefined) findings.push('IdToken');
    return findings.length === 0 ? NagRuleCompliance.COMPLIANT : findings;
  }
  const units = isObject(props.TokenValidityUnits) ? props.TokenValidityUnits : {};
  if (!withinLimit(props.AccessTokenValidity, units.AccessToken)) findings.push('AccessToken');
  if (!withinLimit(props.IdTokenValidity, units.IdToken)) findings.push('IdToken');
  return findings.length === 0 ? NagRuleCompliance.COMPLIANT : findings;
}

function withinLimit(validity: unknown, unit: unknown): boolean {
  if (validity === undefined) return true;
  const amount = asNumber(validity);
  const factor = unit === undefined ? MINUTES_PER_UNIT.hours : typeof unit === 'string' ? MINUTES_PER_UNIT[unit] : undefined;
  if (amount === undefined || factor === undefined) return false;
  return amount * factor <= MAX_TOKEN_VALIDITY_MINUTES;
}
