import { Duration, Stack } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { DeploymentEnvironment } from '../../../policies/environment';
import { expectCompliant, expectNoncompliant, granularFindings, newStack, validate } from '../helpers';

/** A user pool every pool rule accepts; `props` take one control away. */
function pool(props: Partial<cognito.UserPoolProps> = {}, env?: DeploymentEnvironment): Stack {
  const stack = newStack(env);
  new cognito.UserPool(stack, 'Pool', {
    featurePlan: cognito.FeaturePlan.PLUS,
    standardThreatProtectionMode: cognito.StandardThreatProtectionMode.FULL_FUNCTION,
    mfa: cognito.Mfa.REQUIRED,
    mfaSecondFactor: { otp: true, sms: false },
    deletionProtection: true,
    selfSignUpEnabled: false,
    ...props,
  });
  return stack;
}

describe('FHIR.HIPAA-CognitoMFARequired', () => {
  const rule = 'CognitoMFARequired';
  test('Noncompliance 1: MFA optional', () => expectNoncompliant(pool({ mfa: cognito.Mfa.OPTIONAL }), rule));
  test('Noncompliance 2: MFA off', () => expectNoncompliant(pool({ mfa: cognito.Mfa.OFF }), rule));
  test('Compliance: MFA required', () => expectCompliant(pool(), rule));
});

describe('FHIR.HIPAA-CognitoThreatProtection', () => {
  const rule = 'CognitoThreatProtection';
  test('Noncompliance 1: Essentials plan, no threat protection', () => {
    expect(granularFindings(pool({ featurePlan: cognito.FeaturePlan.ESSENTIALS, standardThreatProtectionMode: undefined }), rule))
      .toEqual(['AdvancedSecurityMode', 'UserPoolTier']);
  });
  test('Noncompliance 2: Plus plan, threat protection audit only', () => {
    expect(granularFindings(pool({ standardThreatProtectionMode: cognito.StandardThreatProtectionMode.AUDIT_ONLY }), rule))
      .toEqual(['AdvancedSecurityMode']);
  });
  test('Noncompliance 3: custom authentication flows only audited', () => {
    expect(granularFindings(pool({ customThreatProtectionMode: cognito.CustomThreatProtectionMode.AUDIT_ONLY }), rule))
      .toEqual(['CustomAuthMode']);
  });
  test('Compliance: Plus plan, threat protection enforced', () => expectCompliant(pool(), rule));
});

describe('FHIR.HIPAA-CognitoDeletionProtection', () => {
  const rule = 'CognitoDeletionProtection';
  test('Noncompliance: no deletion protection', () => expectNoncompliant(pool({ deletionProtection: false }), rule));
  test('Compliance: deletion protection active', () => expectCompliant(pool(), rule));
});

describe('FHIR.HIPAA-CognitoNoSelfSignUp', () => {
  const rule = 'CognitoNoSelfSignUp';
  test('Noncompliance: self sign-up in production', () => expectNoncompliant(pool({ selfSignUpEnabled: true }, 'production'), rule));
  test('Compliance 1: admin-created users only in production', () => expectCompliant(pool({}, 'production'), rule));
  test('Compliance 2: self sign-up outside production is not applicable', () => {
    expectCompliant(pool({ selfSignUpEnabled: true }, 'sandbox'), rule);
    expectCompliant(pool({ selfSignUpEnabled: true }), rule);
  });
});

/** An app client every client rule accepts; `props` replace fields of it. */
function client(props: Partial<cognito.CfnUserPoolClientProps> = {}): Stack {
  const stack = newStack();
  new cognito.CfnUserPoolClient(stack, 'Client', {
    userPoolId: 'us-east-1_example',
    allowedOAuthFlowsUserPoolClient: true,
    allowedOAuthFlows: ['code'],
    allowedOAuthScopes: ['openid', 'fhirUser', 'launch/patient', 'patient/Observation.rs', 'patient/Patient.r'],
    callbackUrLs: ['https://app.example.org/callback'],
    preventUserExistenceErrors: 'ENABLED',
    enableTokenRevocation: true,
    accessTokenValidity: 60,
    idTokenValidity: 60,
    tokenValidityUnits: { accessToken: 'minutes', idToken: 'minutes' },
    writeAttributes: ['email', 'given_name'],
    ...props,
  });
  return stack;
}

describe('FHIR.HIPAA-CognitoClientNoImplicitFlow', () => {
  const rule = 'CognitoClientNoImplicitFlow';
  test('Noncompliance: implicit flow allowed', () => expectNoncompliant(client({ allowedOAuthFlows: ['code', 'implicit'] }), rule));
  test('Compliance: code only', () => expectCompliant(client(), rule));
});

describe('FHIR.HIPAA-CognitoClientOAuthFlows', () => {
  const rule = 'CognitoClientOAuthFlows';
  test('Noncompliance 1: client_credentials without a secret', () => {
    expect(granularFindings(client({ allowedOAuthFlows: ['client_credentials'], allowedOAuthScopes: ['system/Observation.rs'] }), rule))
      .toEqual(['ClientCredentials::NoSecret']);
  });
  test('Noncompliance 2: client_credentials with user scopes', () => {
    expect(granularFindings(client({ allowedOAuthFlows: ['client_credentials'], generateSecret: true, allowedOAuthScopes: ['system/Observation.rs', 'user/Patient.rs'] }), rule))
      .toEqual(['ClientCredentials::Scope::user/Patient.rs']);
  });
  test('Noncompliance 3: an unknown flow', () => {
    expect(granularFindings(client({ allowedOAuthFlows: ['code', 'password'] }), rule)).toEqual(['Flow::password']);
  });
  test('Compliance 1: code', () => expectCompliant(client(), rule));
  test('Compliance 2: client_credentials with a secret and system scopes', () => {
    expectCompliant(client({ allowedOAuthFlows: ['client_credentials'], generateSecret: true, allowedOAuthScopes: ['system/Observation.rs', 'system/Patient.r'] }), rule);
  });
});

