/**
 * The SMART façade's environment contract: {@link SmartFacadeEnvironment}, written by
 * `SmartIdentity` ({@link smartFacadeEnvironment}; `SmartAppRegistry` and `FhirGateway` give it
 * the clients and the public URLs) and parsed by the handler ({@link parseSmartFacadeEnvironment}).
 * Writer errors name the setting, parser errors the variable (`lambdas/shared/environment.ts`).
 *
 * | setting | variable | written as |
 * |---|---|---|
 * | `fhirBaseUrl` | `FHIR_BASE_URL` | public FHIR base, e.g. `https://fhir.example.org/r4` (`{version}` for the request's API version) |
 * | `authBaseUrl` | `AUTH_BASE_URL` | public base of the OAuth routes, e.g. `https://fhir.example.org/auth` (`{version}` likewise) |
 * | `cognitoDomainUrl` | `COGNITO_DOMAIN_URL` | the managed-login domain |
 * | `userPoolId` | `USER_POOL_ID` | the Cognito user pool id |
 * | `clients` | `CLIENTS` | {@link FacadeClientEnvironment} by client id, a compact client list (`shared/environment.ts`): `<client id>=<flags>,<refreshTokenValiditySeconds> …`, the flags `c` (confidential), `i` (introspection), `o` (offlineAccess) in that order, a false flag left out, no validity when none is set: `1a2b…=,3600 3c4d…=ci,2592000` |
 * | `revocationTable` | `REVOCATION_TABLE` | the revocation table (the authorizer's) |
 * | `scopesSupported` | `SCOPES_SUPPORTED` | space-separated `scopes_supported` of discovery |
 * | `allowedOrigins` | `ALLOWED_ORIGINS` | space-separated browser origins allowed by CORS on the OAuth routes |
 * | `upstreamTimeoutMs` | `UPSTREAM_TIMEOUT_MS` | time allowed for one Cognito call; absent: 5000 |
 * | `apiVersions` | `API_VERSIONS` | JSON list of `ApiLifecycle` (`shared/api-lifecycle.ts`), one per stage |
 *
 * `CLIENTS` grows by one entry per registered app, and Lambda allows 4 KB of environment: an entry
 * takes about 33 bytes (a 26-character client id, no flag, `3600`). `offlineAccess: false` and an
 * absent `offlineAccess` are one value there (absent, its default); JSON (the format of earlier kit
 * versions) is refused, naming the variable.
 */
import { apiVersionsProblem, parseApiVersions, type ApiLifecycle } from '../shared/api-lifecycle';
import {
  checked, type Check, checkOrigins, CLIENT_ID, httpsUrl, objectOfObjects, optionalJson, optionalWholeNumber, parseClientList, put, readList, requiredText, tableName, userPoolId, wholeNumber,
  writeClientList, writeList, writer, EnvironmentSettingError, EnvironmentVariableError, type EnvironmentWriterOptions,
} from '../shared/environment';
import { isObject } from '../shared/json';

/** One registered app client, as an entry of the façade's `CLIENTS` variable (keyed by client id). */
export interface FacadeClientEnvironment {
  /** The client has a secret (may use `client_credentials`, and Basic at introspection). */
  readonly confidential: boolean;
  /** The client may introspect tokens of any registered client. */
  readonly introspection: boolean;
  /**
   * The app registered `offline_access` (`SmartAppRegistry` then gives its app client the
   * tier's refresh-token validity instead of 60 minutes): the façade's authorization endpoint
   * lets it ask for `offline_access`, and its token responses say so when it holds a refresh token.
   * @default false: `offline_access` is refused at the authorization endpoint (`invalid_scope`)
   */
  readonly offlineAccess?: boolean;
  /**
   * The app client's refresh-token validity, in whole seconds (Cognito: 3600 to 315360000): how
   * long a revoked sign-in (`origin_jti`) of this client must stay revoked.
   * @default - when absent, Cognito's longest (10 years): fail safe
   */
  readonly refreshTokenValiditySeconds?: number;
}

/** The façade's clients, by client id (the `CLIENTS` variable). */
export type FacadeClientsEnvironment = Readonly<Record<string, FacadeClientEnvironment>>;

/** Everything the SMART façade reads from its environment. */
export interface SmartFacadeEnvironment {
  readonly fhirBaseUrl: string;
  readonly authBaseUrl: string;
  readonly cognitoDomainUrl: string;
  readonly userPoolId: string;
  /** The registered clients by client id. */
  readonly clients: FacadeClientsEnvironment;
  readonly revocationTable: string;
  /** `scopes_supported` of the discovery document. @default - openid, fhirUser, launch/patient, offline_access */
  readonly scopesSupported?: readonly string[];
  /** Browser origins allowed by CORS on the OAuth routes. @default - none */
  readonly allowedOrigins?: readonly string[];
  /** Time allowed for one Cognito call, in milliseconds. @default 5000 */
  readonly upstreamTimeoutMs?: number;
  /** The API versions served (a stage each) and their lifecycle. @default - one unnamed version, active */
  readonly apiVersions?: readonly ApiLifecycle[];
}

