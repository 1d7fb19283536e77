/**
 * The gate for teams: `applyCompliancePacks(app, { environment })` states where the app deploys,
 * `acknowledge(scope, id, reason)` is the one way to accept a finding, and the reviewer's report
 * agrees with the gate on what was acknowledged.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as healthlake from 'aws-cdk-lib/aws-healthlake';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { denyGrantsExceptForAwsResources } from '../../../lib/fhir-keys';
import * as logs from 'aws-cdk-lib/aws-logs';
import { HIPAASecurityChecks } from 'cdk-nag';
import { buildComplianceReport, readCloudAssembly, recordComplianceEvidence } from '../../../lib/report';
import { acknowledge, applyCompliancePacks, compliancePacksOf } from '../../../policies';
import { acknowledgementId } from '../../../policies/compliance/acknowledge';
import {
  DEPLOYMENT_ENVIRONMENT_METADATA_KEY, deploymentEnvironmentOf, deploymentEnvironmentSource, setDeploymentEnvironment,
} from '../../../policies/compliance/environment';
import { FhirHipaaChecks } from '../../../policies/compliance/fhir-hipaa-checks';
import { findingsOf, newStack, validate } from './helpers';

/** An app without the slow built-in CloudFormation schema check, writing to a fresh directory. */
function quietApp(): App {
  return new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'ztf-gate-')), builtinCloudFormationValidation: false, analyticsReporting: false });
}

/** A user pool that lets users sign up: a finding only in production. */
function selfSignUpPool(stack: Stack): void {
  new cognito.CfnUserPool(stack, 'Pool', { adminCreateUserConfig: { allowAdminCreateUserOnly: false } });
}

const selfSignUp = (scope: Stack) => findingsOf(scope, 'CognitoNoSelfSignUp');
const fatal = (scope: Stack | App) => validate(scope).violations.filter((v) => v.severity === 'fatal');

describe('applyCompliancePacks(app, { environment })', () => {
  test('states the environment of every stack in the app, and the production-only rules apply', () => {
    const app = new App();
    const stack = new Stack(app, 'Team');
    selfSignUpPool(stack);
    expect(selfSignUp(stack)).toEqual([]);
    const packs = applyCompliancePacks(app, { environment: 'production' });
    expect(packs.map((p) => p.readPackName)).toEqual(['HIPAA.Security', 'AwsSolutions', 'FHIR.HIPAA']);
    expect(compliancePacksOf(app)).toEqual(packs);
    expect(deploymentEnvironmentOf(stack)).toBe('production');
    expect(deploymentEnvironmentSource(stack)).toBe('stated');
    expect(selfSignUp(stack)).toEqual(['FHIR.HIPAA-CognitoNoSelfSignUp']);
    // a stack added after the call is in the app too
    const later = new Stack(app, 'Later');
    expect(deploymentEnvironmentOf(later)).toBe('production');
  });

  test('without an environment: marked stacks keep theirs, an unmarked stack is judged as production', () => {
    const app = new App();
    const sandbox = new Stack(app, 'Sandbox');
    setDeploymentEnvironment(sandbox, 'sandbox');
    selfSignUpPool(sandbox);
    const unmarked = new Stack(app, 'Unmarked');
    selfSignUpPool(unmarked);
    applyCompliancePacks(app);
    expect(deploymentEnvironmentOf(sandbox)).toBe('sandbox');
    expect(selfSignUp(sandbox)).toEqual([]);
    expect(deploymentEnvironmentOf(unmarked)).toBe('production');
    expect(deploymentEnvironmentSource(unmarked)).toBe('gate-default');
    expect(selfSignUp(unmarked)).toEqual(['FHIR.HIPAA-CognitoNoSelfSignUp']);
  });

  test('a stack marked differently from the stated environment throws, whichever comes first', () => {
    const app = new App();
    setDeploymentEnvironment(new Stack(app, 'Sandbox'), 'sandbox');
    expect(() => applyCompliancePacks(app, { environment: 'production' })).toThrow(/Sandbox is already marked "sandbox"; the app, which holds it, cannot be "production"/);

    const other = new App();
    applyCompliancePacks(other, { environment: 'production' });
    expect(() => setDeploymentEnvironment(new Stack(other, 'Late'), 'sandbox')).toThrow(/Late is inside the app, which is marked "production"; it cannot be "sandbox"/);
    setDeploymentEnvironment(new Stack(other, 'Same'), 'production');
  });

  test('an environment outside sandbox | staging | production throws', () => {
    expect(() => applyCompliancePacks(new App(), { environment: 'prod' as never })).toThrow(/"prod" is not one of sandbox \| staging \| production/);
  });

  test('at synth each stack\'s metadata records the environment the gate judged it by', () => {
    const app = quietApp();
    const stated = new Stack(app, 'Stated');
    setDeploymentEnvironment(stated, 'staging');
    new Stack(app, 'Unstated');
    applyCompliancePacks(app);
    const assembly = app.synth();
    const envOf = (name: string) => assembly.getStackArtifact(name).findMetadataByType(DEPLOYMENT_ENVIRONMENT_METADATA_KEY).map((m) => m.data);
    expect(envOf('Stated')).toEqual(['staging']);
    expect(envOf('Unstated')).toEqual(['production']);
    const report = buildComplianceReport(readCloudAssembly(assembly.directory));
    expect(report.summary.stacks.map((s) => [s.displayName, s.deploymentEnvironment])).toEqual([['Stated', 'staging'], ['Unstated', 'production']]);
  });

  test('the synth refuses a non-waivable acknowledgement in a stack that states no environment, saying why it is production', () => {
    const app = quietApp();
    const stack = new Stack(app, 'Team');
    const datastore = new healthlake.CfnFHIRDatastore(stack, 'Datastore', { datastoreTypeVersion: 'R4' });
    Validations.of(datastore).acknowledge({ id: 'FHIR.HIPAA-HealthLakeCMKEncryption', reason: 'later' });
    applyCompliancePacks(app);
    expect(() => app.synth()).toThrow(/non-waivable in production[\s\S]*states no deployment environment/);
  });
});

