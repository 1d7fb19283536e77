/**
 * The whole zero-trust FHIR platform in a team's CDK app: keys, isolated network, HealthLake,
 * audit trail, Cognito as the SMART authorization server, the API with its authorizer, SMART
 * façade and FHIR proxy, and the web ACL with its drift guard, behind the kit's compliance gate,
 * with the evidence the reviewer's report needs (`npx zero-trust-fhir-report` after the synth).
 * `test/package/install.test.ts` synthesizes this file from an installed tarball.
 */
import { App, Duration } from 'aws-cdk-lib';
import { AppRegistryDocument, LabelPolicyDocument, ZeroTrustFhirStack } from 'zero-trust-fhir';
import { applyCompliancePacks } from 'zero-trust-fhir/policies';
import { recordComplianceEvidence } from 'zero-trust-fhir/report/evidence';

const app = new App();
new ZeroTrustFhirStack(app, 'Fhir', {
  environment: 'staging',
  alarmEmail: 'soc@example.org',
  // Your apps and label policy: validated at synth, one Cognito client per app, bundled into the
  // FHIR proxy and shown in the reviewer's report. The kit's samples until you write your own:
  // AppRegistryDocument.fromFile('config/apps.json'), LabelPolicyDocument.fromFile('config/labels.json').
  appRegistry: AppRegistryDocument.sample(),
  labelPolicy: LabelPolicyDocument.sample(),
  // What the FHIR proxy allows besides the defaults (every setting is a prop; README: FhirGateway).
  operations: { meta: { permission: 'r', levels: ['instance'] } },
  consentCacheTtl: Duration.seconds(30),
});
applyCompliancePacks(app);
recordComplianceEvidence(app);
