import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { webAclAssociationsOfStage } from '../common/apigw';
import { isCfnType } from '../common/cfn';

/**
 * The REST API stage is associated with a WAFv2 web ACL: some `AWS::WAFv2::WebACLAssociation`
 * in the app has a `ResourceArn` ending `/restapis/<api>/stages/<stage>` where `<api>` is this
 * stage's API (same reference or same literal id) and `<stage>` a reference to this stage or its
 * literal `StageName`. References are matched by construct, across stacks too; an ARN that
 * cannot be rendered (e.g. `Fn::If`) does not match, so the stage is a finding.
 * @param node the CfnResource to check
 */
export function APIGWStageWAFAssociation(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::ApiGateway::Stage')) return NagRuleCompliance.NOT_APPLICABLE;
  return webAclAssociationsOfStage(node).length > 0 ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
}
