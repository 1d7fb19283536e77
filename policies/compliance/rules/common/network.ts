/**
 * VPC helpers for the FHIR.HIPAA rules: whether a subnet can reach the internet, from the
 * route tables of its stack.
 */
import { CfnResource } from 'aws-cdk-lib';
import { asString, cfnProperties, refersTo, referencedResource, stackResources } from './cfn';

/** Whether a subnet routes to the internet: `yes`, `no`, or `unknown` (a target that cannot be followed). */
export type InternetRoute = 'yes' | 'no' | 'unknown';

/**
 * Follows `AWS::EC2::SubnetRouteTableAssociation`s of the subnet to their route tables and the
 * `AWS::EC2::Route`s in them. A route leaves for the internet when its target is an
 * `AWS::EC2::InternetGateway` (or a literal `igw-…`), a NAT gateway (`NatGatewayId`), an
 * egress-only internet gateway, a carrier gateway, or an instance (a NAT instance) on a default
 * route. A `GatewayId` that is neither a literal nor an in-stack resource is `unknown`. A subnet
 * without an association uses the VPC's main route table, which CloudFormation cannot add
 * routes to: `no`.
 */
export function subnetInternetRoute(subnet: CfnResource): InternetRoute {
  const tables = stackResources(subnet, 'AWS::EC2::SubnetRouteTableAssociation')
    .map(cfnProperties)
    .filter((a) => refersTo(a.SubnetId, subnet))
    .map((a) => a.RouteTableId);
  let result: InternetRoute = 'no';
  for (const route of stackResources(subnet, 'AWS::EC2::Route')) {
    const props = cfnProperties(route);
    if (!tables.some((t) => sameTable(subnet, t, props.RouteTableId))) continue;
    const verdict = routeLeaves(route, props);
    if (verdict === 'yes') return 'yes';
    if (verdict === 'unknown') result = 'unknown';
  }
  return result;
}

function sameTable(node: CfnResource, a: unknown, b: unknown): boolean {
  const ta = referencedResource(node, a);
  const tb = referencedResource(node, b);
  if (ta && tb) return ta === tb;
  const la = asString(a);
  return la !== undefined && la === asString(b);
}

function routeLeaves(route: CfnResource, props: Record<string, unknown>): InternetRoute {
  if (props.NatGatewayId !== undefined || props.EgressOnlyInternetGatewayId !== undefined || props.CarrierGatewayId !== undefined) return 'yes';
  const isDefault = props.DestinationCidrBlock === '0.0.0.0/0' || props.DestinationIpv6CidrBlock === '::/0';
  if (props.InstanceId !== undefined && isDefault) return 'yes';
  if (props.GatewayId === undefined) return 'no';
  const literal = asString(props.GatewayId);
  if (literal !== undefined) return literal.startsWith('igw-') ? 'yes' : 'no';
  const target = referencedResource(route, props.GatewayId);
  if (!target) return 'unknown';
  return target.cfnResourceType === 'AWS::EC2::InternetGateway' ? 'yes' : 'no';
}
