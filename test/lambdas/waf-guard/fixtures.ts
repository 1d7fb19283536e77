import type { LoggingConfiguration, Rule, Statement, WebACL } from '@aws-sdk/client-wafv2';

export const REGION = 'eu-west-1';
export const ACCOUNT = '123456789012';
export const ACL_NAME = 'FirewallE7948B04-Ab3dEf';
export const ACL_ID = '0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b';
export const ACL_ARN = `arn:aws:wafv2:${REGION}:${ACCOUNT}:regional/webacl/${ACL_NAME}/${ACL_ID}`;
export const OTHER_ACL_ARN = `arn:aws:wafv2:${REGION}:${ACCOUNT}:regional/webacl/Legacy/11111111-2222-3333-4444-555555555555`;
export const STAGE_ARN = `arn:aws:apigateway:${REGION}::/restapis/a1b2c3d4e5/stages/r4`;
/** A second stage of the same API (another API version). */
export const STAGE_ARN_V2 = `arn:aws:apigateway:${REGION}::/restapis/a1b2c3d4e5/stages/v2`;
export const NAMESPACE = 'ZeroTrustFhir/Security';

const visibility = (name: string) => ({ CloudWatchMetricsEnabled: true, SampledRequestsEnabled: true, MetricName: `FhirFirewall-${name}` });

const managed = (name: string, priority: number, extra: Partial<NonNullable<Rule['Statement']>['ManagedRuleGroupStatement']> = {}): Rule => ({
  Name: name,
  Priority: priority,
  OverrideAction: { None: {} },
  Statement: { ManagedRuleGroupStatement: { VendorName: 'AWS', Name: name, ...extra } },
  VisibilityConfig: visibility(name),
});

/** The rules FhirFirewall deploys (defaults), as WAF returns them. */
export function compliantRules(): Rule[] {
  return [
    managed('AWSManagedRulesAmazonIpReputationList', 0),
    managed('AWSManagedRulesAnonymousIpList', 1),
    {
      Name: 'RateLimitPerIp', Priority: 2, Action: { Block: {} },
      Statement: { RateBasedStatement: { AggregateKeyType: 'IP', Limit: 1000, EvaluationWindowSec: 300 } },
      VisibilityConfig: visibility('RateLimitPerIp'),
    },
    {
      Name: 'BodySizeLimit', Priority: 3, Action: { Block: {} },
      Statement: { SizeConstraintStatement: { FieldToMatch: { Body: { OversizeHandling: 'MATCH' } }, ComparisonOperator: 'GT', Size: 65536, TextTransformations: [{ Priority: 0, Type: 'NONE' }] } },
      VisibilityConfig: visibility('BodySizeLimit'),
    },
    managed('AWSManagedRulesCommonRuleSet', 4, {
      RuleActionOverrides: ['SizeRestrictions_BODY', 'GenericRFI_QUERYARGUMENTS', 'SizeRestrictions_QUERYSTRING'].map((Name) => ({ Name, ActionToUse: { Count: {} } })),
    }),
    reblock('GenericRFIQueryArgumentsExceptAuthorize', 5, 'awswaf:managed:aws:core-rule-set:GenericRFI_QueryArguments'),
    reblock('QueryStringSizeExceptAuthorize', 6, 'awswaf:managed:aws:core-rule-set:SizeRestrictions_QueryString'),
    {
      Name: 'QueryStringSizeLimit', Priority: 7, Action: { Block: {} },
      Statement: { SizeConstraintStatement: { FieldToMatch: { QueryString: {} }, ComparisonOperator: 'GT', Size: 8192, TextTransformations: [{ Priority: 0, Type: 'NONE' }] } },
      VisibilityConfig: visibility('QueryStringSizeLimit'),
    },
    managed('AWSManagedRulesKnownBadInputsRuleSet', 8),
    managed('AWSManagedRulesSQLiRuleSet', 9),
  ];
}

/** `GET /<version>/auth/authorize`, as WAF returns it (a byte match's search string is a blob). */
export function authorizeRoute(): Statement {
  return {
    AndStatement: {
      Statements: [
        { ByteMatchStatement: { FieldToMatch: { Method: {} }, PositionalConstraint: 'EXACTLY', SearchString: new TextEncoder().encode('GET'), TextTransformations: [{ Priority: 0, Type: 'NONE' }] } },
        { RegexMatchStatement: { FieldToMatch: { UriPath: {} }, RegexString: '^/[^/]+/auth/authorize$', TextTransformations: [{ Priority: 0, Type: 'NONE' }] } },
      ],
    },
  };
}

/** A rule blocking a request with `label` unless it is `GET /<version>/auth/authorize`. */
function reblock(name: string, priority: number, label: string): Rule {
  return {
    Name: name, Priority: priority, Action: { Block: {} },
    Statement: { AndStatement: { Statements: [{ LabelMatchStatement: { Scope: 'LABEL', Key: label } }, { NotStatement: { Statement: authorizeRoute() } }] } },
    VisibilityConfig: visibility(name),
  };
}

export function compliantAcl(rules: Rule[] = compliantRules()): WebACL {
  return { Name: ACL_NAME, Id: ACL_ID, ARN: ACL_ARN, DefaultAction: { Allow: {} }, Rules: rules, VisibilityConfig: visibility('WebAcl') };
}

export function compliantLogging(): LoggingConfiguration {
  return {
    ResourceArn: ACL_ARN,
    LogDestinationConfigs: [`arn:aws:logs:${REGION}:${ACCOUNT}:log-group:aws-waf-logs-ZeroTrustFhir-c8e4e98b`],
    RedactedFields: [{ SingleHeader: { Name: 'authorization' } }, { SingleHeader: { Name: 'cookie' } }, { QueryString: {} }],
  };
}

/** An AWS SDK service error as the SDK throws it (`name` is the error code). */
export function awsError(name: string, message = name): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: 400 } });
}
