import { Aws, CfnResource, Fn, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct, IConstruct } from 'constructs';
import { IFhirKeys } from './fhir-keys';
import { markImportedUse, recordImport } from '../policies/compliance/imported-resources';
import { HEALTHLAKE_DATA_ACTIONS } from '../policies/compliance/healthlake-actions';
import { createAuditLogGroup } from './private/log-group';
import { acknowledge } from '../policies/compliance/acknowledge';

/**
 * The data tier's network as the other constructs use it: where functions that reach AWS run
 * (isolated subnets, a security group reaching only the interface endpoints) and the HealthLake
 * endpoint that FHIR grants are bound to (`aws:SourceVpce`).
 */
export interface ISegmentedNetwork extends IConstruct {
  readonly vpc: ec2.IVpc;
  /** The isolated subnets, for `vpcSubnets`. */
  readonly isolatedSubnets: ec2.SubnetSelection;
  /** Attach to functions that call HealthLake: egress 443 to the endpoints only. */
  readonly proxySecurityGroup: ec2.ISecurityGroup;
  /** Guards the interface endpoints: ingress 443 only from the groups given access. */
  readonly endpointSecurityGroup: ec2.ISecurityGroup;
  /** The HealthLake interface endpoint; FHIR grants name it in `aws:SourceVpce`. */
  readonly healthLakeEndpoint: ec2.IInterfaceVpcEndpoint;
  /**
   * Lets `peer` (a team's function, say: anything with `connections`) reach the interface
   * endpoints (HealthLake, KMS, Logs, STS) on HTTPS and nothing else: egress 443 from its
   * security groups to the endpoints' group, and ingress 443 on the endpoints' group from them.
   * Its FHIR permissions still come from `FhirDatastore.grantFhirAccess`.
   */
  allowEndpointAccessFrom(peer: ec2.IConnectable): void;
}

