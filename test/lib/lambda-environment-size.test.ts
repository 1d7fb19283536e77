/**
 * Lambda's 4 KB environment limit, checked at synth for every kit function and every
 * CompliantFunction: silent at or under the limit, a validation error naming the function, the
 * total, the limit, the three largest variables and what to change above it.
 */
import { App, CfnParameter, Fn, Stack } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { AppRegistryDocument, CompliantFunction, FhirKeys, SegmentedNetwork, ZeroTrustFhirStack } from '../../lib';
import { KitFunction } from '../../lib/private/kit-function';
import {
  jsonTextBytes,
  LAMBDA_ENVIRONMENT_LIMIT_BYTES,
  lambdaEnvironmentSize,
  UNKNOWN_VALUE_BYTES,
} from '../../lib/private/lambda-environment-size';
import { createTestApp } from '../helpers/app';
import { testApp } from '../helpers/registry';

const KIT_DEFAULTS = { NODE_OPTIONS: '--enable-source-maps' };

/** Lambda's own measure for an environment of literal values: the variables as one JSON object. */
const measured = (variables: Record<string, string>): number => Buffer.byteLength(JSON.stringify(variables), 'utf8');

/** A KitFunction whose environment, as Lambda measures it, is exactly `bytes` long. */
function kitFunctionOf(bytes: number, extra: Record<string, string> = {}): KitFunction {
  const stack = new Stack(createTestApp(), 'SizeStack');
  const base = measured({ ...KIT_DEFAULTS, ...extra, PADDING: '' });
  return new KitFunction(stack, 'Fn', {
    handlerDir: 'smart-authorizer',
    description: 'environment size test',
    invocation: 'synchronous',
    logsKey: new kms.Key(stack, 'Key'),
    environment: { ...extra, PADDING: 'x'.repeat(bytes - base) },
  });
}

describe('the size of a Lambda environment', () => {
  test('literal values are counted exactly as Lambda measures them (JSON, quotes escaped)', () => {
    const env = { ...KIT_DEFAULTS, JSON_VALUE: '{"a":["b","c"]}', PLAIN: 'value' };
    const stack = new Stack(new App(), 'S');
    const fn = new lambda.Function(stack, 'Fn', { code: lambda.Code.fromInline('x'), handler: 'index.handler', runtime: lambda.Runtime.NODEJS_24_X, environment: env });
    const size = lambdaEnvironmentSize(fn);
    expect(size.bytes).toBe(measured(env));
    expect(size.boundBytes).toBe(0);
    expect(size.variables.map((v) => v.name)).toEqual(['NODE_OPTIONS', 'JSON_VALUE', 'PLAIN']);
  });

  test('non-ASCII text counts at least its UTF-8 bytes (as its \\u escape)', () => {
    expect(jsonTextBytes('é')).toBe(6);
    expect(jsonTextBytes('😀')).toBeGreaterThanOrEqual(Buffer.byteLength('😀', 'utf8'));
    expect(jsonTextBytes('a"b\\c\n')).toBe(JSON.stringify('a"b\\c\n').length - 2);
  });

  test('a token-valued variable is counted at its bound: a Cognito client id at 26 characters', () => {
    const stack = new Stack(new App(), 'S');
    const pool = new cognito.UserPool(stack, 'Pool');
    const client = pool.addClient('Client');
    const fn = new lambda.Function(stack, 'Fn', {
      code: lambda.Code.fromInline('x'),
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      environment: { CLIENT: client.userPoolClientId, CLIENTS: Stack.of(stack).toJsonString({ [client.userPoolClientId]: 'app' }) },
    });
    const size = lambdaEnvironmentSize(fn);
    const client26 = 'x'.repeat(26);
    // Exactly what Lambda would measure had Cognito generated a 26-character id.
    expect(size.bytes).toBe(measured({ CLIENT: client26, CLIENTS: JSON.stringify({ [client26]: 'app' }) }));
    expect(size.boundBytes).toBe(2 * 26);
    expect(size.variables.every((v) => v.bounded)).toBe(true);
  });

  test('ARNs and URLs built with Fn::Join, pseudo parameters and Fn::Select of Fn::Split are bounded by their parts', () => {
    const stack = new Stack(new App(), 'S');
    const pool = new cognito.UserPool(stack, 'Pool');
    const fn = new lambda.Function(stack, 'Fn', {
      code: lambda.Code.fromInline('x'),
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      environment: { ISSUER: `https://cognito-idp.${stack.region}.amazonaws.com/${pool.userPoolId}`, POOL_NAME: Fn.select(1, Fn.split('/', pool.userPoolArn)) },
    });
    const size = lambdaEnvironmentSize(fn);
    expect(size.unknownBytes).toBe(0);
    const issuer = size.variables.find((v) => v.name === 'ISSUER')!;
    expect(issuer.bytes).toBe('"ISSUER":"'.length + 'https://cognito-idp.'.length + 20 + '.amazonaws.com/'.length + 55 + 1);
  });

  test('a value of no known length counts 2,048 bytes; a template parameter its MaxLength', () => {
    const stack = new Stack(new App(), 'S');
    const param = new CfnParameter(stack, 'Name', { maxLength: 40 });
    const fn = new lambda.Function(stack, 'Fn', {
      code: lambda.Code.fromInline('x'),
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      environment: { IMPORTED: Fn.importValue('somewhere-else'), NAME: param.valueAsString },
    });
    const size = lambdaEnvironmentSize(fn);
    expect(size.unknownBytes).toBe(UNKNOWN_VALUE_BYTES);
    expect(size.variables.find((v) => v.name === 'NAME')!.bytes).toBe('"NAME":""'.length + 40);
  });

  test('an export of another stack of the app is sized from its value', () => {
    const app = new App();
    const producer = new Stack(app, 'Producer');
    const pool = new cognito.UserPool(producer, 'Pool');
    const consumer = new Stack(app, 'Consumer');
    const fn = new lambda.Function(consumer, 'Fn', { code: lambda.Code.fromInline('x'), handler: 'index.handler', runtime: lambda.Runtime.NODEJS_24_X, environment: { POOL: pool.userPoolId } });
    app.synth();
    const size = lambdaEnvironmentSize(fn);
    expect(size.unknownBytes).toBe(0);
    expect(size.variables.find((v) => v.name === 'POOL')!.bytes).toBe('"POOL":""'.length + 55);
  });
});

