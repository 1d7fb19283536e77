/**
 * What a registered app's Cognito app client must be, computed from its registry entry
 * (`policies/apps.json`), and how a client as Cognito describes it differs from that. Pure (no
 * AWS SDK, no CDK): the Cognito drift guard compares with it, and `SmartAppRegistry` can build
 * each client from the same {@link expectedClient}, so what is deployed and what is checked
 * cannot disagree (a test synthesizes the construct and finds no drift in what it deploys).
 *
 * Expected of every client (the construct's rules):
 * - OAuth on (`AllowedOAuthFlowsUserPoolClient`), the authorization code flow (PKCE enforced by
 *   the façade) for apps with users, client credentials only for a confidential app whose scopes
 *   are all `system/`; never implicit;
 * - allowed scopes exactly the registered ones in Cognito form (`fhirUser`, `offline_access` and
 *   `online_access` have no Cognito scope);
 * - callback URLs exactly the registered redirect URIs (none for client credentials), no logout
 *   URLs;
 * - access and ID tokens by risk tier ({@link TIER_DEFAULTS}), refresh tokens the tier's days
 *   with `offline_access`, else 60 minutes; compared in seconds, whatever units Cognito reports;
 * - token revocation on; `ALLOW_REFRESH_TOKEN_AUTH` the only explicit auth flow;
 * - a client secret exactly when the app is `confidential`.
 *
 * And of the registry itself: a security assessment or business associate agreement that
 * expires within {@link EXPIRY_WARNING_DAYS} days (or has expired) is reported.
 */
import type { RiskTier } from '../../policies/app-registry';
import { TIER_DEFAULTS } from '../../policies/app-registry';
import { SCOPES_WITHOUT_COGNITO_SCOPE, toCognitoScope } from '../shared/smart-scopes';

/** The registry fields the expectations read (a `RegisteredApp` has them all). */
export interface RegistryEntry {
  readonly id: string;
  readonly tier: RiskTier;
  readonly clientType: 'public' | 'confidential';
  readonly redirectUris: readonly string[];
  readonly scopes: readonly string[];
  readonly securityAssessment: { readonly expires: string };
  /** `expires`, the last day the agreement covers, is read when the registry has it. */
  readonly baa?: { readonly reference: string; readonly expires?: string };
}

/** The OAuth flows a kit client may have. */
export type OAuthFlow = 'code' | 'client_credentials' | 'implicit';

/** A registered app's client as it must be. Lists are sorted; validities in seconds. */
export interface ExpectedClient {
  readonly appId: string;
  /** The client name `SmartAppRegistry` gives it: the app id. */
  readonly clientName: string;
  readonly allowedOAuthFlowsUserPoolClient: true;
  readonly allowedOAuthFlows: readonly OAuthFlow[];
  readonly allowedOAuthScopes: readonly string[];
  readonly callbackUrls: readonly string[];
  readonly logoutUrls: readonly string[];
  readonly accessTokenValiditySeconds: number;
  readonly idTokenValiditySeconds: number;
  readonly refreshTokenValiditySeconds: number;
  readonly enableTokenRevocation: true;
  readonly explicitAuthFlows: readonly string[];
  readonly generateSecret: boolean;
}

/** SMART scopes with no Cognito counterpart (the trigger sets the claim; refresh lifetime stands in). */
export const NOT_COGNITO_SCOPES: readonly string[] = SCOPES_WITHOUT_COGNITO_SCOPE;
/** OpenID scopes Cognito knows by name. */
const OPENID_SCOPES: ReadonlySet<string> = new Set(['openid', 'profile']);

/** Refresh-token lifetime of a client whose app did not register `offline_access` (Cognito's least). */
export const NO_OFFLINE_REFRESH_SECONDS = 60 * 60;
/** The only explicit auth flow a kit client has: refresh through the OAuth token endpoint. */
export const EXPECTED_EXPLICIT_AUTH_FLOWS: readonly string[] = ['ALLOW_REFRESH_TOKEN_AUTH'];
/** How many days ahead an expiring assessment or agreement is reported. */
export const EXPIRY_WARNING_DAYS = 30;

/**
 * The Cognito scope of a registered SMART scope: `openid`/`profile` as they are, a resource or
 * launch scope as `<resource server>/<name>` (the SMART text itself), `undefined` for a scope
 * Cognito has no counterpart for ({@link NOT_COGNITO_SCOPES}).
 * @throws Error for a scope that cannot be a Cognito scope (the registry refuses those)
 */