/** Properties of {@link SegmentedNetwork}. */
export interface SegmentedNetworkProps {
  /**
   * The kit's keys; flow logs are encrypted with `keys.logs`. Imported keys (`FhirKeys.fromKeys`):
   * the flow-log group carries their record, reported as `FHIR.HIPAA-ImportedResourceAttested[keys]`
   * until acknowledged.
   */
  readonly keys: IFhirKeys;

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

/** Properties of {@link SegmentedNetwork.fromVpc}: a VPC a platform team already has. */
export interface SegmentedNetworkFromVpcProps {
  /** Flow logs are encrypted with `keys.logs` (imported keys: as {@link SegmentedNetworkProps.keys}). */
  readonly keys: IFhirKeys;
  /**
   * The VPC, imported without a context lookup: `ec2.Vpc.fromVpcAttributes(scope, 'Vpc', {
   * vpcId, availabilityZones, isolatedSubnetIds, isolatedSubnetRouteTableIds })` (or a `Vpc` of
   * another stack). `ec2.Vpc.fromLookup` makes `cdk synth` need AWS credentials and context.
   */
  readonly vpc: ec2.IVpc;
  /**
   * The subnets with no route out where the data tier runs (the endpoints, the FHIR proxy, team
   * functions): at least two, in at least two availability zones.
   *
   * @default - the VPC's PRIVATE_ISOLATED subnets (`isolatedSubnetIds`)
   */
  readonly isolatedSubnets?: ec2.SubnetSelection;
  /**
   * Retention of the flow-log group; at least six years.
   *
   * @default logs.RetentionDays.SIX_YEARS (2192 days)
   */
  readonly flowLogRetention?: logs.RetentionDays;
  /**
   * Also create an interface endpoint for AWS X-Ray.
   *
   * @default true
   */
  readonly xrayEndpoint?: boolean;
}

/** A VPC given to `fromVpc`, by the props object the constructor receives. */
const IMPORTED_VPCS = new WeakMap<SegmentedNetworkProps, { readonly vpc: ec2.IVpc; readonly isolatedSubnets: ec2.SubnetSelection }>();

/**
 * The data tier's network: a VPC whose subnets are all PRIVATE_ISOLATED (no internet gateway, no
 * NAT, no route out), reaching AWS only through interface endpoints (HealthLake, KMS, CloudWatch
 * Logs, STS, X-Ray) with private DNS.
 *
 * Enforced: isolated subnets only; the default security group closed (by CDK's lock-down
 * provider, whose function logs to a CMK-encrypted six-year log group and which is acknowledged
 * with what was reviewed, see `defaultSecurityGroupLockDown`); flow logs of ALL traffic
 * to a CMK-encrypted log group kept at least six years; the endpoints' security group accepts
 * 443 only from `proxySecurityGroup`, which has no other egress; endpoint policies admit only
 * this account's principals (and for HealthLake only the FHIR data actions on this account's
 * datastores).
 */
export class SegmentedNetwork extends Construct implements ISegmentedNetwork {
  /**
   * The kit's network in a VPC a platform team already has. The kit changes nothing of the VPC
   * or its subnets; it adds, in the given isolated subnets, everything else it owns: the interface
   * endpoints (HealthLake, KMS, CloudWatch Logs, STS, X-Ray) with private DNS and their
   * this-account-only policies, the endpoint and proxy security groups, and flow logs of ALL
   * traffic to a CMK log group kept six years. The kit creates its own endpoints rather than
   * using the VPC's because their policies, their security group (443 from the groups it
   * admits, no one else) and the HealthLake endpoint's id in every FHIR grant's
   * `aws:SourceVpce` are the zero-trust boundary; shared endpoints admit the whole VPC.
   *
   * Checked at synth: the selection is of isolated subnets (a `subnetType` other than
   * PRIVATE_ISOLATED, or a subnet the VPC lists as public or private with egress, is refused),
   * it selects at least two subnets in at least two availability zones, and the VPC has them.
   *
   * Not checkable at synth: that the subnets' route tables really send nothing out (no internet,
   * NAT, egress-only, transit or virtual private gateway, no peering), that the VPC's default
   * security group has no rules (the kit closes it only on a VPC it creates), and that no other
   * interface endpoint of the VPC has private DNS for these services (the deployment would fail).
   * The kit does not vouch for them: the import is recorded on the network and on its HealthLake
   * interface endpoint, where the compliance gate reports
   * `FHIR.HIPAA-ImportedResourceAttested[vpc]` listing them; the synth fails until it is
   * acknowledged with how, when and by whom they were checked
   * (`acknowledge(stack, 'FHIR.HIPAA-ImportedResourceAttested[vpc]', reason)`). And
   * FHIR.HIPAA-LambdaHealthLakeIsolated reports `Subnet::<id>::Unverifiable` on every function
   * that can call HealthLake in these subnets, to be acknowledged the same way.
   * @throws Error naming what to change when a check fails
   */
  public static fromVpc(scope: Construct, id: string, props: SegmentedNetworkFromVpcProps): SegmentedNetwork {
    const selection = checkImportedVpc(props);
    const networkProps: SegmentedNetworkProps = { keys: props.keys, flowLogRetention: props.flowLogRetention, xrayEndpoint: props.xrayEndpoint };
    IMPORTED_VPCS.set(networkProps, { vpc: props.vpc, isolatedSubnets: selection });
    return new SegmentedNetwork(scope, id, networkProps);
  }

  public readonly vpc: ec2.IVpc;
  /** Whether the VPC was brought by a platform team ({@link fromVpc}) rather than created here. */
  public readonly importedVpc: boolean;
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
  public readonly isolatedSubnets: ec2.SubnetSelection;
  /**
   * CDK's provider that closes the VPC's default security group (`restrictDefaultSecurityGroup`):
   * a function and a role that aws-cdk-lib adds once per stack as plain CloudFormation, so
   * cdk-nag's rules do not read them. The kit gives the function a CMK-encrypted log group kept
   * as long as the flow logs, and acknowledges `FHIR.HIPAA-ResourceEvaluated` on both with what
   * was reviewed instead. Absent for a VPC brought with {@link fromVpc}.
   */
  public readonly defaultSecurityGroupLockDown?: DefaultSecurityGroupLockDown;

