/** Literal references: local only when relative or under one of the given bases. */
import { parseReference } from '../../../../lambdas/shared/fhir/references';

describe('absolute references under the given bases', () => {
  const BASES = ['https://FHIR.example.org:443/r4/', 'not a url', 'https://healthlake.us-east-1.amazonaws.com/datastore/abc/r4'];

  test.each([
    ['https://fhir.example.org/r4/Patient/p1', { resourceType: 'Patient', id: 'p1' }],
    ['https://fhir.example.org/r4/Patient/p1/_history/2', { resourceType: 'Patient', id: 'p1', versionId: '2' }],
    ['https://healthlake.us-east-1.amazonaws.com/datastore/abc/r4/Observation/o1', { resourceType: 'Observation', id: 'o1' }],
    ['https://other.example.org/r4/Patient/p1', undefined],
    ['https://fhir.example.org/r4x/Patient/p1', undefined],
    ['Patient/p1', { resourceType: 'Patient', id: 'p1' }],
  ])('%s', (reference, want) => {
    // The same list for every reference, as the proxy passes it, and a fresh copy: same answer.
    expect(parseReference(reference, { baseUrls: BASES })).toEqual(want);
    expect(parseReference(reference, { baseUrls: [...BASES] })).toEqual(want);
  });

  test('another list with other bases is not answered from the first', () => {
    expect(parseReference('https://fhir.example.org/r4/Patient/p1', { baseUrls: BASES })).toBeDefined();
    expect(parseReference('https://fhir.example.org/r4/Patient/p1', { baseUrls: ['https://other.example.org/r4'] })).toBeUndefined();
    expect(parseReference('https://fhir.example.org/r4/Patient/p1', { baseUrls: [] })).toBeUndefined();
    expect(parseReference('https://fhir.example.org/r4/Patient/p1')).toBeUndefined();
  });
});
