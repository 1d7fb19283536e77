/**
 * Everything that differs between the kit's three environments, in one place: what a sandbox
 * relaxes, what production forbids, and for each relaxation the check that forbids it in
 * production (a construct's validation, a configuration error, or a nag rule). The README's
 * table is rendered from this list (`test/lib/environment-profile.test.ts` holds them equal), so
 * "sandbox settings promoted to production" has a name for every setting.
 */
import type { DeploymentEnvironment } from './config';

/** One setting that differs between environments. */
export interface EnvironmentDifference {
  /** What differs. */
  readonly setting: string;
  /** The setting in each environment. */
  readonly values: Readonly<Record<DeploymentEnvironment, string>>;
  /** What stops the sandbox value (or any relaxation) from reaching production. */
  readonly enforcedBy: string;
}

export const ENVIRONMENT_DIFFERENCES: readonly EnvironmentDifference[] = [
  {
    setting: 'AWS account',
    values: { sandbox: 'its own, or env-agnostic', staging: 'its own, bound (`env`)', production: 'its own, bound (`env`)' },
    enforcedBy: 'configuration `accounts`: required for staging and production, never shared between environments; FHIR.HIPAA-NoCrossEnvironmentReference (no other environment\'s account or export named)',
  },
  {
    setting: 'FHIR data',
    values: { sandbox: 'synthetic only: HealthLake Synthea preload', staging: 'no preload', production: 'no preload' },
    enforcedBy: '`FhirDatastore`: `preloadSyntheticData` refused outside sandbox; no bulk-import path in any environment',
  },
  {
    setting: 'Custom domain, execute-api endpoint',
    values: { sandbox: 'optional; execute-api on without one', staging: 'optional; execute-api on without one', production: 'required; execute-api endpoint disabled' },
    enforcedBy: '`FhirGateway` (and configuration `domainName`): production without `customDomain` fails the synth; FHIR.HIPAA-APIGWExecuteApiEndpointDisabled',
  },
  {
    setting: 'CORS origins',
    values: { sandbox: 'none unless given', staging: 'none unless given', production: 'must be given (`[]` for none)' },
    enforcedBy: '`FhirGateway` and configuration `corsAllowedOrigins`; `*` is refused everywhere (FHIR.HIPAA-APIGWNoCORSWildcard)',
  },
  {
    setting: 'Security alarm subscriber',
    values: { sandbox: 'optional', staging: 'optional', production: 'required (`alarmEmail`)' },
    enforcedBy: 'configuration `alarmEmail`; FHIR.HIPAA-SNSAlarmTopicSubscribed',
  },
  {
    setting: 'CloudTrail bucket object lock',
    values: { sandbox: 'GOVERNANCE', staging: 'GOVERNANCE', production: 'COMPLIANCE' },
    enforcedBy: '`AuditTrail` (`environment`)',
  },
  {
    setting: 'WAF anonymous-IP rule group',
    values: { sandbox: '`block`, or `count`', staging: '`block`, or `count`', production: '`block` only' },
    enforcedBy: '`FhirFirewall`: `anonymousIpAction: count` fails the synth in production',
  },
  {
    setting: 'Cognito self sign-up',
    values: { sandbox: 'off; `allowSelfSignUpInSandbox` turns it on', staging: 'off', production: 'off' },
    enforcedBy: '`SmartIdentity` refuses `allowSelfSignUpInSandbox` outside sandbox; FHIR.HIPAA-CognitoNoSelfSignUp',
  },
  {
    setting: 'Acknowledging non-waivable rules',
    values: { sandbox: 'allowed, with a reason', staging: 'allowed, with a reason', production: 'refused' },
    enforcedBy: '`acknowledge()` and the FHIR.HIPAA pack (rules marked non-waivable in policies/compliance/RULES.md, e.g. IAMNoPHIDataWildcard)',
  },
  {
    setting: 'Compliance gate for an unmarked stack',
    values: { sandbox: '—', staging: '—', production: 'assumed: a stack that states no environment is judged as production' },
    enforcedBy: '`applyCompliancePacks(app)`',
  },
];

/** The differences as a Markdown table (the README's). */
export function environmentDifferencesMarkdown(rows: readonly EnvironmentDifference[] = ENVIRONMENT_DIFFERENCES): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  const lines = [
    '| setting | sandbox | staging | production | enforced by |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${cell(r.setting)} | ${cell(r.values.sandbox)} | ${cell(r.values.staging)} | ${cell(r.values.production)} | ${cell(r.enforcedBy)} |`),
  ];
  return lines.join('\n');
}
