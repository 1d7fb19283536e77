/**
 * Lambda entry point of the Cognito app-client drift guard: wires the environment to
 * {@link createCognitoGuard}. Run by an EventBridge schedule and by an EventBridge rule on the
 * CloudTrail events that change an app client (`clientChangeEventPattern` of `expectations.ts`);
 * on demand too (`aws lambda invoke`). Returns the report; drift, expiries and failed checks are
 * also logged (field names and values, never a secret).
 *
 * The environment is the contract of `environment.ts` ({@link CognitoGuardEnvironment}, parsed
 * here by {@link parseCognitoGuardEnvironment}); the registry file it names is read and validated
 * once per container, and every app of `APP_CLIENT_IDS` must be in it.
 *
 * A configuration error fails the invocation (Lambda retries it, then the dead-letter queue
 * receives the event) and the guard publishes nothing, which an alarm on
 * `CognitoGuardCheckFailed` with missing data treated as breaching catches.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { loadAppRegistry } from '../../policies/app-registry';
import { parseCognitoGuardEnvironment } from './environment';
import { CognitoGuard, CognitoGuardReport, createCognitoGuard, triggerOf } from './guard';

const logger = new Logger({ serviceName: 'cognito-guard' });

/** Builds the guard from the environment; throws naming the variable (or the app) at fault. */
export function guardFromEnvironment(env: NodeJS.ProcessEnv, clients?: { cognito?: CognitoIdentityProviderClient; cloudwatch?: CloudWatchClient }): CognitoGuard {
  const s = parseCognitoGuardEnvironment(env);
  const registry = loadAppRegistry(s.appRegistryFile);
  const apps = Object.entries(s.appClientIds).map(([clientId, appId]) => {
    const app = registry.find((a) => a.id === appId);
    if (!app) throw new Error(`APP_CLIENT_IDS.${clientId}: app ${appId} is not in APP_REGISTRY_FILE`);
    return { clientId, app };
  });
  const unmapped = registry.filter((a) => !apps.some((r) => r.app.id === a.id)).map((a) => a.id);
  if (unmapped.length > 0) throw new Error(`APP_CLIENT_IDS: no client for app ${unmapped.join(', ')} of APP_REGISTRY_FILE`);
  return createCognitoGuard({
    client: clients?.cognito ?? new CognitoIdentityProviderClient({}),
    cloudwatch: clients?.cloudwatch ?? new CloudWatchClient({}),
    userPoolId: s.userPoolId,
    apps,
    namespace: s.metricNamespace,
    expiryWarningDays: s.expiryWarningDays,
  });
}

let guard: CognitoGuard | undefined;

export async function handler(event: unknown): Promise<CognitoGuardReport> {
  if (!guard) {
    try {
      guard = guardFromEnvironment(process.env);
    } catch (err) {
      logger.error('Cognito guard configuration is invalid', { error: err instanceof Error ? err.message : 'unknown' });
      throw err;
    }
  }
  const report = await guard.check(triggerOf(event));
  const where = { userPoolId: report.userPoolId, trigger: report.trigger };
  if (report.drift.length > 0) logger.error('Cognito app client drift detected', { ...where, drift: report.drift });
  if (report.expiring.length > 0) logger.warn('Registry assessment or agreement expiring', { ...where, expiring: report.expiring });
  if (report.failed.length > 0) logger.error('Cognito guard checks failed', { ...where, failed: report.failed });
  if (report.ok) logger.info('No Cognito app client drift', { ...where, apps: report.apps.length });
  return report;
}