/** Cognito's range of refresh-token validity, in seconds (60 minutes to 10 years). */
const REFRESH_VALIDITY = wholeNumber(3600, 315_360_000);
/** The façade answers within API Gateway's 29 s; one Cognito call gets at most 20. */
export const MAX_UPSTREAM_TIMEOUT_MS = 20_000;
const SCOPE = /^[\x21-\x7e]{1,256}$/;

/** The clients' entries (any number of them); `isToken`: client ids known only at deployment, not checked. */
const checkClientEntries = (isToken: (clientId: string) => boolean = () => false): Check<FacadeClientsEnvironment> => (clients) => {
  const shape = objectOfObjects(clients);
  if (shape !== undefined) return shape;
  for (const [clientId, entry] of Object.entries(clients)) {
    if (!isToken(clientId) && !CLIENT_ID.test(clientId)) return `has a key that is not a client id: ${JSON.stringify(clientId).slice(0, 80)}`;
    for (const flag of ['confidential', 'introspection', 'offlineAccess'] as const) {
      if (entry[flag] !== undefined && typeof entry[flag] !== 'boolean') return `${clientId}.${flag} must be a boolean`;
    }
    const validity = entry.refreshTokenValiditySeconds;
    if (validity !== undefined) {
      const problem = REFRESH_VALIDITY(validity as number);
      if (problem !== undefined) return `${clientId}.refreshTokenValiditySeconds ${problem} (seconds)`;
    }
  }
  return undefined;
};

export const checkFacadeClients: Check<FacadeClientsEnvironment> = (clients) =>
  isObject(clients) && Object.keys(clients).length === 0 ? 'lists no client: register at least one app' : checkClientEntries()(clients);

/** A client's flags in `CLIENTS`: `c`, `i`, `o` for the true ones, in that order. */
function flagsOf(client: FacadeClientEnvironment): string {
  return `${client.confidential ? 'c' : ''}${client.introspection ? 'i' : ''}${client.offlineAccess ? 'o' : ''}`;
}

/**
 * The clients of a `CLIENTS` value as written (`<client id>=<flags>,<seconds> …`); the parser then
 * checks them ({@link checkFacadeClients}). Exported for the construct's tests, which read back
 * what it wrote.
 * @throws EnvironmentVariableError naming `CLIENTS` when the text is not such a list
 */
export function facadeClientsOf(text: string): Record<string, FacadeClientEnvironment> {
  const clients: Record<string, FacadeClientEnvironment> = {};
  for (const [clientId, [flags, seconds]] of parseClientList('CLIENTS', text, ['flags', 'refreshTokenValiditySeconds'])) {
    if (!/^c?i?o?$/.test(flags)) {
      throw new EnvironmentVariableError('CLIENTS', `${clientId} has flags ${JSON.stringify(flags).slice(0, 40)}: c (confidential), i (introspection), o (offlineAccess), in that order`);
    }
    clients[clientId] = {
      confidential: flags.includes('c'),
      introspection: flags.includes('i'),
      ...(flags.includes('o') ? { offlineAccess: true } : {}),
      ...(seconds !== '' ? { refreshTokenValiditySeconds: /^\d{1,10}$/.test(seconds) ? Number(seconds) : Number.NaN } : {}),
    };
  }
  return clients;
}

export const checkScopes: Check<readonly string[]> = (scopes) =>
  Array.isArray(scopes) && scopes.every((s) => typeof s === 'string' && SCOPE.test(s)) ? undefined : 'must be a list of scopes (no spaces)';

export { checkOrigins };

const checkVersions: Check<readonly ApiLifecycle[]> = apiVersionsProblem;

/**
 * The variables of `settings`.
 * @throws EnvironmentSettingError naming the setting that is invalid
 */
