import { grantedScope, idTokenCarriesFhirUser } from '../../../lambdas/smart-facade/granted-scope';

const ISSUER = 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Pool1234';
const CLIENT = 'portal7client';
const jwt = (claims: Record<string, unknown>): string => `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`;
const ID_TOKEN = jwt({ iss: ISSUER, aud: CLIENT, token_use: 'id', fhirUser: 'Patient/123' });

const base = { accessTokenScope: 'launch/patient openid patient/Patient.rs', idToken: ID_TOKEN, clientId: CLIENT, issuer: ISSUER, holdsRefreshToken: true, offlineAccess: true };

describe('grantedScope', () => {
  test('Cognito’s scopes unchanged and in order, then fhirUser, then offline_access', () => {
    expect(grantedScope(base)).toBe('launch/patient openid patient/Patient.rs fhirUser offline_access');
  });

  test('offline_access needs both a refresh token and the registration; a refresh token without it is online_access', () => {
    expect(grantedScope({ ...base, holdsRefreshToken: false })).toBe('launch/patient openid patient/Patient.rs fhirUser');
    expect(grantedScope({ ...base, offlineAccess: false })).toBe('launch/patient openid patient/Patient.rs fhirUser online_access');
    expect(grantedScope({ ...base, offlineAccess: false, holdsRefreshToken: false })).toBe('launch/patient openid patient/Patient.rs fhirUser');
  });

  test('fhirUser/offline_access texts in the access token are not taken at their word; duplicates go', () => {
    expect(grantedScope({ ...base, accessTokenScope: 'fhirUser openid offline_access openid', idToken: undefined, holdsRefreshToken: false })).toBe('openid');
  });

  test('no scope claim: only what the façade states', () => {
    expect(grantedScope({ ...base, accessTokenScope: undefined })).toBe('fhirUser offline_access');
  });
});

describe('idTokenCarriesFhirUser', () => {
  test.each<[string, unknown, boolean]>([
    ['this pool’s ID token for the client, with the claim', ID_TOKEN, true],
    ['an audience list naming the client', jwt({ iss: ISSUER, aud: ['x', CLIENT], token_use: 'id', fhirUser: 'Practitioner/9' }), true],
    ['no fhirUser claim', jwt({ iss: ISSUER, aud: CLIENT, token_use: 'id' }), false],
    ['a fhirUser with a space', jwt({ iss: ISSUER, aud: CLIENT, token_use: 'id', fhirUser: 'Patient/1 2' }), false],
    ['another client’s', jwt({ iss: ISSUER, aud: 'other', token_use: 'id', fhirUser: 'Patient/123' }), false],
    ['another pool’s', jwt({ iss: `${ISSUER}x`, aud: CLIENT, token_use: 'id', fhirUser: 'Patient/123' }), false],
    ['an access token', jwt({ iss: ISSUER, client_id: CLIENT, aud: CLIENT, token_use: 'access', fhirUser: 'Patient/123' }), false],
    ['not a JWT', 'opaque', false],
    ['a payload that is not JSON', 'a.bm90IGpzb24.c', false],
    ['oversized', `a.${'b'.repeat(20000)}.c`, false],
    ['not a string', 42, false],
  ])('%s → %s', (_name, token, expected) => {
    expect(idTokenCarriesFhirUser(token, CLIENT, ISSUER)).toBe(expected);
  });
});