describe('acknowledge(scope, ruleId, reason)', () => {
  const reason = 'Scratch log group of a load test; it holds request counts only and is deleted after the test run.';

  function shortLogGroup(env?: 'sandbox' | 'staging' | 'production'): { stack: Stack; group: logs.LogGroup } {
    const stack = newStack(env);
    const group = new logs.LogGroup(stack, 'Logs', { retention: logs.RetentionDays.ONE_WEEK, removalPolicy: RemovalPolicy.DESTROY });
    return { stack, group };
  }

  test.each([
    ['FHIR.HIPAA-LogGroupRetention'],
    ['FHIR.HIPAA::FHIR.HIPAA-LogGroupRetention'],
    ['  FHIR.HIPAA-LogGroupRetention '],
  ])('accepts the id bare or as the synth prints it (%p) and the pack clears the finding', (id) => {
    const { stack, group } = shortLogGroup();
    expect(findingsOf(stack, 'LogGroupRetention')).toEqual(['FHIR.HIPAA-LogGroupRetention']);
    acknowledge(group, id, reason);
    expect(findingsOf(stack, 'LogGroupRetention')).toEqual([]);
    expect(group.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY).map((m) => m.data))
      .toEqual([{ 'Annotation::FHIR.HIPAA-LogGroupRetention': reason }]);
  });

  test('works for cdk-nag\'s packs in both forms, granular ids included', () => {
    const stack = newStack();
    const group = new logs.LogGroup(stack, 'Logs', { retention: logs.RetentionDays.ONE_WEEK, removalPolicy: RemovalPolicy.DESTROY });
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    role.addToPolicy(new iam.PolicyStatement({ actions: ['logs:*'], resources: [group.logGroupArn] }));
    const hipaa = () => new HIPAASecurityChecks().validateScope(stack).violations.map((v) => v.ruleName).filter((n) => n.startsWith('HIPAA.Security-CloudWatchLogGroup'));
    expect(hipaa()).toEqual(['HIPAA.Security-CloudWatchLogGroupEncrypted']);
    acknowledge(group, 'HIPAA.Security::HIPAA.Security-CloudWatchLogGroupEncrypted', reason);
    expect(hipaa()).toEqual([]);
    expect(acknowledgementId('AwsSolutions::AwsSolutions-IAM5[Action::logs:*]')).toBe('AwsSolutions-IAM5[Action::logs:*]');
    expect(acknowledgementId('CloudFormation-Validate::W3010')).toBe('CloudFormation-Validate::W3010');
    expect(acknowledgementId('Annotation::MyWarning')).toBe('MyWarning');
  });

  test.each([
    [undefined, /needs a reason/],
    ['', /needs a reason/],
    ['   \n\t', /needs a reason/],
    [42, /needs a reason/],
  ])('refuses a missing, empty or blank reason (%p)', (bad, message) => {
    const { stack, group } = shortLogGroup();
    expect(() => acknowledge(group, 'FHIR.HIPAA-LogGroupRetention', bad as never)).toThrow(message);
    expect(findingsOf(stack, 'LogGroupRetention')).toEqual(['FHIR.HIPAA-LogGroupRetention']);
  });

  test.each([
    [undefined, /rule id is missing/],
    ['  ', /rule id is missing/],
    ['FHIR.HIPAA-Log Group', /is not a rule id/],
    ['FHIR.HIPAA-X[unclosed', /is not a rule id/],
    ['::FHIR.HIPAA-LogGroupRetention', /is not a rule id/],
    ['FHIR.HIPAA-LogGroupRetentio', /is not a rule of the FHIR\.HIPAA pack/],
    ['AwsSolutions::FHIR.HIPAA-LogGroupRetention', /puts a FHIR\.HIPAA rule under the namespace "AwsSolutions"/],
  ])('refuses a missing, malformed or unknown id (%p)', (bad, message) => {
    const { group } = shortLogGroup();
    expect(() => acknowledge(group, bad as never, reason)).toThrow(message);
  });

  test('refuses a non-waivable rule where the scope is known to be in production, names why; allows it elsewhere', () => {
    const prod = newStack('production');
    const datastore = new healthlake.CfnFHIRDatastore(prod, 'Datastore', { datastoreTypeVersion: 'R4' });
    expect(() => acknowledge(datastore, 'FHIR.HIPAA::FHIR.HIPAA-HealthLakeCMKEncryption', reason))
      .toThrow(/FHIR\.HIPAA-HealthLakeCMKEncryption cannot be acknowledged in production: it is non-waivable there/);
    expect(() => acknowledge(prod.node.root, 'FHIR.HIPAA-HealthLakeCMKEncryption', reason)).toThrow(/cannot be acknowledged in production/);

    const app = new App();
    const unmarked = new Stack(app, 'Unmarked');
    applyCompliancePacks(app);
    expect(() => acknowledge(unmarked, 'FHIR.HIPAA-IAMNoPHIDataWildcard[Statement::0::WildcardAction::s3:*]', reason))
      .toThrow(/cannot be acknowledged in production \(the stack states no environment, and the compliance gate treats that as production\)/);

    const sandbox = newStack('sandbox');
    const sandboxStore = new healthlake.CfnFHIRDatastore(sandbox, 'Datastore', { datastoreTypeVersion: 'R4' });
    acknowledge(sandboxStore, 'FHIR.HIPAA-HealthLakeCMKEncryption', 'Sandbox datastore preloaded with synthetic (Synthea) patients only.');
    expect(findingsOf(sandbox, 'HealthLakeCMKEncryption')).toEqual([]);
  });

  test('an acknowledgement made before the environment is stated is refused at validation instead', () => {
    const app = new App();
    const stack = new Stack(app, 'Team');
    const datastore = new healthlake.CfnFHIRDatastore(stack, 'Datastore', { datastoreTypeVersion: 'R4' });
    acknowledge(datastore, 'FHIR.HIPAA-HealthLakeCMKEncryption', reason);
    applyCompliancePacks(app, { environment: 'production' });
    expect(fatal(stack).map((v) => v.ruleName)).toEqual(['FHIR.HIPAA-HealthLakeCMKEncryption']);
  });
});

