/**
 * The SMART authorizer's environment contract: {@link SmartAuthorizerEnvironment}, written by
 * `FhirGateway` ({@link smartAuthorizerEnvironment}) and parsed by the handler
 * ({@link parseSmartAuthorizerEnvironment}). Writer errors name the setting, parser errors the
 * variable (`lambdas/shared/environment.ts`).
 *
 * | setting | variable | written as |
 * |---|---|---|
 * | `userPoolId` | `USER_POOL_ID` | the Cognito user pool id |
 * | `clients` | `CLIENTS` | the registered clients (at least one), a compact client list (`shared/environment.ts`): `<client id>=<tier>,<app id>,<usage key> …`, a field not given left empty, e.g. `1a2b…=low,team-portal` |
 * | `clients[].usageIdentifierKey` | `USAGE_KEY_TEMPLATE` | when every client's usage key is this text with `{app}` replaced by the client's app id (as `SmartAppRegistry` makes them: `ztf-usage-{app}-<suffix>`), the keys are not written one by one; absent: each entry gives its own |
 * | `revocationTable` | `REVOCATION_TABLE` | DynamoDB table of revoked `jti`s and `origin_jti`s |
 * | `metrics` | `APP_METRICS_*` | the per-app metrics (`shared/app-metrics-environment.ts`): the app ids are those of `CLIENTS` (`APP_METRICS_APPS=@CLIENTS`); absent: none recorded |
 *
 * `CLIENTS` and the metrics' client → app map grow by one entry per registered app, and Lambda
 * allows 4 KB of environment: an entry takes about 45 bytes (a 26-character client id, the tier,
 * a 12-character app id). JSON (the format of earlier kit versions) is refused, naming the variable.
 */
