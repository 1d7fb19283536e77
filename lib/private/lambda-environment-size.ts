/**
 * Lambda's 4 KB environment limit, checked at synth.
 *
 * Lambda refuses a function whose environment variables exceed 4 KB in aggregate (the Lambda
 * quotas page: "Function environment variables: 4 KB, for all environment variables associated
 * with the function, in aggregate"). What it measures is the variables as one JSON object: its
 * refusal quotes the "String measured", `{"KEY":"value",…}`, with the quotes inside a value
 * escaped (`\"`). So a JSON value in a variable pays for each of its quotes twice.
 *
 * The size is computed from the function's resolved CloudFormation (`Environment.Variables`,
 * property overrides included), never under-counting what can be known:
 *
 * - literal text: the bytes it takes in that JSON (escapes included); a non-ASCII character
 *   counts as its `\uXXXX` escape (6 bytes per UTF-16 unit), more than its UTF-8 bytes, so either
 *   way of measuring is covered;
 * - a value known only at deployment (a `Ref` or `Fn::GetAtt`, a pseudo parameter) counts at an
 *   upper bound from AWS's documented limits for that resource type and attribute
 *   ({@link REF_BYTES}, {@link GET_ATT_BYTES}): a Cognito app client id at 26 characters (the
 *   length of the ids Cognito generates), a DynamoDB table name at 255, …;
 * - `Fn::Join`, `Fn::Sub`, `Fn::Select` of `Fn::Split`, `Fn::If`, `Fn::Base64` are sized from
 *   their parts; `Fn::ImportValue` from the export's value in the producing stack; a template
 *   parameter from its `MaxLength` or longest `AllowedValues`, a nested stack's parameter
 *   without them from the value its parent stack passes (how CDK hands a nested stack the
 *   parent's references);
 * - anything else known only at deployment counts {@link UNKNOWN_VALUE_BYTES} (2,048: the longest
 *   ARN IAM accepts), and the message says the total is an estimate.
 *
 * Identifiers, ARNs and URLs hold no character JSON escapes, so a bound is counted once.
 */
