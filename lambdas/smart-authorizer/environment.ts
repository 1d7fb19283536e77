/**
 * The SMART authorizer's environment contract: {@link SmartAuthorizerEnvironment}, written by
 * `FhirGateway` ({@link smartAuthorizerEnvironment}) and parsed by the handler
 * ({@link parseSmartAuthorizerEnvironment}). Writer errors name the setting, parser errors the
 * variable (`lambdas/shared/environment.ts`).
 *
 * | setting | variable | written as |
 * |---|---|---|
 * | `userPoolId` | `USER_POOL_ID` | the Cognito user pool id |
 * | `clients` | `CLIENTS` | JSON `{ "<clientId>": { "tier": "low", "usageIdentifierKey": "…" } }`: the registered clients, at least one |
 * | `revocationTable` | `REVOCATION_TABLE` | DynamoDB table of revoked `jti`s and `origin_jti`s |
 * | `metrics` | `APP_METRICS_*` | the per-app metrics (`shared/app-metrics-environment.ts`); absent: none recorded |
 */
import { appMetricsEnvironment, parseAppMetricsEnvironment, type AppMetricsEnvironment } from '../shared/app-metrics-environment';
import {
  checked, type Check, objectOfObjects, optionalJson, optionalText, put, requiredText, tableName, userPoolId, writer,
  EnvironmentSettingError, EnvironmentVariableError, type EnvironmentWriterOptions,
} from '../shared/environment';
import { isObject } from '../shared/json';

/** One registered client, as an entry of `CLIENTS` (keyed by client id). */
export interface AuthorizerClientEnvironment {
  /** The app's risk tier, passed to the proxy in the authorizer context. @default '' */
  readonly tier?: string;
  /** The value of the app's API key, returned as `usageIdentifierKey` (API key source AUTHORIZER). @default - none */
  readonly usageIdentifierKey?: string;
}

/** Everything the SMART authorizer reads from its environment. */
export interface SmartAuthorizerEnvironment {
  readonly userPoolId: string;
  /** The registered clients by client id: every other client's tokens are refused. */
  readonly clients: Readonly<Record<string, AuthorizerClientEnvironment>>;
  /** The revocation table. @default - no revocation check */
  readonly revocationTable?: string;
  /** Per-app metrics (CloudWatch EMF), service `smart-authorizer`. @default - none recorded */
  readonly metrics?: AppMetricsEnvironment;
}

const TEXT = /^[\x21-\x7e]{1,128}$/;

export const checkAuthorizerClients: Check<Readonly<Record<string, AuthorizerClientEnvironment>>> = (clients) => {
  const shape = objectOfObjects(clients);
  if (shape !== undefined) return shape;
  if (Object.keys(clients).length === 0) return 'lists no client: register at least one app, or every token is refused';
  for (const [clientId, entry] of Object.entries(clients)) {
    if (!isObject(entry)) return `${clientId} must be an object`;
    for (const field of ['tier', 'usageIdentifierKey'] as const) {
      if (entry[field] !== undefined && (typeof entry[field] !== 'string' || !TEXT.test(entry[field] as string))) return `${clientId}.${field} must be a string`;
    }
  }
  return undefined;
};

/**
 * The variables of `settings`.
 * @throws EnvironmentSettingError naming the setting that is invalid
 */
export function smartAuthorizerEnvironment(settings: SmartAuthorizerEnvironment, options: EnvironmentWriterOptions = {}): Record<string, string> {
  const w = writer(options);
  if (settings.userPoolId === undefined) throw new EnvironmentSettingError('userPoolId', 'is required');
  w.check('userPoolId', settings.userPoolId, userPoolId);
  if (!isObject(settings.clients)) throw new EnvironmentSettingError('clients', 'is required');
  // Client ids are tokens until deployment; their entries are not.
  w.check('clients', settings.clients, checkAuthorizerClients);
  if (settings.revocationTable !== undefined) w.check('revocationTable', settings.revocationTable, tableName);
  const out: Record<string, string> = { USER_POOL_ID: settings.userPoolId, CLIENTS: w.toJson(settings.clients) };
  put(out, 'REVOCATION_TABLE', settings.revocationTable);
  if (settings.metrics !== undefined) Object.assign(out, appMetricsEnvironment(settings.metrics, options));
  out.POWERTOOLS_SERVICE_NAME = 'smart-authorizer';
  return out;
}

/**
 * The settings in `env`.
 * @throws EnvironmentVariableError naming the variable that is missing or invalid
 */
export function parseSmartAuthorizerEnvironment(env: NodeJS.ProcessEnv): SmartAuthorizerEnvironment {
  const pool = checked('USER_POOL_ID', requiredText(env, 'USER_POOL_ID'), userPoolId);
  const clients = optionalJson(env, 'CLIENTS');
  if (clients === undefined) throw new EnvironmentVariableError('CLIENTS', 'is not set');
  const parsed = checked('CLIENTS', clients as Record<string, AuthorizerClientEnvironment>, checkAuthorizerClients);
  const table = optionalText(env, 'REVOCATION_TABLE');
  const metrics = parseAppMetricsEnvironment(env);
  return {
    userPoolId: pool,
    clients: Object.fromEntries(Object.entries(parsed).map(([id, c]) => [id, { ...(c.tier !== undefined ? { tier: c.tier } : {}), ...(c.usageIdentifierKey !== undefined ? { usageIdentifierKey: c.usageIdentifierKey } : {}) }])),
    ...(table !== undefined ? { revocationTable: checked('REVOCATION_TABLE', table, tableName) } : {}),
    ...(metrics !== undefined ? { metrics } : {}),
  };
}
