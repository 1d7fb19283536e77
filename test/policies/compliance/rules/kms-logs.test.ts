import { CfnDeletionPolicy, CfnResource, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { denyGrantsExceptForAwsResources } from '../../../../lib/fhir-keys';
import { expectCompliant, expectNoncompliant, granularFindings, newStack } from '../helpers';

describe('FHIR.HIPAA-KMSKeyRotation', () => {
  const rule = 'KMSKeyRotation';
  test('Noncompliance: symmetric key without rotation', () => {
    const stack = newStack();
    new kms.Key(stack, 'Key');
    expectNoncompliant(stack, rule);
  });
  test('Compliance 1: rotation on', () => {
    const stack = newStack();
    new kms.Key(stack, 'Key', { enableKeyRotation: true });
    expectCompliant(stack, rule);
  });
  test('Compliance 2: an asymmetric key cannot rotate (not applicable)', () => {
    const stack = newStack();
    new kms.Key(stack, 'Key', { keySpec: kms.KeySpec.RSA_2048, keyUsage: kms.KeyUsage.SIGN_VERIFY });
    expectCompliant(stack, rule);
  });
});

describe('FHIR.HIPAA-KMSKeyRetained', () => {
  const rule = 'KMSKeyRetained';
  test('Noncompliance 1: destroyed with the stack', () => {
    const stack = newStack();
    new kms.Key(stack, 'Key', { enableKeyRotation: true, removalPolicy: RemovalPolicy.DESTROY });
    expectNoncompliant(stack, rule);
  });
  test('Noncompliance 2: retained on deletion but not on replacement', () => {
    const stack = newStack();
    const key = new kms.CfnKey(stack, 'Key', { enableKeyRotation: true });
    key.cfnOptions.deletionPolicy = CfnDeletionPolicy.RETAIN;
    expectNoncompliant(stack, rule);
  });
  test('Compliance: RETAIN (the L2 default)', () => {
    const stack = newStack();
    new kms.Key(stack, 'Key', { enableKeyRotation: true });
    expectCompliant(stack, rule);
  });
});

describe('FHIR.HIPAA-KMSKeyPolicyNoWildcardPrincipal', () => {
  const rule = 'KMSKeyPolicyNoWildcardPrincipal';
  const keyWith = (statement: iam.PolicyStatement) => {
    const stack = newStack();
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    key.addToResourcePolicy(statement);
    return stack;
  };
  test('Noncompliance 1: AnyPrincipal without conditions', () => {
    const stack = keyWith(new iam.PolicyStatement({ sid: 'Open', principals: [new iam.AnyPrincipal()], actions: ['kms:Decrypt'], resources: ['*'] }));
    expect(granularFindings(stack, rule)).toEqual(['Statement::Open']);
  });
  test('Noncompliance 2: Principal "*" (StarPrincipal)', () => {
    const stack = keyWith(new iam.PolicyStatement({ principals: [new iam.StarPrincipal()], actions: ['kms:Decrypt'], resources: ['*'] }));
    expect(granularFindings(stack, rule)).toEqual(['Statement::1']);
  });
  test('Compliance: wildcard principal narrowed by a condition; account root', () => {
    const stack = keyWith(new iam.PolicyStatement({
      principals: [new iam.AnyPrincipal()], actions: ['kms:Decrypt'], resources: ['*'],
      conditions: { StringEquals: { 'kms:CallerAccount': '111122223333', 'kms:ViaService': 'logs.us-east-1.amazonaws.com' } },
    }));
    expectCompliant(stack, rule);
  });
});

describe('FHIR.HIPAA-LogGroupCMKEncryption', () => {
  const rule = 'LogGroupCMKEncryption';
  test('Noncompliance: no KMS key', () => {
    const stack = newStack();
    new logs.LogGroup(stack, 'Logs', { retention: logs.RetentionDays.SIX_YEARS });
    expectNoncompliant(stack, rule);
  });
  test('Compliance: customer-managed key', () => {
    const stack = newStack();
    new logs.LogGroup(stack, 'Logs', { encryptionKey: new kms.Key(stack, 'Key', { enableKeyRotation: true }) });
    expectCompliant(stack, rule);
  });
});

describe('FHIR.HIPAA-LogGroupRetention', () => {
  const rule = 'LogGroupRetention';
  const group = (retention: logs.RetentionDays) => {
    const stack = newStack();
    new logs.LogGroup(stack, 'Logs', { retention });
    return stack;
  };
  test('Noncompliance 1: two years (the L2 default)', () => expectNoncompliant(group(logs.RetentionDays.TWO_YEARS), rule));
  test('Noncompliance 2: one day', () => expectNoncompliant(group(logs.RetentionDays.ONE_DAY), rule));
  test('Compliance 1: six years', () => expectCompliant(group(logs.RetentionDays.SIX_YEARS), rule));
  test('Compliance 2: ten years', () => expectCompliant(group(logs.RetentionDays.TEN_YEARS), rule));
  test('Compliance 3: never expire (RetentionInDays absent)', () => expectCompliant(group(logs.RetentionDays.INFINITE), rule));
});

describe('FHIR.HIPAA-KMSKeyCreateGrantRestricted', () => {
  const rule = 'KMSKeyCreateGrantRestricted';
  const keyWith = (...statements: iam.PolicyStatement[]) => {
    const stack = newStack();
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    for (const st of statements) key.addToResourcePolicy(st);
    return stack;
  };
  const deny = (conditions: Record<string, unknown>, actions = ['kms:CreateGrant']) => new iam.PolicyStatement({ effect: iam.Effect.DENY, principals: [new iam.AnyPrincipal()], actions, resources: ['*'], conditions });
  const both = { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } };
  test('Noncompliance 1: the L2 default policy (account root may create grants for anything)', () => {
    expectNoncompliant(keyWith(), rule);
  });
  test('Noncompliance 2: only one of the two conditions', () => {
    expectNoncompliant(keyWith(deny({ BoolIfExists: { 'kms:GrantIsForAWSResource': 'false' } })), rule);
  });
  test('Noncompliance 3: Bool instead of BoolIfExists (denies the services too when the key is absent)', () => {
    expectNoncompliant(keyWith(deny({ Bool: both.BoolIfExists })), rule);
  });
  test('Noncompliance 4: the deny also names other actions', () => {
    expectNoncompliant(keyWith(deny(both, ['kms:CreateGrant', 'kms:Decrypt'])), rule);
  });
  test('Compliance 1: FhirKeys\' statement (denyGrantsExceptForAwsResources)', () => {
    expectCompliant(keyWith(denyGrantsExceptForAwsResources()), rule);
  });
  test('Compliance 2: the statement written by hand, keys in another case', () => {
    expectCompliant(keyWith(deny({ BoolIfExists: { 'KMS:GrantIsForAWSResource': 'false', 'aws:principalisawsservice': false } })), rule);
  });
});

