import { ALLOWED_LOG_RETENTION_DAYS, parseZeroTrustFhirConfig } from '../../lib';

describe('parseZeroTrustFhirConfig', () => {
  test('defaults: sandbox, 2 AZs, six-year retention', () => {
    expect(parseZeroTrustFhirConfig(undefined)).toEqual({
      stackName: 'ZeroTrustFhir',
      environment: 'sandbox',
      maxAzs: 2,
      logRetentionDays: 2192,
      auditBucketRetentionDays: 2192,
      alarmEmail: undefined,
      domainName: undefined,
      certificateArn: undefined,
      corsAllowedOrigins: undefined,
      authorizerCacheTtlSeconds: 60,
      accounts: {},
    });
  });

  test('accepts every field, numbers given as strings by -c', () => {
    const full = {
      stackName: 'Fhir-Prod',
      environment: 'production',
      maxAzs: 3,
      logRetentionDays: 3653,
      auditBucketRetentionDays: 2557,
      alarmEmail: 'soc@example.org',
      domainName: 'fhir.example.org',
      certificateArn: 'arn:aws:acm:us-east-1:111122223333:certificate/0b9e8f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
      corsAllowedOrigins: ['https://portal.example.org'],
      authorizerCacheTtlSeconds: 30,
      accounts: { sandbox: { account: '111111111111', region: 'us-east-1' }, production: { account: '333333333333', region: 'us-east-2' } },
    };
    expect(parseZeroTrustFhirConfig({ ...full, maxAzs: '3' })).toEqual({ ...full, account: { account: '333333333333', region: 'us-east-2' } });
  });

  test('accepts a JSON string (from -c zeroTrustFhir=...)', () => {
    expect(parseZeroTrustFhirConfig('{"environment":"staging","accounts":{"staging":{"account":"222222222222","region":"eu-west-1"}}}').environment).toBe('staging');
  });

  test('the allowed retention values all meet the six-year floor', () => {
    expect(ALLOWED_LOG_RETENTION_DAYS[0]).toBe(2192);
    expect(ALLOWED_LOG_RETENTION_DAYS).toContain(9999);
  });

  test.each([
    [{ environment: 'prod' }, 'zeroTrustFhir.environment', 'sandbox | staging | production'],
    [{ environment: 3 }, 'zeroTrustFhir.environment', 'sandbox | staging | production'],
    [{ maxAzs: 4 }, 'zeroTrustFhir.maxAzs', '2 or 3'],
    [{ maxAzs: 'two' }, 'zeroTrustFhir.maxAzs', 'not a whole number'],
    [{ logRetentionDays: 365 }, 'zeroTrustFhir.logRetentionDays', 'under the six-year floor'],
    [{ logRetentionDays: 2200 }, 'zeroTrustFhir.logRetentionDays', 'not a CloudWatch Logs retention value'],
    [{ auditBucketRetentionDays: 30 }, 'zeroTrustFhir.auditBucketRetentionDays', 'from 2192'],
    [{ alarmEmail: 'not-an-address' }, 'zeroTrustFhir.alarmEmail', 'an e-mail address'],
    [{ stackName: '1-bad name' }, 'zeroTrustFhir.stackName', 'CloudFormation stack name'],
    [{ retention: 10 }, 'zeroTrustFhir.retention', 'is not a known key'],
    [{ domainName: 'fhir.example.org' }, 'zeroTrustFhir.certificateArn', 'together with domainName'],
    [{ domainName: 'FHIR.example.org', certificateArn: 'arn:aws:acm:us-east-1:111122223333:certificate/abc' }, 'zeroTrustFhir.domainName', 'lowercase DNS name'],
    [{ environment: 'production', corsAllowedOrigins: [] }, 'zeroTrustFhir.domainName', 'required in production'],
    [{ environment: 'production', domainName: 'fhir.example.org', certificateArn: 'arn:aws:acm:us-east-1:111122223333:certificate/abc' }, 'zeroTrustFhir.corsAllowedOrigins', 'required in production'],
    [{ corsAllowedOrigins: ['*'] }, 'zeroTrustFhir.corsAllowedOrigins', '"*" is never allowed'],
    [{ corsAllowedOrigins: 'https://a.example.org' }, 'zeroTrustFhir.corsAllowedOrigins', 'a list of exact https origins'],
    [{ authorizerCacheTtlSeconds: 600 }, 'zeroTrustFhir.authorizerCacheTtlSeconds', 'from 0 to 300'],
    [[1, 2], 'zeroTrustFhir.', 'must be an object'],
    ['{not json', 'zeroTrustFhir.', 'not a JSON object'],
  ])('%p fails naming %s', (raw, key, detail) => {
    expect(() => parseZeroTrustFhirConfig(raw)).toThrow(`"${key}"`);
    expect(() => parseZeroTrustFhirConfig(raw)).toThrow(detail);
  });
});

