/**
 * FHIR.HIPAA-HealthLakeSandboxSyntheticData and FHIR.HIPAA-LambdaApiVersionLifecycle, both ways.
 */
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as healthlake from 'aws-cdk-lib/aws-healthlake';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { expectCompliant, expectNoncompliant, findingsOf, newStack } from '../helpers';

function datastore(env: 'sandbox' | 'staging' | 'production', preload: boolean) {
  const stack = newStack(env);
  new healthlake.CfnFHIRDatastore(stack, 'Datastore', {
    datastoreTypeVersion: 'R4',
    ...(preload ? { preloadDataConfig: { preloadDataType: 'SYNTHEA' } } : {}),
  });
  return stack;
}

describe('FHIR.HIPAA-HealthLakeSandboxSyntheticData', () => {
  test('Noncompliance: a sandbox datastore without the synthetic preload', () => {
    expectNoncompliant(datastore('sandbox', false), 'HealthLakeSandboxSyntheticData');
  });
  test('Compliance: a sandbox datastore preloaded with Synthea data', () => {
    expectCompliant(datastore('sandbox', true), 'HealthLakeSandboxSyntheticData');
  });
  test.each(['staging', 'production'] as const)('Not applicable: a %s datastore', (env) => {
    expectCompliant(datastore(env, false), 'HealthLakeSandboxSyntheticData');
  });
});

function fnServing(versions: unknown, stages: readonly string[] = []) {
  const stack = newStack('staging');
  new lambda.CfnFunction(stack, 'Proxy', {
    code: { zipFile: 'x' },
    role: 'arn:aws:iam::111122223333:role/r',
    runtime: 'nodejs24.x',
    handler: 'index.handler',
    environment: { variables: versions === undefined ? {} : { API_VERSIONS: typeof versions === 'string' ? versions : JSON.stringify(versions) } },
  });
  for (const name of stages) new apigateway.CfnStage(stack, `Stage${name}`, { restApiId: 'api', stageName: name, deploymentId: 'd' });
  return stack;
}

const V2 = { version: 'v2', status: 'active' };

describe('FHIR.HIPAA-LambdaApiVersionLifecycle', () => {
  test('Noncompliance 1: a deprecated version whose sunset is less than 6 months after the notice, among others', () => {
    expectNoncompliant(fnServing([{ version: 'v1', status: 'deprecated', deprecatedAt: '2027-01-31', sunsetAt: '2027-07-30', successor: 'v2' }, V2]), 'LambdaApiVersionLifecycle', 'ShortNotice');
  });
  test('Noncompliance 2: a retired version that still has a stage', () => {
    expectNoncompliant(fnServing([{ version: 'v0', status: 'retired', successor: 'v2' }, V2], ['v0', 'v2']), 'LambdaApiVersionLifecycle', 'RetiredVersionServed');
  });
  test('Noncompliance 3: a malformed list', () => {
    expectNoncompliant(fnServing('[{"version":"v1","status":"sunset"}]'), 'LambdaApiVersionLifecycle', 'Malformed');
    expectNoncompliant(fnServing('{"version":"v1","status":"active"}'), 'LambdaApiVersionLifecycle', 'Malformed');
    expectNoncompliant(fnServing('not json'), 'LambdaApiVersionLifecycle', 'Malformed');
  });
  test('Compliance: exactly 6 months of notice, 12 months, active versions, and a retired version without a stage', () => {
    expectCompliant(fnServing([{ version: 'v1', status: 'deprecated', deprecatedAt: '2027-01-31', sunsetAt: '2027-07-31' }]), 'LambdaApiVersionLifecycle');
    expectCompliant(fnServing([{ version: 'v1', status: 'deprecated', deprecatedAt: '2026-06-01', sunsetAt: '2027-06-01', successor: 'v2' }, V2], ['v1', 'v2']), 'LambdaApiVersionLifecycle');
    expectCompliant(fnServing([V2]), 'LambdaApiVersionLifecycle');
    expectCompliant(fnServing([{ version: 'v0', status: 'retired', successor: 'v2' }, V2], ['v2']), 'LambdaApiVersionLifecycle');
  });
  test('Not applicable: a function without API_VERSIONS', () => {
    expect(findingsOf(fnServing(undefined), 'LambdaApiVersionLifecycle')).toEqual([]);
  });
});
