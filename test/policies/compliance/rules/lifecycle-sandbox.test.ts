/**
 * FHIR.HIPAA-HealthLakeSandboxSyntheticData and FHIR.HIPAA-LambdaApiVersionLifecycle, both ways.
 */
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

function fnServing(lifecycle: unknown) {
  const stack = newStack('staging');
  new lambda.CfnFunction(stack, 'Proxy', {
    code: { zipFile: 'x' },
    role: 'arn:aws:iam::111122223333:role/r',
    runtime: 'nodejs24.x',
    handler: 'index.handler',
    environment: { variables: lifecycle === undefined ? {} : { API_LIFECYCLE: typeof lifecycle === 'string' ? lifecycle : JSON.stringify(lifecycle) } },
  });
  return stack;
}

describe('FHIR.HIPAA-LambdaApiVersionLifecycle', () => {
  test('Noncompliance 1: a sunset less than 6 months after the notice', () => {
    expectNoncompliant(fnServing({ version: 'v1', status: 'deprecated', deprecatedAt: '2027-01-31', sunsetAt: '2027-07-30' }), 'LambdaApiVersionLifecycle', 'ShortNotice');
  });
  test('Noncompliance 2: a retired version whose routes still exist', () => {
    expectNoncompliant(fnServing({ version: 'v0', status: 'retired', successor: 'v1' }), 'LambdaApiVersionLifecycle', 'RetiredVersionServed');
  });
  test('Noncompliance 3: a malformed lifecycle', () => {
    expectNoncompliant(fnServing('{"version":"v1","status":"sunset"}'), 'LambdaApiVersionLifecycle', 'Malformed');
    expectNoncompliant(fnServing('not json'), 'LambdaApiVersionLifecycle', 'Malformed');
  });
  test('Compliance: exactly 6 months of notice, 12 months, and an active version', () => {
    expectCompliant(fnServing({ version: 'v1', status: 'deprecated', deprecatedAt: '2027-01-31', sunsetAt: '2027-07-31' }), 'LambdaApiVersionLifecycle');
    expectCompliant(fnServing({ version: 'v1', status: 'deprecated', deprecatedAt: '2026-06-01', sunsetAt: '2027-06-01' }), 'LambdaApiVersionLifecycle');
    expectCompliant(fnServing({ version: 'v2', status: 'active' }), 'LambdaApiVersionLifecycle');
  });
  test('Not applicable: a function without API_LIFECYCLE', () => {
    expect(findingsOf(fnServing(undefined), 'LambdaApiVersionLifecycle')).toEqual([]);
  });
});
