import { Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledge } from '../policies/compliance/acknowledge';
import { IFhirKeys } from './fhir-keys';
import { KIT_LAMBDA_RUNTIME } from './private/kit-function';
import { KitRole } from './private/kit-role';
import { environmentSizeErrors } from './private/lambda-environment-size';
import { createAuditLogGroup } from './private/log-group';
import { ISegmentedNetwork } from './segmented-network';

/** Properties of {@link CompliantFunction}. */
export interface CompliantFunctionProps {
  /** The function's code (e.g. `lambda.Code.fromAsset('dist/my-fn')`), built for Node.js 24. */
  readonly code: lambda.Code;
  /** @default 'index.handler' */
  readonly handler?: string;
  readonly description: string;
  /** `keys.logs` encrypts the log group; `keys.data` the dead-letter queue of an asynchronous function. */
  readonly keys: IFhirKeys;
  /**
   * The function runs in this network's isolated subnets, in a security group of its own whose
   * only egress is HTTPS to the network's AWS service endpoints (HealthLake, KMS, Logs, STS).
   */
  readonly network: ISegmentedNetwork;
  /**
   * How the function is invoked. `synchronous` (API Gateway, a direct invoke whose caller sees
   * the error): no dead-letter queue, and HIPAA.Security-LambdaDLQ is acknowledged saying so.
   * `asynchronous` (EventBridge, S3, SNS events): failed events go to an SQS queue encrypted
   * with `keys.data`.
   */
  readonly invocation: 'synchronous' | 'asynchronous';
  /**
   * Environment variables. Lambda allows 4 KB for all of them together (keys and values, measured
   * as JSON); a larger environment fails the synth naming the largest variables, where Lambda
   * would refuse it at deployment. Values known only at deployment count at an upper bound.
   *
   * @default - none
   */
  readonly environment?: Record<string, string>;
  /** @default Duration.seconds(10) */
  readonly timeout?: Duration;
  /** @default 512 */
  readonly memorySize?: number;
  /** A ceiling on concurrent executions (HIPAA.Security-LambdaConcurrency). @default 10 */
  readonly reservedConcurrentExecutions?: number;
  /** @default logs.RetentionDays.SIX_YEARS (HIPAA record retention, 45 CFR 164.316(b)(2)) */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * A team's own Lambda function next to the FHIR platform, built the way the kit builds its own
 * and born with zero findings from the three packs: Node.js 24 on ARM; in the isolated subnets
 * with a security group that reaches only the AWS service endpoints; a log group of its own
 * encrypted with `keys.logs` and kept six years; reserved concurrency; a role whose permissions
 * all live in one customer-managed policy (no inline, no AWS-managed policy), so every
 * `grantXxx(fn)` (e.g. `datastore.grantFhirAccess(fn)`) lands there; a dead-letter queue for
 * asynchronous invocation.
 */
export class CompliantFunction extends Construct implements iam.IGrantable, ec2.IConnectable {
  public readonly fn: lambda.Function;
  public readonly role: iam.Role;
  /** The customer-managed policy that holds every grant made to the function. */
  public readonly policy: iam.ManagedPolicy;
  public readonly logGroup: logs.LogGroup;
  public readonly securityGroup: ec2.SecurityGroup;
  public readonly grantPrincipal: iam.IPrincipal;
  public readonly connections: ec2.Connections;
  /** Present for asynchronous functions. */
  public readonly deadLetterQueue?: sqs.Queue;

  constructor(scope: Construct, id: string, props: CompliantFunctionProps) {
    super(scope, id);
    if (!props.description.trim()) throw new Error(`CompliantFunction ${this.node.path}: description must say what the function does (it names its role and policy).`);
    const network = props.network;
    this.logGroup = createAuditLogGroup(this, 'LogGroup', {
      encryptionKey: props.keys.logs,
      retention: props.logRetention ?? logs.RetentionDays.SIX_YEARS,
      owner: `CompliantFunction ${id}`,
    });
    const role = new KitRole(this, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), description: props.description });
    this.role = role;
    this.policy = role.policy;
    role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'WriteOwnLogGroup', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [this.logGroup.logGroupArn] }));
    const vpcAccess = new iam.ManagedPolicy(this, 'VpcAccessPolicy', {
      description: 'Lambda network interfaces in the configured subnets',
      roles: [role],
      statements: [
        new iam.PolicyStatement({
          sid: 'LambdaVpcNetworkInterfaces',
          actions: ['ec2:CreateNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets', 'ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
          resources: ['*'],
        }),
      ],
    });
    acknowledge(
      vpcAccess,
      'AwsSolutions-IAM5[Resource::*]',
      "This policy holds only the Lambda VPC networking actions: ec2:Describe* support no resource-level permissions, and Lambda creates and deletes the interfaces only in the subnets and security groups configured on this function. The function's other permissions are in its main policy, which names every resource.",
    );

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', { vpc: network.vpc, allowAllOutbound: false, description: `${props.description}: HTTPS to the AWS service endpoints only` });
    this.securityGroup.addEgressRule(network.endpointSecurityGroup, ec2.Port.tcp(443), 'HTTPS to the AWS service endpoints only');
    network.endpointSecurityGroup.addIngressRule(this.securityGroup, ec2.Port.tcp(443), `HTTPS from ${this.node.path}`);

    if (props.invocation === 'asynchronous') {
      this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
        encryption: sqs.QueueEncryption.KMS,
        encryptionMasterKey: props.keys.data,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      });
      props.keys.data.grant(role, 'kms:GenerateDataKey', 'kms:Decrypt');
    }
    this.fn = new lambda.Function(this, 'Resource', {
      code: props.code,
      handler: props.handler ?? 'index.handler',
      description: props.description,
      runtime: KIT_LAMBDA_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions ?? 10,
      environment: props.environment,
      vpc: network.vpc,
      vpcSubnets: network.isolatedSubnets,
      securityGroups: [this.securityGroup],
      allowPublicSubnet: false,
      deadLetterQueue: this.deadLetterQueue,
    });
    this.grantPrincipal = role;
    this.connections = this.fn.connections;
    // Lambda refuses an environment over 4 KB at deployment: fail the synth instead.
    this.node.addValidation({ validate: () => environmentSizeErrors(`CompliantFunction ${this.node.path}`, this.fn) });
    if (props.invocation === 'synchronous') {
      acknowledge(
        this.fn,
        'HIPAA.Security-LambdaDLQ',
        'Invoked synchronously only (the caller receives every failure as an error response); a dead-letter queue, which Lambda uses for asynchronous invocations only, would never receive a message.',
      );
    }
  }
}
