/**
 * The one HTTP-to-API-Gateway adapter of the sandbox and of the end-to-end tests: an HTTP request
 * as a client really sent it (method, raw path, raw query, every header with repeats, body bytes)
 * becomes the event API Gateway (REST, Lambda proxy integration, no binary media types) would
 * hand the kit's handlers, and a handler's result goes back as the HTTP response.
 *
 * What API Gateway does, and so what this does:
 * - `path` and the greedy path parameter are percent-decoded once; `resource` is the route's
 *   template (`/r4/{proxy+}`), and a route without a path parameter gets `pathParameters: null`.
 * - `multiValueQueryStringParameters` holds every value of every query parameter in order,
 *   `queryStringParameters` the last one; names and values are percent-decoded (`+` is kept);
 *   both are `null` without a query.
 * - `multiValueHeaders` holds every header line as sent (names in the case they were sent),
 *   `headers` the last value of each.
 * - The body is the UTF-8 text of the bytes, `isBase64Encoded: false` (the kit's API has no
 *   binary media types); no body is `null`.
 * - The REQUEST authorizer event carries the same headers, query and path, and the method ARN
 *   `arn:aws:execute-api:<region>:<account>:<api>/<stage>/<METHOD>/<path>`.
 *
 * Pure functions, plus {@link readRequest} and {@link writeResult} at the edges.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';

/** An HTTP request as received: nothing decoded or merged yet. */
export interface HttpRequest {
  readonly method: string;
  /** The request target as sent (`/r4/Observation?patient=1`), still percent-encoded. */
  readonly url: string;
  /** Header lines in order, names as sent: `[name, value, name, value, …]` (Node's `rawHeaders`). */
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
  /** The peer's address. @default '127.0.0.1' */
  readonly sourceIp?: string;
}

/** The API Gateway route a request matched. */
export interface MatchedRoute {
  /** The resource template, e.g. `/r4/{proxy+}`, `/auth/token`. */
  readonly resource: string;
  /** Path parameters, decoded; `null` when the route has none. */
  readonly pathParameters: Record<string, string> | null;
}

/** Where the API "is deployed": the values of `requestContext` and of the method ARN. */
export interface ApiIdentity {
  /** `host[:port]` clients use: `requestContext.domainName`. */
  readonly domainName: string;
  /** @default 'v1' (the kit's stage) */
  readonly stage?: string;
  /** @default 'us-east-1' */
  readonly region?: string;
  /** @default '000000000000' */
  readonly accountId?: string;
  /** @default 'sandbox' */
  readonly apiId?: string;
}

/** The path and query of a request target, split but not decoded. */
export function splitTarget(url: string): { readonly rawPath: string; readonly rawQuery: string | undefined } {
  const q = url.indexOf('?');
  return q < 0 ? { rawPath: url, rawQuery: undefined } : { rawPath: url.slice(0, q), rawQuery: url.slice(q + 1) };
}

/** Percent-decodes once; a malformed escape is kept as sent (API Gateway passes it on). */
export function decodeOnce(text: string): string {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The query as API Gateway gives it: every value in order, and the last one of each name. */
export function queryParameters(rawQuery: string | undefined): {
  readonly multi: Record<string, string[]> | null;
  readonly single: Record<string, string> | null;
} {
  if (rawQuery === undefined || rawQuery === '') return { multi: null, single: null };
  const multi: Record<string, string[]> = Object.create(null);
  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decodeOnce(eq < 0 ? pair : pair.slice(0, eq));
    const value = decodeOnce(eq < 0 ? '' : pair.slice(eq + 1));
    (multi[name] ??= []).push(value);
  }
  const names = Object.keys(multi);
  if (names.length === 0) return { multi: null, single: null };
  const single: Record<string, string> = Object.create(null);
  for (const name of names) single[name] = multi[name][multi[name].length - 1];
  // Plain objects for the handlers (the null prototype only kept `__proto__` an ordinary key here).
  return { multi: { ...multi }, single: { ...single } };
}

/** Headers as API Gateway gives them: every line (`multiValueHeaders`) and the last value of each. */
export function headerMaps(rawHeaders: readonly string[]): {
  readonly multi: Record<string, string[]>;
  readonly single: Record<string, string>;
} {
  const multi: Record<string, string[]> = Object.create(null);
  const single: Record<string, string> = Object.create(null);
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    const value = rawHeaders[i + 1];
    (multi[name] ??= []).push(value);
    single[name] = value;
  }
  return { multi: { ...multi }, single: { ...single } };
}

/** The decoded path of a request (`event.path`). */
export function requestPath(request: Pick<HttpRequest, 'url'>): string {
  return decodeOnce(splitTarget(request.url).rawPath);
}