describe('FHIR.HIPAA-LambdaLogGroupDeclared', () => {
  const rule = 'LambdaLogGroupDeclared';
  const fn = (stack: ReturnType<typeof newStack>, props: Partial<lambda.FunctionProps> = {}) => new lambda.Function(stack, 'Fn', {
    runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => 1'), ...props,
  });
  test('Noncompliance 1: no log group: Lambda would create /aws/lambda/<name> itself', () => {
    const stack = newStack();
    fn(stack);
    expectNoncompliant(stack, rule);
  });
  test('Noncompliance 2: a plain CfnResource function (a custom-resource provider) without LoggingConfig', () => {
    const stack = newStack();
    new CfnResource(stack, 'Provider', { type: 'AWS::Lambda::Function', properties: { Handler: 'index.handler', Runtime: 'nodejs22.x', Role: 'arn:aws:iam::111122223333:role/r', Code: { ZipFile: 'x' } } });
    expectNoncompliant(stack, rule);
  });
  test('Compliance 1: logGroup (LoggingConfig.LogGroup)', () => {
    const stack = newStack();
    fn(stack, { logGroup: new logs.LogGroup(stack, 'Group') });
    expectCompliant(stack, rule);
  });
  test('Compliance 2: a LogGroup of the stack named after the function (/aws/lambda/${Ref})', () => {
    const stack = newStack();
    const f = fn(stack);
    new logs.LogGroup(stack, 'Group', { logGroupName: `/aws/lambda/${f.functionName}` });
    expectCompliant(stack, rule);
  });
});