import {
  appMetricsEnvironment, checkClientAppEntries, parseAppMetricsEnvironment, type AppMetricsEnvironment,
} from '../shared/app-metrics-environment';
import {
  checked, type Check, CLIENT_ID, clientAppsOf, FIELD_TEXT, objectOfObjects, optionalText, parseClientList, put, requiredText, tableName, userPoolId,
  writeClientList, writer, EnvironmentSettingError, EnvironmentVariableError, type EnvironmentWriterOptions,
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

/** Where a client's app id goes in `USAGE_KEY_TEMPLATE`. */
export const APP_PLACEHOLDER = '{app}';

/** The fields of a `CLIENTS` entry, in order. */
const CLIENT_FIELDS = ['tier', 'app id', 'usage key'] as const;

/** The clients' entries (any number of them); `isToken`: client ids known only at deployment, not checked. */
const checkClientEntries = (isToken: (clientId: string) => boolean = () => false): Check<Readonly<Record<string, AuthorizerClientEnvironment>>> => (clients) => {
  const shape = objectOfObjects(clients);
  if (shape !== undefined) return shape;
  for (const [clientId, entry] of Object.entries(clients)) {
    if (!isToken(clientId) && !CLIENT_ID.test(clientId)) return `has a key that is not a client id: ${JSON.stringify(clientId).slice(0, 80)}`;
    for (const field of ['tier', 'usageIdentifierKey'] as const) {
      const value = (entry as Record<string, unknown>)[field];
      if (value !== undefined && (typeof value !== 'string' || !FIELD_TEXT.test(value))) return `${clientId}.${field} must be a string of printable ASCII without "," or "=" (at most 128)`;
    }
  }
  return undefined;
};

export const checkAuthorizerClients: Check<Readonly<Record<string, AuthorizerClientEnvironment>>> = (clients) => {
  if (isObject(clients) && Object.keys(clients).length === 0) return 'lists no client: register at least one app, or every token is refused';
  return checkClientEntries()(clients);
};

export const checkUsageKeyTemplate: Check<string> = (value) =>
  typeof value === 'string' && FIELD_TEXT.test(value) && value.split(APP_PLACEHOLDER).length === 2
    ? undefined
    : `must hold ${APP_PLACEHOLDER} once (where each client's app id goes), in printable ASCII without "," or "=" (at most 128)`;

/** The usage key of the client of app `appId` under `template`. */
function usageKeyOf(template: string, appId: string): string {
  return template.replace(APP_PLACEHOLDER, () => appId);
}

/**
 * The template every client's usage key follows (its app id in place of {@link APP_PLACEHOLDER}),
 * or `undefined` when some client has no app id or no key, or keys that follow none.
 */
function usageKeyTemplate(clients: ReadonlyArray<readonly [string, AuthorizerClientEnvironment]>, appOf: (clientId: string) => string | undefined): string | undefined {
  if (clients.length === 0) return undefined;
  const [firstId, first] = clients[0];
  const app = appOf(firstId);
  const key = first.usageIdentifierKey;
  if (app === undefined || typeof key !== 'string') return undefined;
  for (let at = key.indexOf(app); at >= 0; at = key.indexOf(app, at + 1)) {
    const template = key.slice(0, at) + APP_PLACEHOLDER + key.slice(at + app.length);
    if (checkUsageKeyTemplate(template) !== undefined) continue;
    if (clients.every(([id, c]) => appOf(id) !== undefined && c.usageIdentifierKey === usageKeyOf(template, appOf(id)!))) return template;
  }
  return undefined;
}

/**
 * The variables of `settings`.
 * @throws EnvironmentSettingError naming the setting that is invalid
 */
export function smartAuthorizerEnvironment(settings: SmartAuthorizerEnvironment, options: EnvironmentWriterOptions = {}): Record<string, string> {
  const w = writer(options);
  if (settings.userPoolId === undefined) throw new EnvironmentSettingError('userPoolId', 'is required');
  w.check('userPoolId', settings.userPoolId, userPoolId);
  if (!isObject(settings.clients)) throw new EnvironmentSettingError('clients', 'is required');
  if (Object.keys(settings.clients).length === 0) throw new EnvironmentSettingError('clients', checkAuthorizerClients(settings.clients)!);
  // Client ids are tokens until deployment; their entries are not.
  w.check('clients', settings.clients, checkClientEntries(w.isUnresolved));
  if (settings.revocationTable !== undefined) w.check('revocationTable', settings.revocationTable, tableName);
  const clients = Object.entries(settings.clients);
  // The metrics' app ids ride in CLIENTS when every client they name is registered here: the map
  // is then written once (APP_METRICS_APPS=@CLIENTS), and the usage keys may follow from it.
  const apps = settings.metrics?.clientApps;
  const inClients = isObject(apps) && Object.keys(apps).every((id) => Object.prototype.hasOwnProperty.call(settings.clients, id));
  const appOf = (clientId: string): string | undefined => (inClients && Object.prototype.hasOwnProperty.call(apps, clientId) ? apps![clientId] : undefined);
  const template = usageKeyTemplate(clients, appOf);
  const out: Record<string, string> = {
    USER_POOL_ID: settings.userPoolId,
    CLIENTS: writeClientList(clients.map(([id, c]) => [id, [c.tier, appOf(id), template === undefined ? c.usageIdentifierKey : undefined]])),
  };
  put(out, 'USAGE_KEY_TEMPLATE', template);
  put(out, 'REVOCATION_TABLE', settings.revocationTable);
  if (settings.metrics !== undefined) {
    const written = Object.fromEntries(clients.flatMap(([id]) => (appOf(id) !== undefined ? [[id, appOf(id)!]] : [])));
    Object.assign(out, appMetricsEnvironment(settings.metrics, options, { variable: 'CLIENTS', clientApps: written }));
  }
  out.POWERTOOLS_SERVICE_NAME = 'smart-authorizer';
  return out;
}

/** Every variable the authorizer reads. */
export const SMART_AUTHORIZER_VARIABLES: readonly string[] = [
  'USER_POOL_ID', 'CLIENTS', 'USAGE_KEY_TEMPLATE', 'REVOCATION_TABLE',
  'APP_METRICS_NAMESPACE', 'APP_METRICS_APPS', 'APP_METRICS_FLUSH_SECONDS', 'APP_METRICS_MAX_BUFFERED', 'POWERTOOLS_SERVICE_NAME',
];

/**
 * The settings in `env`.
 * @throws EnvironmentVariableError naming the variable that is missing or invalid
 */
export function parseSmartAuthorizerEnvironment(env: NodeJS.ProcessEnv): SmartAuthorizerEnvironment {
  const pool = checked('USER_POOL_ID', requiredText(env, 'USER_POOL_ID'), userPoolId);
  const list = parseClientList('CLIENTS', requiredText(env, 'CLIENTS'), CLIENT_FIELDS);
  const templateText = optionalText(env, 'USAGE_KEY_TEMPLATE');
  const template = templateText === undefined ? undefined : checked('USAGE_KEY_TEMPLATE', templateText, checkUsageKeyTemplate);
  const appIds = checked('CLIENTS', clientAppsOf(list, CLIENT_FIELDS.indexOf('app id')), checkClientAppEntries());
  const clients: Record<string, AuthorizerClientEnvironment> = {};
  for (const [clientId, [tier, appId, key]] of list) {
    let usageIdentifierKey = key;
    if (template !== undefined) {
      if (key !== '') throw new EnvironmentVariableError('CLIENTS', `${clientId} gives its usage key, and USAGE_KEY_TEMPLATE gives every client's: one or the other`);
      if (appId === '') throw new EnvironmentVariableError('CLIENTS', `${clientId} names no app id, which USAGE_KEY_TEMPLATE needs for its usage key`);
      usageIdentifierKey = usageKeyOf(template, appId);
    }
    clients[clientId] = { ...(tier !== '' ? { tier } : {}), ...(usageIdentifierKey !== '' ? { usageIdentifierKey } : {}) };
  }
  checked('CLIENTS', clients, checkAuthorizerClients);
  const table = optionalText(env, 'REVOCATION_TABLE');
  const metrics = parseAppMetricsEnvironment(env, { variable: 'CLIENTS', clientApps: appIds });
  return {
    userPoolId: pool,
    clients,
    ...(table !== undefined ? { revocationTable: checked('REVOCATION_TABLE', table, tableName) } : {}),
    ...(metrics !== undefined ? { metrics } : {}),
  };
}