describe('FHIR.HIPAA-CognitoClientUserExistenceErrors', () => {
  const rule = 'CognitoClientUserExistenceErrors';
  test('Noncompliance 1: LEGACY', () => expectNoncompliant(client({ preventUserExistenceErrors: 'LEGACY' }), rule));
  test('Noncompliance 2: absent', () => expectNoncompliant(client({ preventUserExistenceErrors: undefined }), rule));
  test('Compliance: ENABLED', () => expectCompliant(client(), rule));
});

describe('FHIR.HIPAA-CognitoClientTokenRevocation', () => {
  const rule = 'CognitoClientTokenRevocation';
  test('Noncompliance: revocation disabled', () => expectNoncompliant(client({ enableTokenRevocation: false }), rule));
  test('Compliance 1: enabled', () => expectCompliant(client(), rule));
  test('Compliance 2: absent (service default on)', () => expectCompliant(client({ enableTokenRevocation: undefined }), rule));
});

describe('FHIR.HIPAA-CognitoClientTokenValidity', () => {
  const rule = 'CognitoClientTokenValidity';
  test('Noncompliance 1: 2-hour access token (default unit hours)', () => {
    expect(granularFindings(client({ accessTokenValidity: 2, tokenValidityUnits: undefined, idTokenValidity: undefined }), rule)).toEqual(['AccessToken']);
  });
  test('Noncompliance 2: 90-minute ID token', () => {
    expect(granularFindings(client({ idTokenValidity: 90 }), rule)).toEqual(['IdToken']);
  });
  test('Noncompliance 3: a day in L2 terms', () => {
    const stack = newStack();
    new cognito.UserPool(stack, 'Pool').addClient('App', { accessTokenValidity: Duration.days(1), idTokenValidity: Duration.minutes(30) });
    expect(granularFindings(stack, rule)).toEqual(['AccessToken']);
  });
  test('Compliance 1: 60 minutes', () => expectCompliant(client(), rule));
  test('Compliance 2: absent (60-minute default), 1 hour without units, 3600 seconds', () => {
    expectCompliant(client({ accessTokenValidity: undefined, idTokenValidity: undefined, tokenValidityUnits: undefined }), rule);
    expectCompliant(client({ accessTokenValidity: 1, idTokenValidity: undefined, tokenValidityUnits: undefined }), rule);
    expectCompliant(client({ accessTokenValidity: 3600, idTokenValidity: 900, tokenValidityUnits: { accessToken: 'seconds', idToken: 'seconds' } }), rule);
  });
});

describe('FHIR.HIPAA-CognitoClientLaunchAttributesReadOnly', () => {
  const rule = 'CognitoClientLaunchAttributesReadOnly';
  test('Noncompliance 1: WriteAttributes absent (every attribute writable)', () => {
    expect(granularFindings(client({ writeAttributes: undefined }), rule)).toEqual(['WriteAttributesAbsent']);
  });
  test('Noncompliance 2: custom:patient writable', () => {
    expect(granularFindings(client({ writeAttributes: ['email', 'custom:patient'] }), rule)).toEqual(['WriteAttribute::custom:patient']);
  });
  test('Noncompliance 3: custom:fhirUser writable', () => {
    expect(granularFindings(client({ writeAttributes: ['custom:fhirUser'] }), rule)).toEqual(['WriteAttribute::custom:fhirUser']);
  });
  test('Compliance: launch attributes not writable', () => expectCompliant(client(), rule));
});

describe('FHIR.HIPAA-CognitoClientNoWildcardScopes', () => {
  const rule = 'CognitoClientNoWildcardScopes';
  test('Noncompliance 1: user/*.cruds', () => {
    expect(granularFindings(client({ allowedOAuthScopes: ['openid', 'user/*.cruds'] }), rule)).toEqual(['Scope::user/*.cruds']);
  });
  test('Noncompliance 2: system/*.* and patient/*.* (SMART v1)', () => {
    expect(granularFindings(client({ allowedOAuthScopes: ['system/*.*', 'patient/*.*'] }), rule)).toEqual(['Scope::patient/*.*', 'Scope::system/*.*']);
  });
  test('Compliance: named types, and a type wildcard without every permission (a warning elsewhere)', () => {
    expectCompliant(client({ allowedOAuthScopes: ['patient/Observation.rs', 'patient/*.rs'] }), rule);
  });
});

describe('FHIR.HIPAA-CognitoClientWildcardTypeScopes (warning)', () => {
  const rule = 'CognitoClientWildcardTypeScopes';
  test('Noncompliance: patient/*.read is a warning', () => {
    const stack = client({ allowedOAuthScopes: ['patient/*.read'] });
    expect(granularFindings(stack, rule)).toEqual(['Scope::patient/*.read']);
    const v = validate(stack).violations.find((x) => x.ruleName.startsWith('FHIR.HIPAA-CognitoClientWildcardTypeScopes'));
    expect(v?.severity).toBe('warning');
  });
  test('Compliance: named resource types; the everything wildcard is left to the error rule', () => {
    expectCompliant(client(), rule);
    expectCompliant(client({ allowedOAuthScopes: ['user/*.cruds'] }), rule);
  });
});