  constructor(scope: Construct, id: string, props: SegmentedNetworkProps) {
    super(scope, id);
    const imported = IMPORTED_VPCS.get(props);
    this.importedVpc = imported !== undefined;
    if (imported) {
      this.vpc = imported.vpc;
      this.isolatedSubnets = imported.isolatedSubnets;
    } else {
      this.vpc = createIsolatedVpc(this, props);
      this.isolatedSubnets = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
    }

    this.flowLogGroup = createAuditLogGroup(this, 'FlowLogGroup', {
      encryptionKey: props.keys.logs,
      retention: props.flowLogRetention ?? logs.RetentionDays.SIX_YEARS,
      owner: 'SegmentedNetwork',
    });
    // Imported keys (FhirKeys.fromKeys) create no resource: their record goes on what `logs` encrypts.
    markImportedUse(this.flowLogGroup.node.defaultChild ?? this.flowLogGroup, props.keys, 'keys');
    if (!imported) this.defaultSecurityGroupLockDown = lockDownProvider(this, props.keys, props.flowLogRetention ?? logs.RetentionDays.SIX_YEARS);
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
    const endpoint = (id: string, service: ec2.IInterfaceVpcEndpointService) => {
      const options: ec2.InterfaceVpcEndpointOptions = { service, privateDnsEnabled: true, open: false, securityGroups: [this.endpointSecurityGroup], subnets: this.isolatedSubnets };
      // A VPC of another stack or construct: the endpoints are this network's, in this stack.
      return imported ? new ec2.InterfaceVpcEndpoint(this, id, { vpc: this.vpc, ...options }) : this.vpc.addInterfaceEndpoint(id, options);
    };

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
    if (imported) {
      const subnetIds = this.vpc.selectSubnets(this.isolatedSubnets).subnetIds;
      const record = recordImport(this, 'vpc', {
        resources: [this.vpc.vpcId, ...subnetIds],
        requirements: [
          `the route tables of the isolated subnets (${subnetIds.map((s) => (Token.isUnresolved(s) ? '?' : s)).join(', ')}) send nothing out of the VPC (no internet, NAT, egress-only, transit or virtual private gateway, no peering connection);`,
          'the VPC\'s default security group has no rules;',
          'no other interface endpoint of the VPC has private DNS for HealthLake, KMS, CloudWatch Logs, STS or X-Ray.',
        ],
        // FHIR.HIPAA-LambdaHealthLakeIsolated sees the subnets and reports them Unverifiable.
        rulesThatCannotSee: ['HIPAA.Security-VPCNoUnrestrictedRouteToIGW', 'HIPAA.Security-VPCDefaultSecurityGroupClosed'],
      });
      // The endpoint every FHIR grant is bound to is the kit's resource in the imported VPC.
      markImportedUse(this.healthLakeEndpoint.node.defaultChild ?? this.healthLakeEndpoint, this, record.kind);
    }
  }

