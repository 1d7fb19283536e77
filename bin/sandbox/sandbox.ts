/**
 * The local sandbox, wired: the kit's own handlers (SMART façade, SMART authorizer, FHIR proxy,
 * created by their factories exactly as the Lambda entry points create them) behind the gateway
 * stand-in (`gateway.ts`, one HTTP-to-event adapter), the Cognito stand-in
 * (`cognito-standin.ts`, running the kit's pre-token trigger) and the e2e FHIR server standing
 * in for HealthLake (SigV4-checked), loaded with synthetic patients only. Everything listens on
 * 127.0.0.1.
 *
 * Used by `bin/sandbox.ts` (`npm run sandbox`), by the end-to-end tests and by the bench, so what
 * the tests prove is what the developer runs.
 *
 * As deployed: the proxy enforces the kit's shipped label policy (`policies/labels.json`) with
 * the sandbox app cleared for `N` only, validates writes against `policies/profiles/`, reads the
 * readable non-compartment types of `FhirGateway`'s default; the authorizer and the façade share
 * one revocation store (here in memory: the DynamoDB store is tested against dynalite).
 */
import * as path from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AuditEvent } from 'fhir/r4';
import { createProxy, type FhirProxy } from '../../lambdas/fhir-proxy/proxy';
import type { AppClearance } from '../../lambdas/fhir-proxy/guard';
import { createValidator, loadProfilesDir } from '../../lambdas/fhir-proxy/validate';
import { InMemoryRevocationStore, type RevocationStore } from '../../lambdas/shared/revocation';
import { createAuthorizer, type AuthorizerLogger, type SmartAuthorizer } from '../../lambdas/smart-authorizer/authorizer';
import { SCOPES_GRANTED_BY_THE_KIT } from '../../lambdas/smart-facade/authorize';
import { createFacade, type FacadeLogger, type SmartFacade } from '../../lambdas/smart-facade/facade';
import { loadLabelPolicy } from '../../policies/label-policy';
import { startFhirServer, type FhirServer } from '../../test/e2e/fhir-server';
import { startCognitoStandin, type CognitoStandin, type StandinUser } from './cognito-standin';
import { createGateway, type AccessLogEntry, type Gateway, type GatewayRoute } from './gateway';
import type { ApiIdentity } from './http-adapter';
import { SYNTHETIC_PATIENT_IDS, SYNTHETIC_RESOURCES, SYNTHETIC_USERS } from './synthetic-data';

export const SANDBOX_USER_POOL_ID = 'us-east-1_SandboxLocal1';
export const SANDBOX_CLIENT_ID = 'sandboxlocalsmartapp000001';
export const SANDBOX_REGION = 'us-east-1';
/** The credentials the proxy signs with and the FHIR server checks (not AWS credentials). */
export const SANDBOX_CREDENTIALS = Object.freeze({ accessKeyId: 'SANDBOXLOCALKEY00000', secretAccessKey: 'sandbox-local-secret-not-an-aws-key' });

/**
 * The sandbox app's registration (SMART scope texts, as in `policies/apps.json`). It may ask for
 * read-only Observations or for creating them too: Cognito grants exactly the scope strings
 * requested, so both are registered.
 */
export const SANDBOX_CLIENT_SCOPES: readonly string[] = Object.freeze([
  'openid',
  'fhirUser',
  'launch/patient',
  'offline_access',
  'patient/Patient.rs',
  'patient/Observation.rs',
  'patient/Observation.crs',
  'patient/Condition.rs',
  'patient/Encounter.rs',
  'patient/MedicationRequest.rs',
  'patient/AllergyIntolerance.rs',
  'patient/Immunization.rs',
  'patient/Practitioner.rs',
  'patient/Organization.rs',
  'patient/Medication.rs',
]);

/** The sandbox app in the registry: cleared for normal (`N`) data only, like most patient apps. */
export const SANDBOX_APP: AppClearance = Object.freeze({
  clientId: SANDBOX_CLIENT_ID,
  appId: 'sandbox-smart-app',
  identifier: { system: 'https://fhir.example.org/sid/smart-app', value: 'sandbox-smart-app' },
  labels: ['N'],
});

/**
 * SMART scopes with no Cognito scope (`SmartAppRegistry`'s `NOT_COGNITO_SCOPES`): the app client
 * is not allowed them, so Cognito's authorize endpoint refuses a request that names them
 * (`invalid_scope`), and so does the stand-in. Apps ask for `fhirUser` and `offline_access` at
 * the façade's authorization endpoint, which takes them out before sending the browser on to
 * Cognito (`lambdas/smart-facade/authorize.ts`); `online_access` is not the kit's to grant.
 */
