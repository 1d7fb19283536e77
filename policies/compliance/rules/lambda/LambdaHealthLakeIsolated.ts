import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { asList, asString, cfnProperties, isCfnType, isObject, logicalIdOf, referencedResource } from '../common/cfn';
import { roleCanCallHealthLake } from '../common/iam';
import { subnetInternetRoute } from '../common/network';

/**
 * A Lambda function whose execution role can call HealthLake (an in-stack `AWS::IAM::Role` with
 * an attached `AWS::IAM::Policy`/`ManagedPolicy` or inline statement allowing a `healthlake:`
 * action, or an AWS managed HealthLake/administrator policy) runs in a VPC, in isolated subnets
 * only: `VpcConfig.SubnetIds` is set and no subnet's route table (followed through
 * `AWS::EC2::SubnetRouteTableAssociation` and `AWS::EC2::Route` in the same stack) routes to an
 * internet gateway or NAT. This rule is also the kit's VPC check (there is no separate subnet
 * rule): the finding sits on the function, whose placement is what to fix. Not applicable when
 * the role is not an in-stack role (imported) or cannot call HealthLake. Findings:
 * `NoVpcConfig`, `SubnetsUnresolved`, `Subnet::<logical id>::InternetRoute`,
 * `Subnet::<id>::Unverifiable` (a literal or imported subnet, or a route target that cannot be
 * followed).
 * @param node the CfnResource to check
 */
export function LambdaHealthLakeIsolated(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::Lambda::Function')) return NagRuleCompliance.NOT_APPLICABLE;
  const props = cfnProperties(node);
  const role = referencedResource(node, props.Role, 'AWS::IAM::Role');
  if (!role || !roleCanCallHealthLake(role)) return NagRuleCompliance.NOT_APPLICABLE;
  const vpc = props.VpcConfig;
  if (!isObject(vpc) || vpc.SubnetIds === undefined) return ['NoVpcConfig'];
  const subnets = asList(vpc.SubnetIds);
  if (subnets === undefined) return ['SubnetsUnresolved'];
  if (subnets.length === 0) return ['NoVpcConfig'];
  const findings: string[] = [];
  for (const value of subnets) {
    const subnet = referencedResource(node, value, 'AWS::EC2::Subnet');
    if (!subnet) {
      findings.push(`Subnet::${asString(value) ?? '?'}::Unverifiable`);
      continue;
    }
    const route = subnetInternetRoute(subnet);
    if (route === 'yes') findings.push(`Subnet::${logicalIdOf(subnet)}::InternetRoute`);
    if (route === 'unknown') findings.push(`Subnet::${logicalIdOf(subnet)}::Unverifiable`);
  }
  return findings.length === 0 ? NagRuleCompliance.COMPLIANT : [...new Set(findings)];
}