describe('KitFunction: the 4 KB check', () => {
  test('exactly at the limit: no error, no warning', () => {
    const fn = kitFunctionOf(LAMBDA_ENVIRONMENT_LIMIT_BYTES);
    expect(lambdaEnvironmentSize(fn.fn).bytes).toBe(LAMBDA_ENVIRONMENT_LIMIT_BYTES);
    expect(fn.node.validate()).toEqual([]);
    const stack = Stack.of(fn);
    stack.node.root.node.findAll().forEach((c) => expect(c.node.metadata.filter((m) => /environment/i.test(String(m.data)) && m.type.includes('warning'))).toEqual([]));
  });

  test('one byte over: the synth fails, naming the function, the total, the limit, the three largest variables and what to change', () => {
    const fn = kitFunctionOf(LAMBDA_ENVIRONMENT_LIMIT_BYTES + 1, { API_VERSIONS: JSON.stringify([{ version: 'v1', status: 'active' }]), SMALL: 'x' });
    const errors = fn.node.validate();
    expect(errors).toHaveLength(1);
    const [message] = errors;
    expect(message).toContain('KitFunction SizeStack/Fn');
    expect(message).toContain('4,097 bytes');
    expect(message).toContain("Lambda's limit of 4,096 bytes");
    expect(message).toMatch(/Largest: PADDING [\d,]+ bytes, API_VERSIONS \d+ bytes, NODE_OPTIONS 37 bytes\./);
    expect(message).not.toContain('SMALL');
    expect(message).toContain('API_VERSIONS: it holds every version of apiVersions');
    expect(message).toContain('PADDING: move large values out of the environment');
    expect(() => (Stack.of(fn).node.root as App).synth()).toThrow(/KitFunction SizeStack\/Fn: the Lambda function's environment variables take 4,097 bytes/);
  });
});

describe('CompliantFunction: the 4 KB check', () => {
  const stack = new Stack(createTestApp(), 'Team');
  const keys = new FhirKeys(stack, 'Keys');
  const network = new SegmentedNetwork(stack, 'Network', { keys });
  const code = lambda.Code.fromInline('exports.handler = async () => ({})');
  const pool = new cognito.UserPool(stack, 'Pool');
  const client = pool.addClient('Client');

  test('a team function under the limit is silent; over it fails with the token counted', () => {
    const under = new CompliantFunction(stack, 'Under', { code, description: 'under', keys, network, invocation: 'synchronous', environment: { CONFIG: 'x'.repeat(3000) } });
    expect(under.node.validate()).toEqual([]);
    const over = new CompliantFunction(stack, 'Over', {
      code, description: 'over', keys, network, invocation: 'synchronous',
      // Over only because the client id (a token) counts: 4,096 - 26 + 1 bytes of literal text.
      environment: { CLIENT_ID: client.userPoolClientId, CONFIG: 'x'.repeat(LAMBDA_ENVIRONMENT_LIMIT_BYTES - 26 + 1 - measured({ CLIENT_ID: '', CONFIG: '' })) },
    });
    const [message] = over.node.validate();
    expect(message).toContain('CompliantFunction Team/Over');
    expect(message).toContain('4,097 bytes (26 bytes of it are values known only at deployment, counted at their upper bound)');
    expect(message).toContain('Largest: CONFIG 4,054 bytes, CLIENT_ID 40 bytes (upper bound).');
    expect(message).toContain('To change: CONFIG: move large values out of the environment');
  });
});

describe('a registry of many apps', () => {
  /** At least this many apps (12-character app ids) fit in one stack, whatever their kind. */
  const CAPACITY = 60;

  /**
   * The stack for `n` registered apps with 12-character ids (`team-app-000`) and its kit functions'
   * errors and sizes. `kind: 'largest'`: every app takes the most bytes an entry can (confidential,
   * `offline_access`, the longest tier name); `'plain'`: public, low tier.
   */
  function platformWith(n: number, kind: 'plain' | 'largest' = 'plain'): { errors: string[]; sizes: Map<string, number> } {
    const largest = { clientType: 'confidential' as const, tier: 'medium' as const, scopes: ['openid', 'fhirUser', 'launch/patient', 'offline_access', 'patient/Observation.rs'] };
    const apps = Array.from({ length: n }, (_, i) =>
      testApp({ id: `team-app-${String(i).padStart(3, '0')}`, identifier: { system: 'https://team.example/sid/app', value: `team-app-${i}` }, ...(kind === 'largest' ? largest : {}) }));
    const stack = new ZeroTrustFhirStack(createTestApp(), 'Platform', { environment: 'sandbox', appRegistry: AppRegistryDocument.fromObject({ apps }) });
    const kitFunctions = stack.node.findAll().filter((c): c is KitFunction => c instanceof KitFunction);
    return {
      errors: kitFunctions.flatMap((f) => f.node.validate()),
      sizes: new Map(kitFunctions.map((f) => [f.node.path, lambdaEnvironmentSize(f.fn).bytes])),
    };
  }
  const report = (sizes: Map<string, number>): string => [...sizes].map(([path, bytes]) => `${path} ${bytes}`).join(', ');

  // The environment check only: the whole synth of such a stack stops first at CloudFormation's
  // 500 resources per stack (5 per app in the stack: client, branding, API key, usage plan and its
  // key; the six alarms are in the nested stack AppMonitors; 67 apps fit), which is not the
  // environment's to lift.
  test(`${CAPACITY} apps, each taking the most bytes an app can: every kit function's environment under 4 KB`, () => {
    const { errors, sizes } = platformWith(CAPACITY, 'largest');
    expect(errors).toEqual([]);
    expect(Math.max(...sizes.values())).toBeLessThanOrEqual(LAMBDA_ENVIRONMENT_LIMIT_BYTES);
    console.log(`${CAPACITY} apps (confidential, offline_access, medium tier): ${report(sizes)}`);
  });

  test('the app that takes a function over 4 KB fails the synth; one app fewer passes', () => {
    // The per-app variables grow by the same bytes with every app: two platforms tell where each
    // function would pass the limit, and the two around the first such app are checked.
    const at = platformWith(CAPACITY).sizes;
    const after = platformWith(CAPACITY + 1).sizes;
    const fit = Math.min(...[...at].filter(([path, bytes]) => after.get(path)! > bytes).map(([path, bytes]) => CAPACITY + Math.floor((LAMBDA_ENVIRONMENT_LIMIT_BYTES - bytes) / (after.get(path)! - bytes))));
    expect(fit).toBeGreaterThanOrEqual(CAPACITY);
    const last = platformWith(fit);
    const next = platformWith(fit + 1);
    expect(last.errors).toEqual([]);
    // One error per function the extra app takes over the limit, each under it with one app fewer.
    const over = [...next.sizes].filter(([, bytes]) => bytes > LAMBDA_ENVIRONMENT_LIMIT_BYTES);
    expect(over.length).toBeGreaterThan(0);
    expect(next.errors).toHaveLength(over.length);
    for (const [path, bytes] of over) {
      expect(last.sizes.get(path)).toBeLessThanOrEqual(LAMBDA_ENVIRONMENT_LIMIT_BYTES);
      const error = next.errors.find((e) => e.startsWith(`KitFunction ${path}:`));
      expect(error).toContain(`${bytes.toLocaleString('en-US')} bytes`);
      expect(error).toMatch(/Largest: (CLIENTS|APP_CLIENT_IDS|APP_METRICS_APPS|SCOPES_SUPPORTED) /);
      expect(error).toContain('register fewer apps in this stack');
      expect(error).not.toContain('REVOCATION_TABLE: move');
    }
    console.log(`${fit} apps fit; app ${fit + 1} takes ${over.map(([p, b]) => `${p} to ${b} bytes`).join(', ')}. Per app: ${[...at].map(([p, b]) => `${p} ${after.get(p)! - b}`).join(', ')}`);
  });
});
