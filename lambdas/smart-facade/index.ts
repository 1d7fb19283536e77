/**
 * Lambda entry points of the SMART façade: wire the environment to {@link createFacade}, once per
 * container. One function may serve all four routes (each route names its handler).
 *
 * Environment (set by the `SmartIdentity` construct):
 * - `FHIR_BASE_URL`: public FHIR base, e.g. `https://fhir.example.org/r4`.
 * - `AUTH_BASE_URL`: public base of the façade's OAuth routes, e.g. `https://fhir.example.org/auth`.
 * - `COGNITO_DOMAIN_URL`: the managed-login domain, e.g. `https://auth.example.org`.
 * - `USER_POOL_ID`: the Cognito user pool id.
 * - `CLIENTS`: JSON object of {@link FacadeClientEnvironment} by client id, e.g.
 *   `{ "<clientId>": { "confidential": false, "introspection": false, "refreshTokenValiditySeconds": 2592000 } }`;
 *   its keys are the registered client ids (other fields, e.g. the authorizer's `tier`, are ignored).
 *   A client without `refreshTokenValiditySeconds` is taken to have Cognito's longest (10 years),
 *   so a revoked sign-in of it stays revoked at least as long as it could be refreshed.
 * - `REVOCATION_TABLE`: DynamoDB table of revoked `jti`s (the authorizer's table).
 * - `SCOPES_SUPPORTED` (optional): space-separated `scopes_supported` for discovery.
 * - `ALLOWED_ORIGINS` (optional): space-separated browser origins allowed by CORS on the OAuth routes.
 * - `UPSTREAM_TIMEOUT_MS` (optional): time allowed for one Cognito call (default 5000).
 *
 * A configuration error is logged at cold start and every request then gets a fixed
 * `500 server_error` OAuth error (no internals).
 */
import { parseApiLifecycle } from '../shared/api-lifecycle';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import { objectOfObjectsEnv, requiredEnv } from '../shared/env';
import { DynamoRevocationStore } from '../shared/revocation';
import type { FacadeClientEnvironment } from './environment';
import { createFacade, SmartFacade } from './facade';

const logger = new Logger({ serviceName: 'smart-facade' });

function list(value: string | undefined): string[] | undefined {
  return value ? value.split(' ').filter((v) => v !== '') : undefined;
}

interface Clients {
  readonly clientIds: string[];
  readonly confidential: string[];
  readonly introspection: string[];
  readonly refreshTokenValiditySeconds: Record<string, number>;
}

function parseClients(env: NodeJS.ProcessEnv): Clients {
  const clients: Clients = { clientIds: [], confidential: [], introspection: [], refreshTokenValiditySeconds: {} };
  for (const [clientId, v] of Object.entries(objectOfObjectsEnv(env, 'CLIENTS')) as Array<[string, Partial<Record<keyof FacadeClientEnvironment, unknown>>]>) {
    for (const flag of ['confidential', 'introspection'] as const) {
      if (v[flag] !== undefined && typeof v[flag] !== 'boolean') throw new Error(`CLIENTS.${clientId}.${flag} must be a boolean`);
    }
    const validity = v.refreshTokenValiditySeconds;
    if (validity !== undefined && !Number.isInteger(validity)) throw new Error(`CLIENTS.${clientId}.refreshTokenValiditySeconds must be a whole number`);
    clients.clientIds.push(clientId);
    if (v.confidential === true) clients.confidential.push(clientId);
    if (v.introspection === true) clients.introspection.push(clientId);
    if (typeof validity === 'number') clients.refreshTokenValiditySeconds[clientId] = validity;
  }
  return clients;
}

function fromEnvironment(env: NodeJS.ProcessEnv): SmartFacade {
  const clients = parseClients(env);
  const timeout = env.UPSTREAM_TIMEOUT_MS ? Number(env.UPSTREAM_TIMEOUT_MS) : undefined;
  if (timeout !== undefined && !(Number.isInteger(timeout) && timeout > 0)) throw new Error('UPSTREAM_TIMEOUT_MS must be a positive integer');
  return createFacade({
    fhirBaseUrl: requiredEnv(env, 'FHIR_BASE_URL'),
    authBaseUrl: requiredEnv(env, 'AUTH_BASE_URL'),
    cognitoDomainUrl: requiredEnv(env, 'COGNITO_DOMAIN_URL'),
    userPoolId: requiredEnv(env, 'USER_POOL_ID'),
    clientIds: clients.clientIds,
    confidentialClientIds: clients.confidential,
    introspectionClientIds: clients.introspection,
    refreshTokenValiditySeconds: clients.refreshTokenValiditySeconds,
    revocation: new DynamoRevocationStore({ tableName: requiredEnv(env, 'REVOCATION_TABLE') }),
    scopesSupported: list(env.SCOPES_SUPPORTED),
    allowedOrigins: list(env.ALLOWED_ORIGINS),
    upstreamTimeoutMs: timeout,
    ...(env.API_LIFECYCLE ? { lifecycle: parseApiLifecycle(JSON.parse(env.API_LIFECYCLE)) } : {}),
    logger,
  });
}

let facade: SmartFacade | undefined;
try {
  facade = fromEnvironment(process.env);
} catch (err) {
  logger.error('SMART façade configuration is invalid; every request will fail', {
    error: err instanceof Error ? err.message : 'unknown',
  });
}

const misconfigured: APIGatewayProxyResult = {
  statusCode: 500,
  headers: { 'Content-Type': 'application/json;charset=UTF-8', 'Cache-Control': 'no-store', Pragma: 'no-cache' },
  body: JSON.stringify({ error: 'server_error', error_description: 'The authorization server encountered an unexpected condition.' }),
};

export async function discovery(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  return facade ? facade.discovery(event) : misconfigured;
}

export async function token(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  return facade ? facade.token(event) : misconfigured;
}

export async function introspect(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  return facade ? facade.introspect(event) : misconfigured;
}

export async function revoke(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  return facade ? facade.revoke(event) : misconfigured;
}

/** The API Gateway routes the façade serves, by `METHOD resource`. */
const ROUTES: Record<string, (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>> = {
  'GET /r4/.well-known/smart-configuration': discovery,
  'POST /auth/token': token,
  'POST /auth/introspect': introspect,
  'POST /auth/revoke': revoke,
};

const notFound: APIGatewayProxyResult = {
  statusCode: 404,
  headers: { 'Content-Type': 'application/json;charset=UTF-8', 'Cache-Control': 'no-store' },
  body: JSON.stringify({ error: 'invalid_request', error_description: 'Unknown endpoint.' }),
};

/**
 * One function for the four routes: dispatches on the API Gateway resource template and method
 * (never on the raw path), so only the routes above reach the façade.
 */
export async function router(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const route = ROUTES[`${event?.httpMethod ?? ''} ${event?.resource ?? ''}`];
  return route ? route(event) : notFound;
}