describe('loadZeroTrustFhirConfig: the object form and the colon form', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { App } = require('aws-cdk-lib') as typeof import('aws-cdk-lib');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { CONTEXT_FLAG_KEYS, ConfigError, kitContextValue, loadZeroTrustFhirConfig } = require('../../lib/config') as typeof import('../../lib/config');
  const CERT = 'arn:aws:acm:us-east-1:111122223333:certificate/0b9e8f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b';
  const ACCOUNTS = { sandbox: { account: '111111111111', region: 'us-east-1' }, staging: { account: '222222222222', region: 'us-east-1' }, production: { account: '333333333333', region: 'us-east-1' } };
  const fromCdkJson = { stackName: 'ZeroTrustFhir', environment: 'sandbox', maxAzs: 2, accounts: ACCOUNTS };
  const load = (context: Record<string, unknown>) => loadZeroTrustFhirConfig(new App({ context }));

  test('-c zeroTrustFhir:environment=staging overrides that field of the cdk.json object, the rest stays', () => {
    const config = load({ zeroTrustFhir: { ...fromCdkJson, stackName: 'Team' }, 'zeroTrustFhir:environment': 'staging' });
    expect(config.environment).toBe('staging');
    expect(config.stackName).toBe('Team');
  });

  test('every field works in the colon form, with the strings -c passes (lists as JSON)', () => {
    const config = load({
      zeroTrustFhir: fromCdkJson,
      'zeroTrustFhir:environment': 'production',
      'zeroTrustFhir:maxAzs': '3',
      'zeroTrustFhir:logRetentionDays': '3653',
      'zeroTrustFhir:auditBucketRetentionDays': '2557',
      'zeroTrustFhir:alarmEmail': 'soc@example.org',
      'zeroTrustFhir:domainName': 'fhir.example.org',
      'zeroTrustFhir:certificateArn': CERT,
      'zeroTrustFhir:corsAllowedOrigins': '["https://portal.example.org"]',
      'zeroTrustFhir:authorizerCacheTtlSeconds': '30',
      'zeroTrustFhir:stackName': 'FhirProd',
      'zeroTrustFhir:accounts': JSON.stringify({ production: ACCOUNTS.production }),
    });
    expect(config).toEqual({
      stackName: 'FhirProd', environment: 'production', maxAzs: 3, logRetentionDays: 3653, auditBucketRetentionDays: 2557,
      alarmEmail: 'soc@example.org', domainName: 'fhir.example.org', certificateArn: CERT,
      corsAllowedOrigins: ['https://portal.example.org'], authorizerCacheTtlSeconds: 30,
      accounts: { production: ACCOUNTS.production }, account: ACCOUNTS.production,
    });
  });

  test('the JSON form (-c zeroTrustFhir=\'{...}\', a string) still works, and the colon form wins over it', () => {
    const staging = JSON.stringify({ environment: 'staging', accounts: ACCOUNTS });
    expect(load({ zeroTrustFhir: staging }).environment).toBe('staging');
    expect(load({ zeroTrustFhir: staging, 'zeroTrustFhir:environment': 'sandbox' }).environment).toBe('sandbox');
    expect(load({}).environment).toBe('sandbox');
  });

  test('a bad colon-form value names the key in the colon form', () => {
    expect(() => load({ zeroTrustFhir: fromCdkJson, 'zeroTrustFhir:environment': 'prod' }))
      .toThrow('Invalid configuration "zeroTrustFhir:environment": got "prod". Allowed: sandbox | staging | production.');
    expect(() => load({ 'zeroTrustFhir:maxAzs': 'two' })).toThrow('"zeroTrustFhir:maxAzs"');
    expect(() => load({ zeroTrustFhir: { environment: 'prod' } })).toThrow('"zeroTrustFhir.environment"');
  });

  test('a colon-form list that is not JSON fails naming the JSON form', () => {
    expect(() => load({ 'zeroTrustFhir:corsAllowedOrigins': 'https://portal.example.org' }))
      .toThrow(/"zeroTrustFhir:corsAllowedOrigins": got "https:\/\/portal\.example\.org", not a JSON list\. Allowed: a JSON list: -c 'zeroTrustFhir:corsAllowedOrigins=\["https:\/\/portal\.example\.org"\]'.*or the JSON form zeroTrustFhir='\{"corsAllowedOrigins"/);
  });

  test('an unknown key under the prefix fails listing the known ones', () => {
    const run = () => load({ zeroTrustFhir: fromCdkJson, 'zeroTrustFhir:enviroment': 'production' });
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(/"zeroTrustFhir:enviroment": is not a known key\. Allowed: zeroTrustFhir:stackName, zeroTrustFhir:environment, .*zeroTrustFhir:today, zeroTrustFhir:skipAcknowledgements; or the JSON form/);
  });

  test.each([
    ['zeroTrustFhir.environment', /was given as the context key "zeroTrustFhir\.environment", which the kit does not read.*-c zeroTrustFhir:environment=<value>, or the JSON form zeroTrustFhir='\{"environment":<value>\}'/],
    ['zerotrustfhir:environment', /"zerotrustfhir:environment", which the kit does not read/],
    ['ZeroTrustFHIR', /"ZeroTrustFHIR", which the kit does not read/],
  ])('a key that only looks like the kit\'s (%s) fails instead of being ignored', (key, message) => {
    expect(() => load({ zeroTrustFhir: fromCdkJson, [key]: 'production' })).toThrow(message);
  });

  test('production needs someone subscribed to the security alarms', () => {
    const prod = { environment: 'production', domainName: 'fhir.example.org', certificateArn: CERT, corsAllowedOrigins: [], accounts: ACCOUNTS };
    expect(() => load({ zeroTrustFhir: prod })).toThrow('"zeroTrustFhir.alarmEmail": is required in production');
    expect(() => load({ zeroTrustFhir: { ...prod, environment: 'staging' } })).not.toThrow();
    expect(load({ zeroTrustFhir: prod, 'zeroTrustFhir:alarmEmail': 'soc@example.org' }).alarmEmail).toBe('soc@example.org');
  });

  test('today: either form, validated; the colon form wins', () => {
    expect(() => load({ 'zeroTrustFhir:today': '2027-02-30' })).toThrow('"zeroTrustFhir:today": got "2027-02-30". Allowed: a YYYY-MM-DD date.');
    expect(() => load({ zeroTrustFhir: { today: 'tomorrow' } })).toThrow('"zeroTrustFhir.today"');
    expect(() => load({ zeroTrustFhir: { today: '2027-11-01' } })).not.toThrow();
    expect(kitContextValue(new App({ context: { zeroTrustFhir: { today: '2027-11-01' } } }), 'today')).toBe('2027-11-01');
    expect(kitContextValue(new App({ context: { zeroTrustFhir: '{"today":"2027-11-01"}', 'zeroTrustFhir:today': '2028-01-01' } }), 'today')).toBe('2028-01-01');
    expect(kitContextValue(new App({ context: { zeroTrustFhir: '{not json' } }), 'today')).toBeUndefined();
  });

  test('skipAcknowledgements: only the boolean, only in the colon form', () => {
    expect(() => load({ 'zeroTrustFhir:skipAcknowledgements': true })).not.toThrow();
    expect(() => load({ 'zeroTrustFhir:skipAcknowledgements': 'true' }))
      .toThrow(/"zeroTrustFhir:skipAcknowledgements": got "true"; -c passes strings, and only the boolean true skips the acknowledgements/);
    expect(() => load({ zeroTrustFhir: { skipAcknowledgements: true } }))
      .toThrow(/"zeroTrustFhir\.skipAcknowledgements": is read only as its own context key zeroTrustFhir:skipAcknowledgements/);
  });

  test('the flag keys are the ones the kit reads', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { TODAY_CONTEXT_KEY } = require('../../policies/compliance/registered-apps') as typeof import('../../policies/compliance/registered-apps');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { SKIP_ACKNOWLEDGEMENTS_CONTEXT } = require('../../lib/zero-trust-fhir-stack') as typeof import('../../lib/zero-trust-fhir-stack');
    expect(CONTEXT_FLAG_KEYS.map((k) => `zeroTrustFhir:${k}`)).toEqual([TODAY_CONTEXT_KEY, SKIP_ACKNOWLEDGEMENTS_CONTEXT]);
  });
});

