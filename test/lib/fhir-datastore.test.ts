import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { FhirDatastore, FhirKeys, HEALTHLAKE_READ_ACTIONS, HEALTHLAKE_WRITE_ACTIONS, SegmentedNetwork } from '../../lib';
import { createTestApp } from '../helpers/app';

const app = createTestApp();
const stack = new Stack(app, 'DataStack');
const keys = new FhirKeys(stack, 'Keys');
const network = new SegmentedNetwork(stack, 'Network', { keys });
const datastore = new FhirDatastore(stack, 'Datastore', { keys, network });
const writer = new iam.Role(stack, 'Writer', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
const reader = new iam.Role(stack, 'Reader', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
datastore.grantFhirAccess(writer);
datastore.grantFhirAccess(reader, { readOnly: true });
const template = Template.fromStack(stack);

type Statement = { Action: string | string[]; Resource: unknown; Condition?: Record<string, Record<string, unknown>> };
const statementsFor = (role: iam.Role): Statement[] => {
  const roleRef = stack.resolve(role.roleName);
  const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([roleRef]));
  return policies.flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
};
const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

describe('FhirDatastore', () => {
  test('is an R4 HealthLake datastore', () => {
    template.hasResourceProperties('AWS::HealthLake::FHIRDatastore', { DatastoreTypeVersion: 'R4' });
  });

  test('is encrypted with the customer-managed data key', () => {
    template.hasResourceProperties('AWS::HealthLake::FHIRDatastore', {
      SseConfiguration: { KmsEncryptionConfig: { CmkType: 'CUSTOMER_MANAGED_KMS_KEY', KmsKeyId: stack.resolve(keys.data.keyArn) } },
    });
  });

  test('accepts SigV4 callers only (AWS_AUTH)', () => {
    template.hasResourceProperties('AWS::HealthLake::FHIRDatastore', { IdentityProviderConfiguration: { AuthorizationStrategy: 'AWS_AUTH' } });
  });

  test('is retained on stack deletion and replacement', () => {
    template.hasResource('AWS::HealthLake::FHIRDatastore', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  test('exposes the FHIR base URL (DatastoreEndpoint)', () => {
    expect(stack.resolve(datastore.fhirBaseUrl)).toEqual({ 'Fn::GetAtt': [stack.getLogicalId(datastore.resource), 'DatastoreEndpoint'] });
  });

  test('a read-write grant names exactly the read, search and write actions', () => {
    const hl = statementsFor(writer).filter((s) => actions(s).some((a) => a.startsWith('healthlake:')));
    expect(hl).toHaveLength(1);
    expect(actions(hl[0]).sort()).toEqual([...HEALTHLAKE_READ_ACTIONS, ...HEALTHLAKE_WRITE_ACTIONS].sort());
  });

  test('a read-only grant has no create, update or delete', () => {
    const hl = statementsFor(reader).filter((s) => actions(s).some((a) => a.startsWith('healthlake:')));
    expect(actions(hl[0]).sort()).toEqual([...HEALTHLAKE_READ_ACTIONS].sort());
    expect(JSON.stringify(hl)).not.toMatch(/CreateResource|UpdateResource|DeleteResource/);
  });

  test('grants are on this datastore ARN and only through the HealthLake endpoint', () => {
    for (const role of [writer, reader]) {
      const hl = statementsFor(role).find((s) => actions(s).some((a) => a.startsWith('healthlake:')))!;
      expect(hl.Resource).toEqual(stack.resolve(datastore.datastoreArn));
      expect(hl.Condition).toEqual({ StringEquals: { 'aws:SourceVpce': stack.resolve(network.healthLakeEndpoint.vpcEndpointId) } });
    }
  });

  test('no grant uses healthlake:* or Resource *', () => {
    for (const role of [writer, reader]) {
      for (const s of statementsFor(role)) {
        expect(actions(s)).not.toContain('healthlake:*');
        expect(s.Resource).not.toBe('*');
      }
    }
  });

  test('the key use HealthLake needs is granted only via HealthLake', () => {
    const kmsStatements = statementsFor(writer).filter((s) => actions(s).some((a) => a.startsWith('kms:')));
    expect(kmsStatements).toHaveLength(1);
    expect(kmsStatements[0].Resource).toEqual(stack.resolve(keys.data.keyArn));
    expect(JSON.stringify(kmsStatements[0].Condition)).toContain('kms:ViaService');
    expect(JSON.stringify(kmsStatements[0].Condition)).toContain('healthlake.');
    const readerKms = statementsFor(reader).find((s) => actions(s).some((a) => a.startsWith('kms:')))!;
    expect(actions(readerKms)).not.toContain('kms:GenerateDataKey');
  });

  test('an invalid datastore name is refused', () => {
    const s = new Stack(createTestApp(), 'BadName');
    const k = new FhirKeys(s, 'Keys');
    expect(() => new FhirDatastore(s, 'D', { keys: k, network: new SegmentedNetwork(s, 'N', { keys: k }), datastoreName: 'bad name with <brackets>' })).toThrow(/not a valid HealthLake datastore name/);
  });
});