export function smartFacadeEnvironment(settings: SmartFacadeEnvironment, options: EnvironmentWriterOptions = {}): Record<string, string> {
  const w = writer(options);
  const s = settings;
  for (const setting of ['fhirBaseUrl', 'authBaseUrl', 'cognitoDomainUrl'] as const) {
    if (typeof s[setting] !== 'string' || s[setting] === '') throw new EnvironmentSettingError(setting, 'is required');
    w.check(setting, s[setting], httpsUrl);
  }
  if (s.userPoolId === undefined) throw new EnvironmentSettingError('userPoolId', 'is required');
  w.check('userPoolId', s.userPoolId, userPoolId);
  if (!isObject(s.clients)) throw new EnvironmentSettingError('clients', 'is required');
  if (Object.keys(s.clients).length === 0) throw new EnvironmentSettingError('clients', checkFacadeClients(s.clients)!);
  // Client ids are tokens until deployment; their entries are not.
  w.check('clients', s.clients, checkClientEntries(w.isUnresolved));
  if (s.revocationTable === undefined) throw new EnvironmentSettingError('revocationTable', 'is required');
  w.check('revocationTable', s.revocationTable, tableName);
  if (s.scopesSupported !== undefined) w.check('scopesSupported', s.scopesSupported, checkScopes);
  if (s.allowedOrigins !== undefined) w.check('allowedOrigins', s.allowedOrigins, checkOrigins);
  if (s.upstreamTimeoutMs !== undefined) w.check('upstreamTimeoutMs', s.upstreamTimeoutMs, wholeNumber(1, MAX_UPSTREAM_TIMEOUT_MS));
  if (s.apiVersions !== undefined) w.check('apiVersions', s.apiVersions, checkVersions);
  const out: Record<string, string> = {
    FHIR_BASE_URL: s.fhirBaseUrl,
    AUTH_BASE_URL: s.authBaseUrl,
    COGNITO_DOMAIN_URL: s.cognitoDomainUrl,
    USER_POOL_ID: s.userPoolId,
    CLIENTS: writeClientList(Object.entries(s.clients).map(([id, c]) => [id, [flagsOf(c), c.refreshTokenValiditySeconds?.toString()]])),
    REVOCATION_TABLE: s.revocationTable,
  };
  if (s.scopesSupported?.length) out.SCOPES_SUPPORTED = writeList(s.scopesSupported);
  if (s.allowedOrigins?.length) out.ALLOWED_ORIGINS = writeList(s.allowedOrigins);
  put(out, 'UPSTREAM_TIMEOUT_MS', s.upstreamTimeoutMs?.toString());
  if (s.apiVersions !== undefined) out.API_VERSIONS = JSON.stringify(parseApiVersions(s.apiVersions));
  out.POWERTOOLS_SERVICE_NAME = 'smart-facade';
  return out;
}

/** Every variable the façade reads. */
export const SMART_FACADE_VARIABLES: readonly string[] = [
  'FHIR_BASE_URL', 'AUTH_BASE_URL', 'COGNITO_DOMAIN_URL', 'USER_POOL_ID', 'CLIENTS', 'REVOCATION_TABLE',
  'SCOPES_SUPPORTED', 'ALLOWED_ORIGINS', 'UPSTREAM_TIMEOUT_MS', 'API_VERSIONS', 'POWERTOOLS_SERVICE_NAME',
];

/**
 * The settings in `env`.
 * @throws EnvironmentVariableError naming the variable that is missing or invalid
 */
export function parseSmartFacadeEnvironment(env: NodeJS.ProcessEnv): SmartFacadeEnvironment {
  const url = (name: string): string => checked(name, requiredText(env, name), httpsUrl);
  const clients = checked('CLIENTS', facadeClientsOf(requiredText(env, 'CLIENTS')), checkFacadeClients);
  const scopes = readList(env, 'SCOPES_SUPPORTED');
  const origins = readList(env, 'ALLOWED_ORIGINS');
  const timeout = optionalWholeNumber(env, 'UPSTREAM_TIMEOUT_MS', 1, MAX_UPSTREAM_TIMEOUT_MS);
  const versions = optionalJson(env, 'API_VERSIONS');
  return {
    fhirBaseUrl: url('FHIR_BASE_URL'),
    authBaseUrl: url('AUTH_BASE_URL'),
    cognitoDomainUrl: url('COGNITO_DOMAIN_URL'),
    userPoolId: checked('USER_POOL_ID', requiredText(env, 'USER_POOL_ID'), userPoolId),
    clients,
    revocationTable: checked('REVOCATION_TABLE', requiredText(env, 'REVOCATION_TABLE'), tableName),
    ...(scopes.length > 0 ? { scopesSupported: checked('SCOPES_SUPPORTED', scopes, checkScopes) } : {}),
    ...(origins.length > 0 ? { allowedOrigins: checked('ALLOWED_ORIGINS', origins, checkOrigins) } : {}),
    ...(timeout !== undefined ? { upstreamTimeoutMs: timeout } : {}),
    ...(versions !== undefined ? { apiVersions: parseApiVersions(checked('API_VERSIONS', versions as readonly ApiLifecycle[], checkVersions)) } : {}),
  };
}
