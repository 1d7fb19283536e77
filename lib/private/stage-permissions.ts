import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IAspect } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** aws-cdk-lib's id prefix of the permission a `LambdaIntegration` adds to its method. */
const METHOD_PERMISSION = 'ApiPermission.';
const TEST_PERMISSION = 'ApiPermission.Test.';

/**
 * Lambda invoke permissions for every API version's stage.
 *
 * aws-cdk-lib's `LambdaIntegration` lets API Gateway invoke a function from one method of the
 * API's deployment stage only (`Method.methodArn` names `api.deploymentStage`). The kit serves
 * each API version as its own stage of the same deployment, so the other stages would reach the
 * methods and get 500 (no permission). This aspect copies every method-scoped permission of the
 * API for each other stage, scoped to the same method and path: nothing broader than what
 * aws-cdk-lib grants for the deployment stage. It sees the routes a team adds later too.
 */
export class StagePermissions implements IAspect {
  constructor(
    private readonly api: apigateway.RestApi,
    /** The stages besides the deployment stage. */
    private readonly otherStages: () => readonly string[],
  ) {}

  public visit(node: IConstruct): void {
    if (!(node instanceof lambda.CfnPermission)) return;
    const method = node.node.scope;
    if (!(method instanceof apigateway.Method) || method.api !== this.api) return;
    const id = node.node.id;
    if (!id.startsWith(METHOD_PERMISSION) || id.startsWith(TEST_PERMISSION) || id.includes('.Stage.')) return;
    for (const stage of this.otherStages()) {
      const copyId = `${id}.Stage.${stage}`;
      if (method.node.tryFindChild(copyId) !== undefined) continue;
      new lambda.CfnPermission(method, copyId, {
        action: node.action,
        functionName: node.functionName,
        principal: node.principal,
        sourceArn: this.api.arnForExecuteApi(method.httpMethod, method.resource.path.replace(/\{[^}]*\}/g, '*'), stage),
      });
    }
  }
}