export function cognitoScopeOf(scope: string, appId = '?'): string | undefined {
  if (OPENID_SCOPES.has(scope)) return scope;
  if (NOT_COGNITO_SCOPES.includes(scope)) return undefined;
  const mapped = toCognitoScope(scope);
  if (!mapped) throw new Error(`app "${appId}" scope "${scope}" has no Cognito scope; register SMART resource or launch scopes only.`);
  return `${mapped.resourceServer}/${mapped.scopeName}`;
}

/** True for an app that signs no user in: a confidential client holding only `system/` scopes. */
export function isSystemOnly(app: Pick<RegistryEntry, 'scopes'>): boolean {
  return app.scopes.every((s) => s.startsWith('system/'));
}

const sorted = (values: Iterable<string>): string[] => [...new Set(values)].sort();

/** The client `app` must have. */
export function expectedClient(app: RegistryEntry): ExpectedClient {
  const tier = TIER_DEFAULTS[app.tier];
  const systemOnly = isSystemOnly(app);
  const scopes = app.scopes.map((s) => cognitoScopeOf(s, app.id)).filter((s): s is string => s !== undefined);
  return {
    appId: app.id,
    clientName: app.id,
    allowedOAuthFlowsUserPoolClient: true,
    allowedOAuthFlows: systemOnly ? ['client_credentials'] : ['code'],
    allowedOAuthScopes: sorted(scopes),
    callbackUrls: systemOnly ? [] : sorted(app.redirectUris),
    logoutUrls: [],
    accessTokenValiditySeconds: tier.accessTokenMinutes * 60,
    idTokenValiditySeconds: tier.idTokenMinutes * 60,
    refreshTokenValiditySeconds: app.scopes.includes('offline_access') ? tier.refreshTokenDays * 86_400 : NO_OFFLINE_REFRESH_SECONDS,
    enableTokenRevocation: true,
    explicitAuthFlows: [...EXPECTED_EXPLICIT_AUTH_FLOWS],
    generateSecret: app.clientType === 'confidential',
  };
}

// ---------------------------------------------------------------------------------------------
// Drift
// ---------------------------------------------------------------------------------------------

/**
 * An app client as `DescribeUserPoolClient` returns it: the fields compared (a structural
 * subset of the SDK's `UserPoolClientType`, so this module needs no SDK).
 */
export interface DescribedClient {
  readonly ClientId?: string;
  readonly ClientName?: string;
  /** Only its presence is read; it never leaves {@link clientDrift}. */
  readonly ClientSecret?: string;
  readonly AllowedOAuthFlowsUserPoolClient?: boolean;
  readonly AllowedOAuthFlows?: readonly string[];
  readonly AllowedOAuthScopes?: readonly string[];
  readonly CallbackURLs?: readonly string[];
  readonly LogoutURLs?: readonly string[];
  readonly AccessTokenValidity?: number;
  readonly IdTokenValidity?: number;
  readonly RefreshTokenValidity?: number;
  readonly TokenValidityUnits?: { readonly AccessToken?: string; readonly IdToken?: string; readonly RefreshToken?: string };
  readonly EnableTokenRevocation?: boolean;
  readonly ExplicitAuthFlows?: readonly string[];
}

/**
 * The kinds of drift, each a finding of its own:
 * - `ClientMissing`: a registered app's client does not exist;
 * - `UnknownClient`: the user pool has a client that is no registered app's;
 * - `OAuthDisabled`: `AllowedOAuthFlowsUserPoolClient` is off;
 * - `FlowsChanged`: OAuth flows other than the expected one (implicit added, say);
 * - `ScopesChanged`: scopes added or removed;
 * - `CallbackUrlsChanged`, `LogoutUrlsChanged`: URLs added or removed;
 * - `TokenValidityChanged`: an access, ID or refresh token lives longer or shorter;
 * - `RevocationDisabled`: token revocation is off;
 * - `AuthFlowsChanged`: explicit auth flows (SRP, password, custom) added or removed;
 * - `SecretChanged`: a public app's client has a secret, or a confidential app's has none.
 */
export const DRIFT_KINDS = [
  'ClientMissing',
  'UnknownClient',
  'OAuthDisabled',
  'FlowsChanged',
  'ScopesChanged',
  'CallbackUrlsChanged',
  'LogoutUrlsChanged',
  'TokenValidityChanged',
  'RevocationDisabled',
  'AuthFlowsChanged',
  'SecretChanged',
] as const;
export type DriftKind = (typeof DRIFT_KINDS)[number];

