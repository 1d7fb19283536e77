/**
 * Lambda entry points of the SMART façade: wire the environment to {@link createFacade}, once per
 * container. One function may serve all five routes (each route names its handler).
 *
 * The environment is the contract of `environment.ts` ({@link SmartFacadeEnvironment}, written
 * by `SmartIdentity` with what `SmartAppRegistry` and `FhirGateway` give it, parsed here by
 * {@link parseSmartFacadeEnvironment}).
 *
 * A configuration error is logged at cold start and every request then gets a fixed
 * `500 server_error` OAuth error (no internals).
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoRevocationStore } from '../shared/revocation';
import { parseSmartFacadeEnvironment } from './environment';
import { createFacade, SmartFacade } from './facade';

const logger = new Logger({ serviceName: 'smart-facade' });

/** The façade of an environment; throws naming the variable at fault. */
export function fromEnvironment(env: NodeJS.ProcessEnv): SmartFacade {
  const s = parseSmartFacadeEnvironment(env);
  const clients = Object.entries(s.clients);
  return createFacade({
    fhirBaseUrl: s.fhirBaseUrl,
    authBaseUrl: s.authBaseUrl,
    cognitoDomainUrl: s.cognitoDomainUrl,
    userPoolId: s.userPoolId,
    clientIds: clients.map(([id]) => id),
    confidentialClientIds: clients.filter(([, c]) => c.confidential).map(([id]) => id),
    introspectionClientIds: clients.filter(([, c]) => c.introspection).map(([id]) => id),
    offlineAccessClientIds: clients.filter(([, c]) => c.offlineAccess === true).map(([id]) => id),
    refreshTokenValiditySeconds: Object.fromEntries(clients.flatMap(([id, c]) => (c.refreshTokenValiditySeconds !== undefined ? [[id, c.refreshTokenValiditySeconds]] : []))),
    revocation: new DynamoRevocationStore({ tableName: s.revocationTable }),
    ...(s.scopesSupported !== undefined ? { scopesSupported: s.scopesSupported } : {}),
    ...(s.allowedOrigins !== undefined ? { allowedOrigins: s.allowedOrigins } : {}),
    ...(s.upstreamTimeoutMs !== undefined ? { upstreamTimeoutMs: s.upstreamTimeoutMs } : {}),
    ...(s.apiVersions !== undefined ? { apiVersions: s.apiVersions } : {}),
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

export async function authorize(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  return facade ? facade.authorize(event) : misconfigured;
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
  'GET /auth/authorize': authorize,
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
 * One function for the five routes: dispatches on the API Gateway resource template and method
 * (never on the raw path), so only the routes above reach the façade.
 */
export async function router(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const route = ROUTES[`${event?.httpMethod ?? ''} ${event?.resource ?? ''}`];
  return route ? route(event) : notFound;
}
