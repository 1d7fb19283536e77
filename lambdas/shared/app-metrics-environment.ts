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
 * | `clientApps` | `APP_METRICS_APPS` | JSON `{ "<Cognito client id>": "<app id>" }`: the registered clients; any other is `unregistered` |
 * | `flushIntervalSeconds` | `APP_METRICS_FLUSH_SECONDS` | 1–900; absent: 10 |
 * | `maxBufferedRequests` | `APP_METRICS_MAX_BUFFERED` | 1–100000; absent: 500 |
 *
 * `APP_METRICS_APPS` is its own variable (not the proxy's `APP_CLIENT_IDS`, which needs a label
 * policy): about 60 bytes per app of Lambda's 4 KB of environment.
 */
// Types only: `app-metrics.ts` loads Powertools Metrics, which the constructs that write this
// contract (lib/, the installed package) do not ship; the handler requires it when it records.
import type { AppMetrics, AppMetricsOptions } from './app-metrics';
import {
  checked, type Check, optionalJson, optionalText, optionalWholeNumber, wholeNumber, writer,
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

const CLIENT_ID = /^[\x21-\x7e]{1,128}$/;
const APP_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const checkNamespace: Check<string> = (v) => (typeof v === 'string' && /^[^:\s][^:]{0,254}$/.test(v) ? undefined : 'must be a CloudWatch namespace');

export const checkClientApps: Check<Readonly<Record<string, string>>> = (map) => {
  if (!isObject(map)) return 'must be a JSON object of client id → app id';
  for (const [clientId, appId] of Object.entries(map)) {
    if (!CLIENT_ID.test(clientId)) return 'has a key that is not a client id';
    if (typeof appId !== 'string' || !APP_ID.test(appId)) return `${clientId} must name an app id`;
  }
  return undefined;
};

/**
 * The variables of `settings` (merge them into the function's environment).
 * @throws EnvironmentSettingError naming the setting that is invalid
 */
export function appMetricsEnvironment(settings: AppMetricsEnvironment, options: EnvironmentWriterOptions = {}): Record<string, string> {
  const w = writer(options);
  const s = settings;
  const namespace = s.namespace ?? DEFAULT_NAMESPACE;
  w.check('namespace', namespace, checkNamespace);
  if (!isObject(s.clientApps)) throw new EnvironmentSettingError('clientApps', 'is required');
  // Client ids are tokens until deployment; app ids are not.
  if (!w.isUnresolved(s.clientApps)) {
    w.check('clientApps', Object.fromEntries(Object.entries(s.clientApps).filter(([k]) => !w.isUnresolved(k))), checkClientApps);
  }
  if (s.flushIntervalSeconds !== undefined) w.check('flushIntervalSeconds', s.flushIntervalSeconds, wholeNumber(1, MAX_FLUSH_INTERVAL_SECONDS));
  if (s.maxBufferedRequests !== undefined) w.check('maxBufferedRequests', s.maxBufferedRequests, wholeNumber(1, MAX_BUFFERED_REQUESTS));
  const out: Record<string, string> = { APP_METRICS_NAMESPACE: namespace, APP_METRICS_APPS: w.toJson(s.clientApps) };
  if (s.flushIntervalSeconds !== undefined) out.APP_METRICS_FLUSH_SECONDS = String(s.flushIntervalSeconds);
  if (s.maxBufferedRequests !== undefined) out.APP_METRICS_MAX_BUFFERED = String(s.maxBufferedRequests);
  return out;
}

/**
 * The settings in `env`; `undefined` when `APP_METRICS_NAMESPACE` is not set (metrics off).
 * @throws EnvironmentVariableError naming the variable that is missing or invalid
 */
export function parseAppMetricsEnvironment(env: NodeJS.ProcessEnv): AppMetricsEnvironment | undefined {
  const namespace = optionalText(env, 'APP_METRICS_NAMESPACE');
  if (namespace === undefined) {
    for (const name of ['APP_METRICS_APPS', 'APP_METRICS_FLUSH_SECONDS', 'APP_METRICS_MAX_BUFFERED']) {
      if (optionalText(env, name) !== undefined) throw new EnvironmentVariableError(name, 'needs APP_METRICS_NAMESPACE');
    }
    return undefined;
  }
  const apps = optionalJson(env, 'APP_METRICS_APPS');
  if (apps === undefined) throw new EnvironmentVariableError('APP_METRICS_APPS', 'is not set');
  const flush = optionalWholeNumber(env, 'APP_METRICS_FLUSH_SECONDS', 1, MAX_FLUSH_INTERVAL_SECONDS);
  const buffered = optionalWholeNumber(env, 'APP_METRICS_MAX_BUFFERED', 1, MAX_BUFFERED_REQUESTS);
  return {
    namespace: checked('APP_METRICS_NAMESPACE', namespace, checkNamespace),
    clientApps: { ...checked('APP_METRICS_APPS', apps as Record<string, string>, checkClientApps) },
    ...(flush !== undefined ? { flushIntervalSeconds: flush } : {}),
    ...(buffered !== undefined ? { maxBufferedRequests: buffered } : {}),
  };
}

/**
 * The recorder `env` asks for, for the function `service` (the `service` dimension); `undefined`
 * when the metrics are off.
 * @throws EnvironmentVariableError naming the variable that is invalid
 */
export function appMetricsFromEnvironment(
  env: NodeJS.ProcessEnv, service: string, extra: Pick<AppMetricsOptions, 'onError' | 'sink' | 'now'> = {},
): AppMetrics | undefined {
  const settings = parseAppMetricsEnvironment(env);
  if (settings === undefined) return undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { AppMetrics: Recorder } = require('./app-metrics') as typeof import('./app-metrics');
  return new Recorder({ ...settings, service, ...extra });
}