  /**
   * Lets `peer` (a team's function, say: anything with `connections`) reach the interface
   * endpoints on HTTPS and nothing else: egress 443 from its security groups to the endpoints'
   * group, and ingress 443 on the endpoints' group from them. `CompliantFunction` calls it for its own group.
   */
  public allowEndpointAccessFrom(peer: ec2.IConnectable): void {
    peer.connections.allowTo(this.endpointSecurityGroup, ec2.Port.tcp(443), 'HTTPS to the FHIR platform\'s interface endpoints only');
  }

}

/** The kit's own VPC: isolated subnets only, no gateway out, the default security group closed. */
function createIsolatedVpc(network: SegmentedNetwork, props: SegmentedNetworkProps): ec2.Vpc {
  const maxAzs = props.maxAzs ?? 2;
  if (!Token.isUnresolved(maxAzs) && (!Number.isInteger(maxAzs) || maxAzs < 2 || maxAzs > 3)) {
    throw new Error(`SegmentedNetwork: maxAzs is ${maxAzs}; use 2 or 3 availability zones.`);
  }
  return new ec2.Vpc(network, 'Vpc', {
    ipAddresses: props.ipAddresses ?? ec2.IpAddresses.cidr('10.40.0.0/16'),
    // Fn::GetAZs at deploy time: no context lookup at synth.
    availabilityZones: Array.from({ length: maxAzs }, (_, i) => Fn.select(i, Fn.getAzs(Aws.REGION))),
    natGateways: 0,
    createInternetGateway: false,
    restrictDefaultSecurityGroup: true,
    subnetConfiguration: [{ name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 22 }],
  });
}

/**
 * What can be checked of a VPC a team brings: isolated subnets (by type, and not listed by the
 * VPC as public or private with egress), at least two in two zones. Returns the selection.
 */
function checkImportedVpc(props: SegmentedNetworkFromVpcProps): ec2.SubnetSelection {
  const vpc = props?.vpc;
  if (!vpc || typeof vpc !== 'object' || typeof vpc.vpcId !== 'string' || typeof vpc.selectSubnets !== 'function') {
    throw new Error('SegmentedNetwork.fromVpc: vpc is missing; give the VPC, e.g. ec2.Vpc.fromVpcAttributes(scope, \'Vpc\', { vpcId, availabilityZones, isolatedSubnetIds, isolatedSubnetRouteTableIds }).');
  }
  const selection = props.isolatedSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
  if (selection.subnetType !== undefined && selection.subnetType !== ec2.SubnetType.PRIVATE_ISOLATED) {
    throw new Error(`SegmentedNetwork.fromVpc: isolatedSubnets selects ${selection.subnetType} subnets; the data tier runs only in subnets with no route out: select PRIVATE_ISOLATED subnets (isolatedSubnetIds in Vpc.fromVpcAttributes).`);
  }
  let selected: ec2.ISubnet[];
  try {
    selected = vpc.selectSubnets(selection).subnets;
  } catch {
    throw new Error('SegmentedNetwork.fromVpc: the VPC has no subnets matching isolatedSubnets; declare its isolated subnets (isolatedSubnetIds and isolatedSubnetRouteTableIds in Vpc.fromVpcAttributes) or select them with isolatedSubnets.');
  }
  const routesOut = new Map<string, string>([
    ...vpc.publicSubnets.map((s): [string, string] => [s.subnetId, 'a public subnet (it routes to an internet gateway)']),
    ...vpc.privateSubnets.map((s): [string, string] => [s.subnetId, 'a private subnet with egress (it routes to a NAT)']),
  ]);
  for (const subnet of selected) {
    const why = Token.isUnresolved(subnet.subnetId) ? undefined : routesOut.get(subnet.subnetId);
    if (why) throw new Error(`SegmentedNetwork.fromVpc: ${subnet.subnetId} is ${why} of the VPC; select only isolated subnets with isolatedSubnets.`);
  }
  const zones = new Set(selected.map((s) => s.availabilityZone));
  const zonesKnown = selected.every((s) => typeof s.availabilityZone === 'string' && !Token.isUnresolved(s.availabilityZone));
  if (selected.length < 2 || (zonesKnown && zones.size < 2)) {
    throw new Error(`SegmentedNetwork.fromVpc: isolatedSubnets selects ${selected.length} subnet(s) in ${zonesKnown ? zones.size : 'unknown'} availability zone(s); the kit needs isolated subnets in at least two zones.`);
  }
  return selection;
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

/** CDK's default-security-group lock-down provider of a stack, as {@link SegmentedNetwork} configures it. */
export interface DefaultSecurityGroupLockDown {
  /** `AWS::Lambda::Function` (a plain `CfnResource`). */
  readonly handler: CfnResource;
  /** `AWS::IAM::Role` (a plain `CfnResource`). */
  readonly role: CfnResource;
  /** Where the function logs (`LoggingConfig.LogGroup`). */
  readonly logGroup: logs.LogGroup;
}

/** The construct id aws-cdk-lib gives the provider, at the stack's top level. */
const LOCK_DOWN_PROVIDER_ID = 'Custom::VpcRestrictDefaultSGCustomResourceProvider';

/** One provider per stack, configured once however many networks the stack holds. */
const LOCK_DOWNS = new WeakMap<CfnResource, DefaultSecurityGroupLockDown>();

/** What was reviewed of the provider's function, for the reviewer's report. */
export const LOCK_DOWN_HANDLER_REVIEW = 'CDK\'s own provider for restrictDefaultSecurityGroup, added as plain CloudFormation, so cdk-nag\'s Lambda rules (dead-letter queue, reserved concurrency, VPC, runtime) do not read it; reviewed here instead. It runs only while CloudFormation creates or updates the VPC, to revoke every rule of the VPC\'s default security group, and handles no PHI. A dead-letter queue would add nothing: CloudFormation invokes it through the custom resource and fails the deployment when it fails. Reserved concurrency is not needed for one invocation per deployment. It runs outside the VPC because it must reach the EC2 API and CloudFormation\'s pre-signed response URL, which the isolated subnets (no NAT, no EC2 or S3 endpoint) cannot. Its runtime is the one aws-cdk-lib pins, and its logs go to the CMK-encrypted log group SegmentedNetwork gives it (LockDownLogGroup), kept as long as the flow logs.';

/** What was reviewed of the provider's role. */
export const LOCK_DOWN_ROLE_REVIEW = 'CDK\'s own role for the restrictDefaultSecurityGroup provider, added as plain CloudFormation, so cdk-nag\'s IAM rules do not read it; reviewed here instead. Only lambda.amazonaws.com may assume it. Its one inline policy, written by aws-cdk-lib, allows only ec2:AuthorizeSecurityGroupIngress/Egress and ec2:RevokeSecurityGroupIngress/Egress on this VPC\'s default security group; its managed policy is AWSLambdaBasicExecutionRole (writing its own logs). It holds no data action on a PHI store or key (FHIR.HIPAA-IAMNoPHIDataWildcard and HealthLakeDataAccessScoped evaluate it and pass).';

/**
 * Finds the stack's lock-down provider (created by the VPC's `restrictDefaultSecurityGroup`),
 * gives its function a log group, and acknowledges the coverage finding on its function and role.
 */
function lockDownProvider(network: SegmentedNetwork, keys: IFhirKeys, retention: logs.RetentionDays): DefaultSecurityGroupLockDown {
  const provider = Stack.of(network).node.tryFindChild(LOCK_DOWN_PROVIDER_ID);
  const handler = provider?.node.tryFindChild('Handler');
  const role = provider?.node.tryFindChild('Role');
  if (!CfnResource.isCfnResource(handler) || !CfnResource.isCfnResource(role)) {
    throw new Error(`SegmentedNetwork: aws-cdk-lib did not create the default security group lock-down provider where the kit expects it (${LOCK_DOWN_PROVIDER_ID}/Handler and /Role); lib/segmented-network.ts must follow it`);
  }
  const existing = LOCK_DOWNS.get(handler);
  if (existing) return existing;
  const logGroup = createAuditLogGroup(network, 'LockDownLogGroup', { encryptionKey: keys.logs, retention, owner: 'SegmentedNetwork' });
  // The provider's role holds AWSLambdaBasicExecutionRole, which may write to any log group.
  handler.addPropertyOverride('LoggingConfig', { LogGroup: logGroup.logGroupName });
  acknowledge(handler, 'FHIR.HIPAA-ResourceEvaluated', LOCK_DOWN_HANDLER_REVIEW);
  acknowledge(role, 'FHIR.HIPAA-ResourceEvaluated', LOCK_DOWN_ROLE_REVIEW);
  const lockDown = { handler, role, logGroup };
  LOCK_DOWNS.set(handler, lockDown);
  return lockDown;
}