/** The Lambda proxy event of a request on a route; `authorizer` is the authorizer's context (and principal). */
export function toProxyEvent(
  request: HttpRequest,
  route: MatchedRoute,
  api: ApiIdentity,
  options: { readonly requestId?: string; readonly authorizer?: Record<string, string> } = {},
): APIGatewayProxyEvent {
  const { rawPath, rawQuery } = splitTarget(request.url);
  const query = queryParameters(rawQuery);
  const headers = headerMaps(request.rawHeaders);
  const path = decodeOnce(rawPath);
  const stage = api.stage ?? 'v1';
  const requestId = options.requestId ?? randomUUID();
  const sourceIp = request.sourceIp ?? '127.0.0.1';
  return {
    resource: route.resource,
    path,
    httpMethod: request.method,
    headers: headers.single,
    multiValueHeaders: headers.multi,
    queryStringParameters: query.single,
    multiValueQueryStringParameters: query.multi,
    pathParameters: route.pathParameters,
    stageVariables: null,
    body: request.body.length > 0 ? request.body.toString('utf8') : null,
    isBase64Encoded: false,
    requestContext: {
      accountId: api.accountId ?? '000000000000',
      apiId: api.apiId ?? 'sandbox',
      domainName: api.domainName,
      domainPrefix: api.domainName.split('.')[0],
      httpMethod: request.method,
      path: `/${stage}${path}`,
      protocol: 'HTTP/1.1',
      requestId,
      requestTimeEpoch: Date.now(),
      resourceId: 'sandbox',
      resourcePath: route.resource,
      stage,
      identity: { sourceIp, userAgent: headers.single['User-Agent'] ?? headers.single['user-agent'] ?? null },
      ...(options.authorizer ? { authorizer: options.authorizer } : {}),
    } as unknown as APIGatewayProxyEvent['requestContext'],
  };
}

/** `arn:aws:execute-api:<region>:<account>:<api>/<stage>/<METHOD>/<path without its leading slash>`. */
export function methodArn(api: ApiIdentity, method: string, path: string): string {
  return `arn:aws:execute-api:${api.region ?? 'us-east-1'}:${api.accountId ?? '000000000000'}:${api.apiId ?? 'sandbox'}/${api.stage ?? 'v1'}/${method}/${path.replace(/^\//, '')}`;
}

/** The REQUEST authorizer event API Gateway sends before it invokes a route's integration. */
export function toAuthorizerEvent(proxyEvent: APIGatewayProxyEvent, api: ApiIdentity): APIGatewayRequestAuthorizerEvent {
  return {
    type: 'REQUEST',
    methodArn: methodArn(api, proxyEvent.httpMethod, proxyEvent.path),
    resource: proxyEvent.resource,
    path: proxyEvent.path,
    httpMethod: proxyEvent.httpMethod,
    headers: proxyEvent.headers as Record<string, string>,
    multiValueHeaders: proxyEvent.multiValueHeaders as Record<string, string[]>,
    pathParameters: proxyEvent.pathParameters,
    queryStringParameters: proxyEvent.queryStringParameters,
    multiValueQueryStringParameters: proxyEvent.multiValueQueryStringParameters,
    stageVariables: null,
    requestContext: proxyEvent.requestContext as unknown as APIGatewayRequestAuthorizerEvent['requestContext'],
  };
}

/** Reads a request's body (at most `maxBytes`; more rejects with `RequestTooLarge`). */
export async function readRequest(req: IncomingMessage, maxBytes: number): Promise<HttpRequest> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    total += buf.length;
    if (total > maxBytes) {
      req.resume();
      throw new RequestTooLarge();
    }
    chunks.push(buf);
  }
  return {
    method: req.method ?? 'GET',
    url: req.url ?? '/',
    rawHeaders: req.rawHeaders,
    body: Buffer.concat(chunks),
    sourceIp: req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1',
  };
}

/** A request body over the gateway's payload limit. */
export class RequestTooLarge extends Error {
  constructor() {
    super('request body too large');
    this.name = 'RequestTooLarge';
  }
}

/** Writes a Lambda proxy result as the HTTP response (API Gateway's mapping of it). */
export function writeResult(res: ServerResponse, result: APIGatewayProxyResult): void {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) {
    const existing = headers[name];
    headers[name] = [...(existing === undefined ? [] : Array.isArray(existing) ? existing : [existing]), ...values.map(String)];
  }
  const body = result.body === undefined || result.body === null ? Buffer.alloc(0) : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8');
  res.writeHead(result.statusCode, { ...headers, 'Content-Length': String(body.length) });
  res.end(body);
}