/** One difference, with what was expected and found (never a secret: only whether one exists). */
export interface DriftFinding {
  readonly kind: DriftKind;
  /** The registered app; absent for an unknown client. */
  readonly appId?: string;
  readonly clientId: string;
  /** The client's field, e.g. `AllowedOAuthScopes`, `AccessTokenValidity`. */
  readonly field?: string;
  /** Values found that the registry does not have (lists). */
  readonly added?: readonly string[];
  /** Values the registry has that were not found (lists). */
  readonly removed?: readonly string[];
  readonly expected?: string | number | boolean;
  readonly actual?: string | number | boolean;
  readonly detail: string;
}

const UNIT_SECONDS: Readonly<Record<string, number>> = { seconds: 1, minutes: 60, hours: 3600, days: 86_400 };

/**
 * A validity in seconds from a value and its unit. Cognito's defaults when no unit is reported:
 * hours for access and ID tokens, days for refresh tokens; when no value is reported: 1 hour,
 * 1 hour, 30 days.
 */
export function validitySeconds(value: number | undefined, unit: string | undefined, token: 'access' | 'id' | 'refresh'): number {
  const defaultUnit = token === 'refresh' ? 'days' : 'hours';
  const v = value ?? (token === 'refresh' ? 30 : 1);
  return v * (UNIT_SECONDS[unit ?? defaultUnit] ?? UNIT_SECONDS[defaultUnit]);
}

function listDrift(
  kind: DriftKind, field: string, expected: readonly string[], actual: readonly string[] | undefined, who: { appId: string; clientId: string },
): DriftFinding | undefined {
  const want = new Set(expected);
  const have = new Set(actual ?? []);
  const added = [...have].filter((v) => !want.has(v)).sort();
  const removed = [...want].filter((v) => !have.has(v)).sort();
  if (added.length === 0 && removed.length === 0) return undefined;
  const parts = [added.length > 0 ? `added ${added.join(', ')}` : '', removed.length > 0 ? `removed ${removed.join(', ')}` : ''].filter((p) => p !== '');
  return { kind, ...who, field, ...(added.length > 0 ? { added } : {}), ...(removed.length > 0 ? { removed } : {}), detail: `${field}: ${parts.join('; ')}` };
}

const VALIDITIES = [
  { token: 'access', field: 'AccessTokenValidity', unit: 'AccessToken', expected: 'accessTokenValiditySeconds' },
  { token: 'id', field: 'IdTokenValidity', unit: 'IdToken', expected: 'idTokenValiditySeconds' },
  { token: 'refresh', field: 'RefreshTokenValidity', unit: 'RefreshToken', expected: 'refreshTokenValiditySeconds' },
] as const;

/** Every difference between the client as it must be and as Cognito describes it. */
export function clientDrift(expected: ExpectedClient, actual: DescribedClient, clientId: string = actual.ClientId ?? '?'): DriftFinding[] {
  const who = { appId: expected.appId, clientId };
  const findings: DriftFinding[] = [];
  const push = (f: DriftFinding | undefined): void => {
    if (f) findings.push(f);
  };
  if (actual.AllowedOAuthFlowsUserPoolClient !== true) {
    push({ kind: 'OAuthDisabled', ...who, field: 'AllowedOAuthFlowsUserPoolClient', expected: true, actual: false, detail: 'AllowedOAuthFlowsUserPoolClient: OAuth is off for the client' });
  }
  push(listDrift('FlowsChanged', 'AllowedOAuthFlows', expected.allowedOAuthFlows, actual.AllowedOAuthFlows, who));
  push(listDrift('ScopesChanged', 'AllowedOAuthScopes', expected.allowedOAuthScopes, actual.AllowedOAuthScopes, who));
  push(listDrift('CallbackUrlsChanged', 'CallbackURLs', expected.callbackUrls, actual.CallbackURLs, who));
  push(listDrift('LogoutUrlsChanged', 'LogoutURLs', expected.logoutUrls, actual.LogoutURLs, who));
  for (const v of VALIDITIES) {
    const want = expected[v.expected];
    const have = validitySeconds(actual[v.field], actual.TokenValidityUnits?.[v.unit], v.token);
    if (have !== want) {
      push({ kind: 'TokenValidityChanged', ...who, field: v.field, expected: want, actual: have, detail: `${v.field}: ${have} s instead of ${want} s` });
    }
  }
  if (actual.EnableTokenRevocation !== true) {
    push({ kind: 'RevocationDisabled', ...who, field: 'EnableTokenRevocation', expected: true, actual: false, detail: 'EnableTokenRevocation: token revocation is off' });
  }
  push(listDrift('AuthFlowsChanged', 'ExplicitAuthFlows', expected.explicitAuthFlows, actual.ExplicitAuthFlows, who));
  const hasSecret = typeof actual.ClientSecret === 'string' && actual.ClientSecret !== '';
  if (hasSecret !== expected.generateSecret) {
    push({
      kind: 'SecretChanged', ...who, field: 'ClientSecret', expected: expected.generateSecret, actual: hasSecret,
      detail: expected.generateSecret ? 'ClientSecret: the confidential app\'s client has no secret' : 'ClientSecret: the public app\'s client has a secret',
    });
  }
  return findings;
}

