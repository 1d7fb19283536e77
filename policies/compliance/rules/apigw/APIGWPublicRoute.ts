import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { isAllowedPublicRoute, publicRouteOf, routeKey, type PublicRoute } from '../../public-routes';
import { methodRoute } from '../common/apigw';
import { asString, cfnProperties, isCfnType } from '../common/cfn';

/** The kit's own path prefixes: only the FHIR proxy (`/r4`) and the SMART façade (`/auth`) serve them. */
const KIT_PREFIXES: readonly string[] = ['/r4', '/auth'];

/** True when the path is `/r4`, `/auth` or under one of them. */
function underKitPrefix(path: string): boolean {
  return KIT_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`));
}

/**
 * The public route a team declared on this `AWS::ApiGateway::Method` (with
 * `FhirGateway.addPublicRoute`): `AuthorizationType` `NONE`, a public-route marker with a reason
 * on the `CfnMethod` or its L2 `Method` whose route is the method's real route, that route outside
 * `/r4` and `/auth` and not one of the kit's allowed public SMART routes. `undefined` for anything
 * else: the kit's public routes, authorized methods, and unmarked or mismarked ones (which
 * `FHIR.HIPAA-APIGWMethodAuthorization` judges).
 */
export function declaredPublicRoute(node: CfnResource): PublicRoute | undefined {
  if (!isCfnType(node, 'AWS::ApiGateway::Method')) return undefined;
  const props = cfnProperties(node);
  if (asString(props.HttpMethod)?.toUpperCase() === 'OPTIONS') return undefined;
  const authorizationType = props.AuthorizationType === undefined ? 'NONE' : asString(props.AuthorizationType);
  if (authorizationType !== 'NONE') return undefined;
  const marker = publicRouteOf(node);
  if (!marker || marker.reason.trim() === '' || isAllowedPublicRoute(marker)) return undefined;
  const route = methodRoute(node);
  if (!route || routeKey(route) !== routeKey(marker) || underKitPrefix(route.path)) return undefined;
  return marker;
}

/**
 * An API Gateway method that a team declared public (`FhirGateway.addPublicRoute(path, method,
 * integration, { reason })`, see {@link declaredPublicRoute}) is a finding until it is
 * acknowledged on the method: `acknowledge(method, 'FHIR.HIPAA-APIGWPublicRoute', reason)`. The
 * kit's six public SMART routes are compliant; every other method is not applicable (an
 * unauthorized method that was not declared this way, or one under `/r4` or `/auth`, is
 * `FHIR.HIPAA-APIGWMethodAuthorization`'s, which cannot be acknowledged in production).
 * @param node the CfnResource to check
 */
export function APIGWPublicRoute(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::ApiGateway::Method')) return NagRuleCompliance.NOT_APPLICABLE;
  if (declaredPublicRoute(node) !== undefined) return NagRuleCompliance.NON_COMPLIANT;
  const marker = publicRouteOf(node);
  const route = methodRoute(node);
  const kitRoute = marker !== undefined && isAllowedPublicRoute(marker) && route !== undefined && routeKey(route) === routeKey(marker);
  return kitRoute ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NOT_APPLICABLE;
}

/** The finding's detail: the route and the reason it was declared with. */
export function describeAPIGWPublicRoute(node: CfnResource): string | undefined {
  const route = declaredPublicRoute(node);
  return route ? `The method ${routeKey(route)} answers without the SMART authorizer (declared public: ${route.reason.slice(0, 200)}).` : undefined;
}
