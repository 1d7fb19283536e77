import * as nagRule from '../../../policies/compliance/rules/waf/WAFv2ManagedRuleGroups';
import * as nagRedaction from '../../../policies/compliance/rules/waf/WAFv2LogRedaction';
import { MAX_QUERY_CHARS } from '../../../lambdas/smart-facade/authorize';
import {
  AUTHORIZE_EXEMPTION, AUTHORIZE_MAX_QUERY_STRING_BYTES, COUNT_EXCEPTION, DRIFT_KINDS, LABEL_EXCEPTIONS, REDACTED_HEADERS, REQUIRED_MANAGED_RULE_GROUPS, driftMetricName, parseStageArn, parseWebAclArn,
} from '../../../lambdas/waf-guard/expectations';
import { ACL_ARN, ACL_ID, ACL_NAME, STAGE_ARN } from './fixtures';

describe('waf guard expectations', () => {
  test('require exactly what the FHIR.HIPAA pack requires', () => {
    expect([...REQUIRED_MANAGED_RULE_GROUPS]).toEqual([...nagRule.REQUIRED_MANAGED_RULE_GROUPS]);
    expect(COUNT_EXCEPTION).toEqual(nagRule.COUNT_EXCEPTION);
    expect([...REDACTED_HEADERS]).toEqual([...nagRedaction.REDACTED_HEADERS]);
  });

  test('the label exceptions: two rules of the common rule set, with the labels AWS documents', () => {
    expect(LABEL_EXCEPTIONS.map((e) => [e.group, e.rule, e.label, e.needsQueryStringSizeRule])).toEqual([
      ['AWSManagedRulesCommonRuleSet', 'GenericRFI_QUERYARGUMENTS', 'awswaf:managed:aws:core-rule-set:GenericRFI_QueryArguments', false],
      ['AWSManagedRulesCommonRuleSet', 'SizeRestrictions_QUERYSTRING', 'awswaf:managed:aws:core-rule-set:SizeRestrictions_QueryString', true],
    ]);
  });

  test('the exempt route is GET /<version>/auth/authorize, and its query limit the façade\'s own cap', () => {
    expect(AUTHORIZE_EXEMPTION.method).toBe('GET');
    const exempt = new RegExp(AUTHORIZE_EXEMPTION.uriPathRegex);
    for (const path of ['/v1/auth/authorize', '/v2/auth/authorize', '/v3-beta/auth/authorize']) expect(exempt.test(path)).toBe(true);
    for (const path of ['/auth/authorize', '/v1/r4/auth/authorize', '/v1/auth/authorize/', '/v1/auth/authorizex', '/v1/auth/Authorize', '/v1/auth/%61uthorize', '/v1/x/auth/authorize']) {
      expect(exempt.test(path)).toBe(false);
    }
    expect(AUTHORIZE_MAX_QUERY_STRING_BYTES).toBe(MAX_QUERY_CHARS);
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