export const NOT_COGNITO_SCOPES: readonly string[] = SCOPES_GRANTED_BY_THE_KIT;

/** The app client's allowed OAuth scopes for a registration: every registered scope Cognito has. */
export function cognitoScopes(registered: readonly string[]): string[] {
  return registered.filter((s) => !NOT_COGNITO_SCOPES.includes(s));
}

/** `FhirGateway`'s default `readableNonCompartmentTypes`. */
const READABLE_NON_COMPARTMENT_TYPES = ['Medication', 'Practitioner', 'Organization', 'Location'];
const PROFILES_DIR = path.join(__dirname, '..', '..', 'policies', 'profiles');
const REFRESH_TOKEN_VALIDITY_SECONDS = 30 * 86_400;

export interface SandboxLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface SandboxOptions {
  /** The API's port. @default 0 (a free port) */
  readonly port?: number;
  /** The Cognito stand-in's port. @default 0 */
  readonly cognitoPort?: number;
  /** The sandbox app's callback URLs (exact match). */
  readonly redirectUris: readonly string[];
  /** The authorizer cache (the stack's `authorizerCacheTtl`). @default 0 */
  readonly authorizerCacheTtlSeconds?: number;
  /** Every AuditEvent the proxy writes, as it writes it. */
  readonly onAudit?: (event: AuditEvent) => void;
  /** Every access-log entry of the gateway. */
  readonly onAccess?: (entry: AccessLogEntry) => void;
  /** Messages of the handlers' loggers and of the Cognito stand-in. @default - silent */
  readonly logger?: SandboxLogger;
}

export interface Sandbox {
  /** `http://127.0.0.1:<port>/r4`: the FHIR base (the `iss` of a launch). */
  readonly fhirBaseUrl: string;
  /** `http://127.0.0.1:<port>/auth`. */
  readonly authBaseUrl: string;
  readonly cognitoDomainUrl: string;
  readonly clientId: string;
  /** The registration's scopes (SMART texts). */
  readonly clientScopes: readonly string[];
  /**
   * The scopes the app may request at the authorization endpoint (the façade's): its
   * registration's. Cognito's own endpoint (the stand-in) takes only {@link cognitoScopes} of them.
   */
  readonly requestableScopes: readonly string[];
  readonly redirectUris: readonly string[];
  readonly userPoolId: string;
  readonly users: readonly StandinUser[];
  readonly patientIds: readonly string[];
  readonly authorizerCacheTtlSeconds: number;
  readonly revocation: RevocationStore;
  readonly fhirServer: FhirServer;
  readonly cognito: CognitoStandin;
  readonly gateway: Gateway;
  readonly api: ApiIdentity;
  /** The kit's handlers, as the gateway calls them. */
  readonly handlers: { readonly facade: SmartFacade; readonly authorizer: SmartAuthorizer; readonly proxy: FhirProxy };
  close(): Promise<void>;
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function extraText(extra: Array<Record<string, unknown>>): string {
  const fields = Object.assign({}, ...extra) as Record<string, unknown>;
  const text = Object.entries(fields)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return text === '' ? '' : ` (${text})`;
}

/** Starts the sandbox. Close it with `close()`. */
export async function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  const log = options.logger;
  const handlerLogger = (name: string): AuthorizerLogger & FacadeLogger => ({
    debug: () => undefined,
    info: (m, ...extra) => log?.info(`${name}: ${m}${extraText(extra)}`),
    warn: (m, ...extra) => log?.warn(`${name}: ${m}${extraText(extra)}`),
    error: (m, ...extra) => log?.warn(`${name}: ${m}${extraText(extra)}`),
  });
  const cacheTtl = options.authorizerCacheTtlSeconds ?? 0;
  if (!Number.isInteger(cacheTtl) || cacheTtl < 0 || cacheTtl > 300) throw new Error('authorizerCacheTtlSeconds must be a whole number from 0 to 300');

