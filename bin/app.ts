#!/usr/bin/env node
/**
 * The reference zero-trust FHIR platform. Configuration comes from the `cdk.json` context key
 * `zeroTrustFhir`, overridden whole with `-c zeroTrustFhir='{"environment":"staging"}'` or key by
 * key with `-c zeroTrustFhir:environment=staging` (see `loadZeroTrustFhirConfig`). The compliance
 * gate is told the same environment as the stack. Each environment has its own AWS account
 * (`accounts`); staging and production are bound to theirs, a sandbox may stay env-agnostic. No
 * credentials or context lookup is needed to synthesize.
 */
import { App, Duration } from 'aws-cdk-lib';
import { loadZeroTrustFhirConfig, ZeroTrustFhirStack } from '../lib';
import { recordComplianceEvidence } from '../lib/report/evidence';
import { applyCompliancePacks } from '../policies';

export interface BuildAppOptions {
  /** Register the compliance packs on the app (the benchmark builds a baseline without them). @default true */
  readonly withCompliancePacks?: boolean;
  /**
   * Run the AWS Control Tower cross-check (cfn-guard) with the packs (the benchmark measures the
   * packs with and without it). @default - on when `@cdklabs/cdk-validator-cfnguard` is installed
   */
  readonly awsControlTower?: boolean;
}

export function buildApp(app: App = new App(), options: BuildAppOptions = {}): { app: App; stack: ZeroTrustFhirStack } {
  const config = loadZeroTrustFhirConfig(app);
  const stack = new ZeroTrustFhirStack(app, config.stackName, {
    // Bound to the environment's own account and region (staging and production must name one);
    // a sandbox without one synthesizes env-agnostic. No lookup either way (AZs are Fn::GetAZs).
    ...(config.account ? { env: { account: config.account.account, region: config.account.region } } : {}),
    environment: config.environment,
    ...(config.apiVersions ? { apiVersions: config.apiVersions } : {}),
    maxAzs: config.maxAzs,
    logRetention: config.logRetentionDays,
    auditBucketRetentionDays: config.auditBucketRetentionDays,
    alarmEmail: config.alarmEmail,
    corsAllowedOrigins: config.corsAllowedOrigins,
    customDomain: config.domainName && config.certificateArn ? { domainName: config.domainName, certificateArn: config.certificateArn } : undefined,
    authorizerCacheTtl: Duration.seconds(config.authorizerCacheTtlSeconds),
    description: `zero-trust-fhir reference platform (${config.environment})`,
  });
  if (options.withCompliancePacks ?? true) {
    applyCompliancePacks(app, { environment: config.environment, ...(options.awsControlTower !== undefined ? { awsControlTower: options.awsControlTower } : {}) });
  }
  if (options.withCompliancePacks ?? true) recordComplianceEvidence(app);
  return { app, stack };
}

if (require.main === module) {
  try {
    buildApp().app.synth();
  } catch (err) {
    // A configuration error is a message for the user, not a stack trace.
    console.error((err as Error).message);
    process.exit(1);
  }
}