// ---------------------------------------------------------------------------------------------
// Registry dates
// ---------------------------------------------------------------------------------------------

/** What expires: the security assessment, or the business associate agreement. */
export type ExpiringDocument = 'securityAssessment' | 'baa';

export interface ExpiryFinding {
  readonly appId: string;
  readonly document: ExpiringDocument;
  /** The last day covered (`YYYY-MM-DD`). */
  readonly expires: string;
  /** Days from today (UTC) to `expires`; negative once expired. */
  readonly daysLeft: number;
  readonly expired: boolean;
  readonly detail: string;
}

const DAY_MS = 86_400_000;

function daysBetween(today: Date, isoDay: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDay);
  if (!m) return undefined;
  const end = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  const start = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  return Math.round((end - start) / DAY_MS);
}

/**
 * The app's assessment and agreement that expire within `withinDays` days of `today` (UTC), or
 * have expired. The expiry day itself is still covered (as `assessmentExpiredOn` has it).
 */
export function registryExpiries(app: RegistryEntry, today: Date, withinDays: number = EXPIRY_WARNING_DAYS): ExpiryFinding[] {
  const dated: Array<[ExpiringDocument, string | undefined]> = [
    ['securityAssessment', app.securityAssessment?.expires],
    ['baa', app.baa?.expires],
  ];
  const findings: ExpiryFinding[] = [];
  for (const [document, expires] of dated) {
    if (expires === undefined) continue;
    const daysLeft = daysBetween(today, expires);
    if (daysLeft === undefined || daysLeft > withinDays) continue;
    const what = document === 'baa' ? 'business associate agreement' : 'security assessment';
    const expired = daysLeft < 0;
    findings.push({
      appId: app.id, document, expires, daysLeft, expired,
      detail: expired ? `the ${what} expired after ${expires}` : `the ${what} expires after ${expires} (${daysLeft} day${daysLeft === 1 ? '' : 's'} left)`,
    });
  }
  return findings;
}

// ---------------------------------------------------------------------------------------------
// Names the construct wires
// ---------------------------------------------------------------------------------------------

/** 1 when the app's client differs from the registry (or is missing), else 0; `AppId` `unregistered` for unknown clients. */
export const CLIENT_DRIFT_METRIC = 'ClientDrift';
/** 1 when the app's assessment or agreement expires within {@link EXPIRY_WARNING_DAYS} days or has expired, else 0. */
export const REGISTRY_EXPIRING_METRIC = 'RegistryExpiring';
/** 1 when a Cognito or CloudWatch call failed, so some drift is undetermined, else 0. */
export const CHECK_FAILED_METRIC = 'CognitoGuardCheckFailed';
/** Dimensions of the guard's metrics: the user pool checked, and (per-app metrics) the app. */
export const USER_POOL_DIMENSION = 'UserPoolId';
export const APP_ID_DIMENSION = 'AppId';
/** `AppId` of the {@link CLIENT_DRIFT_METRIC} that counts clients no registered app owns. */
export const UNKNOWN_CLIENTS_APP_ID = 'unregistered';

/** The Cognito API calls (CloudTrail management events) that change an app client: each runs the guard. */
export const CLIENT_CHANGE_EVENTS: readonly string[] = ['CreateUserPoolClient', 'UpdateUserPoolClient', 'DeleteUserPoolClient'];

/**
 * The EventBridge pattern of {@link CLIENT_CHANGE_EVENTS} on one user pool, as CloudTrail
 * delivers them (`AWS API Call via CloudTrail`; a trail must log management events).
 */
export function clientChangeEventPattern(userPoolId: string): Record<string, unknown> {
  return {
    source: ['aws.cognito-idp'],
    'detail-type': ['AWS API Call via CloudTrail'],
    detail: { eventSource: ['cognito-idp.amazonaws.com'], eventName: [...CLIENT_CHANGE_EVENTS], requestParameters: { userPoolId: [userPoolId] } },
  };
}

/** The IAM actions the guard needs on the user pool (besides `cloudwatch:PutMetricData`). */
export const GUARD_COGNITO_ACTIONS: readonly string[] = ['cognito-idp:ListUserPoolClients', 'cognito-idp:DescribeUserPoolClient'];