describe('the reference app reads the colon form', () => {
  test('-c zeroTrustFhir:environment=staging builds a staging stack, and the gate is told so', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { buildApp } = require('../../bin/app') as typeof import('../../bin/app');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { createTestApp } = require('../helpers/app') as typeof import('../helpers/app');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { deploymentEnvironmentSource } = require('../../policies/compliance/environment') as typeof import('../../policies/compliance/environment');
    const { app, stack } = buildApp(createTestApp({ context: { 'zeroTrustFhir:environment': 'staging', 'zeroTrustFhir:accounts': '{"staging":{"account":"222222222222","region":"eu-west-1"}}' } }));
    expect(stack.deploymentEnvironment).toBe('staging');
    expect(stack.account).toBe('222222222222');
    expect(stack.region).toBe('eu-west-1');
    expect(app.synth().manifest.missing ?? []).toEqual([]); // bound to an account, still no context lookup
    expect(stack.stackName).toBe('ZeroTrustFhir');
    expect(deploymentEnvironmentSource(app)).toBe('stated');
  });
});

describe('one AWS account per environment', () => {
  const base = { environment: 'sandbox' };
  test.each([
    ['staging without its account', { environment: 'staging' }, '"zeroTrustFhir.accounts.staging": is required in staging: the stack is bound to its own account (only a sandbox may synthesize env-agnostic)'],
    ['production without its account', { environment: 'production', domainName: 'fhir.example.org', certificateArn: 'arn:aws:acm:us-east-1:111122223333:certificate/x', corsAllowedOrigins: [], alarmEmail: 'soc@example.org', accounts: { staging: { account: '222222222222', region: 'us-east-1' } } }, '"zeroTrustFhir.accounts.production": is required in production'],
    ['two environments in one account', { ...base, accounts: { sandbox: { account: '111111111111', region: 'us-east-1' }, production: { account: '111111111111', region: 'us-east-1' } } }, '"zeroTrustFhir.accounts.production.account": names account 111111111111, which accounts.sandbox.account names too: environments must not share an account (sandbox settings or data would reach production)'],
    ['staging sharing with sandbox', { ...base, accounts: { sandbox: { account: '111111111111', region: 'us-east-1' }, staging: { account: '111111111111', region: 'us-east-1' } } }, 'which accounts.sandbox.account names too: environments must not share an account (sandbox settings or data would reach another environment)'],
    ['an unknown environment', { ...base, accounts: { prod: { account: '111111111111', region: 'us-east-1' } } }, '"zeroTrustFhir.accounts.prod": is not an environment'],
    ['a malformed account id', { ...base, accounts: { sandbox: { account: 111111111111, region: 'us-east-1' } } }, '"zeroTrustFhir.accounts.sandbox.account": got 111111111111. Allowed: a 12-digit AWS account id, as a string'],
    ['a malformed region', { ...base, accounts: { sandbox: { account: '111111111111', region: 'Virginia' } } }, '"zeroTrustFhir.accounts.sandbox.region": got "Virginia"'],
    ['an unknown field', { ...base, accounts: { sandbox: { account: '111111111111', region: 'us-east-1', profile: 'dev' } } }, '"zeroTrustFhir.accounts.sandbox.profile": is not a known key'],
    ['not an object', { ...base, accounts: ['111111111111'] }, '"zeroTrustFhir.accounts": must be an object, got a list'],
  ])('%s fails with a message naming the key', (_name, raw, message) => {
    expect(() => parseZeroTrustFhirConfig(raw)).toThrow(message);
  });

  test('a sandbox without an account stays env-agnostic; with one it is bound to it', () => {
    expect(parseZeroTrustFhirConfig({ environment: 'sandbox' }).account).toBeUndefined();
    expect(parseZeroTrustFhirConfig({ environment: 'sandbox', accounts: { sandbox: { account: '111111111111', region: 'us-east-1' } } }).account).toEqual({ account: '111111111111', region: 'us-east-1' });
  });
});

