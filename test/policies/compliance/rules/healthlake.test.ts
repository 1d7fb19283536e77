import { CfnResource, Stack } from 'aws-cdk-lib';
import * as healthlake from 'aws-cdk-lib/aws-healthlake';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { expectCompliant, expectNoncompliant, granularFindings, newStack } from '../helpers';

describe('FHIR.HIPAA-HealthLakeCMKEncryption', () => {
  const rule = 'HealthLakeCMKEncryption';
  const datastore = (stack: Stack, sse?: healthlake.CfnFHIRDatastore.SseConfigurationProperty) =>
    new healthlake.CfnFHIRDatastore(stack, 'Datastore', { datastoreTypeVersion: 'R4', sseConfiguration: sse });

  test('Noncompliance 1: no SseConfiguration', () => {
    const stack = newStack();
    datastore(stack);
    expectNoncompliant(stack, rule);
  });

  test('Noncompliance 2: AWS-owned key', () => {
    const stack = newStack();
    datastore(stack, { kmsEncryptionConfig: { cmkType: 'AWS_OWNED_KMS_KEY' } });
    expectNoncompliant(stack, rule);
  });

  test('Noncompliance 3: customer-managed without a key id', () => {
    const stack = newStack();
    datastore(stack, { kmsEncryptionConfig: { cmkType: 'CUSTOMER_MANAGED_KMS_KEY' } });
    expectNoncompliant(stack, rule);
  });

  test('Noncompliance 4: generic CfnResource of the type is checked too', () => {
    const stack = newStack();
    new CfnResource(stack, 'Raw', { type: 'AWS::HealthLake::FHIRDatastore', properties: { DatastoreTypeVersion: 'R4' } });
    expectNoncompliant(stack, rule);
  });

  test('Compliance: customer-managed key', () => {
    const stack = newStack();
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    datastore(stack, { kmsEncryptionConfig: { cmkType: 'CUSTOMER_MANAGED_KMS_KEY', kmsKeyId: key.keyArn } });
    expectCompliant(stack, rule);
  });
});

describe('FHIR.HIPAA-HealthLakeDataAccessScoped', () => {
  const rule = 'HealthLakeDataAccessScoped';
  const datastoreArn = 'arn:aws:healthlake:us-east-1:111122223333:datastore/fhir/abc';
  const vpce = { StringEquals: { 'aws:SourceVpce': 'vpce-0123456789abcdef0' } };

  function policyWith(statement: iam.PolicyStatementProps): Stack {
    const stack = newStack();
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    role.addToPolicy(new iam.PolicyStatement(statement));
    return stack;
  }

  test('Noncompliance 1: no aws:SourceVpce condition', () => {
    const stack = policyWith({ actions: ['healthlake:ReadResource'], resources: [datastoreArn] });
    expect(granularFindings(stack, rule)).toEqual(['Statement::0::NoSourceVpce']);
  });

  test('Noncompliance 2: healthlake:* action', () => {
    const stack = policyWith({ actions: ['healthlake:*'], resources: [datastoreArn], conditions: vpce });
    expect(granularFindings(stack, rule)).toEqual(['Statement::0::WildcardAction']);
  });

  test('Noncompliance 3: * action', () => {
    const stack = policyWith({ actions: ['*'], resources: [datastoreArn], conditions: vpce });
    expect(granularFindings(stack, rule)).toEqual(['Statement::0::WildcardAction']);
  });

  test('Noncompliance 4: Resource *', () => {
    const stack = policyWith({ actions: ['healthlake:SearchWithPost'], resources: ['*'], conditions: vpce });
    expect(granularFindings(stack, rule)).toEqual(['Statement::0::WildcardResource']);
  });

  test('Noncompliance 5: partial wildcard reaching data actions (healthlake:Search*) without the endpoint', () => {
    const stack = policyWith({ actions: ['healthlake:Search*'], resources: [datastoreArn] });
    expect(granularFindings(stack, rule)).toEqual(['Statement::0::NoSourceVpce']);
  });

  test('Noncompliance 6: export job action, an IfExists condition does not count', () => {
    const stack = policyWith({
      actions: ['healthlake:StartFHIRExportJob'], resources: [datastoreArn],
      conditions: { StringEqualsIfExists: { 'aws:SourceVpce': 'vpce-0123456789abcdef0' } },
    });
    expect(granularFindings(stack, rule)).toEqual(['Statement::0::NoSourceVpce']);
  });

  test('Noncompliance 7: NotAction allow statement', () => {
    const stack = policyWith({ notActions: ['iam:*'], resources: [datastoreArn], conditions: vpce });
    expect(granularFindings(stack, rule)).toEqual(['Statement::0::NotAction']);
  });

  test('Noncompliance 8: role inline policy and AWS managed HealthLake policy', () => {
    const stack = newStack();
    new iam.Role(stack, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonHealthLakeFullAccess')],
      inlinePolicies: {
        fhir: new iam.PolicyDocument({ statements: [new iam.PolicyStatement({ sid: 'Read', actions: ['healthlake:ReadResource'], resources: ['*'] })] }),
      },
    });
    expect(granularFindings(stack, rule)).toEqual([
      'ManagedPolicy::AmazonHealthLakeFullAccess',
      'fhir::Statement::Read::NoSourceVpce',
      'fhir::Statement::Read::WildcardResource',
    ]);
  });

  test('Noncompliance 9: AWS::IAM::ManagedPolicy', () => {
    const stack = newStack();
    new iam.ManagedPolicy(stack, 'Managed', { statements: [new iam.PolicyStatement({ actions: ['healthlake:CreateResource'], resources: [datastoreArn] })] });
    expect(granularFindings(stack, rule)).toEqual(['Statement::0::NoSourceVpce']);
  });

  test('Compliance: named data actions on the datastore through the endpoint; control-plane and Deny statements ignored', () => {
    const stack = newStack();
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    const key = new kms.Key(stack, 'Key');
    const store = new healthlake.CfnFHIRDatastore(stack, 'Store', {
      datastoreTypeVersion: 'R4',
      sseConfiguration: { kmsEncryptionConfig: { cmkType: 'CUSTOMER_MANAGED_KMS_KEY', kmsKeyId: key.keyArn } },
    });
    role.addToPolicy(new iam.PolicyStatement({
      actions: ['healthlake:ReadResource', 'healthlake:SearchWithGet', 'healthlake:SearchWithPost'],
      resources: [store.attrDatastoreArn],
      conditions: { StringEquals: { 'aws:SourceVpce': 'vpce-0123456789abcdef0' } },
    }));
    role.addToPolicy(new iam.PolicyStatement({ actions: ['healthlake:DescribeFHIRDatastore', 's3:GetObject'], resources: ['*'] }));
    role.addToPolicy(new iam.PolicyStatement({ effect: iam.Effect.DENY, actions: ['healthlake:*'], resources: ['*'] }));
    expectCompliant(stack, rule);
  });
});
