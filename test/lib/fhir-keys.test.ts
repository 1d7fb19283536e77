import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { FhirKeys } from '../../lib';
import { createTestApp } from '../helpers/app';

const app = createTestApp();
const stack = new Stack(app, 'KeysStack');
new FhirKeys(stack, 'Keys');
const template = Template.fromStack(stack);
const keys = template.findResources('AWS::KMS::Key');

type Statement = { Sid?: string; Principal?: unknown; Condition?: Record<string, Record<string, unknown>>; Action: string | string[] };
const statementsOf = (logicalIdPrefix: string): Statement[] => {
  const id = Object.keys(keys).find((k) => k.startsWith(logicalIdPrefix));
  if (!id) throw new Error(`no key ${logicalIdPrefix}`);
  return keys[id].Properties.KeyPolicy.Statement as Statement[];
};

describe('FhirKeys', () => {
  test('creates exactly three symmetric customer-managed keys', () => {
    template.resourceCountIs('AWS::KMS::Key', 3);
    for (const key of Object.values(keys)) {
      expect(key.Properties.KeySpec ?? 'SYMMETRIC_DEFAULT').toBe('SYMMETRIC_DEFAULT');
    }
  });

  test('every key rotates', () => {
    for (const key of Object.values(keys)) expect(key.Properties.EnableKeyRotation).toBe(true);
  });

  test('every key is retained on stack deletion and replacement', () => {
    for (const key of Object.values(keys)) {
      expect(key.DeletionPolicy).toBe('Retain');
      expect(key.UpdateReplacePolicy).toBe('Retain');
    }
  });

  test('every key has a 30-day pending deletion window', () => {
    for (const key of Object.values(keys)) expect(key.Properties.PendingWindowInDays).toBe(30);
  });

  test('aliases name each key by purpose', () => {
    template.resourceCountIs('AWS::KMS::Alias', 3);
    for (const purpose of ['data', 'logs', 'audit']) {
      template.hasResourceProperties('AWS::KMS::Alias', { AliasName: `alias/KeysStack/${purpose}` });
    }
  });

  test('CloudWatch Logs may use the logs key only for log groups of this account and region', () => {
    const logsStatements = statementsOf('KeysLogs').filter((s) => JSON.stringify(s.Principal).includes('logs.'));
    expect(logsStatements).toHaveLength(1);
    const condition = JSON.stringify(logsStatements[0].Condition);
    expect(condition).toContain('kms:EncryptionContext:aws:logs:arn');
    expect(condition).toContain('AWS::AccountId');
    expect(condition).toContain(':log-group:*');
  });

  test('CloudTrail may use the audit key only for this stack trail (aws:SourceArn)', () => {
    const trailStatements = statementsOf('KeysAudit').filter((s) => JSON.stringify(s.Principal).includes('cloudtrail.amazonaws.com'));
    expect(trailStatements.length).toBeGreaterThan(0);
    for (const s of trailStatements) {
      const sourceArn = JSON.stringify(s.Condition?.StringEquals?.['aws:SourceArn']);
      expect(sourceArn).toContain(':trail/KeysStack-audit');
    }
  });

  test('the data key allows no service principal outside IAM delegation to the account', () => {
    const allows = statementsOf('KeysData').filter((s) => (s as { Effect?: string }).Effect === 'Allow').map((s) => JSON.stringify(s.Principal));
    expect(allows).toHaveLength(1);
    expect(allows[0]).toContain(':root');
  });

  test('no key policy allows a wildcard principal (the only one is in the CreateGrant deny)', () => {
    for (const key of Object.values(keys)) {
      for (const s of key.Properties.KeyPolicy.Statement as Array<Statement & { Effect: string }>) {
        if (s.Effect === 'Deny') continue;
        expect(s.Principal).not.toBe('*');
        expect(JSON.stringify(s.Principal)).not.toMatch(/"AWS":"\*"/);
      }
    }
  });

  test('a pending window under 30 days is refused', () => {
    const s = new Stack(createTestApp(), 'Short');
    expect(() => new FhirKeys(s, 'Keys', { pendingWindow: Duration.days(7) })).toThrow(/pendingWindow is 7 days/);
  });

  test('key logical ids are stable (renaming replaces the keys)', () => {
    expect(Object.keys(keys).sort()).toEqual([expect.stringMatching(/^KeysAudit/), expect.stringMatching(/^KeysData/), expect.stringMatching(/^KeysLogs/)]);
    template.hasResource('AWS::KMS::Key', { Properties: Match.objectLike({ Description: Match.stringLikeRegexp('PHI at rest') }) });
  });
});

describe('FhirKeys: grants only for AWS resources through AWS services (CT.KMS.PR.3)', () => {
  test.each(['KeysData', 'KeysLogs', 'KeysAudit'])('%s denies kms:CreateGrant unless the grant is for an AWS resource or made by an AWS service', (key) => {
    expect(statementsOf(key)).toContainEqual({
      Sid: 'DenyGrantsExceptForAwsResourcesThroughAwsServices',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 'kms:CreateGrant',
      Resource: '*',
      Condition: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
    });
  });
});