describe('data actions on everything are non-waivable in production', () => {
  function s3Wildcard(env: 'sandbox' | 'production'): { stack: Stack; role: iam.Role } {
    const stack = newStack(env);
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:*'], resources: ['arn:aws:s3:::phi-bucket/*'] }));
    return { stack, role };
  }
  const id = 'FHIR.HIPAA-IAMNoPHIDataWildcard[Statement::0::WildcardAction::s3:*]';

  test('in sandbox the finding can be acknowledged', () => {
    const { stack, role } = s3Wildcard('sandbox');
    expect(findingsOf(stack, 'IAMNoPHIDataWildcard')).toEqual([id]);
    acknowledge(role.node.findChild('DefaultPolicy'), id, 'Sandbox bucket of synthetic data; the load-test tool needs every S3 action on it.');
    expect(validate(stack).violations.filter((v) => v.ruleName.startsWith('FHIR.HIPAA-IAM'))).toEqual([]);
  });

  test('in production an acknowledgement (made around the helper) is a fatal finding, and acknowledging cdk-nag\'s IAM5 does not clear it', () => {
    const { stack, role } = s3Wildcard('production');
    const policy = role.node.findChild('DefaultPolicy');
    Validations.of(policy).acknowledge({ id, reason: 'needed' });
    Validations.of(policy).acknowledge({ id: 'AwsSolutions-IAM5[Action::s3:*]', reason: 'needed' });
    expect(fatal(stack).map((v) => v.ruleName)).toEqual(['FHIR.HIPAA-IAMNoPHIDataWildcard']);
    expect(fatal(stack)[0].description).toMatch(/non-waivable in production/);
    expect(() => acknowledge(policy, id, 'needed')).toThrow(/cannot be acknowledged in production/);
  });
});

describe('the gate and the reviewer\'s report agree on acknowledgements', () => {
  test.each([
    ['the helper, bare', (c: logs.LogGroup, r: string) => acknowledge(c, 'FHIR.HIPAA-LogGroupRetention', r)],
    ['the helper, as the synth prints it', (c: logs.LogGroup, r: string) => acknowledge(c, 'FHIR.HIPAA::FHIR.HIPAA-LogGroupRetention', r)],
    ['Validations directly, as the synth prints it', (c: logs.LogGroup, r: string) => Validations.of(c).acknowledge({ id: 'FHIR.HIPAA::FHIR.HIPAA-LogGroupRetention', reason: r })],
  ])('%s: the synth passes and the report shows the rule acknowledged, with the reason', (_how, ack) => {
    const app = quietApp();
    const stack = new Stack(app, 'Team');
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true, removalPolicy: RemovalPolicy.RETAIN });
    key.addToResourcePolicy(denyGrantsExceptForAwsResources());
    const group = new logs.LogGroup(stack, 'Logs', { retention: logs.RetentionDays.ONE_WEEK, encryptionKey: key, removalPolicy: RemovalPolicy.DESTROY });
    const reason = 'Debug log of the load-test harness: request counts only, exported nightly to the six-year archive.';
    ack(group, reason);
    const fhir = new FhirHipaaChecks(app);
    Validations.of(app).addPlugins(fhir);
    setDeploymentEnvironment(stack, 'staging');
    recordComplianceEvidence(app, [fhir]);
    const assembly = app.synth();
    const report = buildComplianceReport(readCloudAssembly(assembly.directory));
    expect(report.findings.filter((f) => f.ruleId.startsWith('FHIR.HIPAA'))).toEqual([]);
    const row = report.acknowledgements.find((a) => a.ruleId === 'FHIR.HIPAA-LogGroupRetention');
    expect(row).toEqual(expect.objectContaining({ pack: 'FHIR.HIPAA', reason, appliesTo: ['Team/Logs/Resource'], matched: true }));
    const control = report.hipaaMatrix.find((m) => m.citation === '164.316(b)(2)(i)');
    expect(control?.rules.find((r) => r.ruleId === 'FHIR.HIPAA-LogGroupRetention')?.status).toBe('acknowledged');
  });
});