import { CfnOutput, CfnParameter, CfnResource, CfnStack, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { IConstruct } from 'constructs';

/** Lambda's limit on a function's environment variables, in bytes (4 KB). */
export const LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4096;

/** A value known only at deployment that no bound below covers: the longest ARN IAM accepts. */
export const UNKNOWN_VALUE_BYTES = 2048;

/** A generous ARN prefix: `arn:` + partition (`aws-iso-b`…) + service + region + account + separators. */
const ARN_PREFIX = 80;

/** `Ref` of a pseudo parameter: the longest value AWS documents or uses today, rounded up. */
const PSEUDO_BYTES: Readonly<Record<string, number>> = {
  'AWS::AccountId': 12,
  'AWS::Region': 20, // the longest Region name today is 14 characters
  'AWS::Partition': 20,
  'AWS::URLSuffix': 30,
  'AWS::StackName': 128,
  'AWS::StackId': ARN_PREFIX + 'stack/'.length + 128 + 1 + 36,
  'AWS::NoValue': 0,
};

/** `Ref` of a resource, by type: its id or name at the longest AWS allows (or generates). */
export const REF_BYTES: Readonly<Record<string, number>> = {
  'AWS::Cognito::UserPoolClient': 26, // the client ids Cognito generates are 26 characters
  'AWS::Cognito::UserPool': 55, // UserPoolId: at most 55
  'AWS::Cognito::UserPoolDomain': 63, // a domain prefix (or a custom domain's first label)
  'AWS::ApiGateway::RestApi': 10,
  'AWS::ApiGateway::Stage': 128,
  'AWS::ApiGateway::Deployment': 10,
  'AWS::ApiGateway::ApiKey': 20,
  'AWS::ApiGateway::UsagePlan': 10,
  'AWS::DynamoDB::Table': 255,
  'AWS::S3::Bucket': 63,
  'AWS::SQS::Queue': 'https://sqs.'.length + 20 + 1 + 30 + 1 + 12 + 1 + 80, // the queue URL
  'AWS::SNS::Topic': ARN_PREFIX + 256, // the topic ARN
  'AWS::Lambda::Function': 64,
  'AWS::Logs::LogGroup': 512,
  'AWS::KMS::Key': 36,
  'AWS::KMS::Alias': 256,
  'AWS::IAM::Role': 64,
  'AWS::IAM::ManagedPolicy': ARN_PREFIX + 512 + 128, // the policy ARN (path and name)
  'AWS::SecretsManager::Secret': ARN_PREFIX + 'secret:'.length + 512 + 7, // the secret ARN
  'AWS::Events::Rule': 64,
  'AWS::Events::EventBus': 256,
  'AWS::StepFunctions::StateMachine': ARN_PREFIX + 'stateMachine:'.length + 80,
  'AWS::Kinesis::Stream': 128,
  'AWS::EC2::SecurityGroup': 20,
  'AWS::EC2::VPC': 21,
  'AWS::EC2::Subnet': 24,
  'AWS::EC2::VPCEndpoint': 22,
  'AWS::HealthLake::FHIRDatastore': 32,
};

/** `Fn::GetAtt`, by type and attribute: the value at the longest AWS allows. */
export const GET_ATT_BYTES: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  'AWS::Cognito::UserPool': { Arn: ARN_PREFIX + 'userpool/'.length + 55, ProviderName: 'cognito-idp.'.length + 20 + 1 + 30 + 1 + 55, ProviderURL: 'https://cognito-idp.'.length + 20 + 1 + 30 + 1 + 55, UserPoolId: 55 },
  'AWS::Cognito::UserPoolClient': { ClientId: 26, Name: 128 },
  'AWS::ApiGateway::RestApi': { RestApiId: 10, RootResourceId: 10 },
  'AWS::DynamoDB::Table': { Arn: ARN_PREFIX + 'table/'.length + 255, StreamArn: ARN_PREFIX + 'table/'.length + 255 + '/stream/'.length + 23 },
  'AWS::S3::Bucket': { Arn: 'arn:aws-iso-b:s3:::'.length + 63, DomainName: 63 + 30, RegionalDomainName: 63 + '.s3.'.length + 20 + 1 + 30, WebsiteURL: 'http://'.length + 63 + '.s3-website.'.length + 20 + 1 + 30 },
  'AWS::SQS::Queue': { Arn: ARN_PREFIX + 80, QueueName: 80, QueueUrl: REF_BYTES['AWS::SQS::Queue'] },
  'AWS::SNS::Topic': { TopicArn: ARN_PREFIX + 256, TopicName: 256 },
  'AWS::Lambda::Function': { Arn: 140 }, // the Lambda API's FunctionArn: at most 140
  'AWS::Logs::LogGroup': { Arn: ARN_PREFIX + 'log-group:'.length + 512 + ':*'.length },
  'AWS::KMS::Key': { Arn: ARN_PREFIX + 'key/'.length + 36, KeyId: 36 },
  'AWS::IAM::Role': { Arn: ARN_PREFIX + 'role'.length + 512 + 64, RoleId: 128 },
  'AWS::Events::Rule': { Arn: ARN_PREFIX + 'rule/'.length + 256 + 1 + 64 },
  'AWS::StepFunctions::StateMachine': { Arn: ARN_PREFIX + 'stateMachine:'.length + 80, Name: 80 },
  'AWS::Kinesis::Stream': { Arn: ARN_PREFIX + 'stream/'.length + 128 },
  'AWS::WAFv2::WebACL': { Arn: ARN_PREFIX + 'regional/webacl/'.length + 128 + 1 + 36, Id: 36 },
  'AWS::HealthLake::FHIRDatastore': {
    DatastoreArn: ARN_PREFIX + 'datastore/fhir/'.length + 32,
    DatastoreEndpoint: 'https://healthlake.'.length + 20 + 1 + 30 + '/datastore/'.length + 32 + '/r4/'.length,
    DatastoreId: 32,
  },
  'AWS::SecretsManager::Secret': { Id: REF_BYTES['AWS::SecretsManager::Secret'] },
};

