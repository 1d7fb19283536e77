import type { PreTokenGenerationV2TriggerEvent, PreTokenGenerationV3TriggerEvent } from 'aws-lambda';
import { createLaunchContextHandler, LaunchContextError } from '../../../lambdas/smart-launch-context/launch-context';

const ALL_SCOPES = [
  'openid',
  'fhirUser',
  'launch/patient',
  'launch/encounter',
  'offline_access',
  'patient/Observation.rs',
  'patient/Patient.r',
  'user/Observation.rs',
  'user/*.rs',
  'system/Patient.rs',
  'aws.cognito.signin.user.admin',
];

/** A V2 event as Cognito sends it after a managed-login sign-in. */
function v2Event(
  attributes: Record<string, string>,
  opts: { groups?: string[]; scopes?: string[]; triggerSource?: PreTokenGenerationV2TriggerEvent['triggerSource'] } = {},
): PreTokenGenerationV2TriggerEvent {
  return {
    version: '2',
    triggerSource: opts.triggerSource ?? 'TokenGeneration_HostedAuth',
    region: 'us-east-1',
    userPoolId: 'us-east-1_TestPool1',
    userName: 'a1b2c3d4-0000-4000-8000-000000000001',
    callerContext: { awsSdkVersion: 'aws-sdk-unknown-unknown', clientId: '1example23456789' },
    request: {
      userAttributes: {
        sub: 'a1b2c3d4-0000-4000-8000-000000000001',
        'cognito:user_status': 'CONFIRMED',
        email_verified: 'true',
        email: 'user@example.org',
        ...attributes,
      },
      groupConfiguration: { groupsToOverride: opts.groups ?? [], iamRolesToOverride: [], preferredRole: undefined },
      scopes: opts.scopes ?? ALL_SCOPES,
    },
    response: { claimsAndScopeOverrideDetails: {} as PreTokenGenerationV2TriggerEvent['response']['claimsAndScopeOverrideDetails'] },
  } as PreTokenGenerationV2TriggerEvent;
}

const handler = createLaunchContextHandler({
  groupLabels: { 'behavioral-health': ['PSY', 'R'], 'hiv-clinic': ['HIV', 'R'], clinicians: ['N'] },
});

const PATIENT = { 'custom:patient': '123', 'custom:fhirUser': 'Patient/123' };
const PRACTITIONER = { 'custom:fhirUser': 'Practitioner/dr-9' };

describe('claims and scope suppression for user sign-ins', () => {
  const cases: Array<[string, Record<string, string>, Record<string, string>, string[]]> = [
    [
      'patient user: patient + fhirUser; user/ and system/ scopes suppressed',
      PATIENT,
      { patient: '123', fhirUser: 'Patient/123' },
      ['launch/encounter', 'user/Observation.rs', 'user/*.rs', 'system/Patient.rs', 'aws.cognito.signin.user.admin'],
    ],
    [
      'practitioner: fhirUser only; patient/ scopes and launch/patient suppressed',
      PRACTITIONER,
      { fhirUser: 'Practitioner/dr-9' },
      ['launch/patient', 'launch/encounter', 'patient/Observation.rs', 'patient/Patient.r', 'system/Patient.rs', 'aws.cognito.signin.user.admin'],
    ],
    [
      'related person with a patient: both contexts kept',
      { 'custom:patient': 'p.7', 'custom:fhirUser': 'RelatedPerson/rp-1' },
      { patient: 'p.7', fhirUser: 'RelatedPerson/rp-1' },
      ['launch/encounter', 'system/Patient.rs', 'aws.cognito.signin.user.admin'],
    ],
    [
      'no attributes: every resource scope suppressed',
      {},
      {},
      ['launch/patient', 'launch/encounter', 'patient/Observation.rs', 'patient/Patient.r', 'user/Observation.rs', 'user/*.rs', 'system/Patient.rs', 'aws.cognito.signin.user.admin'],
    ],
    [
      'patient attribute without fhirUser: user/ scopes suppressed',
      { 'custom:patient': '123' },
      { patient: '123' },
      ['launch/encounter', 'user/Observation.rs', 'user/*.rs', 'system/Patient.rs', 'aws.cognito.signin.user.admin'],
    ],
  ];

  it.each(cases)('%s', async (_name, attributes, claims, suppressed) => {
    const out = await handler(v2Event(attributes));
    const details = out.response.claimsAndScopeOverrideDetails;
    expect(details.accessTokenGeneration?.claimsToAddOrOverride).toEqual(claims);
    expect(details.idTokenGeneration?.claimsToAddOrOverride).toEqual(claims);
    expect(details.accessTokenGeneration?.scopesToSuppress).toEqual(suppressed);
  });

  it('applies on refresh too (attributes are re-read at every token issue)', async () => {
    const out = await handler(v2Event(PRACTITIONER, { triggerSource: 'TokenGeneration_RefreshTokens', scopes: ['patient/Observation.rs'] }));
    expect(out.response.claimsAndScopeOverrideDetails.accessTokenGeneration?.scopesToSuppress).toEqual(['patient/Observation.rs']);
  });
});

