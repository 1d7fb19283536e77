import { App, Stack, Validations } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as healthlake from 'aws-cdk-lib/aws-healthlake';
import * as logs from 'aws-cdk-lib/aws-logs';
import { DeploymentEnvironment, setDeploymentEnvironment } from '../../../policies/compliance/environment';
import { FhirHipaaChecks, acknowledgedRuleId } from '../../../policies/compliance/fhir-hipaa-checks';
import { newStack, validate } from './helpers';

const CMK = 'FHIR.HIPAA-HealthLakeCMKEncryption';

/** A stack whose only finding is a datastore without a customer-managed key. */
function unencryptedDatastore(env: DeploymentEnvironment): { stack: Stack; datastore: healthlake.CfnFHIRDatastore } {
  const stack = newStack(env);
  // Preloaded with synthetic data, as a sandbox datastore must be (FHIR.HIPAA-HealthLakeSandboxSyntheticData).
  const datastore = new healthlake.CfnFHIRDatastore(stack, 'Datastore', { datastoreTypeVersion: 'R4', preloadDataConfig: { preloadDataType: 'SYNTHEA' } });
  return { stack, datastore };
}

const fatal = (scope: Stack | App) => validate(scope).violations.filter((v) => v.severity === 'fatal');

describe('non-waivable rules in production', () => {
  test('acknowledged in sandbox: the finding is suppressed and validation passes', () => {
    const { stack, datastore } = unencryptedDatastore('sandbox');
    Validations.of(datastore).acknowledge({ id: CMK, reason: 'sandbox datastore holds synthetic data only' });
    const report = validate(stack);
    expect(report.violations).toEqual([]);
    expect(report.success).toBe(true);
  });

  test('acknowledged in staging: allowed too', () => {
    const { stack, datastore } = unencryptedDatastore('staging');
    Validations.of(datastore).acknowledge({ id: CMK, reason: 'staging' });
    expect(validate(stack).success).toBe(true);
  });

  test('acknowledged in production: a fatal violation saying it is non-waivable', () => {
    const { stack, datastore } = unencryptedDatastore('production');
    Validations.of(datastore).acknowledge({ id: CMK, reason: 'we will fix it later' });
    const report = validate(stack);
    expect(report.success).toBe(false);
    const violations = fatal(stack);
    expect(violations).toHaveLength(1);
    expect(violations[0].ruleName).toBe(CMK);
    expect(violations[0].description).toMatch(/^FHIR\.HIPAA-HealthLakeCMKEncryption is non-waivable in production/);
    expect(violations[0].description).toContain('we will fix it later');
    expect(violations[0].violatingResources[0].constructPath).toBe('Test/Datastore');
  });

  test('a stack-level, a granular and a namespaced acknowledgement are refused too', () => {
    const stack = newStack('production');
    new cognito.CfnUserPoolClient(stack, 'Client', { userPoolId: 'us-east-1_x', allowedOAuthFlows: ['implicit'] });
    Validations.of(stack).acknowledge({ id: 'FHIR.HIPAA-CognitoClientNoImplicitFlow', reason: 'legacy app' });
    Validations.of(stack).acknowledge({ id: 'FHIR.HIPAA-CognitoClientLaunchAttributesReadOnly[WriteAttributesAbsent]', reason: 'legacy app' });
    Validations.of(stack).acknowledge({ id: 'FHIR.HIPAA::FHIR.HIPAA-APIGWNoCORSWildcard', reason: 'legacy app' });
    expect(fatal(stack).map((v) => v.ruleName).sort()).toEqual([
      'FHIR.HIPAA-APIGWNoCORSWildcard',
      'FHIR.HIPAA-CognitoClientLaunchAttributesReadOnly',
      'FHIR.HIPAA-CognitoClientNoImplicitFlow',
    ]);
  });

  test('an app-level acknowledgement reaching a production stack is refused', () => {
    const { stack } = unencryptedDatastore('production');
    const app = stack.node.scope as App;
    Validations.of(app).acknowledge({ id: CMK, reason: 'org-wide waiver' });
    expect(fatal(app).map((v) => v.violatingResources[0].constructPath)).toEqual(['']);
    expect(fatal(stack)).toHaveLength(1);
  });

  test('waivable rules can still be acknowledged in production', () => {
    const stack = newStack('production');
    const group = new logs.LogGroup(stack, 'Logs', { retention: logs.RetentionDays.ONE_YEAR, encryptionKey: undefined });
    Validations.of(group).acknowledge({ id: 'FHIR.HIPAA-LogGroupRetention', reason: 'debug log, no PHI' });
    Validations.of(group).acknowledge({ id: 'FHIR.HIPAA-LogGroupCMKEncryption', reason: 'debug log, no PHI' });
    expect(validate(stack)).toEqual({ success: true, violations: [] });
  });

  test('the synth fails in production and passes in sandbox', () => {
    const synth = (env: DeploymentEnvironment, ackOnApp = false) => {
      // The built-in CloudFormation schema check is not what this test is about, and it is slow.
      const app = new App({ builtinCloudFormationValidation: false });
      const stack = new Stack(app, 'Fhir');
      setDeploymentEnvironment(stack, env);
      const datastore = new healthlake.CfnFHIRDatastore(stack, 'Datastore', { datastoreTypeVersion: 'R4', preloadDataConfig: { preloadDataType: 'SYNTHEA' } });
      Validations.of(ackOnApp ? app : datastore).acknowledge({ id: CMK, reason: 'waiver' });
      Validations.of(app).addPlugins(new FhirHipaaChecks(app));
      return () => app.synth();
    };
    expect(synth('production')).toThrow(/non-waivable in production/);
    expect(synth('production', true)).toThrow(/non-waivable in production/);
    expect(synth('sandbox')).not.toThrow();
  });

  test('acknowledgement ids are read without prefixes and findings', () => {
    expect(acknowledgedRuleId('Annotation::FHIR.HIPAA-X[a::b]')).toBe('FHIR.HIPAA-X');
    expect(acknowledgedRuleId('annotation::FHIR.HIPAA-X')).toBe('FHIR.HIPAA-X');
    expect(acknowledgedRuleId('FHIR.HIPAA::FHIR.HIPAA-X')).toBe('FHIR.HIPAA-X');
    expect(acknowledgedRuleId('FHIR.HIPAA-X')).toBe('FHIR.HIPAA-X');
  });
});
