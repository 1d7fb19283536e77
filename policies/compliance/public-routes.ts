import { Token } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import { IConstruct } from 'constructs';

/** A route the FHIR gateway serves without the SMART authorizer, and why. */
export interface PublicRoute {
  /** HTTP method, e.g. `GET` (compared upper-case). */
  readonly method: string;
  /** Resource path in the REST API, e.g. `/r4/metadata` (no trailing slash). */
  readonly path: string;
  /** Why the route needs no bearer token; shown to the reviewer. */
  readonly reason: string;
}

/** A method and path, without a reason. */
export interface RouteKey {
  readonly method: string;
  readonly path: string;
}

/**
 * The only routes that may go without an authorizer: what SMART clients must reach before they
 * hold a token (capability statement, SMART discovery) and the OAuth endpoints that
 * authenticate the client themselves (token, introspect, revoke).
 */
export const ALLOWED_PUBLIC_ROUTES: readonly RouteKey[] = [
  { method: 'GET', path: '/r4/metadata' },
  { method: 'GET', path: '/r4/.well-known/smart-configuration' },
  { method: 'GET', path: '/auth/authorize' },
  { method: 'POST', path: '/auth/token' },
  { method: 'POST', path: '/auth/introspect' },
  { method: 'POST', path: '/auth/revoke' },
];

/** Construct metadata type of the public-route marker. */
export const PUBLIC_ROUTE_METADATA_KEY = 'zero-trust-fhir:public-route';

/** `GET /r4/metadata` style key of a route; methods upper-cased, trailing slashes dropped. */
export function routeKey(route: RouteKey): string {
  return `${route.method.toUpperCase()} ${normalizePath(route.path)}`;
}

/** True when the method and path are one of {@link ALLOWED_PUBLIC_ROUTES}. */
export function isAllowedPublicRoute(route: RouteKey): boolean {
  const key = routeKey(route);
  return ALLOWED_PUBLIC_ROUTES.some((r) => routeKey(r) === key);
}

/**
 * Marks an API Gateway method (the L2 `apigateway.Method` or its `CfnMethod`) as deliberately
 * public. `FHIR.HIPAA-APIGWMethodAuthorization` accepts `AuthorizationType: NONE` only on a
 * method carrying this marker whose real method and path are the marked ones and are in
 * {@link ALLOWED_PUBLIC_ROUTES}.
 *
 * Throws when the route is not allowed, the reason is empty, or (for an L2 `Method`) the marked
 * method or path is not the construct's own.
 */
export function markPublicRoute(method: IConstruct, route: PublicRoute): void {
  if (typeof route?.reason !== 'string' || route.reason.trim().length === 0) {
    throw new Error(`markPublicRoute: ${method.node.path} needs a reason`);
  }
  if (typeof route.method !== 'string' || typeof route.path !== 'string' || !isAllowedPublicRoute(route)) {
    throw new Error(`markPublicRoute: ${routeKeySafe(route)} is not an allowed public route (allowed: ${ALLOWED_PUBLIC_ROUTES.map(routeKey).join(', ')})`);
  }
  if (method instanceof apigw.Method) {
    const actual: RouteKey = { method: method.httpMethod, path: method.resource.path };
    if (!Token.isUnresolved(actual.path) && routeKey(actual) !== routeKey(route)) {
      throw new Error(`markPublicRoute: ${method.node.path} is ${routeKey(actual)}, not ${routeKey(route)}`);
    }
  }
  method.node.addMetadata(PUBLIC_ROUTE_METADATA_KEY, {
    method: route.method.toUpperCase(),
    path: normalizePath(route.path),
    reason: route.reason,
  });
}

/**
 * The public-route marker on `construct` or, failing that, on its parent (the L2 `Method` of a
 * `CfnMethod`); `undefined` when neither is marked.
 */
export function publicRouteOf(construct: IConstruct): PublicRoute | undefined {
  return ownMarker(construct) ?? (construct.node.scope ? ownMarker(construct.node.scope) : undefined);
}

function ownMarker(construct: IConstruct): PublicRoute | undefined {
  for (const entry of construct.node.metadata) {
    if (entry.type !== PUBLIC_ROUTE_METADATA_KEY) continue;
    const data = entry.data as Partial<PublicRoute> | undefined;
    if (data && typeof data.method === 'string' && typeof data.path === 'string' && typeof data.reason === 'string') {
      return { method: data.method, path: data.path, reason: data.reason };
    }
  }
  return undefined;
}

function normalizePath(path: string): string {
  const trimmed = path.length > 1 ? path.replace(/\/+$/, '') : path;
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

function routeKeySafe(route: Partial<RouteKey> | undefined): string {
  return `${String(route?.method)} ${String(route?.path)}`;
}