/** The size of a value or a variable: bytes, and whether part of it is an upper bound. */
interface Size {
  readonly bytes: number;
  /** Bytes counted at a bound for values known only at deployment. */
  readonly boundBytes: number;
  /** Bytes counted at {@link UNKNOWN_VALUE_BYTES} for values no bound covers. */
  readonly unknownBytes: number;
}

/** One variable's share of the environment: `"KEY":"value"` as Lambda measures it. */
export interface VariableSize {
  readonly name: string;
  readonly bytes: number;
  /** Part of it is an upper bound for a value known only at deployment. */
  readonly bounded: boolean;
}

/** The size of a function's environment as Lambda measures it (upper bounds for tokens). */
export interface EnvironmentSize {
  readonly bytes: number;
  /** Largest first. */
  readonly variables: readonly VariableSize[];
  /** Bytes counted at bounds for values known only at deployment. */
  readonly boundBytes: number;
  /** Bytes counted at {@link UNKNOWN_VALUE_BYTES} for values no bound covers. */
  readonly unknownBytes: number;
}

const ZERO: Size = { bytes: 0, boundBytes: 0, unknownBytes: 0 };
const literal = (bytes: number): Size => ({ bytes, boundBytes: 0, unknownBytes: 0 });
const bound = (bytes: number): Size => ({ bytes, boundBytes: bytes, unknownBytes: 0 });
const UNKNOWN: Size = { bytes: UNKNOWN_VALUE_BYTES, boundBytes: UNKNOWN_VALUE_BYTES, unknownBytes: UNKNOWN_VALUE_BYTES };
const sum = (sizes: readonly Size[]): Size =>
  sizes.reduce((a, b) => ({ bytes: a.bytes + b.bytes, boundBytes: a.boundBytes + b.boundBytes, unknownBytes: a.unknownBytes + b.unknownBytes }), ZERO);
const max = (sizes: readonly Size[]): Size => sizes.reduce((a, b) => (b.bytes > a.bytes ? b : a), ZERO);

/** The bytes `text` takes inside a JSON string, non-ASCII counted as `\uXXXX` escapes. */
export function jsonTextBytes(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 || c === 0x5c || c === 0x08 || c === 0x0c || c === 0x0a || c === 0x0d || c === 0x09) bytes += 2;
    else if (c < 0x20 || c >= 0x7f) bytes += 6;
    else bytes += 1;
  }
  return bytes;
}

/** Sizes the resolved values of one stack. */
class Sizer {
  private elements?: Map<string, IConstruct>;
  private parentSizer?: Sizer;
  constructor(private readonly stack: Stack) {}

  public size(value: unknown, depth = 0): Size {
    if (depth > 32) return UNKNOWN;
    if (typeof value === 'string') return literal(jsonTextBytes(value));
    if (typeof value === 'number' || typeof value === 'boolean') return literal(String(value).length);
    if (value === null || value === undefined) return ZERO;
    if (typeof value !== 'object' || Array.isArray(value)) return UNKNOWN;
    const keys = Object.keys(value);
    if (keys.length !== 1) return UNKNOWN;
    const fn = keys[0];
    const arg = (value as Record<string, unknown>)[fn];
    switch (fn) {
      case 'Ref':
        return typeof arg === 'string' ? this.ref(arg, depth) : UNKNOWN;
      case 'Fn::GetAtt': {
        const [id, attr] = Array.isArray(arg) ? arg : typeof arg === 'string' ? splitOnce(arg, '.') : [];
        return typeof id === 'string' && typeof attr === 'string' ? this.getAtt(id, attr) : UNKNOWN;
      }
      case 'Fn::Join': {
        if (!Array.isArray(arg) || arg.length !== 2 || !Array.isArray(arg[1])) return UNKNOWN;
        const parts: unknown[] = arg[1];
        return sum([...parts.map((p) => this.size(p, depth + 1)), ...Array(Math.max(parts.length - 1, 0)).fill(this.size(arg[0], depth + 1))]);
      }
      case 'Fn::Select': {
        if (!Array.isArray(arg) || arg.length !== 2) return UNKNOWN;
        const [index, list] = arg;
        if (Array.isArray(list)) {
          return typeof index === 'number' || (typeof index === 'string' && /^\d+$/.test(index))
            ? this.size(list[Number(index)], depth + 1)
            : max(list.map((item) => this.size(item, depth + 1)));
        }
        // A piece of a split is never longer than what was split.
        if (isObjectWith(list, 'Fn::Split') && Array.isArray(list['Fn::Split']) && list['Fn::Split'].length === 2) return this.size(list['Fn::Split'][1], depth + 1);
        if (isObjectWith(list, 'Fn::GetAZs')) return bound(20);
        return UNKNOWN;
      }
      case 'Fn::Sub':
        return this.sub(arg, depth);
      case 'Fn::If':
        return Array.isArray(arg) && arg.length === 3 ? max([this.size(arg[1], depth + 1), this.size(arg[2], depth + 1)]) : UNKNOWN;
      case 'Fn::Base64': {
        const inner = this.size(arg, depth + 1);
        return { ...inner, bytes: 4 * Math.ceil(inner.bytes / 3) };
      }
      case 'Fn::ImportValue':
        return this.importValue(arg, depth);
      default:
        return UNKNOWN;
    }
  }