describe('labels from Cognito groups', () => {
  it.each([
    [['behavioral-health', 'hiv-clinic'], 'HIV PSY R'],
    [['clinicians', 'unknown-group'], 'N'],
    [['__proto__', 'constructor'], undefined],
    [[], undefined],
  ])('groups %j → labels %s (access token only)', async (groups, labels) => {
    const out = await handler(v2Event(PRACTITIONER, { groups }));
    const details = out.response.claimsAndScopeOverrideDetails;
    expect(details.accessTokenGeneration?.claimsToAddOrOverride?.labels).toBe(labels);
    expect(details.idTokenGeneration?.claimsToAddOrOverride).not.toHaveProperty('labels');
  });

  it('refuses invalid group-label configuration at creation', () => {
    expect(() => createLaunchContextHandler({ groupLabels: { g: ['has space'] } })).toThrow(/invalid label code/);
    expect(() => createLaunchContextHandler({ groupLabels: { g: 'R' as unknown as string[] } })).toThrow(/list/);
  });
});

describe('malformed or inconsistent attributes refuse the sign-in', () => {
  it.each([
    ['patient id with a slash', { 'custom:patient': 'Patient/123' }],
    ['patient id too long', { 'custom:patient': 'a'.repeat(65) }],
    ['patient id with a space', { 'custom:patient': '12 3' }],
    ['fhirUser absolute URL', { 'custom:fhirUser': 'https://fhir.example.org/r4/Practitioner/1' }],
    ['fhirUser of another type', { 'custom:fhirUser': 'Organization/1' }],
    ['fhirUser with a version', { 'custom:fhirUser': 'Practitioner/1/_history/2' }],
    ['fhirUser injection attempt', { 'custom:fhirUser': 'Practitioner/1 Patient/2' }],
    ['patient user without patient attribute', { 'custom:fhirUser': 'Patient/123' }],
    ['patient user with another patient', { 'custom:patient': '456', 'custom:fhirUser': 'Patient/123' }],
  ])('%s', async (_name, attributes) => {
    await expect(handler(v2Event(attributes))).rejects.toThrow(LaunchContextError);
  });

  it('refuses a V1 event (its response would not reach the access token)', async () => {
    await expect(handler({ ...v2Event(PATIENT), version: '1' })).rejects.toThrow(/version/);
  });
});

describe('client credentials (V3 event)', () => {
  it('adds no user claims and keeps only system/ resource scopes', async () => {
    const event = {
      ...v2Event({}, { scopes: ['system/Patient.rs', 'system/Coverage.rs', 'patient/Observation.rs', 'user/*.rs', 'launch/patient'] }),
      version: '3',
      triggerSource: 'TokenGeneration_ClientCredentials',
      userName: undefined,
      request: {
        userAttributes: {},
        groupConfiguration: { groupsToOverride: [], iamRolesToOverride: [] },
        scopes: ['system/Patient.rs', 'system/Coverage.rs', 'patient/Observation.rs', 'user/*.rs', 'launch/patient'],
      },
    } as unknown as PreTokenGenerationV3TriggerEvent;
    const out = await handler(event);
    expect(out.response.claimsAndScopeOverrideDetails).toEqual({
      accessTokenGeneration: { scopesToSuppress: ['patient/Observation.rs', 'user/*.rs', 'launch/patient'] },
    });
  });
});
