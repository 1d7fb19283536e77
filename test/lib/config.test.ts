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
    };
    expect(parseZeroTrustFhirConfig({ ...full, maxAzs: '3' })).toEqual(full);
  });

  test('accepts a JSON string (from -c zeroTrustFhir=...)', () => {
    expect(parseZeroTrustFhirConfig('{"environment":"staging"}').environment).toBe('staging');
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
