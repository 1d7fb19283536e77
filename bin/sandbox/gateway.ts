/**
 * A local stand-in for the kit's API Gateway stage (`FhirGateway`): the same routes, the SMART
 * authorizer in front of the FHIR routes, and the same gateway responses, over node:http on
 * 127.0.0.1. Every request goes through the one adapter (`http-adapter.ts`) to the kit's own
 * handlers, unchanged.
 *
 * What it does as API Gateway does:
 * - Routes by resource, most specific first: `GET /r4/metadata` (public, FHIR proxy),
 *   `GET /r4/.well-known/smart-configuration`, `GET /auth/authorize` and
 *   `POST /auth/{token,introspect,revoke}` (public, SMART façade), `ANY /r4` and
 *   `ANY /r4/{proxy+}` (SMART authorizer, then FHIR proxy). A path no resource matches, or a
 *   method its resource lacks: 403 `MISSING_AUTHENTICATION_TOKEN`.
 * - FHIR routes: no `Authorization` header, or the authorizer throwing `Unauthorized`: 401
 *   `UNAUTHORIZED`, and the proxy is never invoked; any other authorizer error: 500
 *   `AUTHORIZER_FAILURE`; a policy that does not allow the method ARN: 403 `ACCESS_DENIED`.
 *   Otherwise the proxy gets the authorizer's context (and `principalId`) in
 *   `requestContext.authorizer`.
 * - The authorizer's result is cached by the `Authorization` header for
 *   `authorizerCacheTtlSeconds` (the stack's `authorizerCacheTtl`, 60 s by default): within that
 *   time a revoked token keeps working, exactly as deployed. 0 turns the cache off.
 * - A body over 10 MB: 413 `REQUEST_TOO_LARGE`. A handler that throws or answers a malformed
 *   result: 502 (`DEFAULT_5XX`).
 * - One access-log entry per request with the fields of the stage's access log.
 *
 * Not emulated: WAF, stage and usage-plan throttling, CORS preflight, TLS.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIGatewayAuthorizerResult, APIGatewayProxyEvent, APIGatewayProxyResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { operationOutcome, type IssueType } from '../../lambdas/shared/operation-outcome';
import { readRequest, requestPath, RequestTooLarge, toAuthorizerEvent, toProxyEvent, writeResult, type ApiIdentity, type HttpRequest, type MatchedRoute } from './http-adapter';

export type ProxyHandler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
export type RequestAuthorizer = (event: APIGatewayRequestAuthorizerEvent) => Promise<APIGatewayAuthorizerResult>;

/** One method on one resource. */
export interface GatewayRoute {
  /** An HTTP method, or `ANY`. */
  readonly method: string;
  /** The resource template: literal segments, then at most one greedy `{name+}` last. */
  readonly resource: string;
  readonly handler: ProxyHandler;
  /** Behind the SMART authorizer. */
  readonly authorized: boolean;
}

/** One line of the stage's access log (the `FhirGateway` access-log fields the sandbox knows). */
export interface AccessLogEntry {
  readonly requestId: string;
  readonly sourceIp: string;
  readonly principal: string;
  readonly clientId: string;
  readonly requestTime: string;
  readonly httpMethod: string;
  /** The resource template (`/r4/{proxy+}`), `-` when none matched. */
  readonly resourcePath: string;
  /** The request path (not in the deployed log; the sandbox prints it for the developer). */
  readonly path: string;
  readonly status: number;
  /** Why the gateway refused before the integration (`Unauthorized`, …), else `''`. */
  readonly authorizerError: string;
  /** Milliseconds spent in the integration, `-1` when it was not invoked. */
  readonly integrationLatency: number;
}

export interface GatewayOptions {
  readonly routes: readonly GatewayRoute[];
  readonly authorizer: RequestAuthorizer;
  readonly api: ApiIdentity;
  /** @default 0 (no cache) */
  readonly authorizerCacheTtlSeconds?: number;
  /** API Gateway's payload limit. @default 10 MB */
  readonly maxBodyBytes?: number;
  /** Receives every access-log entry. */
  readonly onAccess?: (entry: AccessLogEntry) => void;
  /** Milliseconds since the epoch. @default Date.now */
  readonly now?: () => number;
}

export interface Gateway {
  /** The node:http request listener. */
  listener(req: IncomingMessage, res: ServerResponse): void;
  /** One request through the gateway (what the listener does between reading and writing). */
  invoke(request: HttpRequest): Promise<APIGatewayProxyResult>;
}

