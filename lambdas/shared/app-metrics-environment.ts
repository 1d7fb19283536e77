/**
 * The per-app metrics' environment contract (`app-metrics.ts`), shared by the functions that
 * record them (the SMART authorizer and the FHIR proxy): {@link AppMetricsEnvironment}, written
 * by the construct ({@link appMetricsEnvironment}, merged into the function's own variables) and
 * parsed by the handler ({@link parseAppMetricsEnvironment}, then {@link appMetricsFromEnvironment}).
 * Writer errors name the setting, parser errors the variable (`environment.ts`).
 *
 * | setting | variable | written as |
 * |---|---|---|
 * | `namespace` | `APP_METRICS_NAMESPACE` | CloudWatch namespace; the metrics are recorded only when it is set |
 * | `clientApps` | `APP_METRICS_APPS` | `@<VARIABLE>`: the same client → app map as that variable of the function holds (the proxy's `@APP_CLIENT_IDS`, the authorizer's `@CLIENTS`); else the map as a compact client list `<Cognito client id>=<app id> …` (`environment.ts`). Any other client is `unregistered` |
 * | `flushIntervalSeconds` | `APP_METRICS_FLUSH_SECONDS` | 1–900; absent: 10 |
 * | `maxBufferedRequests` | `APP_METRICS_MAX_BUFFERED` | 1–100000; absent: 500 |
 *
 * The map has one entry per registered app, and Lambda allows 4 KB of environment: it is written
 * once per function, by reference when the function holds it already ({@link SharedClientApps}).
 * JSON (`{"<client id>":"<app id>"}`, the format of earlier kit versions) is refused, naming the variable.
 */
// Types only: `app-metrics.ts` loads Powertools Metrics, which the constructs that write this
// contract (lib/, the installed package) do not ship; the handler requires it when it records.
import type { AppMetrics, AppMetricsOptions } from './app-metrics';
import {
  checked, type Check, CLIENT_ID, optionalText, optionalWholeNumber, parseClientList, sameEntries, wholeNumber, writeClientApps, writer,
  EnvironmentSettingError, EnvironmentVariableError, type EnvironmentWriterOptions,
} from './environment';
import { isObject } from './json';

/** Everything the per-app metrics read from the environment. */
export interface AppMetricsEnvironment {
  /** @default DEFAULT_APP_METRICS_NAMESPACE */
  readonly namespace?: string;
  /** Registered clients: Cognito client id → registry app id. */
  readonly clientApps: Readonly<Record<string, string>>;
  /** @default 10 */
  readonly flushIntervalSeconds?: number;
  /** @default 500 */
  readonly maxBufferedRequests?: number;
}

/** `DEFAULT_APP_METRICS_NAMESPACE` of `app-metrics.ts` (a test holds them equal). */
export const DEFAULT_NAMESPACE = 'ZeroTrustFhir';

export const MAX_FLUSH_INTERVAL_SECONDS = 900;
export const MAX_BUFFERED_REQUESTS = 100_000;

const APP_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const checkNamespace: Check<string> = (v) => (typeof v === 'string' && /^[^:\s][^:]{0,254}$/.test(v) ? undefined : 'must be a CloudWatch namespace');

/**
 * A client → app map that another variable of the function holds already: `APP_METRICS_APPS` then
 * names that variable (`@APP_CLIENT_IDS`) instead of repeating the map.
 */
export interface SharedClientApps {
  /** The variable, as `APP_METRICS_APPS` names it after `@`. */
  readonly variable: string;
  /** The map it holds (as written, or as parsed); `undefined` when the function has none. */
  readonly clientApps: Readonly<Record<string, string>> | undefined;
}

/**
 * The entries of a client → app map (any number of them); `isToken`: client ids known only at
 * deployment, not checked; `appIdPattern`: the app ids a contract accepts (the proxy's
 * `APP_CLIENT_IDS` names registry app ids).
 */
export const checkClientAppEntries = (isToken: (clientId: string) => boolean = () => false, appIdPattern: RegExp = APP_ID): Check<Readonly<Record<string, string>>> => (map) => {
  if (!isObject(map)) return 'must be an object of client id → app id';
  for (const [clientId, appId] of Object.entries(map)) {
    if (!isToken(clientId) && !CLIENT_ID.test(clientId)) return `has a key that is not a client id: ${JSON.stringify(clientId).slice(0, 80)}`;
    if (typeof appId !== 'string' || !appIdPattern.test(appId)) return `${clientId} must name an app id`;
  }
  return undefined;
};

/** A client → app map of at least one client. */
export const checkClientApps: Check<Readonly<Record<string, string>>> = (map) =>
  isObject(map) && Object.keys(map).length === 0 ? 'lists no client: the metrics need the registered apps' : checkClientAppEntries()(map);

/**
 * The variables of `settings` (merge them into the function's environment).
 * @throws EnvironmentSettingError naming the setting that is invalid
 */
