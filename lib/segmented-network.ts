import { Aws, Fn, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { FhirKeys } from './fhir-keys';
import { HEALTHLAKE_DATA_ACTIONS } from './healthlake-actions';
import { createAuditLogGroup } from './private/log-group';

/** Properties of {@link SegmentedNetwork}. */
export interface SegmentedNetworkProps {
  /** The kit's keys; flow logs are encrypted with `keys.logs`. */
  readonly keys: FhirKeys;

  /**
   * Availability zones for the isolated subnets: 2 or 3. The zones are chosen at deploy time
   * with `Fn::GetAZs`, so synth needs no account, region or context lookup.
   *
   * @default 2
   */
  readonly maxAzs?: number;

  /**
   * IPv4 range of the VPC.
   *
   * @default ec2.IpAddresses.cidr('10.40.0.0/16')
   */
  readonly ipAddresses?: ec2.IIpAddresses;

  /**
   * Retention of the flow-log group; at least six years.
   *
   * @default logs.RetentionDays.SIX_YEARS (2192 days)
   */
  readonly flowLogRetention?: logs.RetentionDays;

  /**
   * Also create an interface endpoint for AWS X-Ray, so functions in the isolated subnets can send
   * traces.
   *
   * @default true
   */
  readonly xrayEndpoint?: boolean;
}

/**
 * The data tier's network: a VPC whose subnets are all PRIVATE_ISOLATED (no internet gateway, no
 * NAT, no route out), reaching AWS only through interface endpoints (HealthLake, KMS, CloudWatch
 * Logs, STS, X-Ray) with private DNS.
 *
 * Enforced: isolated subnets only; the default security group closed; flow logs of ALL traffic
 * to a CMK-encrypted log group kept at least six years; the endpoints' security group accepts
 * 443 only from `proxySecurityGroup`, which has no other egress; endpoint policies admit only
 * this account's principals (and for HealthLake only the FHIR data actions on this account's
 * datastores).
 */
export class SegmentedNetwork extends Construct {
  public readonly vpc: ec2.Vpc;
  /** Attach to functions that call HealthLake (the FHIR proxy): egress 443 to the endpoints only. */
  public readonly proxySecurityGroup: ec2.SecurityGroup;
  /** Guards the interface endpoints: ingress 443 from `proxySecurityGroup` only. */
  public readonly endpointSecurityGroup: ec2.SecurityGroup;
  public readonly flowLogGroup: logs.LogGroup;
  public readonly flowLog: ec2.FlowLog;
  /** Assumed by VPC Flow Logs; its permissions are `flowLogPolicy`. */
  public readonly flowLogRole: iam.Role;
  public readonly flowLogPolicy: iam.ManagedPolicy;
  public readonly healthLakeEndpoint: ec2.InterfaceVpcEndpoint;
  public readonly kmsEndpoint: ec2.InterfaceVpcEndpoint;
  public readonly logsEndpoint: ec2.InterfaceVpcEndpoint;
  public readonly stsEndpoint: ec2.InterfaceVpcEndpoint;
  /** Present unless `xrayEndpoint: false`. */
  public readonly xrayEndpoint?: ec2.InterfaceVpcEndpoint;
  /** The isolated subnets, for `vpcSubnets`. */
  public readonly isolatedSubnets: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };

  constructor(scope: Construct, id: string, props: SegmentedNetworkProps) {
    super(scope, id);
    const maxAzs = props.maxAzs ?? 2;
    if (!Token.isUnresolved(maxAzs) && (!Number.isInteger(maxAzs) || maxAzs < 2 || maxAzs > 3)) {
      throw new Error(`SegmentedNetwork: maxAzs is ${maxAzs}; use 2 or 3 availability zones.`);
    }

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: props.ipAddresses ?? ec2.IpAddresses.cidr('10.40.0.0/16'),
      // Fn::GetAZs at deploy time: no context lookup at synth.
      availabilityZones: Array.from({ length: maxAzs }, (_, i) => Fn.select(i, Fn.getAzs(Aws.REGION))),
      natGateways: 0,
      createInternetGateway: false,
      restrictDefaultSecurityGroup: true,
      subnetConfiguration: [{ name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 22 }],
    });

    this.flowLogGroup = createAuditLogGroup(this, 'FlowLogGroup', {
      encryptionKey: props.keys.logs,
      retention: props.flowLogRetention ?? logs.RetentionDays.SIX_YEARS,
      owner: 'SegmentedNetwork',
    });
    // The delivery role's permissions live in a customer-managed policy (no inline policy), and
    // only VPC Flow Logs of this account may assume it.
    const stack = Stack.of(this);
    this.flowLogRole = new iam.Role(this, 'FlowLogRole', {
      description: 'VPC Flow Logs delivery to the CMK-encrypted flow-log group',
      assumedBy: new iam.ServicePrincipal('vpc-flow-logs.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': stack.account },
        ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'ec2', resource: 'vpc-flow-log', resourceName: '*' }) },
      }),
    });
    this.flowLogPolicy = new iam.ManagedPolicy(this, 'FlowLogPolicy', {
      description: 'Write VPC flow logs to the flow-log group only',
      roles: [this.flowLogRole],
      statements: [
        new iam.PolicyStatement({
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
          resources: [this.flowLogGroup.logGroupArn],
        }),
      ],
    });
    this.flowLog = new ec2.FlowLog(this, 'FlowLog', {
      resourceType: ec2.FlowLogResourceType.fromVpc(this.vpc),
      // An immutable view: the L2 would otherwise add its grants as an inline policy.
      destination: ec2.FlowLogDestination.toCloudWatchLogs(this.flowLogGroup, this.flowLogRole.withoutPolicyUpdates()),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });

    this.endpointSecurityGroup = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
      vpc: this.vpc,
      description: 'Interface endpoints: HTTPS from the FHIR proxy only',
      allowAllOutbound: false,
    });
    this.proxySecurityGroup = new ec2.SecurityGroup(this, 'ProxySecurityGroup', {
      vpc: this.vpc,
      description: 'FHIR proxy: HTTPS to the interface endpoints only',
      allowAllOutbound: false,
    });
    this.proxySecurityGroup.connections.allowTo(this.endpointSecurityGroup, ec2.Port.tcp(443), 'FHIR proxy to AWS interface endpoints');

    const account = stack.account;
    const endpoint = (id: string, service: ec2.IInterfaceVpcEndpointService) =>
      this.vpc.addInterfaceEndpoint(id, {
        service,
        privateDnsEnabled: true,
        open: false,
        securityGroups: [this.endpointSecurityGroup],
        subnets: this.isolatedSubnets,
      });

    this.healthLakeEndpoint = endpoint('HealthLakeEndpoint', ec2.InterfaceVpcEndpointAwsService.HEALTHLAKE);
    this.healthLakeEndpoint.addToPolicy(
      new iam.PolicyStatement({
        sid: 'FhirDataActionsOnThisAccountsDatastores',
        principals: [new iam.AnyPrincipal()],
        actions: [...HEALTHLAKE_DATA_ACTIONS],
        resources: [Stack.of(this).formatArn({ service: 'healthlake', resource: 'datastore', resourceName: 'fhir/*' })],
        conditions: { StringEquals: { 'aws:PrincipalAccount': account } },
      }),
    );

    this.kmsEndpoint = endpoint('KmsEndpoint', ec2.InterfaceVpcEndpointAwsService.KMS);
    this.logsEndpoint = endpoint('LogsEndpoint', ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS);
    this.stsEndpoint = endpoint('StsEndpoint', ec2.InterfaceVpcEndpointAwsService.STS);
    for (const ep of [this.kmsEndpoint, this.logsEndpoint]) {
      ep.addToPolicy(thisAccountOnly(account, true));
    }
    this.stsEndpoint.addToPolicy(thisAccountOnly(account, false));
    if (props.xrayEndpoint ?? true) {
      this.xrayEndpoint = endpoint('XRayEndpoint', ec2.InterfaceVpcEndpointAwsService.XRAY);
      this.xrayEndpoint.addToPolicy(thisAccountOnly(account, false));
    }
  }
}

/** Endpoint policy: any action, but only by this account's principals (and on its resources). */
function thisAccountOnly(account: string, resourceAccount: boolean): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'ThisAccountOnly',
    principals: [new iam.AnyPrincipal()],
    actions: ['*'],
    resources: ['*'],
    conditions: {
      StringEquals: resourceAccount ? { 'aws:PrincipalAccount': account, 'aws:ResourceAccount': account } : { 'aws:PrincipalAccount': account },
    },
  });
}