/** The kit's gateway responses (`FhirGateway`): status, issue code, the fixed text. */
export const GATEWAY_RESPONSES = {
  UNAUTHORIZED: [401, 'login', 'Authentication is required.'],
  ACCESS_DENIED: [403, 'forbidden', 'Access denied.'],
  MISSING_AUTHENTICATION_TOKEN: [403, 'not-found', 'Unknown resource.'],
  AUTHORIZER_FAILURE: [500, 'exception', 'The server could not complete the request.'],
  AUTHORIZER_CONFIGURATION_ERROR: [500, 'exception', 'The server could not complete the request.'],
  REQUEST_TOO_LARGE: [413, 'too-costly', 'The request is too large.'],
  DEFAULT_5XX: [502, 'exception', 'The server could not complete the request.'],
} as const satisfies Record<string, readonly [number, IssueType, string]>;
export type GatewayResponseType = keyof typeof GATEWAY_RESPONSES;

const GATEWAY_RESPONSE_HEADERS = {
  'Content-Type': 'application/json',
  'Strict-Transport-Security': 'max-age=63072000; includeSubDomains',
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-store',
};

export function gatewayResponse(type: GatewayResponseType): APIGatewayProxyResult {
  const [status, code, text] = GATEWAY_RESPONSES[type];
  return {
    statusCode: status,
    headers: { ...GATEWAY_RESPONSE_HEADERS, 'x-amzn-ErrorType': type },
    body: JSON.stringify(operationOutcome([{ severity: 'error', code, diagnostics: text }])),
  };
}

const TEN_MB = 10 * 1024 * 1024;

interface CompiledRoute extends GatewayRoute {
  readonly segments: readonly string[];
  readonly greedy?: string;
}

function compile(route: GatewayRoute): CompiledRoute {
  const segments = route.resource.split('/').filter((s) => s !== '');
  const last = segments[segments.length - 1];
  const greedy = last !== undefined ? /^\{(\w+)\+\}$/.exec(last)?.[1] : undefined;
  return { ...route, segments: greedy ? segments.slice(0, -1) : segments, greedy };
}

/** The resource a path belongs to, as API Gateway picks it: an exact resource before a greedy one. */
function matchResource(routes: readonly CompiledRoute[], path: string): { resource: string; pathParameters: Record<string, string> | null } | undefined {
  const parts = path.replace(/\/+$/, '').split('/').filter((s, i) => i > 0 || s !== '');
  let best: { resource: string; pathParameters: Record<string, string> | null; literal: number } | undefined;
  for (const r of routes) {
    if (!r.greedy) {
      if (r.segments.length === parts.length && r.segments.every((s, i) => s === parts[i])) return { resource: r.resource, pathParameters: null };
      continue;
    }
    if (parts.length > r.segments.length && r.segments.every((s, i) => s === parts[i]) && (best === undefined || r.segments.length > best.literal)) {
      best = { resource: r.resource, pathParameters: { [r.greedy]: parts.slice(r.segments.length).join('/') }, literal: r.segments.length };
    }
  }
  return best;
}