  private ref(id: string, depth: number): Size {
    if (id in PSEUDO_BYTES) return bound(PSEUDO_BYTES[id]);
    const element = this.element(id);
    if (element instanceof CfnParameter) return this.parameter(element, id, depth);
    if (element instanceof CfnResource && REF_BYTES[element.cfnResourceType] !== undefined) return bound(REF_BYTES[element.cfnResourceType]);
    return UNKNOWN;
  }

  private getAtt(id: string, attr: string): Size {
    const element = this.element(id);
    const bytes = element instanceof CfnResource ? GET_ATT_BYTES[element.cfnResourceType]?.[attr] : undefined;
    return bytes === undefined ? UNKNOWN : bound(bytes);
  }

  private sub(arg: unknown, depth: number): Size {
    const [template, vars] = Array.isArray(arg) ? arg : [arg, {}];
    if (typeof template !== 'string' || typeof vars !== 'object' || vars === null) return UNKNOWN;
    const parts: Size[] = [];
    let rest = template;
    for (let m = /\$\{([^}]*)\}/.exec(rest); m !== null; m = /\$\{([^}]*)\}/.exec(rest)) {
      parts.push(literal(jsonTextBytes(rest.slice(0, m.index))));
      const name = m[1];
      if (name.startsWith('!')) parts.push(literal(jsonTextBytes(`\${${name.slice(1)}}`)));
      else if (name in (vars as Record<string, unknown>)) parts.push(this.size((vars as Record<string, unknown>)[name], depth + 1));
      else if (name.includes('.') && !(name in PSEUDO_BYTES)) parts.push(this.getAtt(...splitOnce(name, '.')));
      else parts.push(this.ref(name, depth + 1));
      rest = rest.slice(m.index + m[0].length);
    }
    parts.push(literal(jsonTextBytes(rest)));
    return sum(parts);
  }

  /** A parameter: its own bound, else, in a nested stack, the value the parent stack passes it. */
  private parameter(parameter: CfnParameter, logicalId: string, depth: number): Size {
    const own = parameterBound(parameter);
    const parent = this.stack.nestedStackParent;
    const resource = this.stack.nestedStackResource;
    if (own !== UNKNOWN || !parent || !(resource instanceof CfnStack)) return own;
    const passed = (parent.resolve(resource.parameters) as Record<string, unknown> | undefined)?.[logicalId];
    return passed === undefined ? UNKNOWN : new Sizer(parent).size(passed, depth + 1);
  }

  /** An export of a stack of the same app: the exported value, sized in its own stack. */
  private importValue(arg: unknown, depth: number): Size {
    const name = this.stack.resolve(arg);
    if (typeof name !== 'string') return UNKNOWN;
    for (const c of this.stack.node.root.node.findAll()) {
      if (!(c instanceof CfnOutput) || c.exportName === undefined) continue;
      const producer = Stack.of(c);
      if (producer.resolve(c.exportName) !== name) continue;
      return new Sizer(producer).size(producer.resolve(c.value), depth + 1);
    }
    return UNKNOWN;
  }

  private element(logicalId: string): IConstruct | undefined {
    if (!this.elements) {
      this.elements = new Map();
      for (const c of this.stack.node.findAll()) {
        if ((c instanceof CfnResource || c instanceof CfnParameter) && Stack.of(c) === this.stack) this.elements.set(this.stack.resolve(c.logicalId), c);
      }
    }
    const own = this.elements.get(logicalId);
    if (own || !this.stack.nestedStackParent) return own;
    // Before the app is prepared a nested stack's reference to a resource of its parent names it
    // directly (CDK turns it into a parameter when it prepares the app).
    this.parentSizer ??= new Sizer(this.stack.nestedStackParent);
    return this.parentSizer.element(logicalId);
  }
}

