import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import type { RegisteredApp } from '../../../../policies/app-registry';
import { controlIds } from '../../../../policies/compliance/citations';
import { DeploymentEnvironment, setDeploymentEnvironment } from '../../../../policies/compliance/environment';
import { FHIR_HIPAA_RULES, fhirHipaaRuleId } from '../../../../policies/compliance/fhir-hipaa-checks';
import { markRegisteredApp, TODAY_CONTEXT_KEY } from '../../../../policies/compliance/registered-apps';
import { expectCompliant, expectNoncompliant, findingsOf, granularFindings, newStack, ruleId, validate, violatingPaths } from '../helpers';
import { testApp } from '../../../helpers/registry';

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

describe('FHIR.HIPAA-CognitoClientAppAssessment', () => {
  const rule = 'CognitoClientAppAssessment';
  const EXPIRED = `${ruleId(rule)}[AssessmentExpired]`;
  const NO_BAA = `${ruleId(rule)}[NoBusinessAssociateAgreement]`;

  /** A registry entry the rule accepts on 2027-06-01 (the day its assessment expires). */
  const app = testApp;

  interface Options {
    /** `zeroTrustFhir:today`; `null` leaves the context unset. @default '2027-06-01' */
    readonly today?: unknown;
    readonly env?: DeploymentEnvironment;
    /** Mark an L2 UserPoolClient instead of a CfnUserPoolClient. */
    readonly l2?: boolean;
    readonly clientProps?: Partial<cognito.CfnUserPoolClientProps>;
  }

  /** A stack with one app client marked as the client of each app (ids `Client0`, `Client1`, …). */
  function registered(apps: RegisteredApp[], opts: Options = {}): { stack: Stack; clients: Array<cognito.CfnUserPoolClient | cognito.UserPoolClient> } {
    const today = opts.today === undefined ? '2027-06-01' : opts.today;
    const stack = new Stack(new App(today === null ? {} : { context: { [TODAY_CONTEXT_KEY]: today } }), 'Test');
    if (opts.env) setDeploymentEnvironment(stack, opts.env);
    const pool = opts.l2 ? new cognito.UserPool(stack, 'Pool') : undefined;
    const clients = apps.map((a, i) => {
      const c = pool
        ? pool.addClient(`Client${i}`, { oAuth: { flows: { authorizationCodeGrant: true }, callbackUrls: [...a.redirectUris] } })
        : new cognito.CfnUserPoolClient(stack, `Client${i}`, {
          userPoolId: 'us-east-1_example',
          allowedOAuthFlowsUserPoolClient: true,
          allowedOAuthFlows: ['code'],
          allowedOAuthScopes: [...a.scopes],
          callbackUrLs: [...a.redirectUris],
          ...opts.clientProps,
        });
      markRegisteredApp(c, a);
      return c;
    });
    return { stack, clients };
  }

  test('Noncompliance 1: assessment expired the day before the synth date', () => {
    expect(granularFindings(registered([app()], { today: '2027-06-02' }).stack, rule)).toEqual(['AssessmentExpired']);
  });
  test('Noncompliance 2: patient/ scopes without a BAA reference', () => {
    expect(granularFindings(registered([app({ baa: undefined })]).stack, rule)).toEqual(['NoBusinessAssociateAgreement']);
  });
  test('Noncompliance 3: user/ scopes, no BAA, expired: both findings', () => {
    const { stack } = registered([app({ scopes: ['openid', 'user/Patient.rs'], baa: undefined })], { today: '2028-01-01' });
    expect(granularFindings(stack, rule)).toEqual(['AssessmentExpired', 'NoBusinessAssociateAgreement']);
  });
  test('Noncompliance 4: an L2 UserPoolClient marked with markRegisteredApp is reported on its CfnUserPoolClient', () => {
    const { stack } = registered([app()], { today: '2027-07-01', l2: true });
    expect(granularFindings(stack, rule)).toEqual(['AssessmentExpired']);
    expect(violatingPaths(stack, rule)).toEqual(['Test/Pool/Client0/Resource']);
  });
  test('Noncompliance 5: a user/ scope added on the client itself counts though the registry lists system/ scopes only', () => {
    const systemApp = app({ clientType: 'confidential', scopes: ['system/Claim.rs'], baa: undefined, redirectUris: [] });
    const { stack, clients } = registered([systemApp]);
    (clients[0] as cognito.CfnUserPoolClient).addPropertyOverride('AllowedOAuthScopes', ['system/Claim.rs', 'user/Patient.rs']);
    expect(granularFindings(stack, rule)).toEqual(['NoBusinessAssociateAgreement']);
  });
  test('Noncompliance 6: a malformed zeroTrustFhir:today fails the rule rather than passing the client', () => {
    for (const today of ['2027-6-1', '2027-02-30', 20270601, 'today']) {
      const { stack } = registered([app()], { today });
      const report = validate(stack);
      expect(findingsOf(stack, rule, report)).toEqual([ruleId(rule)]);
      expect(report.violations.find((v) => v.ruleName === ruleId(rule))?.violatingResources[0].constructPath).toBe('Test/Client0');
    }
  });
  test('Noncompliance 7: without zeroTrustFhir:today the current UTC date is used', () => {
    expect(granularFindings(registered([app({ securityAssessment: { ...testApp().securityAssessment, expires: '2000-01-01' } })], { today: null }).stack, rule))
      .toEqual(['AssessmentExpired']);
  });

  test('the message names the app, its expiry date and the fix, per client, and ends with the citations', () => {
    const { stack } = registered([app(), app({ id: 'other-app', baa: undefined, securityAssessment: { ...testApp().securityAssessment, expires: '2027-05-15' } })], { today: '2027-06-10' });
    const violations = validate(stack).violations.filter((v) => v.ruleName.startsWith(ruleId(rule)));
    const citations = controlIds(FHIR_HIPAA_RULES.find((r) => fhirHipaaRuleId(r) === ruleId(rule))!.citations);
    const expired = violations.filter((v) => v.ruleName === EXPIRED);
    expect(expired.map((v) => v.violatingResources.map((r) => r.constructPath))).toEqual([['Test/Client0'], ['Test/Client1']]);
    expect(expired[0].description).toMatch(/app "acme-portal" in policies\/apps\.json expired on 2027-06-01 .*synth date 2027-06-10/);
    expect(expired[1].description).toMatch(/app "other-app" in policies\/apps\.json expired on 2027-05-15/);
    for (const v of expired) expect(v.description).toMatch(/reassess the app and update securityAssessment\.expires/);
    const noBaa = violations.filter((v) => v.ruleName === NO_BAA);
    expect(noBaa).toHaveLength(1);
    expect(noBaa[0].violatingResources.map((r) => r.constructPath)).toEqual(['Test/Client1']);
    expect(noBaa[0].description).toMatch(/App "other-app" in policies\/apps\.json holds patient\/ or user\/ scopes \(patient\/Observation\.rs\)/);
    expect(noBaa[0].description).toMatch(/expires 2027-05-15\): add baa\.reference/);
    for (const v of violations) {
      expect(v.severity).toBe('error');
      expect(v.description.endsWith(citations)).toBe(true);
    }
  });

  test('a reviewer may acknowledge a finding with a reason, in production too (not non-waivable)', () => {
    const { stack, clients } = registered([app({ baa: undefined })], { today: '2027-07-01', env: 'production' });
    Validations.of(clients[0]).acknowledge({ id: EXPIRED, reason: 'Reassessment booked for 2027-07-15; no scope change (J. Okafor)' });
    const report = validate(stack);
    expect(findingsOf(stack, rule, report)).toEqual([NO_BAA]);
    expect(report.violations.filter((v) => v.severity === 'fatal')).toEqual([]);
  });

  test('Compliance 1: the assessment is valid through its expiry day and the BAA is named', () => expectCompliant(registered([app()]).stack, rule));
  test('Compliance 2: a confidential system/-only client needs no BAA reference', () => {
    expectCompliant(registered([app({ clientType: 'confidential', scopes: ['system/Claim.rs', 'system/Coverage.rs'], baa: undefined, redirectUris: [] })]).stack, rule);
  });
  test('Compliance 3: an unmarked client is not applicable', () => {
    expectCompliant(client(), rule);
    const stack = new Stack(new App({ context: { [TODAY_CONTEXT_KEY]: 'not-a-date' } }), 'Test');
    new cognito.CfnUserPoolClient(stack, 'Client', { userPoolId: 'us-east-1_example' });
    expectCompliant(stack, rule);
  });
  test('Compliance 4: without zeroTrustFhir:today a far expiry is current', () => {
    expectCompliant(registered([app({ securityAssessment: { ...testApp().securityAssessment, expires: '2999-12-31' } })], { today: null }).stack, rule);
  });
  test('Compliance 5: a user pool is not applicable', () => expectCompliant(pool(), rule));
});
