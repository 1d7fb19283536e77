import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { isAllowedPublicRoute, publicRouteOf, routeKey } from '../../public-routes';
import { methodRoute } from '../common/apigw';
import { asString, cfnProperties, isCfnType } from '../common/cfn';
import { declaredPublicRoute } from './APIGWPublicRoute';

/**
 * Every API Gateway method has a `CUSTOM` or `COGNITO_USER_POOLS` authorizer, except `OPTIONS`
 * (CORS preflight) and the routes marked public with `markPublicRoute`: `AuthorizationType`
 * `NONE` is accepted only when the `CfnMethod` or its L2 `Method` carries the marker, the marked
 * route is one of `ALLOWED_PUBLIC_ROUTES`, and the method's real route (followed through its
 * `AWS::ApiGateway::Resource` chain) is the marked one. `AWS_IAM` is a finding. An unresolved
 * `AuthorizationType`, or a route that cannot be followed, is a finding. A route a team declared
 * public outside `/r4` and `/auth` (`FhirGateway.addPublicRoute`) is not applicable here: it is
 * `FHIR.HIPAA-APIGWPublicRoute`'s finding, which the team acknowledges with its reason.
 * @param node the CfnResource to check
 */
export function APIGWMethodAuthorization(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::ApiGateway::Method')) return NagRuleCompliance.NOT_APPLICABLE;
  const props = cfnProperties(node);
  if (asString(props.HttpMethod)?.toUpperCase() === 'OPTIONS') return NagRuleCompliance.COMPLIANT;
  const authorizationType = props.AuthorizationType === undefined ? 'NONE' : asString(props.AuthorizationType);
  if (authorizationType === 'CUSTOM' || authorizationType === 'COGNITO_USER_POOLS') {
    return props.AuthorizerId !== undefined && props.AuthorizerId !== '' ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
  }
  if (authorizationType !== 'NONE') return NagRuleCompliance.NON_COMPLIANT;
  if (declaredPublicRoute(node) !== undefined) return NagRuleCompliance.NOT_APPLICABLE;
  const marker = publicRouteOf(node);
  if (!marker || !isAllowedPublicRoute(marker)) return NagRuleCompliance.NON_COMPLIANT;
  const route = methodRoute(node);
  if (!route || routeKey(route) !== routeKey(marker)) return NagRuleCompliance.NON_COMPLIANT;
  return NagRuleCompliance.COMPLIANT;
}