  const fhirServer = await startFhirServer({ credentials: SANDBOX_CREDENTIALS, region: SANDBOX_REGION, seed: false });
  fhirServer.seed(SYNTHETIC_RESOURCES);
  const started: Array<() => Promise<void>> = [() => fhirServer.close()];
  try {
    const cognito = await startCognitoStandin({
      userPoolId: SANDBOX_USER_POOL_ID,
      port: options.cognitoPort ?? 0,
      users: SYNTHETIC_USERS,
      clients: [
        {
          clientId: SANDBOX_CLIENT_ID,
          redirectUris: options.redirectUris,
          allowedScopes: cognitoScopes(SANDBOX_CLIENT_SCOPES),
          refreshTokenValiditySeconds: REFRESH_TOKEN_VALIDITY_SECONDS,
        },
      ],
      onEvent: (m) => log?.info(`cognito: ${m}`),
    });
    started.push(() => cognito.close());

    let gateway: Gateway | undefined;
    const server = createServer((req, res) => {
      if (gateway) gateway.listener(req, res);
      else res.writeHead(503).end();
    });
    server.keepAliveTimeout = 5000;
    const port = await listen(server, options.port ?? 0);
    started.push(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    const origin = `http://127.0.0.1:${port}`;
    const fhirBaseUrl = `${origin}/r4`;
    const authBaseUrl = `${origin}/auth`;
    const api: ApiIdentity = { domainName: `127.0.0.1:${port}`, stage: 'v1', region: SANDBOX_REGION };

    const revocation = new InMemoryRevocationStore();
    const facade = createFacade({
      fhirBaseUrl,
      authBaseUrl,
      cognitoDomainUrl: cognito.domainUrl,
      userPoolId: SANDBOX_USER_POOL_ID,
      clientIds: [SANDBOX_CLIENT_ID],
      // Registered for offline_access (SANDBOX_CLIENT_SCOPES), so its refresh tokens last 30 days.
      offlineAccessClientIds: SANDBOX_CLIENT_SCOPES.includes('offline_access') ? [SANDBOX_CLIENT_ID] : [],
      refreshTokenValiditySeconds: { [SANDBOX_CLIENT_ID]: REFRESH_TOKEN_VALIDITY_SECONDS },
      revocation,
      jwks: cognito.jwks,
      logger: handlerLogger('façade'),
    });
    const authorizer = createAuthorizer({
      userPoolId: SANDBOX_USER_POOL_ID,
      clientIds: [SANDBOX_CLIENT_ID],
      clients: { [SANDBOX_CLIENT_ID]: { tier: 'low' } },
      jwks: cognito.jwks,
      revocation,
      logger: handlerLogger('authorizer'),
    });
    const proxy = createProxy({
      fhirBaseUrl: fhirServer.baseUrl,
      region: SANDBOX_REGION,
      credentials: SANDBOX_CREDENTIALS,
      publicBaseUrl: fhirBaseUrl,
      readableNonCompartmentTypes: READABLE_NON_COMPARTMENT_TYPES,
      confidentialClientIds: [],
      validator: createValidator({ profiles: loadProfilesDir(PROFILES_DIR) }),
      labels: { policy: loadLabelPolicy(), apps: [SANDBOX_APP] },
      audit: {
        write: (event) => {
          try {
            options.onAudit?.(event);
          } catch {
            // an observer never changes the answer
          }
        },
      },
      onError: (message, detail) => log?.warn(`proxy: ${message}${extraText([detail as unknown as Record<string, unknown>])}`),
    });

    const routes: GatewayRoute[] = [
      { method: 'ANY', resource: '/r4', handler: proxy, authorized: true },
      { method: 'ANY', resource: '/r4/{proxy+}', handler: proxy, authorized: true },
      { method: 'GET', resource: '/r4/metadata', handler: proxy, authorized: false },
      { method: 'GET', resource: '/r4/.well-known/smart-configuration', handler: facade.discovery, authorized: false },
      { method: 'GET', resource: '/auth/authorize', handler: facade.authorize, authorized: false },
      { method: 'POST', resource: '/auth/token', handler: facade.token, authorized: false },
      { method: 'POST', resource: '/auth/introspect', handler: facade.introspect, authorized: false },
      { method: 'POST', resource: '/auth/revoke', handler: facade.revoke, authorized: false },
    ];
    gateway = createGateway({ routes, authorizer, api, authorizerCacheTtlSeconds: cacheTtl, onAccess: options.onAccess });

    let closed: Promise<void> | undefined;
    return {
      fhirBaseUrl,
      authBaseUrl,
      cognitoDomainUrl: cognito.domainUrl,
      clientId: SANDBOX_CLIENT_ID,
      clientScopes: SANDBOX_CLIENT_SCOPES,
      requestableScopes: SANDBOX_CLIENT_SCOPES,
      redirectUris: [...options.redirectUris],
      userPoolId: SANDBOX_USER_POOL_ID,
      users: SYNTHETIC_USERS,
      patientIds: SYNTHETIC_PATIENT_IDS,
      authorizerCacheTtlSeconds: cacheTtl,
      revocation,
      fhirServer,
      cognito,
      gateway,
      api,
      handlers: { facade, authorizer, proxy },
      close: () => (closed ??= closeAll(started)),
    };
  } catch (err) {
    await closeAll(started);
    throw err;
  }
}

async function closeAll(started: ReadonlyArray<() => Promise<void>>): Promise<void> {
  for (const close of [...started].reverse()) await close().catch(() => undefined);
}
