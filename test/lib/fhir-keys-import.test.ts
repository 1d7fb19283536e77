import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { AuditTrail, FhirDatastore, FhirKeys, FhirKeysImport, importRecordsFor, importRecordsOf, SegmentedNetwork } from '../../lib';
import { validate } from '../policies/compliance/helpers';
import { createTestApp } from '../helpers/app';

const keyArn = (n: number, region = 'us-east-1') => `arn:aws:kms:${region}:111122223333:key/0000000${n}-1111-2222-3333-444455556666`;
const MRK = 'arn:aws:kms:us-east-1:111122223333:key/mrk-0123456789abcdef0123456789abcdef';

const app = createTestApp();
const stack = new Stack(app, 'KeysImport');
const keys = FhirKeys.fromKeys(stack, 'Keys', {
  data: kms.Key.fromKeyArn(stack, 'DataKey', MRK),
  logs: kms.Key.fromKeyArn(stack, 'LogsKey', keyArn(2)),
  audit: kms.Key.fromKeyArn(stack, 'AuditKey', keyArn(3)),
  auditTrailName: 'platform-trail',
});
const network = new SegmentedNetwork(stack, 'Network', { keys });
const datastore = new FhirDatastore(stack, 'Datastore', { keys, network });
const audit = new AuditTrail(stack, 'Audit', { keys });
const assembly = app.synth();
const template = Template.fromJSON(assembly.getStackByName('KeysImport').template);

describe('FhirKeys.fromKeys', () => {
  test('creates no key, alias or key policy', () => {
    template.resourceCountIs('AWS::KMS::Key', 0);
    template.resourceCountIs('AWS::KMS::Alias', 0);
  });

  test('the data key (a multi-Region key) encrypts the datastore', () => {
    template.hasResourceProperties('AWS::HealthLake::FHIRDatastore', { SseConfiguration: { KmsEncryptionConfig: { KmsKeyId: MRK } } });
  });

  test('the logs key encrypts every log group', () => {
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup'));
    expect(groups.length).toBeGreaterThan(2);
    for (const group of groups) expect(group.Properties.KmsKeyId).toBe(keyArn(2));
  });

  test('the audit key encrypts the trail and the alarm topic; the trail has the name the key policy allows', () => {
    template.hasResourceProperties('AWS::CloudTrail::Trail', { KMSKeyId: keyArn(3), TrailName: 'platform-trail' });
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: keyArn(3) });
    expect(keys.auditTrailArn).toContain(':trail/platform-trail');
  });

  test('records the import on the keys and on the resources they encrypt: the datastore (data), the trail (audit), the flow-log group (logs)', () => {
    const [record] = importRecordsOf(keys);
    expect(record).toMatchObject({ kind: 'keys', resources: [MRK, keyArn(2), keyArn(3)], acknowledgementId: 'FHIR.HIPAA-ImportedResourceAttested[keys]' });
    expect(record.rulesThatCannotSee).toEqual(expect.arrayContaining(['FHIR.HIPAA-KMSKeyRotation', 'FHIR.HIPAA-KMSKeyRetained']));
    for (const cfn of [datastore.resource, audit.trail, network.flowLogGroup.node.defaultChild]) expect(importRecordsFor(cfn as never)).toEqual([record]);
  });

  test('the gate reports [keys] on each of them, naming what to check, and no warning is raised', () => {
    const violations = validate(stack).violations.filter((v) => v.ruleName.startsWith('FHIR.HIPAA-ImportedResourceAttested'));
    expect(violations.map((v) => `${v.ruleName} @ ${v.violatingResources[0].constructPath}`).sort()).toEqual([
      'FHIR.HIPAA-ImportedResourceAttested[keys] @ KeysImport/Audit/Trail',
      'FHIR.HIPAA-ImportedResourceAttested[keys] @ KeysImport/Datastore/Resource',
      'FHIR.HIPAA-ImportedResourceAttested[keys] @ KeysImport/Network/FlowLogGroup/Resource',
    ]);
    expect(violations[0].description).toMatch(/^Imported KMS keys \(arn:aws:kms:.*\): the kit cannot check at synth that .*rotation on.*logs\.<region>\.amazonaws\.com.*cloudtrail\.amazonaws\.com.*'FHIR\.HIPAA-ImportedResourceAttested\[keys\]'/);
    expect(assembly.getStackByName('KeysImport').messages.filter((m) => m.level === 'warning')).toEqual([]);
  });
});

describe('FhirKeys.fromKeys: what is checked at synth', () => {
  const attempt = (make: (s: Stack) => Partial<FhirKeysImport>, region?: string) => () => {
    const s = new Stack(createTestApp(), 'S', region ? { env: { region, account: '111122223333' } } : {});
    const given = make(s);
    FhirKeys.fromKeys(s, 'Keys', {
      data: kms.Key.fromKeyArn(s, 'D', keyArn(1)), logs: kms.Key.fromKeyArn(s, 'L', keyArn(2)), audit: kms.Key.fromKeyArn(s, 'A', keyArn(3)), ...given,
    } as FhirKeysImport);
  };

  test('a missing key', () => {
    expect(attempt(() => ({ logs: undefined }))).toThrow(/^FhirKeys\.fromKeys: logs is missing; give the key: kms\.Key\.fromKeyArn\(scope, 'logs', 'arn:aws:kms:<region>:<account>:key\/<key id>'\)\.$/);
  });

  test('an alias (kms.Alias) instead of a key', () => {
    expect(attempt((s) => ({ data: kms.Alias.fromAliasName(s, 'Alias', 'alias/phi') }))).toThrow(/^FhirKeys\.fromKeys: data is a key alias, not a key; HealthLake and CloudWatch Logs take the key's ARN/);
  });

  test('an alias ARN instead of a key ARN', () => {
    expect(attempt((s) => ({ data: kms.Key.fromKeyArn(s, 'AliasArn', 'arn:aws:kms:us-east-1:111122223333:alias/phi') }))).toThrow(/^FhirKeys\.fromKeys: data is a key alias, not a key/);
  });

  test('an ARN that is not a KMS key ARN', () => {
    expect(attempt((s) => ({ audit: kms.Key.fromKeyArn(s, 'Topic', 'arn:aws:sns:us-east-1:111122223333:key/alarms') }))).toThrow(/^FhirKeys\.fromKeys: audit \(arn:aws:sns:us-east-1:111122223333:key\/alarms\) is not a KMS key ARN \(arn:<partition>:kms:<region>:<account>:key\/<key id>\)/);
  });

  test('one key for two purposes', () => {
    expect(attempt((s) => ({ logs: kms.Key.fromKeyArn(s, 'Same', keyArn(1)) }))).toThrow(/^FhirKeys\.fromKeys: data and logs are the same key; the kit keeps PHI, logs and audit records under separate keys/);
  });

  test('a key of another region than the stack', () => {
    expect(attempt((s) => ({ data: kms.Key.fromKeyArn(s, 'Far', keyArn(1, 'eu-west-1')) }), 'us-east-1')).toThrow(/^FhirKeys\.fromKeys: data is a key in eu-west-1, and this stack deploys to us-east-1/);
  });

  test('a key of the stack\'s region, and a key created in the same app, are accepted', () => {
    expect(attempt(() => ({}), 'us-east-1')).not.toThrow();
    expect(attempt((s) => ({ data: new kms.Key(s, 'New', { enableKeyRotation: true }) }))).not.toThrow();
  });
});