/** Whether an IAM policy allows `arn` (Allow matching, no Deny matching; `*` and `?` wildcards). */
export function policyAllows(result: APIGatewayAuthorizerResult, arn: string): boolean {
  const statements = result?.policyDocument?.Statement;
  if (!Array.isArray(statements)) return false;
  const matches = (pattern: unknown): boolean =>
    typeof pattern === 'string' && new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`).test(arn);
  const covers = (s: { Resource?: unknown; Action?: unknown }): boolean => {
    const resources = Array.isArray(s.Resource) ? s.Resource : [s.Resource];
    const actions = Array.isArray(s.Action) ? s.Action : [s.Action];
    return resources.some(matches) && actions.some((a) => a === 'execute-api:Invoke' || a === 'execute-api:*' || a === '*');
  };
  const list = statements as Array<{ Effect?: unknown; Resource?: unknown; Action?: unknown }>;
  if (list.some((s) => s.Effect === 'Deny' && covers(s))) return false;
  return list.some((s) => s.Effect === 'Allow' && covers(s));
}

function isValidResult(result: unknown): result is APIGatewayProxyResult {
  const r = result as APIGatewayProxyResult | undefined;
  return (
    r !== null &&
    typeof r === 'object' &&
    Number.isInteger(r.statusCode) &&
    r.statusCode >= 100 &&
    r.statusCode <= 599 &&
    (r.body === undefined || r.body === null || typeof r.body === 'string')
  );
}

export function createGateway(options: GatewayOptions): Gateway {
  const routes = options.routes.map(compile);
  const ttlMs = Math.max(0, options.authorizerCacheTtlSeconds ?? 0) * 1000;
  const maxBodyBytes = options.maxBodyBytes ?? TEN_MB;
  const now = options.now ?? Date.now;
  /** Authorizer results by the `Authorization` header (the identity source). */
  const cache = new Map<string, { result: APIGatewayAuthorizerResult; until: number }>();

  function log(entry: Omit<AccessLogEntry, 'requestTime'>): void {
    try {
      options.onAccess?.({ ...entry, requestTime: new Date(now()).toISOString() });
    } catch {
      // A log consumer never changes the answer.
    }
  }

  async function authorize(event: APIGatewayProxyEvent): Promise<{ context: Record<string, string> } | { refusal: GatewayResponseType; reason: string }> {
    const header = Object.entries(event.headers ?? {}).find(([name]) => name.toLowerCase() === 'authorization')?.[1];
    if (header === undefined || header === '') return { refusal: 'UNAUTHORIZED', reason: 'Unauthorized (no identity source)' };
    const authEvent = toAuthorizerEvent(event, options.api);
    let result: APIGatewayAuthorizerResult;
    const cached = ttlMs > 0 ? cache.get(header) : undefined;
    if (cached && cached.until > now()) {
      result = cached.result;
    } else {
      try {
        result = await options.authorizer(authEvent);
      } catch (err) {
        return err instanceof Error && err.message === 'Unauthorized'
          ? { refusal: 'UNAUTHORIZED', reason: 'Unauthorized' }
          : { refusal: 'AUTHORIZER_FAILURE', reason: 'AuthorizerFailure' };
      }
      if (result === null || typeof result !== 'object' || typeof result.principalId !== 'string' || !result.policyDocument) {
        return { refusal: 'AUTHORIZER_CONFIGURATION_ERROR', reason: 'AuthorizerConfigurationException' };
      }
      if (ttlMs > 0) {
        if (cache.size >= 1024) cache.clear();
        cache.set(header, { result, until: now() + ttlMs });
      }
    }
    if (!policyAllows(result, authEvent.methodArn)) return { refusal: 'ACCESS_DENIED', reason: 'AccessDenied' };
    const context: Record<string, string> = { principalId: result.principalId };
    for (const [k, v] of Object.entries(result.context ?? {})) context[k] = String(v);
    return { context };
  }

  async function invoke(request: HttpRequest): Promise<APIGatewayProxyResult> {
    const requestId = randomUUID();
    const path = requestPath(request);
    const base = { requestId, sourceIp: request.sourceIp ?? '127.0.0.1', httpMethod: request.method, path };
    const matched = matchResource(routes, path);
    const route = matched && routes.find((r) => r.resource === matched.resource && (r.method === request.method || r.method === 'ANY'));
    if (!matched || !route) {
      log({ ...base, principal: '-', clientId: '-', resourcePath: matched?.resource ?? '-', status: 403, authorizerError: '', integrationLatency: -1 });
      return gatewayResponse('MISSING_AUTHENTICATION_TOKEN');
    }
    const matchedRoute: MatchedRoute = { resource: matched.resource, pathParameters: matched.pathParameters };
    let event = toProxyEvent(request, matchedRoute, options.api, { requestId });
    let principal = '-';
    let clientId = '-';
    if (route.authorized) {
      const outcome = await authorize(event);
      if ('refusal' in outcome) {
        const response = gatewayResponse(outcome.refusal);
        log({ ...base, principal, clientId, resourcePath: route.resource, status: response.statusCode, authorizerError: outcome.reason, integrationLatency: -1 });
        return response;
      }
      principal = outcome.context.principalId;
      clientId = outcome.context.clientId ?? '-';
      event = toProxyEvent(request, matchedRoute, options.api, { requestId, authorizer: outcome.context });
    }
    const started = now();
    let result: APIGatewayProxyResult;
    try {
      const answer: unknown = await route.handler(event);
      result = isValidResult(answer) ? answer : gatewayResponse('DEFAULT_5XX');
    } catch {
      result = gatewayResponse('DEFAULT_5XX');
    }
    log({ ...base, principal, clientId, resourcePath: route.resource, status: result.statusCode, authorizerError: '', integrationLatency: now() - started });
    return result;
  }

  function listener(req: IncomingMessage, res: ServerResponse): void {
    readRequest(req, maxBodyBytes)
      .then(invoke, (err: unknown) => {
        if (err instanceof RequestTooLarge) return gatewayResponse('REQUEST_TOO_LARGE');
        throw err;
      })
      .then(
        (result) => writeResult(res, result),
        () => {
          if (!res.headersSent) writeResult(res, gatewayResponse('DEFAULT_5XX'));
          else res.destroy();
        },
      );
  }

  return { listener, invoke };
}
