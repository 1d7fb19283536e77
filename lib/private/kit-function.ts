import * as path from 'path';
import { Duration, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { KitRole } from './kit-role';
import { createAuditLogGroup } from './log-group';

/** Folder of the Lambda sources (`lambdas/<name>/index.ts`). */
export const LAMBDAS_DIR = path.join(__dirname, '..', '..', 'lambdas');

/** Properties of {@link KitFunction}. */
export interface KitFunctionProps {
  /** The handler folder under `lambdas/` (its `index.ts` exports `handler`). */
  readonly handlerDir: string;
  /** Exported handler name. @default 'handler' */
  readonly handler?: string;
  readonly description: string;
  /** Encrypts the function's log group (`FhirKeys.logs`). */
  readonly logsKey: kms.IKey;
  /** @default logs.RetentionDays.SIX_YEARS */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Log to this (CMK-encrypted, six-year) log group instead of a new one: the FHIR proxy logs to
   * the AuditEvent log group.
   *
   * @default - a new log group
   */
  readonly logGroup?: logs.LogGroup;
  /** @default - none */
  readonly environment?: Record<string, string>;
  /** @default Duration.seconds(10) */
  readonly timeout?: Duration;
  /** @default 512 */
  readonly memorySize?: number;
  /**
   * How the function is invoked. `synchronous` (API Gateway, Cognito triggers): the caller gets
   * the error, a dead-letter queue would never receive anything, and HIPAA.Security-LambdaDLQ is
   * acknowledged on the function saying so. `asynchronous` (EventBridge schedules): failed events
   * go to an SQS dead-letter queue encrypted with `deadLetterKey`.
   */
  readonly invocation: 'synchronous' | 'asynchronous';
  /** Encrypts the dead-letter queue of an asynchronous function. Required when `invocation` is `asynchronous`. */
  readonly deadLetterKey?: kms.IKey;
  /**
   * Shell commands run after esbuild, to add files to the asset (they run only when the asset is
   * really bundled): `(inputDir, outputDir) => commands`.
   *
   * @default - none
   */
  readonly afterBundling?: (inputDir: string, outputDir: string) => string[];
  /** Run in this VPC's given subnets. @default - not in a VPC */
  readonly vpc?: ec2.IVpc;
  readonly vpcSubnets?: ec2.SubnetSelection;
  readonly securityGroups?: ec2.ISecurityGroup[];
  /**
   * Reserved concurrency: a ceiling so one function cannot starve the account's others, and a
   * bound on what a flood can cost.
   *
   * @default 50
   */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * How the kit runs a Lambda: Node.js 24 (the newest runtime this CDK knows, AwsSolutions-L1) on ARM, bundled by the local esbuild (minified, source
 * maps, the runtime's `@aws-sdk/*` left out), its own CMK-encrypted log group kept six years,
 * reserved concurrency, and a {@link KitRole}: one customer-managed policy holding exactly the
 * grants made to the function, no inline and no AWS-managed policy.
 *
 * Grant to the KitFunction itself (or `fn`): both route into the managed policy.
 */
export class KitFunction extends Construct implements iam.IGrantable {
  public readonly fn: nodejs.NodejsFunction;
  public readonly role: KitRole;
  public readonly logGroup: logs.LogGroup;
  public readonly grantPrincipal: iam.IPrincipal;
  /** The Lambda VPC networking permissions, present for functions in a VPC. */
  public readonly vpcAccessPolicy?: iam.ManagedPolicy;
  /** Present for asynchronous functions. */
  public readonly deadLetterQueue?: sqs.Queue;

  constructor(scope: Construct, id: string, props: KitFunctionProps) {
    super(scope, id);
    this.logGroup =
      props.logGroup ??
      createAuditLogGroup(this, 'LogGroup', {
        encryptionKey: props.logsKey,
        retention: props.logRetention ?? logs.RetentionDays.SIX_YEARS,
        owner: `KitFunction ${id}`,
      });
    this.role = new KitRole(this, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), description: props.description });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogGroup',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    if (props.vpc) {
      // Lambda creates the function's network interfaces with the execution role. These EC2
      // actions do not support resource-level permissions for Describe*; the Lambda service
      // creates the interfaces only in the subnets and security groups given to the function.
      // Kept in a policy of its own so that its acknowledged wildcard cannot hide a wildcard
      // added to the function's main policy later.
      this.vpcAccessPolicy = new iam.ManagedPolicy(this, 'VpcAccessPolicy', {
        description: 'Lambda network interfaces in the configured subnets',
        roles: [this.role],
        statements: [
          new iam.PolicyStatement({
            sid: 'LambdaVpcNetworkInterfaces',
            actions: [
              'ec2:CreateNetworkInterface',
              'ec2:DescribeNetworkInterfaces',
              'ec2:DescribeSubnets',
              'ec2:DeleteNetworkInterface',
              'ec2:AssignPrivateIpAddresses',
              'ec2:UnassignPrivateIpAddresses',
            ],
            resources: ['*'],
          }),
        ],
      });
      Validations.of(this.vpcAccessPolicy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'This policy holds only the Lambda VPC networking actions: ec2:Describe* support no resource-level permissions, and Lambda creates and deletes the interfaces only in the subnets and security groups configured on this function. The function\'s other permissions are in its main policy, which names every resource.',
      });
    }
    if (props.invocation === 'asynchronous') {
      if (!props.deadLetterKey) throw new Error(`KitFunction ${id}: an asynchronous function needs deadLetterKey to encrypt its dead-letter queue.`);
      this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
        encryption: sqs.QueueEncryption.KMS,
        encryptionMasterKey: props.deadLetterKey,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      });
      // Lambda delivers to the queue with the execution role: SendMessage (granted by the
      // Lambda L2) and the queue key's data-key and decrypt actions (granted here).
      props.deadLetterKey.grant(this.role, 'kms:GenerateDataKey', 'kms:Decrypt');
    }
    this.fn = new nodejs.NodejsFunction(this, 'Resource', {
      deadLetterQueue: this.deadLetterQueue,
      entry: path.join(LAMBDAS_DIR, props.handlerDir, 'index.ts'),
      handler: props.handler ?? 'handler',
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions ?? 50,
      environment: { NODE_OPTIONS: '--enable-source-maps', ...(props.environment ?? {}) },
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroups: props.securityGroups,
      allowPublicSubnet: false,
      bundling: {
        minify: true,
        sourceMap: true,
        target: 'node22',
        format: nodejs.OutputFormat.CJS,
        externalModules: ['@aws-sdk/*'],
        forceDockerBundling: false,
        commandHooks: props.afterBundling
          ? { beforeBundling: () => [], beforeInstall: () => [], afterBundling: props.afterBundling }
          : undefined,
      },
    });
    this.grantPrincipal = this.role;
    if (props.invocation === 'synchronous') {
      Validations.of(this.fn).acknowledge({
        id: 'HIPAA.Security-LambdaDLQ',
        reason:
          'Invoked synchronously only (API Gateway or a Cognito trigger): the caller receives every failure as an error response, and a dead-letter queue, which Lambda uses for asynchronous invocations only, would never receive a message.',
      });
    }
  }
}
