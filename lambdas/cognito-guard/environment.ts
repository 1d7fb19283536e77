/**
 * The Cognito drift guard's environment contract: {@link CognitoGuardEnvironment}, written by the
 * construct that deploys the guard ({@link cognitoGuardEnvironment}) and parsed by the handler
 * ({@link parseCognitoGuardEnvironment}). Writer errors name the setting, parser errors the
 * variable (`lambdas/shared/environment.ts`).
 *
 * | setting | variable | written as |
 * |---|---|---|
 * | `userPoolId` | `USER_POOL_ID` | the user pool whose clients are checked |
 * | `appRegistryFile` | `APP_REGISTRY_FILE` | the app registry in the asset (`/var/task/apps.json`), the same document `SmartAppRegistry` built the clients from |
 * | `appClientIds` | `APP_CLIENT_IDS` | JSON `{ "<Cognito client id>": "<app id>" }`, one entry per registered app |
 * | `metricNamespace` | `METRIC_NAMESPACE` | CloudWatch namespace of `ClientDrift`, `RegistryExpiring`, `CognitoGuardCheckFailed` |
 * | `expiryWarningDays` | `EXPIRY_WARNING_DAYS` | 1–365; absent: 30 |
 *
 * Types and checks only, no I/O: the handler reads the registry file.
 */
import {
  checked, type Check, optionalJson, optionalWholeNumber, requiredText, userPoolId, wholeNumber, writer,
  EnvironmentSettingError, EnvironmentVariableError, type EnvironmentWriterOptions,
} from '../shared/environment';
import { isObject } from '../shared/json';

/** Everything the Cognito drift guard reads from its environment. */
export interface CognitoGuardEnvironment {
  readonly userPoolId: string;
  /** Absolute path of the registry file in the asset. */
  readonly appRegistryFile: string;
  /** Registered clients: Cognito client id → app id (every app of the registry file). */
  readonly appClientIds: Readonly<Record<string, string>>;
  readonly metricNamespace: string;
  /** @default - `EXPIRY_WARNING_DAYS` of `expectations.ts` (30) */
  readonly expiryWarningDays?: number;
}

export const MAX_EXPIRY_WARNING_DAYS = 365;

/** A Cognito app client id (`[\w+]+`, at most 128). */
export const CLIENT_ID = /^[\w+]{1,128}$/;
const APP_ID = /^[a-z][a-z0-9-]{1,47}$/;
const ASSET_PATH = /^\/[A-Za-z0-9_.\-/]+$/;

const checkNamespace: Check<string> = (v) => (typeof v === 'string' && /^[^:\s][^:]{0,254}$/.test(v) ? undefined : 'must be a CloudWatch namespace');
const checkAssetPath: Check<string> = (v) => (typeof v === 'string' && ASSET_PATH.test(v) ? undefined : 'must be an absolute path');

const NO_CLIENT = 'lists no client: the guard would check nothing';

/** Each entry a client id → an app id, no app twice (an empty object passes: see {@link checkAppClientIds}). */
const checkEntries: Check<Readonly<Record<string, string>>> = (map) => {
  if (!isObject(map)) return 'must be a JSON object of client id → app id';
  const apps = new Set<string>();
  for (const [clientId, appId] of Object.entries(map)) {
    if (!CLIENT_ID.test(clientId)) return 'has a key that is not a client id';
    if (typeof appId !== 'string' || !APP_ID.test(appId)) return `${clientId} must name an app id`;
    if (apps.has(appId)) return `app ${appId} has two clients`;
    apps.add(appId);
  }
  return undefined;
};

/** At least one entry, each a client id → an app id, no app twice. */
export const checkAppClientIds: Check<Readonly<Record<string, string>>> = (map) =>
  checkEntries(map) ?? (Object.keys(map).length === 0 ? NO_CLIENT : undefined);

/**
 * The variables of `settings`.
 * @throws EnvironmentSettingError naming the setting that is invalid
 */
export function cognitoGuardEnvironment(settings: CognitoGuardEnvironment, options: EnvironmentWriterOptions = {}): Record<string, string> {
  const w = writer(options);
  const s = settings;
  for (const setting of ['userPoolId', 'appRegistryFile', 'metricNamespace'] as const) {
    if (typeof s[setting] !== 'string' || s[setting] === '') throw new EnvironmentSettingError(setting, 'is required');
  }
  w.check('userPoolId', s.userPoolId, userPoolId);
  w.check('appRegistryFile', s.appRegistryFile, checkAssetPath);
  w.check('metricNamespace', s.metricNamespace, checkNamespace);
  if (!isObject(s.appClientIds)) throw new EnvironmentSettingError('appClientIds', 'is required');
  if (Object.keys(s.appClientIds).length === 0) throw new EnvironmentSettingError('appClientIds', NO_CLIENT);
  // Client ids are tokens until deployment; app ids are not.
  const apps = Object.values(s.appClientIds);
  if (new Set(apps).size !== apps.length) throw new EnvironmentSettingError('appClientIds', 'names an app twice');
  w.check('appClientIds', Object.fromEntries(Object.entries(s.appClientIds).filter(([k]) => !w.isUnresolved(k))), checkEntries);
  if (s.expiryWarningDays !== undefined) w.check('expiryWarningDays', s.expiryWarningDays, wholeNumber(1, MAX_EXPIRY_WARNING_DAYS));
  const out: Record<string, string> = {
    USER_POOL_ID: s.userPoolId,
    APP_REGISTRY_FILE: s.appRegistryFile,
    APP_CLIENT_IDS: w.toJson(s.appClientIds),
    METRIC_NAMESPACE: s.metricNamespace,
  };
  if (s.expiryWarningDays !== undefined) out.EXPIRY_WARNING_DAYS = String(s.expiryWarningDays);
  out.POWERTOOLS_SERVICE_NAME = 'cognito-guard';
  return out;
}

/**
 * The settings in `env`.
 * @throws EnvironmentVariableError naming the variable that is missing or invalid
 */
export function parseCognitoGuardEnvironment(env: NodeJS.ProcessEnv): CognitoGuardEnvironment {
  const clients = optionalJson(env, 'APP_CLIENT_IDS');
  if (clients === undefined) throw new EnvironmentVariableError('APP_CLIENT_IDS', 'is not set');
  const days = optionalWholeNumber(env, 'EXPIRY_WARNING_DAYS', 1, MAX_EXPIRY_WARNING_DAYS);
  return {
    userPoolId: checked('USER_POOL_ID', requiredText(env, 'USER_POOL_ID'), userPoolId),
    appRegistryFile: checked('APP_REGISTRY_FILE', requiredText(env, 'APP_REGISTRY_FILE'), checkAssetPath),
    appClientIds: { ...checked('APP_CLIENT_IDS', clients as Record<string, string>, checkAppClientIds) },
    metricNamespace: checked('METRIC_NAMESPACE', requiredText(env, 'METRIC_NAMESPACE'), checkNamespace),
    ...(days !== undefined ? { expiryWarningDays: days } : {}),
  };
}