function parameterBound(parameter: CfnParameter): Size {
  if (typeof parameter.maxLength === 'number') return bound(parameter.maxLength);
  if (parameter.allowedValues?.length) return bound(Math.max(...parameter.allowedValues.map(jsonTextBytes)));
  return UNKNOWN;
}

function splitOnce(text: string, separator: string): [string, string] {
  const i = text.indexOf(separator);
  return i < 0 ? [text, ''] : [text.slice(0, i), text.slice(i + 1)];
}

function isObjectWith<K extends string>(value: unknown, key: K): value is Record<K, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && key in value;
}

/** The function's resolved `Environment.Variables`, property overrides included. */
function resolvedVariables(fn: lambda.Function): unknown {
  const cfn = fn.node.defaultChild as lambda.CfnFunction;
  const stack = Stack.of(fn);
  // `_toCloudFormation` is what the synth writes (raw overrides merged); the L1 property is the fallback.
  const render = (cfn as unknown as { _toCloudFormation?: () => unknown })._toCloudFormation;
  if (typeof render === 'function') {
    const rendered = stack.resolve(render.call(cfn)) as { Resources?: Record<string, { Properties?: { Environment?: { Variables?: unknown } } }> };
    const resource = rendered?.Resources?.[stack.resolve(cfn.logicalId)];
    if (resource) return resource.Properties?.Environment?.Variables;
  }
  const env = stack.resolve(cfn.environment) as { variables?: unknown } | undefined;
  return env?.variables;
}

/**
 * The size of `fn`'s environment as Lambda measures it: `{"KEY":"value",…}` in bytes, values
 * known only at deployment at their upper bound.
 */
export function lambdaEnvironmentSize(fn: lambda.Function): EnvironmentSize {
  const variables = resolvedVariables(fn);
  const sizer = new Sizer(Stack.of(fn));
  if (variables === undefined || variables === null) return { bytes: 0, variables: [], boundBytes: 0, unknownBytes: 0 };
  if (typeof variables !== 'object' || Array.isArray(variables)) {
    // The whole map is a token: nothing can be sized but its bound.
    return { bytes: UNKNOWN_VALUE_BYTES, variables: [], boundBytes: UNKNOWN_VALUE_BYTES, unknownBytes: UNKNOWN_VALUE_BYTES };
  }
  const entries = Object.entries(variables as Record<string, unknown>).map(([name, value]) => {
    const v = sizer.size(value);
    // "NAME":"value" (the separating comma is added to the total)
    return { name, size: { ...v, bytes: jsonTextBytes(name) + v.bytes + 5 } };
  });
  const total = sum(entries.map((e) => e.size));
  return {
    bytes: 2 + total.bytes + Math.max(entries.length - 1, 0),
    variables: entries
      .map((e) => ({ name: e.name, bytes: e.size.bytes, bounded: e.size.boundBytes > 0 }))
      .sort((a, b) => b.bytes - a.bytes || a.name.localeCompare(b.name)),
    boundBytes: total.boundBytes,
    unknownBytes: total.unknownBytes,
  };
}

