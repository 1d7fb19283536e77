import { acknowledgedRuleId } from '../../../policies/compliance/fhir-hipaa-checks';
import { Stack, Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { acknowledgementMatches, acknowledgementsRecordedOn, baseRuleId, normalizeRuleId, packOfRuleId, parseRuleId } from '../../../policies/compliance/rule-ids';
import { acknowledgementId } from '../../../lib/report/evidence';

describe('the one rule id normaliser (policies/compliance/rule-ids.ts)', () => {
  test.each([
    // [given, ruleName as a pack reports it, rule]
    ['FHIR.HIPAA-LogGroupRetention', 'FHIR.HIPAA-LogGroupRetention', 'FHIR.HIPAA-LogGroupRetention'],
    ['FHIR.HIPAA::FHIR.HIPAA-LogGroupRetention', 'FHIR.HIPAA-LogGroupRetention', 'FHIR.HIPAA-LogGroupRetention'],
    ['Annotation::FHIR.HIPAA-X[a::b]', 'FHIR.HIPAA-X[a::b]', 'FHIR.HIPAA-X'],
    ['annotation::FHIR.HIPAA-X', 'FHIR.HIPAA-X', 'FHIR.HIPAA-X'],
    ['AwsSolutions::AwsSolutions-IAM5[Action::s3:*]', 'AwsSolutions-IAM5[Action::s3:*]', 'AwsSolutions-IAM5'],
    ['AwsSolutions-IAM5[Resource::arn:aws:s3:::b/*]', 'AwsSolutions-IAM5[Resource::arn:aws:s3:::b/*]', 'AwsSolutions-IAM5'],
    ['HIPAA.Security::HIPAA.Security-S3BucketReplicationEnabled', 'HIPAA.Security-S3BucketReplicationEnabled', 'HIPAA.Security-S3BucketReplicationEnabled'],
    ['CloudFormation-Validate::W3010', 'W3010', 'W3010'],
    ['  FHIR.HIPAA-X  ', 'FHIR.HIPAA-X', 'FHIR.HIPAA-X'],
  ])('%s → %s', (given, ruleName, rule) => {
    expect(normalizeRuleId(given)).toBe(ruleName);
    expect(baseRuleId(given)).toBe(rule);
  });

  test('the pack and the report read ids with this same code', () => {
    expect(acknowledgedRuleId).toBe(baseRuleId);
    expect(acknowledgementId).toBe(normalizeRuleId);
  });

  test('parts: namespace, rule and finding', () => {
    expect(parseRuleId('FHIR.HIPAA::FHIR.HIPAA-X[Statement::0::NoSourceVpce]')).toEqual({
      namespace: 'FHIR.HIPAA', ruleName: 'FHIR.HIPAA-X[Statement::0::NoSourceVpce]', rule: 'FHIR.HIPAA-X', finding: 'Statement::0::NoSourceVpce',
    });
    expect(parseRuleId('W3010')).toEqual({ ruleName: 'W3010', rule: 'W3010' });
    expect(packOfRuleId('HIPAA.Security::HIPAA.Security-X', ['FHIR.HIPAA', 'HIPAA.Security'])).toBe('HIPAA.Security');
    expect(packOfRuleId('W3010', ['FHIR.HIPAA'])).toBeUndefined();
  });

  test('an acknowledgement clears a violation the way the gate does: bare (the pack) or under the plugin\'s namespace (CDK), exact finding', () => {
    expect(acknowledgementMatches('Annotation::FHIR.HIPAA-X', 'FHIR.HIPAA-X', 'FHIR.HIPAA')).toBe(true);
    expect(acknowledgementMatches('FHIR.HIPAA::FHIR.HIPAA-X', 'FHIR.HIPAA-X', 'FHIR.HIPAA')).toBe(true);
    expect(acknowledgementMatches('FHIR.HIPAA-X', 'FHIR.HIPAA-X', 'FHIR.HIPAA')).toBe(true);
    expect(acknowledgementMatches('CloudFormation-Validate::W3010', 'W3010', 'CloudFormation Validate')).toBe(true);
    expect(acknowledgementMatches('AwsSolutions::FHIR.HIPAA-X', 'FHIR.HIPAA-X', 'FHIR.HIPAA')).toBe(false);
    expect(acknowledgementMatches('Annotation::FHIR.HIPAA-X', 'FHIR.HIPAA-X[f]', 'FHIR.HIPAA')).toBe(false);
    expect(acknowledgementMatches('Annotation::FHIR.HIPAA-X[f]', 'FHIR.HIPAA-X[f]', 'FHIR.HIPAA')).toBe(true);
  });
});

describe('acknowledgementsRecordedOn: the one reading of the acknowledged-rules metadata', () => {
  test('the construct\'s own acknowledgements, keys as CDK records them, not its ancestors\'', () => {
    const stack = new Stack();
    const child = new Construct(stack, 'Child');
    Validations.of(stack).acknowledge({ id: 'FHIR.HIPAA-Up', reason: 'up' });
    Validations.of(child).acknowledge({ id: 'FHIR.HIPAA-X', reason: 'because' });
    child.node.addMetadata('something-else', { 'FHIR.HIPAA-Y': 'not an acknowledgement' });
    expect(acknowledgementsRecordedOn(child)).toEqual([{ key: 'Annotation::FHIR.HIPAA-X', reason: 'because' }]);
    expect(acknowledgementsRecordedOn(new Construct(stack, 'Bare'))).toEqual([]);
  });
});
