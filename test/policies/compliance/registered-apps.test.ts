import { App, Stack } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as sns from 'aws-cdk-lib/aws-sns';
import { assessmentExpiredOn, isCalendarDate, type RegisteredApp } from '../../../policies/app-registry';
import { testApp } from '../../helpers/registry';
import {
  markRegisteredApp,
  REGISTERED_APP_METADATA_KEY,
  registeredAppOf,
  synthDate,
  TODAY_CONTEXT_KEY,
} from '../../../policies/compliance/registered-apps';

const APP: RegisteredApp = testApp({
  tier: 'medium',
  clientType: 'confidential',
  scopes: ['openid', 'user/Patient.rs'],
  baa: { reference: 'BAA-2026-0001' },
  throttle: { rateLimit: 20, burstLimit: 40, quotaPerDay: 50000 },
  labels: ['N'],
});

const MARKER = {
  id: 'acme-portal',
  tier: 'medium',
  clientType: 'confidential',
  scopes: ['openid', 'user/Patient.rs'],
  baaReference: 'BAA-2026-0001',
  assessmentDate: '2026-06-01',
  assessmentExpires: '2027-06-01',
};

function stack(context: Record<string, unknown> = {}): Stack {
  return new Stack(new App({ context }), 'Test');
}

describe('markRegisteredApp / registeredAppOf', () => {
  test('marks a CfnUserPoolClient with the fields the registry rule needs', () => {
    const s = stack();
    const client = new cognito.CfnUserPoolClient(s, 'Client', { userPoolId: 'us-east-1_example' });
    markRegisteredApp(client, APP);
    expect(registeredAppOf(client)).toEqual(MARKER);
    expect(client.node.metadata.filter((m) => m.type === REGISTERED_APP_METADATA_KEY).map((m) => m.data)).toEqual([MARKER]);
  });

  test('marks an L2 UserPoolClient on its CfnUserPoolClient, readable from either', () => {
    const s = stack();
    const client = new cognito.UserPool(s, 'Pool').addClient('App');
    markRegisteredApp(client, APP);
    expect(registeredAppOf(client)).toEqual(MARKER);
    expect(registeredAppOf(client.node.defaultChild!)).toEqual(MARKER);
    expect(client.node.metadata.filter((m) => m.type === REGISTERED_APP_METADATA_KEY)).toEqual([]);
  });

  test('records no BAA reference when the entry has none (or a blank one)', () => {
    const s = stack();
    const a = new cognito.CfnUserPoolClient(s, 'A', { userPoolId: 'us-east-1_example' });
    const b = new cognito.CfnUserPoolClient(s, 'B', { userPoolId: 'us-east-1_example' });
    markRegisteredApp(a, { ...APP, baa: undefined });
    markRegisteredApp(b, { ...APP, baa: { reference: '  ' } });
    expect(registeredAppOf(a)).not.toHaveProperty('baaReference');
    expect(registeredAppOf(b)).not.toHaveProperty('baaReference');
  });

  test('an unmarked client has no marker', () => {
    const s = stack();
    expect(registeredAppOf(new cognito.CfnUserPoolClient(s, 'Client', { userPoolId: 'us-east-1_example' }))).toBeUndefined();
    expect(registeredAppOf(new cognito.UserPool(s, 'Pool').addClient('App'))).toBeUndefined();
  });

  test('marking again with the same app is a no-op; with another app it throws', () => {
    const s = stack();
    const client = new cognito.CfnUserPoolClient(s, 'Client', { userPoolId: 'us-east-1_example' });
    markRegisteredApp(client, APP);
    markRegisteredApp(client, { ...APP });
    expect(client.node.metadata.filter((m) => m.type === REGISTERED_APP_METADATA_KEY)).toHaveLength(1);
    expect(() => markRegisteredApp(client, { ...APP, id: 'other' })).toThrow(/already marked as the client of app "acme-portal"/);
    expect(() => markRegisteredApp(client, { ...APP, securityAssessment: { ...APP.securityAssessment, expires: '2028-01-01' } })).toThrow(/already marked/);
  });

  test('refuses anything but a user pool client', () => {
    const s = stack();
    expect(() => markRegisteredApp(new sns.Topic(s, 'Topic'), APP)).toThrow(/is not a Cognito user pool client/);
    expect(() => markRegisteredApp(new cognito.UserPool(s, 'Pool'), APP)).toThrow(/is not a Cognito user pool client/);
  });

  test.each([
    ['no id', { id: '' }, /needs an id/],
    ['an unknown tier', { tier: 'extreme' }, /tier must be one of low, medium, high/],
    ['an unknown client type', { clientType: 'spa' }, /clientType must be one of/],
    ['scopes that are not a list of strings', { scopes: 'patient/Observation.rs' }, /scopes must be a list/],
    ['a malformed assessment date', { securityAssessment: { ...APP.securityAssessment, date: '2026-13-01' } }, /securityAssessment\.date must be a YYYY-MM-DD date/],
    ['a malformed expiry', { securityAssessment: { ...APP.securityAssessment, expires: '31/12/2027' } }, /securityAssessment\.expires must be a YYYY-MM-DD date/],
    ['a non-string BAA reference', { baa: { reference: 42 } }, /baa\.reference must be a string/],
  ])('refuses an app with %s', (_label, patch, message) => {
    const client = new cognito.CfnUserPoolClient(stack(), 'Client', { userPoolId: 'us-east-1_example' });
    expect(() => markRegisteredApp(client, { ...APP, ...(patch as Partial<RegisteredApp>) })).toThrow(message);
  });

  test('a malformed marker is an error, not "unmarked"', () => {
    const client = new cognito.CfnUserPoolClient(stack(), 'Client', { userPoolId: 'us-east-1_example' });
    client.node.addMetadata(REGISTERED_APP_METADATA_KEY, { id: 'x' });
    expect(() => registeredAppOf(client)).toThrow(/malformed zero-trust-fhir:registered-app marker/);
  });
});

describe('synth date', () => {
  test('is the zeroTrustFhir:today context value when set', () => {
    expect(synthDate(stack({ [TODAY_CONTEXT_KEY]: '2027-06-02' }))).toBe('2027-06-02');
  });

  test('is the current UTC date otherwise', () => {
    const before = new Date().toISOString().slice(0, 10);
    const today = synthDate(stack());
    const after = new Date().toISOString().slice(0, 10);
    expect([before, after]).toContain(today);
  });

  test.each(['2027-6-2', '2027-02-29', '2027-06-02T00:00:00Z', 20270602, ''])('refuses a malformed context value %j', (value) => {
    expect(() => synthDate(stack({ [TODAY_CONTEXT_KEY]: value }))).toThrow(/zeroTrustFhir:today" must be a YYYY-MM-DD date/);
  });

  test('an assessment is valid through its expiry day', () => {
    const marker = registeredAppOf((() => {
      const client = new cognito.CfnUserPoolClient(stack(), 'Client', { userPoolId: 'us-east-1_example' });
      markRegisteredApp(client, APP);
      return client;
    })())!;
    expect(assessmentExpiredOn(marker.assessmentExpires, '2027-05-31')).toBe(false);
    expect(assessmentExpiredOn(marker.assessmentExpires, '2027-06-01')).toBe(false);
    expect(assessmentExpiredOn(marker.assessmentExpires, '2027-06-02')).toBe(true);
    expect(isCalendarDate('2028-02-29')).toBe(true);
    expect(isCalendarDate('2027-02-29')).toBe(false);
  });
});
