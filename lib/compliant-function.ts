import { Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { IFhirKeys } from './fhir-keys';
import { buildKitLambda } from './private/kit-function';
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
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', { vpc: network.vpc, allowAllOutbound: false, description: `${props.description}: HTTPS to the AWS service endpoints only` });
    network.allowEndpointAccessFrom(this.securityGroup);
    const parts = buildKitLambda(this, {
      kind: 'CompliantFunction',
      code: props.code,
      handler: props.handler ?? 'index.handler',
      description: props.description,
      logsKey: props.keys.logs,
      logRetention: props.logRetention,
      environment: props.environment,
      timeout: props.timeout,
      memorySize: props.memorySize,
      invocation: props.invocation,
      deadLetterKey: props.keys.data,
      vpc: network.vpc,
      vpcSubnets: network.isolatedSubnets,
      securityGroups: [this.securityGroup],
      reservedConcurrentExecutions: props.reservedConcurrentExecutions ?? 10,
      synchronousReason: 'Invoked synchronously only (the caller receives every failure as an error response); a dead-letter queue, which Lambda uses for asynchronous invocations only, would never receive a message.',
    });
    this.fn = parts.fn;
    this.role = parts.role;
    this.policy = parts.role.policy;
    this.logGroup = parts.logGroup;
    this.deadLetterQueue = parts.deadLetterQueue;
    this.grantPrincipal = parts.role;
    this.connections = this.fn.connections;
  }
}
