import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { DockerImage, Duration, FileSystem } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { EnvironmentSettingError } from '../../lambdas/shared/environment';
import { AppRegistryDocument } from '../../policies/app-registry';
import { acknowledge } from '../../policies/compliance/acknowledge';
import { LabelPolicyDocument } from '../../policies/label-policy';
import { handlerAssetDir, LAMBDA_NODE_MAJOR } from './handler-assets';
import { KitRole } from './kit-role';
import { environmentSizeErrors } from './lambda-environment-size';
import { createAuditLogGroup } from './log-group';

/** The Lambda runtime of every kit function: Node.js {@link LAMBDA_NODE_MAJOR}, which the handlers are built for. */
export const KIT_LAMBDA_RUNTIME = lambda.Runtime.NODEJS_24_X;
if (KIT_LAMBDA_RUNTIME.name !== `nodejs${LAMBDA_NODE_MAJOR}.x`) throw new Error(`KIT_LAMBDA_RUNTIME ${KIT_LAMBDA_RUNTIME.name} is not the Node.js ${LAMBDA_NODE_MAJOR} the handlers are built for`);

/** Properties of {@link KitFunction}. */
export interface KitFunctionProps {
  /**
   * The handler: `lambdas/<handlerDir>/index.ts` in the sources, built into
   * `assets/handlers/<handlerDir>/` (`npm run build:handlers`), which is the function's code.
   */
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
  /**
   * Environment variables. Over Lambda's 4 KB (all keys and values, measured as JSON; values
   * known only at deployment at an upper bound) the synth fails naming the largest variables.
   *
   * @default - none
   */
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
   * Files added to the built handler's asset at synth time, by path inside the asset (e.g.
   * `labels.json`, `profiles/us-core-patient.json`; `/var/task/<path>` at run time) → contents:
   * data the deployer supplies, where the handler's code is the same for everyone. Skipped, like
   * any bundling, for stacks outside `aws:cdk:bundling-stacks`.
   *
   * @default - none: the built asset as it is
   */
  readonly assetFiles?: Readonly<Record<string, string>>;
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
 * How the kit runs a Lambda: Node.js 24 (the newest runtime this CDK knows, AwsSolutions-L1) on
 * ARM, its code the handler built with the package (`assets/handlers/<handlerDir>`: esbuild,
 * minified, source maps, the runtime's `@aws-sdk/*` left out; no bundling at synth time, so a
 * team's app needs neither esbuild nor Docker), its own CMK-encrypted log group kept six years,
 * reserved concurrency, and a {@link KitRole}: one customer-managed policy holding exactly the
 * grants made to the function, no inline and no AWS-managed policy.
 *
 * Grant to the KitFunction itself (or `fn`): both route into the managed policy.
 */
export class KitFunction extends Construct implements iam.IGrantable {
  public readonly fn: lambda.Function;
  public readonly role: KitRole;
  public readonly logGroup: logs.LogGroup;
  public readonly grantPrincipal: iam.IPrincipal;
  /** The Lambda VPC networking permissions, present for functions in a VPC. */
  public readonly vpcAccessPolicy?: iam.ManagedPolicy;
  /** Present for asynchronous functions. */
  public readonly deadLetterQueue?: sqs.Queue;

  constructor(scope: Construct, id: string, props: KitFunctionProps) {
    super(scope, id);
    const parts = buildKitLambda(this, {
      ...props,
      kind: 'KitFunction',
      code: handlerCode(props.handlerDir, props.assetFiles ?? {}),
      handler: `index.${props.handler ?? 'handler'}`,
      environment: { NODE_OPTIONS: '--enable-source-maps', ...(props.environment ?? {}) },
      reservedConcurrentExecutions: props.reservedConcurrentExecutions ?? 50,
      synchronousReason:
        'Invoked synchronously only (API Gateway or a Cognito trigger): the caller receives every failure as an error response, and a dead-letter queue, which Lambda uses for asynchronous invocations only, would never receive a message.',
    });
    this.fn = parts.fn;
    this.role = parts.role;
    this.logGroup = parts.logGroup;
    this.vpcAccessPolicy = parts.vpcAccessPolicy;
    this.deadLetterQueue = parts.deadLetterQueue;
    this.grantPrincipal = this.role;
  }
}

/** What {@link buildKitLambda} builds a function from: the props both kinds of function share, settled. */
export interface KitLambdaOptions {
  /** Names the function, with its id or path, in errors and in its log group's description. */
  readonly kind: 'KitFunction' | 'CompliantFunction';
  readonly code: lambda.Code;
  /** The full handler, e.g. `index.handler`. */
  readonly handler: string;
  readonly description: string;
  readonly logsKey: kms.IKey;
  /** @default logs.RetentionDays.SIX_YEARS */
  readonly logRetention?: logs.RetentionDays;
  /** @default - a new log group */
  readonly logGroup?: logs.LogGroup;
  readonly environment?: Record<string, string>;
  /** @default Duration.seconds(10) */
  readonly timeout?: Duration;
  /** @default 512 */
  readonly memorySize?: number;
  readonly invocation: 'synchronous' | 'asynchronous';
  /** Required when `invocation` is `asynchronous`. */
  readonly deadLetterKey?: kms.IKey;
  readonly vpc?: ec2.IVpc;
  readonly vpcSubnets?: ec2.SubnetSelection;
  readonly securityGroups?: ec2.ISecurityGroup[];
  readonly reservedConcurrentExecutions: number;
  /** Why HIPAA.Security-LambdaDLQ does not apply to a synchronous function. */
  readonly synchronousReason: string;
}

/** The resources {@link buildKitLambda} creates. */
export interface KitLambdaParts {
  readonly fn: lambda.Function;
  readonly role: KitRole;
  readonly logGroup: logs.LogGroup;
  readonly vpcAccessPolicy?: iam.ManagedPolicy;
  readonly deadLetterQueue?: sqs.Queue;
}

/**
 * Builds a function the way the kit runs one, as children of `scope` (ids `LogGroup`, `Role`,
 * `VpcAccessPolicy`, `DeadLetterQueue`, `Resource`): {@link KitFunction} and the public
 * `CompliantFunction` are both this, one with the kit's built handlers, one with a team's code.
 */
export function buildKitLambda(scope: Construct, props: KitLambdaOptions): KitLambdaParts {
  const logGroup =
    props.logGroup ??
    createAuditLogGroup(scope, 'LogGroup', {
      encryptionKey: props.logsKey,
      retention: props.logRetention ?? logs.RetentionDays.SIX_YEARS,
      owner: `${props.kind} ${scope.node.id}`,
    });
  const role = new KitRole(scope, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), description: props.description });
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'WriteOwnLogGroup',
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [logGroup.logGroupArn],
    }),
  );
  let vpcAccessPolicy: iam.ManagedPolicy | undefined;
  if (props.vpc) {
    // Lambda creates the function's network interfaces with the execution role. These EC2
    // actions do not support resource-level permissions for Describe*; the Lambda service
    // creates the interfaces only in the subnets and security groups given to the function.
    // Kept in a policy of its own so that its acknowledged wildcard cannot hide a wildcard
    // added to the function's main policy later.
    vpcAccessPolicy = new iam.ManagedPolicy(scope, 'VpcAccessPolicy', {
      description: 'Lambda network interfaces in the configured subnets',
      roles: [role],
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
    acknowledge(
      vpcAccessPolicy,
      'AwsSolutions-IAM5[Resource::*]',
      'This policy holds only the Lambda VPC networking actions: ec2:Describe* support no resource-level permissions, and Lambda creates and deletes the interfaces only in the subnets and security groups configured on this function. The function\'s other permissions are in its main policy, which names every resource.',
    );
  }
  let deadLetterQueue: sqs.Queue | undefined;
  if (props.invocation === 'asynchronous') {
    if (!props.deadLetterKey) throw new Error(`${props.kind} ${scope.node.id}: an asynchronous function needs deadLetterKey to encrypt its dead-letter queue.`);
    deadLetterQueue = new sqs.Queue(scope, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.deadLetterKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    // Lambda delivers to the queue with the execution role: SendMessage (granted by the
    // Lambda L2) and the queue key's data-key and decrypt actions (granted here).
    props.deadLetterKey.grant(role, 'kms:GenerateDataKey', 'kms:Decrypt');
  }
  const fn = new lambda.Function(scope, 'Resource', {
    deadLetterQueue,
    code: props.code,
    handler: props.handler,
    description: props.description,
    runtime: KIT_LAMBDA_RUNTIME,
    architecture: lambda.Architecture.ARM_64,
    memorySize: props.memorySize ?? 512,
    timeout: props.timeout ?? Duration.seconds(10),
    role,
    logGroup,
    loggingFormat: lambda.LoggingFormat.JSON,
    reservedConcurrentExecutions: props.reservedConcurrentExecutions,
    environment: props.environment,
    vpc: props.vpc,
    vpcSubnets: props.vpcSubnets,
    securityGroups: props.securityGroups,
    allowPublicSubnet: false,
  });
  // Lambda refuses an environment over 4 KB at deployment; registries and version lists grow it.
  scope.node.addValidation({ validate: () => environmentSizeErrors(`${props.kind} ${scope.node.path}`, fn) });
  if (props.invocation === 'synchronous') acknowledge(fn, 'HIPAA.Security-LambdaDLQ', props.synchronousReason);
  return { fn, role, logGroup, vpcAccessPolicy, deadLetterQueue };
}

/**
 * The code of a kit function: the built handler folder, and when `files` are given, a copy of it
 * with those files added (a local bundling step: no Docker, no esbuild). The asset hash covers the
 * folder and the files, so a changed file is a new asset.
 */
function handlerCode(handlerDir: string, files: Readonly<Record<string, string>>): lambda.Code {
  const dir = handlerAssetDir(handlerDir);
  const names = Object.keys(files).sort();
  if (names.length === 0) return lambda.Code.fromAsset(dir);
  for (const name of names) {
    if (path.isAbsolute(name) || name.split(/[\\/]/).some((part) => part === '' || part === '.' || part === '..')) {
      throw new Error(`KitFunction ${handlerDir}: asset file "${name}" must be a relative path inside the asset`);
    }
    if (fs.existsSync(path.join(dir, name))) throw new Error(`KitFunction ${handlerDir}: asset file "${name}" would replace a file of the built handler`);
  }
  const hash = crypto.createHash('sha256').update(FileSystem.fingerprint(dir));
  for (const name of names) hash.update(`\0${name}\0${files[name]}`);
  return lambda.Code.fromAsset(dir, {
    assetHash: hash.digest('hex'),
    bundling: {
      // Never pulled: the local step below always succeeds.
      image: DockerImage.fromRegistry('scratch'),
      local: {
        tryBundle(outputDir: string): boolean {
          fs.cpSync(dir, outputDir, { recursive: true });
          for (const name of names) {
            const file = path.join(outputDir, name);
            fs.mkdirSync(path.dirname(file), { recursive: true });
            fs.writeFileSync(file, files[name]);
          }
          return true;
        },
      },
    },
  });
}

/**
 * Runs a handler's environment writer (`lambdas/<function>/environment.ts`); a setting it refuses
 * becomes an error naming the construct and the setting, which is the construct's prop
 * (`FhirGateway: maxBodyBytes: must be a whole number from 1 to 10485760`).
 */
export function settingsOf(construct: string, write: () => Record<string, string>): Record<string, string> {
  try {
    return write();
  } catch (err) {
    if (err instanceof EnvironmentSettingError) throw new Error(`${construct}: ${err.message}`);
    throw err;
  }
}

/**
 * The registry and label policy props are documents made by the kit (validated when made), not
 * paths or plain objects; the error says how to make one.
 */
export function checkDocuments(construct: string, docs: { appRegistry?: unknown; registry?: unknown; labelPolicy?: unknown }): void {
  for (const prop of ['appRegistry', 'registry'] as const) {
    const value = docs[prop];
    if (value !== undefined && !AppRegistryDocument.isAppRegistryDocument(value)) {
      throw new Error(`${construct}: ${prop} must be an AppRegistryDocument: AppRegistryDocument.fromFile('config/apps.json') or AppRegistryDocument.fromObject({ apps: [...] }).`);
    }
  }
  if (docs.labelPolicy !== undefined && !LabelPolicyDocument.isLabelPolicyDocument(docs.labelPolicy)) {
    throw new Error(`${construct}: labelPolicy must be a LabelPolicyDocument: LabelPolicyDocument.fromFile('config/labels.json') or LabelPolicyDocument.fromObject({...}).`);
  }
}
