import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { setDeploymentEnvironment } from '../../policies/compliance/environment';
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
  const policies = [...Object.values(template.findResources('AWS::IAM::Policy')), ...Object.values(template.findResources('AWS::IAM::ManagedPolicy'))].filter(
    (p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([roleRef]),
  );
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

describe('grantFhirAccess raises no finding of its own', () => {
  test('the statements go into a customer-managed policy, never the role\'s inline default policy', () => {
    template.resourceCountIs('AWS::IAM::Policy', 0);
    const managed = Object.values(template.findResources('AWS::IAM::ManagedPolicy')).filter((p) => JSON.stringify(p.Properties.PolicyDocument).includes('healthlake:'));
    expect(managed).toHaveLength(2); // one per role
  });

  test('a second grant to the same role adds to that role\'s policy', () => {
    const s = new Stack(createTestApp(), 'Twice');
    const k = new FhirKeys(s, 'Keys');
    const n = new SegmentedNetwork(s, 'Network', { keys: k });
    const d = new FhirDatastore(s, 'Datastore', { keys: k, network: n });
    const role = new iam.Role(s, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    d.grantFhirAccess(role, { readOnly: true });
    d.grantFhirAccess(role);
    const t = Template.fromStack(s);
    t.resourceCountIs('AWS::IAM::Policy', 0);
    expect(Object.values(t.findResources('AWS::IAM::ManagedPolicy')).filter((p) => JSON.stringify(p.Properties.PolicyDocument).includes('healthlake:'))).toHaveLength(1);
  });

  test('HIPAA.Security-IAMNoInlinePolicy finds nothing on a granted role', () => {
    const { HIPAASecurityChecks } = jest.requireActual('cdk-nag') as typeof import('cdk-nag');
    const report = new HIPAASecurityChecks(app).validateScope(stack);
    expect(report.violations.filter((v) => v.ruleName === 'HIPAA.Security-IAMNoInlinePolicy').flatMap((v) => v.violatingResources.map((r) => r.constructPath))).toEqual([]);
  });
});

describe('synthetic data and environments', () => {
  const datastoreIn = (environment: 'sandbox' | 'staging' | 'production' | undefined, props: { preloadSyntheticData?: boolean } = {}) => {
    const s = new Stack(createTestApp(), `Env${environment ?? 'None'}${props.preloadSyntheticData ?? ''}`);
    if (environment) setDeploymentEnvironment(s, environment);
    const k = new FhirKeys(s, 'Keys');
    const n = new SegmentedNetwork(s, 'Network', { keys: k });
    return { stack: s, create: () => new FhirDatastore(s, 'Datastore', { keys: k, network: n, ...props }) };
  };

  test('a sandbox datastore is preloaded with synthetic (Synthea) patients by default', () => {
    const { stack: s, create } = datastoreIn('sandbox');
    expect(create().preloadsSyntheticData).toBe(true);
    Template.fromStack(s).hasResourceProperties('AWS::HealthLake::FHIRDatastore', { PreloadDataConfig: { PreloadDataType: 'SYNTHEA' } });
  });

  test.each(['staging', 'production', undefined] as const)('a %s datastore is not preloaded', (environment) => {
    const { stack: s, create } = datastoreIn(environment);
    expect(create().preloadsSyntheticData).toBe(false);
    Template.fromStack(s).hasResourceProperties('AWS::HealthLake::FHIRDatastore', { PreloadDataConfig: Match.absent() });
  });

  test.each(['staging', 'production'] as const)('preloadSyntheticData in %s fails with a message that says what to change', (environment) => {
    expect(() => datastoreIn(environment, { preloadSyntheticData: true }).create()).toThrow(/preloadSyntheticData is for sandbox datastores only; this stack is marked "(staging|production)"\. Remove preloadSyntheticData/);
  });

  test('the kit creates no bulk-import path (no role HealthLake can assume, no import bucket)', () => {
    const { stack: s, create } = datastoreIn('sandbox');
    create();
    const roles = Object.values(Template.fromStack(s).findResources('AWS::IAM::Role'));
    expect(JSON.stringify(roles)).not.toContain('healthlake.amazonaws.com');
    expect(JSON.stringify(Template.fromStack(s).toJSON())).not.toMatch(/StartFHIRImportJob/);
  });
});

describe('a datastore the platform team already has', () => {
  const s = new Stack(createTestApp(), 'Imported', { env: { account: '111122223333', region: 'us-east-1' } });
  const k = new FhirKeys(s, 'Keys');
  const n = new SegmentedNetwork(s, 'Network', { keys: k });
  const arn = 'arn:aws:healthlake:us-east-1:111122223333:datastore/fhir/0123456789abcdef0123456789abcdef';
  const url = 'https://healthlake.us-east-1.amazonaws.com/datastore/0123456789abcdef0123456789abcdef/r4/';

  test('grants the same way: its ARN, through the endpoint, no inline policy', () => {
    const imported = FhirDatastore.fromDatastoreAttributes(s, 'Existing', { datastoreArn: arn, datastoreId: '0123456789abcdef0123456789abcdef', fhirBaseUrl: url, dataKey: k.data, network: n });
    const role = new iam.Role(s, 'TeamRole', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    imported.grantFhirAccess(role, { readOnly: true });
    const t = Template.fromStack(s);
    t.resourceCountIs('AWS::IAM::Policy', 0);
    t.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Resource: arn, Condition: { StringEquals: { 'aws:SourceVpce': Match.anyValue() } } })]) },
    });
  });

  test.each([
    ['a malformed ARN', { datastoreArn: 'arn:aws:s3:::bucket' }, /is not a HealthLake datastore ARN/],
    ['a non-HealthLake URL', { fhirBaseUrl: 'https://fhir.example.org/r4' }, /is not a HealthLake R4 endpoint/],
  ])('refuses %s with a message naming the expected form', (_name, override, message) => {
    expect(() =>
      FhirDatastore.fromDatastoreAttributes(s, `Bad${_name.length}`, { datastoreArn: arn, datastoreId: 'x', fhirBaseUrl: url, dataKey: k.data, network: n, ...override }),
    ).toThrow(message);
  });
});
