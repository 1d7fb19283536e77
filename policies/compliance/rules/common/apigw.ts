/**
 * API Gateway and WAF helpers for the FHIR.HIPAA rules: a method's route, what a stage or an
 * API is associated with.
 */
import { CfnResource } from 'aws-cdk-lib';
import {
  asString, cfnProperties, isObject, referencedAttribute, referencedResource, renderReferences,
  renderTokenReferences, appResources,
} from './cfn';

/** A method's HTTP method and resource path, e.g. `GET /r4/metadata`. */
export interface MethodRoute {
  readonly method: string;
  readonly path: string;
}

/**
 * The route of an `AWS::ApiGateway::Method`, following `ResourceId` through the
 * `AWS::ApiGateway::Resource` chain to the API root (`Fn::GetAtt [Api, RootResourceId]`).
 * `undefined` when any link is not a literal or an in-stack reference.
 */
export function methodRoute(method: CfnResource): MethodRoute | undefined {
  const props = cfnProperties(method);
  const httpMethod = asString(props.HttpMethod);
  if (httpMethod === undefined) return undefined;
  const parts: string[] = [];
  let resourceId: unknown = props.ResourceId;
  for (let depth = 0; depth < 64; depth++) {
    if (referencedAttribute(resourceId) === 'RootResourceId') {
      return { method: httpMethod.toUpperCase(), path: `/${parts.reverse().join('/')}` };
    }
    const resource = referencedResource(method, resourceId, 'AWS::ApiGateway::Resource');
    if (!resource) return undefined;
    const rp = cfnProperties(resource);
    const part = asString(rp.PathPart);
    if (part === undefined) return undefined;
    parts.push(part);
    resourceId = rp.ParentId;
  }
  return undefined;
}

/** How a resource refers to a REST API: a `«path»` placeholder for an in-stack API or the literal id. */
export function restApiKey(node: CfnResource, restApiId: unknown): string | undefined {
  return renderReferences(node, restApiId);
}

/** Matches the `…/restapis/<api>/stages/<stage>` tail of a rendered stage ARN. */
const STAGE_ARN = /\/restapis\/(«[^»]*»|[^/«]+)\/stages\/(«[^»]*»|[^/«]+)$/;

/**
 * Ways a reference property of `node` can be written, rendered (see cfn.ts): from the template's
 * `property`, and from the tokens of the L1 field `field`.
 */
function renderedProperty(node: CfnResource, property: string, field: string): string[] {
  const out: string[] = [];
  const fromTemplate = renderReferences(node, cfnProperties(node)[property]);
  if (fromTemplate !== undefined) out.push(fromTemplate);
  const fromToken = renderTokenReferences(node, (node as unknown as Record<string, unknown>)[field]);
  if (fromToken !== undefined) out.push(fromToken);
  return out;
}

/** Ways an `AWS::WAFv2::WebACLAssociation`'s `ResourceArn` can be written, rendered. */
const renderedResourceArns = (association: CfnResource): string[] => renderedProperty(association, 'ResourceArn', 'resourceArn');

/**
 * The `AWS::WAFv2::WebACLAssociation`s anywhere in the app whose `ResourceArn` is this
 * `AWS::ApiGateway::Stage`: `…/restapis/<api>/stages/<stage>` where `<api>` is the stage's
 * `RestApiId` (a reference to the same `AWS::ApiGateway::RestApi`, or the same literal id) and
 * `<stage>` is a reference to this stage (its `Ref` is the stage name) or its literal `StageName`.
 * References are compared by construct, so an association in another stack is found too.
 */
export function webAclAssociationsOfStage(stage: CfnResource): CfnResource[] {
  const apiKeys = new Set(renderedProperty(stage, 'RestApiId', 'restApiId'));
  const stageKeys = new Set<string>([`«${stage.node.path}»`]);
  const stageName = asString(cfnProperties(stage).StageName);
  if (stageName !== undefined) stageKeys.add(stageName);

  return appResources(stage, 'AWS::WAFv2::WebACLAssociation').filter((association) =>
    renderedResourceArns(association).some((arn) => {
      const m = STAGE_ARN.exec(arn);
      return m !== null && apiKeys.has(m[1]) && stageKeys.has(m[2]);
    }));
}

/**
 * The associations anywhere in the app that attach this `AWS::WAFv2::WebACL` to an API Gateway
 * stage (`ResourceArn` containing `/restapis/`, or `:apigateway:`).
 */
export function apiAssociationsOfWebAcl(acl: CfnResource): CfnResource[] {
  const aclKey = `«${acl.node.path}.Arn»`;
  return appResources(acl, 'AWS::WAFv2::WebACLAssociation').filter((association) =>
    renderedProperty(association, 'WebACLArn', 'webAclArn').includes(aclKey)
    && renderedResourceArns(association).some((arn) => arn.includes('/restapis/') || arn.includes(':apigateway:')));
}

/** Response parameters (`{ name: value }`) of a resolved property, `{}` when absent or unresolved. */
export function responseParameters(value: unknown): Record<string, unknown> {
  return isObject(value) ? value : {};
}
