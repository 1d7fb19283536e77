import { Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { expectCompliant, granularFindings, newStack } from '../helpers';

type Rule = wafv2.CfnWebACL.RuleProperty;
const visibility = (name: string) => ({ cloudWatchMetricsEnabled: true, metricName: name, sampledRequestsEnabled: true });

function managed(name: string, priority: number, extra: Partial<wafv2.CfnWebACL.ManagedRuleGroupStatementProperty> = {}, overrideAction: object = { none: {} }): Rule {
  return {
    name, priority, overrideAction, visibilityConfig: visibility(name),
    statement: { managedRuleGroupStatement: { vendorName: 'AWS', name, ...extra } },
  };
}

const rateRule = (action: object = { block: {} }): Rule => ({
  name: 'RateLimit', priority: 10, action, visibilityConfig: visibility('rate'),
  statement: { rateBasedStatement: { limit: 1000, aggregateKeyType: 'IP' } },
});

const bodySizeRule: Rule = {
  name: 'BodySize', priority: 0, action: { block: {} }, visibilityConfig: visibility('size'),
  statement: { sizeConstraintStatement: { fieldToMatch: { body: { oversizeHandling: 'MATCH' } }, comparisonOperator: 'GT', size: 1048576, textTransformations: [{ priority: 0, type: 'NONE' }] } },
};

function requiredRules(common: Partial<wafv2.CfnWebACL.ManagedRuleGroupStatementProperty> = {}): Rule[] {
  return [
    managed('AWSManagedRulesCommonRuleSet', 1, common),
    managed('AWSManagedRulesKnownBadInputsRuleSet', 2),
    managed('AWSManagedRulesSQLiRuleSet', 3),
    managed('AWSManagedRulesAmazonIpReputationList', 4),
    rateRule(),
  ];
}

/** A web ACL with `rules`, associated with a REST API stage unless `associate` is false. */
function aclWith(rules: Rule[], associate = true): Stack {
  const stack = newStack();
  const acl = new wafv2.CfnWebACL(stack, 'Acl', { scope: 'REGIONAL', defaultAction: { allow: {} }, visibilityConfig: visibility('acl'), rules });
  if (associate) {
    const api = new apigw.RestApi(stack, 'Api');
    api.root.addMethod('GET', new apigw.MockIntegration());
    new wafv2.CfnWebACLAssociation(stack, 'Assoc', { resourceArn: api.deploymentStage.stageArn, webAclArn: acl.attrArn });
  }
  return stack;
}

describe('FHIR.HIPAA-WAFv2ManagedRuleGroups', () => {
  const rule = 'WAFv2ManagedRuleGroups';

  test('Noncompliance 1: missing groups and no rate-based rule', () => {
    const stack = aclWith([managed('AWSManagedRulesCommonRuleSet', 1)]);
    expect(granularFindings(stack, rule)).toEqual([
      'Missing::AWSManagedRulesAmazonIpReputationList',
      'Missing::AWSManagedRulesKnownBadInputsRuleSet',
      'Missing::AWSManagedRulesSQLiRuleSet',
      'Missing::RateBasedRule',
    ]);
  });

  test('Noncompliance 2: a group whose override action is Count', () => {
    const rules = requiredRules();
    rules[2] = managed('AWSManagedRulesSQLiRuleSet', 3, {}, { count: {} });
    expect(granularFindings(aclWith(rules), rule)).toEqual(['NotBlocking::AWSManagedRulesSQLiRuleSet']);
  });

  test('Noncompliance 3: a rule of a group overridden to Count', () => {
    const rules = requiredRules();
    rules[1] = managed('AWSManagedRulesKnownBadInputsRuleSet', 2, { ruleActionOverrides: [{ name: 'Log4JRCE_BODY', actionToUse: { count: {} } }] });
    expect(granularFindings(aclWith(rules), rule)).toEqual(['CountOverride::AWSManagedRulesKnownBadInputsRuleSet::Log4JRCE_BODY']);
  });

  test('Noncompliance 4: SizeRestrictions_BODY counted without a body size rule of the ACL', () => {
    const rules = requiredRules({ ruleActionOverrides: [{ name: 'SizeRestrictions_BODY', actionToUse: { count: {} } }] });
    expect(granularFindings(aclWith(rules), rule)).toEqual(['CountOverride::AWSManagedRulesCommonRuleSet::SizeRestrictions_BODY']);
  });

  test('Noncompliance 4b: SizeRestrictions_BODY set to Allow (which skips every later rule), even with the ACL\'s own body size rule', () => {
    const rules = [bodySizeRule, ...requiredRules({ ruleActionOverrides: [{ name: 'SizeRestrictions_BODY', actionToUse: { allow: {} } }] })];
    expect(granularFindings(aclWith(rules), rule)).toEqual(['CountOverride::AWSManagedRulesCommonRuleSet::SizeRestrictions_BODY']);
  });

  test('Noncompliance 5: a rate-based rule that only counts', () => {
    const rules = requiredRules();
    rules[4] = rateRule({ count: {} });
    expect(granularFindings(aclWith(rules), rule)).toEqual(['NotBlocking::RateBasedRule']);
  });

  test('Noncompliance 6: an excluded rule (legacy Count)', () => {
    const rules = requiredRules({ excludedRules: [{ name: 'NoUserAgent_HEADER' }] });
    expect(granularFindings(aclWith(rules), rule)).toEqual(['CountOverride::AWSManagedRulesCommonRuleSet::NoUserAgent_HEADER']);
  });

  test('Compliance 1: every group blocking, rate-based rule blocking', () => {
    expectCompliant(aclWith(requiredRules()), rule);
  });

  test('Compliance 2: SizeRestrictions_BODY counted, with the ACL\'s own blocking body size rule', () => {
    const rules = [bodySizeRule, ...requiredRules({ ruleActionOverrides: [{ name: 'SizeRestrictions_BODY', actionToUse: { count: {} } }] })];
    expectCompliant(aclWith(rules), rule);
  });

  test('Compliance 3: a web ACL associated with no API is not applicable', () => {
    expectCompliant(aclWith([], false), rule);
  });
});

describe('FHIR.HIPAA-WAFv2LogRedaction', () => {
  const rule = 'WAFv2LogRedaction';
  const logging = (redactedFields?: wafv2.CfnLoggingConfiguration.FieldToMatchProperty[]) => {
    const stack = newStack();
    new wafv2.CfnLoggingConfiguration(stack, 'Logging', {
      resourceArn: 'arn:aws:wafv2:us-east-1:111122223333:regional/webacl/acl/id',
      logDestinationConfigs: ['arn:aws:logs:us-east-1:111122223333:log-group:aws-waf-logs-fhir'],
      redactedFields,
    });
    return stack;
  };

  test('Noncompliance 1: nothing redacted', () => {
    expect(granularFindings(logging(), rule)).toEqual(['NotRedacted::authorization', 'NotRedacted::cookie']);
  });

  test('Noncompliance 2: only the authorization header redacted', () => {
    expect(granularFindings(logging([{ singleHeader: { Name: 'authorization' } }]), rule)).toEqual(['NotRedacted::cookie']);
  });

  test('Compliance: both headers redacted, any case', () => {
    expectCompliant(logging([{ singleHeader: { Name: 'Authorization' } }, { singleHeader: { Name: 'Cookie' } }]), rule);
  });
});