export function appMetricsEnvironment(settings: AppMetricsEnvironment, options: EnvironmentWriterOptions = {}, shared?: SharedClientApps): Record<string, string> {
  const w = writer(options);
  const s = settings;
  const namespace = s.namespace ?? DEFAULT_NAMESPACE;
  w.check('namespace', namespace, checkNamespace);
  if (!isObject(s.clientApps)) throw new EnvironmentSettingError('clientApps', 'is required');
  if (Object.keys(s.clientApps).length === 0) throw new EnvironmentSettingError('clientApps', checkClientApps(s.clientApps)!);
  // Client ids are tokens until deployment; app ids are not.
  w.check('clientApps', s.clientApps, checkClientAppEntries(w.isUnresolved));
  if (s.flushIntervalSeconds !== undefined) w.check('flushIntervalSeconds', s.flushIntervalSeconds, wholeNumber(1, MAX_FLUSH_INTERVAL_SECONDS));
  if (s.maxBufferedRequests !== undefined) w.check('maxBufferedRequests', s.maxBufferedRequests, wholeNumber(1, MAX_BUFFERED_REQUESTS));
  const byReference = shared?.clientApps !== undefined && sameEntries(s.clientApps, shared.clientApps);
  const out: Record<string, string> = { APP_METRICS_NAMESPACE: namespace, APP_METRICS_APPS: byReference ? `@${shared!.variable}` : writeClientApps(s.clientApps) };
  if (s.flushIntervalSeconds !== undefined) out.APP_METRICS_FLUSH_SECONDS = String(s.flushIntervalSeconds);
  if (s.maxBufferedRequests !== undefined) out.APP_METRICS_MAX_BUFFERED = String(s.maxBufferedRequests);
  return out;
}

/**
 * The settings in `env`; `undefined` when `APP_METRICS_NAMESPACE` is not set (metrics off).
 * `shared`: the map another variable of the function holds, which `APP_METRICS_APPS` may name.
 * @throws EnvironmentVariableError naming the variable that is missing or invalid
 */
export function parseAppMetricsEnvironment(env: NodeJS.ProcessEnv, shared?: SharedClientApps): AppMetricsEnvironment | undefined {
  const namespace = optionalText(env, 'APP_METRICS_NAMESPACE');
  if (namespace === undefined) {
    for (const name of ['APP_METRICS_APPS', 'APP_METRICS_FLUSH_SECONDS', 'APP_METRICS_MAX_BUFFERED']) {
      if (optionalText(env, name) !== undefined) throw new EnvironmentVariableError(name, 'needs APP_METRICS_NAMESPACE');
    }
    return undefined;
  }
  const apps = optionalText(env, 'APP_METRICS_APPS');
  if (apps === undefined) throw new EnvironmentVariableError('APP_METRICS_APPS', 'is not set');
  const clientApps = apps.startsWith('@') ? sharedClientApps(apps.slice(1), shared) : clientAppsOfList(apps);
  const flush = optionalWholeNumber(env, 'APP_METRICS_FLUSH_SECONDS', 1, MAX_FLUSH_INTERVAL_SECONDS);
  const buffered = optionalWholeNumber(env, 'APP_METRICS_MAX_BUFFERED', 1, MAX_BUFFERED_REQUESTS);
  return {
    namespace: checked('APP_METRICS_NAMESPACE', namespace, checkNamespace),
    clientApps: { ...checked('APP_METRICS_APPS', clientApps, checkClientApps) },
    ...(flush !== undefined ? { flushIntervalSeconds: flush } : {}),
    ...(buffered !== undefined ? { maxBufferedRequests: buffered } : {}),
  };
}

/** `APP_METRICS_APPS` written as a list. */
function clientAppsOfList(text: string): Record<string, string> {
  return Object.fromEntries([...parseClientList('APP_METRICS_APPS', text, ['app id'])].map(([clientId, [appId]]) => [clientId, appId]));
}

/** `APP_METRICS_APPS` written as `@<variable>`. */
function sharedClientApps(variable: string, shared: SharedClientApps | undefined): Readonly<Record<string, string>> {
  if (shared === undefined) throw new EnvironmentVariableError('APP_METRICS_APPS', `names @${variable.slice(0, 64)}, but this function holds the map in no other variable: write it as <client id>=<app id> …`);
  if (variable !== shared.variable) throw new EnvironmentVariableError('APP_METRICS_APPS', `names @${variable.slice(0, 64)}; this function's map can only be @${shared.variable}`);
  if (shared.clientApps === undefined || Object.keys(shared.clientApps).length === 0) {
    throw new EnvironmentVariableError('APP_METRICS_APPS', `names @${shared.variable}, which maps no client to an app`);
  }
  return shared.clientApps;
}

/**
 * The recorder `env` asks for, for the function `service` (the `service` dimension); `undefined`
 * when the metrics are off. `shared`: as for {@link parseAppMetricsEnvironment}.
 * @throws EnvironmentVariableError naming the variable that is invalid
 */
export function appMetricsFromEnvironment(
  env: NodeJS.ProcessEnv, service: string, extra: Pick<AppMetricsOptions, 'onError' | 'sink' | 'now'> = {}, shared?: SharedClientApps,
): AppMetrics | undefined {
  const settings = parseAppMetricsEnvironment(env, shared);
  if (settings === undefined) return undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { AppMetrics: Recorder } = require('./app-metrics') as typeof import('./app-metrics');
  return new Recorder({ ...settings, service, ...extra });
}
