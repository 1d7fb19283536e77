/**
 * What the WAF drift guard expects of the web ACL in front of the FHIR API, and the names it
 * reports under. Pure data (no AWS SDK, no CDK): the guard, its command-line twin
 * (`bin/verify-waf.ts`) and the `FhirFirewall` construct all read it, so the rules the construct
 * deploys, the drift the guard looks for and the metrics its alarms watch cannot disagree.
 */

/**
 * The AWS managed rule groups that must run, blocking, in front of the API. The same list as
 * the `FHIR.HIPAA-WAFv2ManagedRuleGroups` rule's `REQUIRED_MANAGED_RULE_GROUPS` (a test keeps
 * the two equal; the rule cannot be imported here without pulling the CDK into the bundle).
 */
export const REQUIRED_MANAGED_RULE_GROUPS: readonly string[] = [
  'AWSManagedRulesCommonRuleSet',
  'AWSManagedRulesKnownBadInputsRuleSet',
  'AWSManagedRulesSQLiRuleSet',
  'AWSManagedRulesAmazonIpReputationList',
];

/** The anonymous-IP group: required (blocking) only when the firewall is configured to block. */
export const ANONYMOUS_IP_RULE_GROUP = 'AWSManagedRulesAnonymousIpList';

/**
 * The one rule of a required group that may be set to Count: the common rule set's 8 KB body
 * limit, which FHIR Bundles exceed, provided the web ACL blocks oversized bodies with its own
 * size-constraint rule on the body.
 */
export const COUNT_EXCEPTION = { group: 'AWSManagedRulesCommonRuleSet', rule: 'SizeRestrictions_BODY' } as const;

/**
 * The one route exempt from the re-blocking rules of {@link LABEL_EXCEPTIONS}: `GET` to
 * `/<version>/auth/authorize`, the SMART façade's authorization endpoint (a browser navigation
 * with OAuth query parameters; it validates them, redirects to Cognito and returns no data).
 * `uriPathRegex` is matched against the raw path (no text transformation: an encoded or
 * differently cased spelling is not exempt) and allows exactly one segment, the API version
 * (stage or base path), before `/auth/authorize`: `/v1/r4/auth/authorize`, a FHIR proxy path,
 * is not exempt.
 */
export const AUTHORIZE_EXEMPTION = { method: 'GET', uriPathRegex: '^/[^/]+/auth/authorize$' } as const;

/**
 * The largest query string, in bytes as sent (percent-encoded), that the web ACL lets through
 * once the common rule set's 2 KB `SizeRestrictions_QUERYSTRING` is replaced: the authorization
 * endpoint's own cap (`MAX_QUERY_CHARS` of `lambdas/smart-facade/authorize.ts`, 8192 decoded
 * characters; an encoded query is never shorter than its decoded names and values, so nothing
 * WAF passes is over the façade's cap).
 */
export const AUTHORIZE_MAX_QUERY_STRING_BYTES = 8192;

/** A rule of a required group set to Count and re-blocked by its label (see {@link LABEL_EXCEPTIONS}). */
export interface LabelException {
  readonly group: string;
  /** The rule's name in the group, as `RuleActionOverrides` names it. */
  readonly rule: string;
  /** The label the rule adds to a request it matches (AWS managed rule groups documentation). */
  readonly label: string;
  /** Also needs a blocking query-string size rule of at most {@link AUTHORIZE_MAX_QUERY_STRING_BYTES}. */
  readonly needsQueryStringSizeRule: boolean;
}

/**
 * Rules of the common rule set that would block legitimate SMART launches at the authorization
 * endpoint, set to Count and re-blocked everywhere else, following the label-match pattern AWS
 * documents for managed rule groups: a blocking rule after the group matches the rule's label
 * and not {@link AUTHORIZE_EXEMPTION}.
 * - `GenericRFI_QUERYARGUMENTS` blocks a query value holding a URL with an IPv4 host, such as the
 *   loopback `redirect_uri=http://127.0.0.1:8765/callback` RFC 8252 recommends for native apps.
 * - `SizeRestrictions_QUERYSTRING` blocks query strings over 2,048 bytes, which a launch with
 *   many scopes, a long `state` and a PKCE challenge can exceed; a blocking size rule of at most
 *   {@link AUTHORIZE_MAX_QUERY_STRING_BYTES} keeps the endpoint bounded.
 * Either override is drift unless the web ACL has the rule(s) that replace it.
 */