describe('apiVersions', () => {
  test('the versions are read and validated; the reference app passes them to the gateway', () => {
    const versions = [{ version: 'v1', status: 'deprecated', deprecatedAt: '2026-06-01', sunsetAt: '2027-06-01', successor: 'v2' }, { version: 'v2', status: 'active' }];
    expect(parseZeroTrustFhirConfig({ apiVersions: versions }).apiVersions).toEqual(versions);
  });
  test.each([
    [[{ version: 'v1', status: 'deprecated' }], 'versions[0]: a deprecated version (v1) needs deprecatedAt and sunsetAt'],
    [[{ version: 'v1', status: 'gone' }], 'versions[0]: status must be active, deprecated or retired'],
    [{ version: 'v1', status: 'active' }, 'the versions must be a non-empty list'],
    [[{ version: 'v1', status: 'active' }, { version: 'v1', status: 'active' }], 'version v1 is listed twice'],
    [[{ version: 'v1', status: 'deprecated', deprecatedAt: '2026-06-01', sunsetAt: '2027-06-01', successor: 'v3' }], 'the successor of v1 (v3) is not a listed version'],
  ])('%j fails naming the key', (value, message) => {
    expect(() => parseZeroTrustFhirConfig({ apiVersions: value })).toThrow(`"zeroTrustFhir.apiVersions": ${message}`);
  });
});