/** What to change when a variable of the kit is what fills the environment. */
const ADVICE: Readonly<Record<string, string>> = {
  APP_CLIENT_IDS: 'it maps each registered app\'s Cognito client id (known only at deployment, so it cannot move into the asset with the registry) to the app\'s id: register fewer apps in this stack (split the registry across stacks) or shorten the app ids',
  APP_METRICS_APPS: 'it maps each registered app\'s client id to the app\'s id for the per-app metrics: register fewer apps in this stack (split the registry across stacks) or shorten the app ids',
  CLIENTS: 'it holds one entry per registered app, keyed by its Cognito client id (known only at deployment): register fewer apps in this stack (split the registry across stacks) or shorten the app ids',
  CONFIDENTIAL_CLIENT_IDS: 'it lists the client id of every confidential app: register fewer apps in this stack',
  API_VERSIONS: 'it holds every version of apiVersions with its dates and migration-notes URL: list fewer versions or use shorter migration-notes URLs',
  STAGE_ARNS: 'it holds the ARN of every served API version\'s stage: serve fewer API versions (retire old ones)',
  SCOPES_SUPPORTED: 'it lists every scope the registered apps hold: register fewer apps (or fewer scopes) in this stack',
  ALLOWED_OPERATIONS: 'it holds the operations prop: allow fewer operations',
  REQUIRED_PROFILES: 'it holds the requiredProfiles prop: require fewer profiles per resource type',
  GROUP_LABELS: 'it holds the groupLabels prop: clear fewer groups or labels',
  ALLOWED_ORIGINS: 'it lists the allowed browser origins: allow fewer origins',
};

const GENERIC_ADVICE = 'move large values out of the environment: into a file of the function\'s code asset, or an SSM parameter or secret the function reads at cold start';

/** A variable of the team's smaller than this is not what to move. */
const ADVICE_MIN_BYTES = 256;

const n = (bytes: number): string => bytes.toLocaleString('en-US');

/**
 * The validation errors of `fn`'s environment size: none at or under Lambda's limit, one naming
 * the function, the total, the limit, the three largest variables and what to change above it.
 */
export function environmentSizeErrors(construct: string, fn: lambda.Function): string[] {
  const size = lambdaEnvironmentSize(fn);
  if (size.bytes <= LAMBDA_ENVIRONMENT_LIMIT_BYTES) return [];
  const largest = size.variables.slice(0, 3);
  const listed = largest.map((v) => `${v.name} ${n(v.bytes)} bytes${v.bounded ? ' (upper bound)' : ''}`).join(', ');
  // One piece of advice per cause, naming its variables. A small variable of no known cause
  // (NODE_OPTIONS) or one holding a single deploy-time value (a table name counted at its bound)
  // gets none: moving it would not help.
  const byAdvice = new Map<string, string[]>();
  const causes = largest.filter((v) => ADVICE[v.name] !== undefined || (!v.bounded && v.bytes >= ADVICE_MIN_BYTES));
  for (const v of causes.length > 0 ? causes : largest) byAdvice.set(ADVICE[v.name] ?? GENERIC_ADVICE, [...(byAdvice.get(ADVICE[v.name] ?? GENERIC_ADVICE) ?? []), v.name]);
  const advice = [...byAdvice].map(([text, names]) => `${names.join(', ')}: ${text}`).join('; ');
  const estimate = size.boundBytes > 0
    ? ` (${n(size.boundBytes)} bytes of it are values known only at deployment, counted at their upper bound${size.unknownBytes > 0 ? `, ${n(size.unknownBytes)} of those at ${n(UNKNOWN_VALUE_BYTES)} each for values of no known length` : ''})`
    : '';
  return [
    `${construct}: the Lambda function's environment variables take ${n(size.bytes)} bytes${estimate}, over Lambda's limit of ${n(LAMBDA_ENVIRONMENT_LIMIT_BYTES)} bytes (4 KB for all keys and values together, measured as JSON); Lambda would refuse it at deployment. Largest: ${listed}. To change: ${advice}.`,
  ];
}