export const LABEL_EXCEPTIONS: readonly LabelException[] = [
  {
    group: 'AWSManagedRulesCommonRuleSet',
    rule: 'GenericRFI_QUERYARGUMENTS',
    label: 'awswaf:managed:aws:core-rule-set:GenericRFI_QueryArguments',
    needsQueryStringSizeRule: false,
  },
  {
    group: 'AWSManagedRulesCommonRuleSet',
    rule: 'SizeRestrictions_QUERYSTRING',
    label: 'awswaf:managed:aws:core-rule-set:SizeRestrictions_QueryString',
    needsQueryStringSizeRule: true,
  },
];

/** Request headers the WAF logs must redact (bearer tokens, session cookies). */
export const REDACTED_HEADERS: readonly string[] = ['authorization', 'cookie'];

/**
 * The kinds of drift the guard detects, each published as its own CloudWatch metric (0 or 1):
 * - `NotAssociated`: the stage has no web ACL.
 * - `DifferentWebAcl`: the stage is protected by a web ACL other than the expected one.
 * - `WebAclDeleted`: the expected web ACL no longer exists.
 * - `RuleGroupMissing`: a required AWS managed rule group is not in the expected web ACL.
 * - `RuleGroupNotBlocking`: a required group's override action is Count, or one of its rules is
 *   overridden to Count/Allow or excluded (except, overridden to Count, {@link COUNT_EXCEPTION}
 *   while the web ACL has its own blocking body-size rule, and each of {@link LABEL_EXCEPTIONS}
 *   while the web ACL re-blocks its label after the group, sparing only
 *   {@link AUTHORIZE_EXEMPTION}, and, where needed, has its own query-string size rule).
 * - `RateRuleMissing`: no blocking rate-based rule.
 * - `LoggingRemoved`: no logging configuration, no destination, or a filter that drops requests.
 * - `RedactionRemoved`: logging no longer redacts one of {@link REDACTED_HEADERS}.
 */
export const DRIFT_KINDS = [
  'NotAssociated',
  'DifferentWebAcl',
  'WebAclDeleted',
  'RuleGroupMissing',
  'RuleGroupNotBlocking',
  'RateRuleMissing',
  'LoggingRemoved',
  'RedactionRemoved',
] as const;

export type DriftKind = (typeof DRIFT_KINDS)[number];

/** CloudWatch metric name of a drift kind, e.g. `WafDriftNotAssociated`. */
export function driftMetricName(kind: DriftKind): string {
  return `WafDrift${kind}`;
}

/** Metric published as 1 when any check could not run (a WAF API error), else 0. */
export const CHECK_FAILED_METRIC = 'WafGuardCheckFailed';

/** The one dimension of every guard metric: which stage was checked. */
export const STAGE_ARN_DIMENSION = 'StageArn';

/** A REGIONAL web ACL's identity, parsed from its ARN. */
export interface WebAclIdentity {
  readonly arn: string;
  readonly partition: string;
  readonly region: string;
  readonly account: string;
  readonly name: string;
  readonly id: string;
  readonly scope: 'REGIONAL';
}

const WEB_ACL_ARN = /^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b):wafv2:([a-z0-9-]+):(\d{12}):regional\/webacl\/([A-Za-z0-9_-]{1,128})\/([A-Za-z0-9-]{1,128})$/;

/**
 * Parses `arn:<partition>:wafv2:<region>:<account>:regional/webacl/<name>/<id>`; `undefined`
 * for anything else (CloudFront-scoped `global/webacl/…` ARNs included: an API Gateway stage can
 * only use a REGIONAL web ACL).
 */
export function parseWebAclArn(arn: string): WebAclIdentity | undefined {
  const m = WEB_ACL_ARN.exec(arn.trim());
  if (!m) return undefined;
  return { arn: arn.trim(), partition: m[1], region: m[2], account: m[3], name: m[4], id: m[5], scope: 'REGIONAL' };
}

/** An API Gateway REST API stage, parsed from its ARN. */
export interface StageIdentity {
  readonly arn: string;
  readonly partition: string;
  readonly region: string;
  readonly restApiId: string;
  readonly stageName: string;
}

const STAGE_ARN = /^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b):apigateway:([a-z0-9-]+)::\/restapis\/([A-Za-z0-9]+)\/stages\/([A-Za-z0-9_-]+)$/;

/** Parses `arn:<partition>:apigateway:<region>::/restapis/<api>/stages/<stage>`; `undefined` otherwise. */
export function parseStageArn(arn: string): StageIdentity | undefined {
  const m = STAGE_ARN.exec(arn.trim());
  if (!m) return undefined;
  return { arn: arn.trim(), partition: m[1], region: m[2], restApiId: m[3], stageName: m[4] };
}
