import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { assessmentExpiredOn } from '../../../app-registry';
import { RegisteredAppMarker, registeredAppOf, synthDate, TODAY_CONTEXT_KEY } from '../../registered-apps';
import { asList, cfnProperties, isCfnType } from '../common/cfn';
import { patientOrUserScopes } from '../common/scopes';

/** Granular finding: the app's security assessment expired before the synth date. */
export const ASSESSMENT_EXPIRED = 'AssessmentExpired';
/** Granular finding: the app holds `patient/` or `user/` scopes and has no BAA reference. */
export const NO_BUSINESS_ASSOCIATE_AGREEMENT = 'NoBusinessAssociateAgreement';

/**
 * The app client of a registered app (marked with `markRegisteredApp`, `policies/compliance/registered-apps.ts`)
 * may go live: its security assessment has not expired on the synth date (the context
 * `zeroTrustFhir:today`, `YYYY-MM-DD`, else today's UTC date; the expiry day itself is still
 * valid), and if it holds `patient/` or `user/` scopes (as registered, or in the client's
 * `AllowedOAuthScopes`) the registry names its business associate agreement (`baa.reference`).
 * Findings: `AssessmentExpired`, `NoBusinessAssociateAgreement`. Not applicable to a client
 * without the marker. A malformed marker or `zeroTrustFhir:today` makes the rule throw, which
 * the pack reports as a finding of the rule.
 * @param node the CfnResource to check
 */
export function CognitoClientAppAssessment(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::Cognito::UserPoolClient')) return NagRuleCompliance.NOT_APPLICABLE;
  const app = registeredAppOf(node);
  if (app === undefined) return NagRuleCompliance.NOT_APPLICABLE;
  const findings: string[] = [];
  if (assessmentExpiredOn(app.assessmentExpires, synthDate(node))) findings.push(ASSESSMENT_EXPIRED);
  if (app.baaReference === undefined && clientPatientOrUserScopes(node, app).length > 0) findings.push(NO_BUSINESS_ASSOCIATE_AGREEMENT);
  return findings.length === 0 ? NagRuleCompliance.COMPLIANT : findings;
}

/**
 * The per-client detail of a finding of {@link CognitoClientAppAssessment}: which app, which
 * date or scopes, and what fixes it. `undefined` for anything else.
 */
export function describeCognitoClientAppAssessment(node: CfnResource, finding: string | undefined): string | undefined {
  const app = registeredAppOf(node);
  if (app === undefined) return undefined;
  const entry = `app "${app.id}" in policies/apps.json`;
  if (finding === ASSESSMENT_EXPIRED) {
    return `The security assessment of ${entry} expired on ${app.assessmentExpires} (assessed ${app.assessmentDate}; synth date ${synthDate(node)}, `
      + `context ${TODAY_CONTEXT_KEY}): reassess the app and update securityAssessment.expires (and its date and reviewer) there, `
      + 'or have a reviewer acknowledge this finding with a reason.';
  }
  if (finding === NO_BUSINESS_ASSOCIATE_AGREEMENT) {
    const scopes = clientPatientOrUserScopes(node, app);
    const shown = scopes.slice(0, 5).join(', ') + (scopes.length > 5 ? ', …' : '');
    return `${entry[0].toUpperCase()}${entry.slice(1)} holds patient/ or user/ scopes (${shown}) without a business associate agreement `
      + `(its security assessment expires ${app.assessmentExpires}): add baa.reference to its entry once the BAA is signed, `
      + 'or have a reviewer acknowledge this finding with a reason.';
  }
  return undefined;
}

/** The `patient/` and `user/` resource scopes of the app: as registered, and on the client itself. */
function clientPatientOrUserScopes(node: CfnResource, app: RegisteredAppMarker): string[] {
  // An unresolved client scope is skipped: the registry's scopes decide.
  return patientOrUserScopes([...app.scopes, ...(asList(cfnProperties(node).AllowedOAuthScopes) ?? [])]);
}
