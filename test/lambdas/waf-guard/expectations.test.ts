import * as nagRule from '../../../policies/compliance/rules/waf/WAFv2ManagedRuleGroups';
import * as nagRedaction from '../../../policies/compliance/rules/waf/WAFv2LogRedaction';
import {
  COUNT_EXCEPTION, DRIFT_KINDS, REDACTED_HEADERS, REQUIRED_MANAGED_RULE_GROUPS, driftMetricName, parseStageArn, parseWebAclArn,
} from '../../../lambdas/waf-guard/expectations';
import { ACL_ARN, ACL_ID, ACL_NAME, STAGE_ARN } from './fixtures';

describe('waf guard expectations', () => {
  test('require exactly what the FHIR.HIPAA pack requires', () => {
    expect([...REQUIRED_MANAGED_RULE_GROUPS]).toEqual([...nagRule.REQUIRED_MANAGED_RULE_GROUPS]);
    expect(COUNT_EXCEPTION).toEqual(nagRule.COUNT_EXCEPTION);
    expect([...REDACTED_HEADERS]).toEqual([...nagRedaction.REDACTED_HEADERS]);
  });

  test('metric names are distinct', () => {
    expect(new Set(DRIFT_KINDS.map(driftMetricName)).size).toBe(DRIFT_KINDS.length);
  });

  test('parse web ACL and stage ARNs', () => {
    expect(parseWebAclArn(ACL_ARN)).toMatchObject({ name: ACL_NAME, id: ACL_ID, region: 'eu-west-1', account: '123456789012', scope: 'REGIONAL' });
    expect(parseWebAclArn('arn:aws:wafv2:us-east-1:123456789012:global/webacl/n/i')).toBeUndefined();
    expect(parseStageArn(STAGE_ARN)).toMatchObject({ region: 'eu-west-1', restApiId: 'a1b2c3d4e5', stageName: 'r4' });
    expect(parseStageArn('arn:aws:apigateway:eu-west-1:123456789012:/restapis/a/stages/b')).toBeUndefined();
  });
});
