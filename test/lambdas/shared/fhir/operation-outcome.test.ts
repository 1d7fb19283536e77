import {
  errorResponse,
  GENERIC_DIAGNOSTICS,
  MAX_DIAGNOSTICS_LENGTH,
  MAX_ISSUES,
  operationOutcome,
} from '../../../../lambdas/shared/operation-outcome';

describe('operation-outcome', () => {
  test('errorResponse: status, FHIR JSON, security headers, one issue', () => {
    const res = errorResponse(404, 'not-found', 'Resource not found', { expression: ['Observation.id'] });
    expect(res.statusCode).toBe(404);
    expect(res.headers).toEqual({
      'Content-Type': 'application/fhir+json',
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      'Strict-Transport-Security': 'max-age=63072000; includeSubDomains',
    });
    expect(JSON.parse(res.body)).toEqual({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'not-found', diagnostics: 'Resource not found', expression: ['Observation.id'] }],
    });
  });

  test('extra headers are added but cannot replace Content-Type or the security headers', () => {
    const res = errorResponse(405, 'not-supported', 'Method not allowed', {
      headers: { Allow: 'GET', 'content-type': 'text/html', 'cache-control': 'public', 'Strict-Transport-Security': 'max-age=0' },
    });
    expect(res.headers).toMatchObject({ Allow: 'GET', 'Content-Type': 'application/fhir+json', 'Cache-Control': 'no-store' });
    expect(res.headers?.['Strict-Transport-Security']).toBe('max-age=63072000; includeSubDomains');
    expect(Object.keys(res.headers ?? {}).filter((h) => h.toLowerCase() === 'content-type')).toHaveLength(1);
  });

  test.each([
    ['too long', 'x'.repeat(MAX_DIAGNOSTICS_LENGTH + 1)],
    ['multi-line', 'Invalid id\nPatient/123 Smith'],
    ['non-ASCII', 'Patient Müller not found'],
    ['empty', ''],
  ])('diagnostics that are %s are replaced by a generic text', (_name, text) => {
    const body = JSON.parse(errorResponse(400, 'invalid', text).body);
    expect(body.issue[0].diagnostics).toBe(GENERIC_DIAGNOSTICS);
  });

  test('unsafe expressions are dropped, issues are capped, an empty list still yields one issue', () => {
    const outcome = operationOutcome([
      { severity: 'warning', code: 'value', expression: ['Patient.name', 'x'.repeat(500), 'a\nb'] },
      ...Array.from({ length: 30 }, () => ({ severity: 'information' as const, code: 'informational' as const })),
    ]);
    expect(outcome.issue[0]).toEqual({ severity: 'warning', code: 'value', expression: ['Patient.name'] });
    expect(outcome.issue).toHaveLength(MAX_ISSUES);
    expect(operationOutcome([]).issue).toEqual([{ severity: 'error', code: 'exception' }]);
  });

  test('a non-error status becomes 500', () => {
    expect(errorResponse(200, 'exception', 'Internal error').statusCode).toBe(500);
    expect(errorResponse(503.5, 'transient', 'Try again').statusCode).toBe(500);
  });
});
