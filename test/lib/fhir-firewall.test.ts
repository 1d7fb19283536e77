import type { WebACL } from '@aws-sdk/client-wafv2';
import { CfnResource, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { IConstruct } from 'constructs';
import { FhirKeys } from '../../lib/fhir-keys';
import { FhirFirewall, FhirFirewallProps, MAX_FIREWALL_STAGES, WAF_BODY_INSPECTION_LIMIT_BYTES } from '../../lib/fhir-firewall';
import { SECURITY_METRIC_NAMESPACE } from '../../lib/audit-trail';
import { KitFunction } from '../../lib/private/kit-function';
import { createAuditLogGroup } from '../../lib/private/log-group';
import { AUTHORIZE_MAX_QUERY_STRING_BYTES, DRIFT_KINDS, LABEL_EXCEPTIONS, driftMetricName } from '../../lambdas/waf-guard/expectations';
import { WAFv2ManagedRuleGroups } from '../../policies/compliance/rules/waf/WAFv2ManagedRuleGroups';
import { loggingDrift, ruleDrift } from '../../lambdas/waf-guard/guard';
import { createCompliancePacks } from '../../policies';
import { markPublicRoute } from '../../policies/compliance/public-routes';
import { createTestApp } from '../helpers/app';

const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: '$context.requestId',
  extendedRequestId: '$context.extendedRequestId',
  sourceIp: '$context.identity.sourceIp',
  principal: '$context.authorizer.principalId',
  status: '$context.status',
  tlsVersion: '$context.tlsVersion',
});
const HSTS = { 'Strict-Transport-Security': "'max-age=63072000; includeSubDomains'" };

interface Fixture {
  readonly stack: Stack;
  readonly keys: FhirKeys;
  readonly stage: apigateway.Stage;
  /** Every stage the firewall protects (`stage` first). */
  readonly stages: apigateway.Stage[];
  readonly topic: sns.Topic;
  readonly firewall: FhirFirewall;
}

/**
 * A minimal REST API (one method behind a Lambda request authorizer, JSON access logs to a CMK
 * log group, throttling, X-Ray, HSTS gateway responses) with its own deployment stage, and a
 * FhirFirewall on that stage; with `moreStageNames`, more stages of the same deployment (other
 * API versions) and a FhirFirewall on all of them (`stages`).
 */
function firewallStack(id: string, props: Partial<FhirFirewallProps> = {}, moreStageNames: string[] = []): Fixture {
  const stack = new Stack(createTestApp(), id);
  const keys = new FhirKeys(stack, 'Keys');
  const topic = new sns.Topic(stack, 'Alarms', { masterKey: keys.audit, enforceSSL: true });
  const accessLogs = createAuditLogGroup(stack, 'AccessLogs', { encryptionKey: keys.logs, retention: logs.RetentionDays.SIX_YEARS, owner: 'test' });
  const authorizerFn = new KitFunction(stack, 'AuthorizerFn', { handlerDir: 'smart-authorizer', description: 'test authorizer', logsKey: keys.logs, invocation: 'synchronous' });
  const api = new apigateway.RestApi(stack, 'Api', { deploy: false, cloudWatchRole: false, endpointTypes: [apigateway.EndpointType.REGIONAL] });
  const authorizer = new apigateway.RequestAuthorizer(stack, 'Authorizer', {
    handler: authorizerFn.fn,
    identitySources: [apigateway.IdentitySource.header('Authorization')],
    resultsCacheTtl: Duration.minutes(5),
  });
  const integration = new apigateway.MockIntegration({ integrationResponses: [{ statusCode: '200' }], requestTemplates: { 'application/json': '{"statusCode": 200}' } });
  const r4 = api.root.addResource('r4');
  r4.addResource('{proxy+}').addMethod('ANY', integration, { authorizer, methodResponses: [{ statusCode: '200' }] });
  const metadata = r4.addResource('metadata').addMethod('GET', integration, { methodResponses: [{ statusCode: '200' }] });
  markPublicRoute(metadata, { method: 'GET', path: '/r4/metadata', reason: 'SMART clients read the capability statement before they hold a token' });
  api.addGatewayResponse('Default4xx', { type: apigateway.ResponseType.DEFAULT_4XX, responseHeaders: HSTS });
  api.addGatewayResponse('Default5xx', { type: apigateway.ResponseType.DEFAULT_5XX, responseHeaders: HSTS });
  const deployment = new apigateway.Deployment(stack, 'Deployment', { api });
  const stageOf = (stageId: string, stageName: string) => new apigateway.Stage(stack, stageId, {
    deployment,
    stageName,
    accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
    accessLogFormat: apigateway.AccessLogFormat.custom(ACCESS_LOG_FORMAT),
    loggingLevel: apigateway.MethodLoggingLevel.ERROR,
    dataTraceEnabled: false,
    metricsEnabled: true,
    tracingEnabled: true,
    throttlingRateLimit: 100,
    throttlingBurstLimit: 200,
  });
  const stage = stageOf('Stage', 'r4');
  api.deploymentStage = stage;
  const stages = [stage, ...moreStageNames.map((name) => stageOf(`Stage-${name}`, name))];
  const protect = moreStageNames.length > 0 ? { stages } : { stage };
  const firewall = new FhirFirewall(stack, 'Firewall', { keys, ...protect, alarmTopic: topic, ...props });
  return { stack, keys, stage, stages, topic, firewall };
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const base = firewallStack('FirewallStack');
const template = Template.fromStack(base.stack);
const variant = firewallStack('VariantStack', {
  systemAllowList: ['203.0.113.0/24', '2001:db8::/48'],
  geoAllowList: ['US', 'CA'],
  anonymousIpAction: 'count',
  autoRemediate: true,
  rateLimitPerIp: 500,
  maxBodyBytes: 32768,
});
const variantTemplate = Template.fromStack(variant.stack);
/** Three API versions' stages (the deployment stage `r4`, `v2`, `v3-beta`), with auto-remediation. */
const multi = firewallStack('MultiStageStack', { autoRemediate: true }, ['v2', 'v3-beta']);
const multiTemplate = Template.fromStack(multi.stack);

/** The template entry of a construct (an L1, or an L2's default child). */
const resourceOf = (t: Template, construct: IConstruct, stack: Stack): Json =>
  t.toJSON().Resources[stack.getLogicalId((CfnResource.isCfnResource(construct) ? construct : construct.node.defaultChild) as CfnResource)];
const aclOf = (t: Template, f: Fixture): Json => resourceOf(t, f.firewall.webAcl, f.stack).Properties;
const rulesOf = (t: Template, f: Fixture): Json[] => aclOf(t, f).Rules;
const ruleNamed = (t: Template, f: Fixture, name: string): Json => {
  const rule = rulesOf(t, f).find((r) => r.Name === name);
  if (!rule) throw new Error(`no rule ${name}`);
  return rule;
};
const baseRules = rulesOf(template, base);
const guardPolicy = (t: Template, f: Fixture): Json[] => resourceOf(t, f.firewall.guard.role.policy, f.stack).Properties.PolicyDocument.Statement;
const statement = (statements: Json[], sid: string): Json => {
  const found = statements.find((s) => s.Sid === sid);
  if (!found) throw new Error(`no statement ${sid}`);
  return found;
};
const wafActions = (statements: Json[]): string[] =>
  statements.flatMap((s) => [s.Action].flat()).filter((a: string) => a.startsWith('wafv2:') || a.startsWith('apigateway:')).sort();

/** `Rule @ path` of every pack finding in the stack. */
function packFindings(stack: Stack): string[] {
  return createCompliancePacks().flatMap((pack) =>
    pack.validateScope(stack).violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} @ ${r.constructPath}`)),
  );
}

describe('FhirFirewall: the web ACL', () => {
  test('is REGIONAL and allows what no rule blocks', () => {
    expect(aclOf(template, base)).toMatchObject({ Scope: 'REGIONAL', DefaultAction: { Allow: {} } });
  });

  test('has CloudWatch metrics and sampled requests on the ACL and on every rule', () => {
    for (const v of [aclOf(template, base).VisibilityConfig, ...baseRules.map((r) => r.VisibilityConfig), ...rulesOf(variantTemplate, variant).map((r) => r.VisibilityConfig)]) {
      expect(v).toMatchObject({ CloudWatchMetricsEnabled: true, SampledRequestsEnabled: true, MetricName: expect.stringMatching(/^FhirFirewall-[\w-]+$/) });
    }
  });

  test('asks API Gateway to forward the largest body it can (64 KB) for inspection', () => {
    expect(aclOf(template, base).AssociationConfig).toEqual({ RequestBody: { API_GATEWAY: { DefaultSizeInspectionLimit: 'KB_64' } } });
    expect(WAF_BODY_INSPECTION_LIMIT_BYTES).toBe(65536);
  });

  test('rule priorities are unique and follow the documented order', () => {
    expect(baseRules.map((r) => r.Priority)).toEqual(baseRules.map((_r, i) => i));
    expect(baseRules.map((r) => r.Name)).toEqual([
      'AWSManagedRulesAmazonIpReputationList', 'AWSManagedRulesAnonymousIpList', 'RateLimitPerIp', 'BodySizeLimit',
      'AWSManagedRulesCommonRuleSet', 'GenericRFIQueryArgumentsExceptAuthorize', 'QueryStringSizeExceptAuthorize', 'QueryStringSizeLimit',
      'AWSManagedRulesKnownBadInputsRuleSet', 'AWSManagedRulesSQLiRuleSet',
    ]);
  });

  test('with the optional rules too, priorities stay unique and the label rules follow the common rule set at once', () => {
    const rules = rulesOf(variantTemplate, variant);
    expect(rules.map((r) => r.Priority)).toEqual(rules.map((_r, i) => i));
    const names = rules.map((r) => r.Name);
    expect(names.slice(0, 3)).toEqual(['GeoAllowList', 'SystemAllowListExport', 'SystemAllowListClientCredentials']);
    const common = names.indexOf('AWSManagedRulesCommonRuleSet');
    expect(names.slice(common, common + 4)).toEqual(['AWSManagedRulesCommonRuleSet', 'GenericRFIQueryArgumentsExceptAuthorize', 'QueryStringSizeExceptAuthorize', 'QueryStringSizeLimit']);
    expect(new Set(rules.map((r) => r.VisibilityConfig.MetricName)).size).toBe(rules.length);
  });

  test('the new rules have CloudWatch metrics and sampled requests named after them', () => {
    for (const name of ['GenericRFIQueryArgumentsExceptAuthorize', 'QueryStringSizeExceptAuthorize', 'QueryStringSizeLimit']) {
      expect(ruleNamed(template, base, name).VisibilityConfig).toEqual({ CloudWatchMetricsEnabled: true, SampledRequestsEnabled: true, MetricName: `FhirFirewall-${name}` });
    }
  });

  test.each(['AWSManagedRulesAmazonIpReputationList', 'AWSManagedRulesKnownBadInputsRuleSet', 'AWSManagedRulesSQLiRuleSet'])('runs %s, blocking, with no rule overridden', (group) => {
    const rule = ruleNamed(template, base, group);
    expect(rule.OverrideAction).toEqual({ None: {} });
    expect(rule.Statement).toEqual({ ManagedRuleGroupStatement: { VendorName: 'AWS', Name: group } });
  });

  test('runs the common rule set blocking, with only SizeRestrictions_BODY, GenericRFI_QUERYARGUMENTS and SizeRestrictions_QUERYSTRING counted', () => {
    for (const [t, f] of [[template, base], [variantTemplate, variant]] as const) {
      const rule = ruleNamed(t, f, 'AWSManagedRulesCommonRuleSet');
      expect(rule.OverrideAction).toEqual({ None: {} });
      expect(rule.Statement.ManagedRuleGroupStatement.RuleActionOverrides).toEqual([
        { Name: 'SizeRestrictions_BODY', ActionToUse: { Count: {} } },
        { Name: 'GenericRFI_QUERYARGUMENTS', ActionToUse: { Count: {} } },
        { Name: 'SizeRestrictions_QUERYSTRING', ActionToUse: { Count: {} } },
      ]);
      expect(rule.Statement.ManagedRuleGroupStatement.ExcludedRules).toBeUndefined();
    }
  });

  test.each([
    ['GenericRFIQueryArgumentsExceptAuthorize', 'awswaf:managed:aws:core-rule-set:GenericRFI_QueryArguments'],
    ['QueryStringSizeExceptAuthorize', 'awswaf:managed:aws:core-rule-set:SizeRestrictions_QueryString'],
  ])('%s blocks the label %s unless GET /<version>/auth/authorize, right after the common rule set', (name, label) => {
    const rule = ruleNamed(template, base, name);
    expect(rule).toEqual({
      Name: name,
      Priority: ruleNamed(template, base, 'AWSManagedRulesCommonRuleSet').Priority + (name.startsWith('Generic') ? 1 : 2),
      Action: { Block: {} },
      VisibilityConfig: { CloudWatchMetricsEnabled: true, SampledRequestsEnabled: true, MetricName: `FhirFirewall-${name}` },
      Statement: {
        AndStatement: {
          Statements: [
            { LabelMatchStatement: { Scope: 'LABEL', Key: label } },
            {
              NotStatement: {
                Statement: {
                  AndStatement: {
                    Statements: [
                      { ByteMatchStatement: { FieldToMatch: { Method: {} }, PositionalConstraint: 'EXACTLY', SearchString: 'GET', TextTransformations: [{ Priority: 0, Type: 'NONE' }] } },
                      { RegexMatchStatement: { FieldToMatch: { UriPath: {} }, RegexString: '^/[^/]+/auth/authorize$', TextTransformations: [{ Priority: 0, Type: 'NONE' }] } },
                    ],
                  },
                },
              },
            },
          ],
        },
      },
    });
    expect(LABEL_EXCEPTIONS.map((e) => e.label)).toContain(label);
  });

  test('QueryStringSizeLimit blocks a query string over 8,192 bytes (the authorization endpoint\'s cap), untransformed', () => {
    expect(ruleNamed(template, base, 'QueryStringSizeLimit')).toMatchObject({
      Action: { Block: {} },
      Statement: { SizeConstraintStatement: { FieldToMatch: { QueryString: {} }, ComparisonOperator: 'GT', Size: 8192, TextTransformations: [{ Priority: 0, Type: 'NONE' }] } },
    });
    expect(AUTHORIZE_MAX_QUERY_STRING_BYTES).toBe(8192);
  });

  test('replaces SizeRestrictions_BODY with its own blocking body-size rule: 64 KiB by default, oversize bodies blocked', () => {
    expect(ruleNamed(template, base, 'BodySizeLimit')).toMatchObject({
      Action: { Block: {} },
      Statement: { SizeConstraintStatement: { FieldToMatch: { Body: { OversizeHandling: 'MATCH' } }, ComparisonOperator: 'GT', Size: 65536 } },
    });
  });

  test('the body-size limit is configurable', () => {
    expect(ruleNamed(variantTemplate, variant, 'BodySizeLimit').Statement.SizeConstraintStatement.Size).toBe(32768);
  });

  test('runs the anonymous-IP group blocking by default', () => {
    expect(ruleNamed(template, base, 'AWSManagedRulesAnonymousIpList')).toMatchObject({ OverrideAction: { None: {} }, Statement: { ManagedRuleGroupStatement: { VendorName: 'AWS', Name: 'AWSManagedRulesAnonymousIpList' } } });
  });

  test('the anonymous-IP group can be set to count, with allow-listed system clients exempt', () => {
    const rule = ruleNamed(variantTemplate, variant, 'AWSManagedRulesAnonymousIpList');
    expect(rule.OverrideAction).toEqual({ Count: {} });
    expect(rule.Statement.ManagedRuleGroupStatement.ScopeDownStatement).toEqual({
      NotStatement: { Statement: { OrStatement: { Statements: variant.firewall.systemAllowListIpSets.map((s) => ({ IPSetReferenceStatement: { Arn: variant.stack.resolve(s.attrArn) } })) } } },
    });
  });

  test('blocks a source IP above 1000 requests per 5 minutes by default', () => {
    expect(ruleNamed(template, base, 'RateLimitPerIp')).toMatchObject({
      Action: { Block: {} },
      Statement: { RateBasedStatement: { AggregateKeyType: 'IP', Limit: 1000, EvaluationWindowSec: 300 } },
    });
  });

  test('the rate limit is configurable', () => {
    expect(ruleNamed(variantTemplate, variant, 'RateLimitPerIp').Statement.RateBasedStatement.Limit).toBe(500);
  });
});

/** A request as the rules after the managed groups see it: the labels earlier rules added. */
interface EvalRequest {
  readonly method: string;
  /** The raw URI path, as the client sent it. */
  readonly path: string;
  readonly labels: readonly string[];
  readonly queryBytes: number;
}

/** Evaluates the statements the label and size rules use, as WAF does; anything else throws. */
function matches(statement: Json, request: EvalRequest): boolean {
  const [kind, s] = Object.entries(statement)[0] as [string, Json];
  const untransformed = (t: Json[]) => t.every((x) => x.Type === 'NONE');
  switch (kind) {
    case 'AndStatement': return s.Statements.every((x: Json) => matches(x, request));
    case 'NotStatement': return !matches(s.Statement, request);
    case 'LabelMatchStatement':
      if (s.Scope !== 'LABEL') throw new Error('namespace scope');
      return request.labels.includes(s.Key);
    case 'ByteMatchStatement':
      if (!s.FieldToMatch.Method || s.PositionalConstraint !== 'EXACTLY' || !untransformed(s.TextTransformations)) throw new Error('unexpected byte match');
      return request.method === s.SearchString;
    case 'RegexMatchStatement':
      if (!s.FieldToMatch.UriPath || !untransformed(s.TextTransformations)) throw new Error('unexpected regex match');
      return new RegExp(s.RegexString).test(request.path);
    case 'SizeConstraintStatement':
      if (!s.FieldToMatch.QueryString || s.ComparisonOperator !== 'GT' || !untransformed(s.TextTransformations)) throw new Error('unexpected size constraint');
      return request.queryBytes > s.Size;
    default: throw new Error(`unsupported ${kind}`);
  }
}

/** The name of the first of the web ACL's custom rules after the common rule set that blocks `request`. */
function blockedBy(request: EvalRequest, t: Template = template, f: Fixture = base): string | undefined {
  const rules = rulesOf(t, f);
  const after = rules.slice(rules.findIndex((r) => r.Name === 'AWSManagedRulesCommonRuleSet') + 1).filter((r) => !r.Statement.ManagedRuleGroupStatement);
  return after.find((r) => r.Action?.Block && matches(r.Statement, request))?.Name;
}

describe('FhirFirewall: the authorization endpoint exception (label match)', () => {
  const RFI = 'awswaf:managed:aws:core-rule-set:GenericRFI_QueryArguments';
  const QUERY_SIZE = 'awswaf:managed:aws:core-rule-set:SizeRestrictions_QueryString';
  const request = (method: string, path: string, labels: string[], queryBytes = 300): EvalRequest => ({ method, path, labels, queryBytes });

  test.each(['/v1/auth/authorize', '/v2/auth/authorize', '/r4/auth/authorize', '/v3-beta/auth/authorize'])('GET %s with a loopback redirect_uri (RFI label) or a 4 KB query (size label) passes', (path) => {
    expect(blockedBy(request('GET', path, [RFI]))).toBeUndefined();
    expect(blockedBy(request('GET', path, [QUERY_SIZE], 4096))).toBeUndefined();
    expect(blockedBy(request('GET', path, [RFI, QUERY_SIZE], AUTHORIZE_MAX_QUERY_STRING_BYTES))).toBeUndefined();
  });

  test('a query over 8,192 bytes is blocked on the authorization endpoint too', () => {
    expect(blockedBy(request('GET', '/v1/auth/authorize', [QUERY_SIZE], AUTHORIZE_MAX_QUERY_STRING_BYTES + 1))).toBe('QueryStringSizeLimit');
  });

  test.each([
    ['GET', '/v1/r4/Patient'],
    ['GET', '/v1/r4/metadata'],
    ['POST', '/v1/auth/token'],
    ['GET', '/v1/auth/token'],
    ['POST', '/v1/auth/authorize'],
    ['HEAD', '/v1/auth/authorize'],
    ['get', '/v1/auth/authorize'],
    ['GET', '/v1/r4/auth/authorize'],
    ['GET', '/v1/r4/Patient/auth/authorize'],
    ['GET', '/auth/authorize'],
    ['GET', '/v1/auth/authorize/'],
    ['GET', '/v1/auth/Authorize'],
    ['GET', '/v1/auth/%61uthorize'],
    ['GET', '/v1/auth/authorize/x'],
    ['GET', '/v1/auth/authorizex'],
  ])('%s %s: either label is blocked, as before', (method, path) => {
    expect(blockedBy(request(method, path, [RFI]))).toBe('GenericRFIQueryArgumentsExceptAuthorize');
    expect(blockedBy(request(method, path, [QUERY_SIZE], 2049))).toBe('QueryStringSizeExceptAuthorize');
  });

  test('requests without either label are not touched by the new rules', () => {
    expect(blockedBy(request('GET', '/v1/r4/Patient', []))).toBeUndefined();
    expect(blockedBy(request('GET', '/v1/r4/Patient', ['awswaf:managed:aws:core-rule-set:SizeRestrictions_Body']))).toBeUndefined();
  });

  test('the same with the optional rules (allow-lists, geo)', () => {
    expect(blockedBy(request('GET', '/v1/auth/authorize', [RFI, QUERY_SIZE], 4096), variantTemplate, variant)).toBeUndefined();
    expect(blockedBy(request('GET', '/v1/r4/Patient', [RFI]), variantTemplate, variant)).toBe('GenericRFIQueryArgumentsExceptAuthorize');
  });

  test('the pack\'s managed-rule-group rule sees exactly the two new overrides, and the firewall acknowledges them', () => {
    expect(WAFv2ManagedRuleGroups(base.firewall.webAcl)).toEqual([
      'CountOverride::AWSManagedRulesCommonRuleSet::GenericRFI_QUERYARGUMENTS',
      'CountOverride::AWSManagedRulesCommonRuleSet::SizeRestrictions_QUERYSTRING',
    ]);
    // Acknowledged: the firewall's own findings are empty (see "compliance packs").
    expect(packFindings(base.stack).filter((x) => x.startsWith('FHIR.HIPAA-WAFv2ManagedRuleGroups'))).toEqual([]);
  });
});

describe('FhirFirewall: allow-lists', () => {
  test('the system allow-list becomes one IP set per IP version', () => {
    variantTemplate.resourceCountIs('AWS::WAFv2::IPSet', 2);
    variantTemplate.hasResourceProperties('AWS::WAFv2::IPSet', { Scope: 'REGIONAL', IPAddressVersion: 'IPV4', Addresses: ['203.0.113.0/24'] });
    variantTemplate.hasResourceProperties('AWS::WAFv2::IPSet', { Scope: 'REGIONAL', IPAddressVersion: 'IPV6', Addresses: ['2001:db8::/48'] });
    template.resourceCountIs('AWS::WAFv2::IPSet', 0);
  });

  test('blocks bulk $export (URL-decoded, lower-cased path) from outside the allow-list', () => {
    const rule = ruleNamed(variantTemplate, variant, 'SystemAllowListExport');
    expect(rule.Action).toEqual({ Block: {} });
    const [match, notAllowed] = rule.Statement.AndStatement.Statements;
    expect(match.ByteMatchStatement).toMatchObject({ FieldToMatch: { UriPath: {} }, PositionalConstraint: 'CONTAINS', SearchString: '$export' });
    expect(match.ByteMatchStatement.TextTransformations.map((t: Json) => t.Type)).toEqual(['URL_DECODE', 'LOWERCASE']);
    expect(notAllowed.NotStatement.Statement.OrStatement.Statements).toHaveLength(2);
  });

  test('blocks client_credentials token requests (body or query) from outside the allow-list', () => {
    const rule = ruleNamed(variantTemplate, variant, 'SystemAllowListClientCredentials');
    expect(rule.Action).toEqual({ Block: {} });
    const [path, grant, notAllowed] = rule.Statement.AndStatement.Statements;
    expect(path.ByteMatchStatement).toMatchObject({ FieldToMatch: { UriPath: {} }, SearchString: '/auth/token' });
    expect(grant.OrStatement.Statements.map((s: Json) => s.ByteMatchStatement.FieldToMatch)).toEqual([{ Body: { OversizeHandling: 'MATCH' } }, { QueryString: {} }]);
    expect(grant.OrStatement.Statements.every((s: Json) => s.ByteMatchStatement.SearchString === 'client_credentials')).toBe(true);
    expect(notAllowed).toHaveProperty('NotStatement');
  });

  test('an empty system allow-list blocks $export for everyone (an empty IPv4 set)', () => {
    const f = firewallStack('EmptyAllowList', { systemAllowList: [] });
    const t = Template.fromStack(f.stack);
    t.resourceCountIs('AWS::WAFv2::IPSet', 1);
    t.hasResourceProperties('AWS::WAFv2::IPSet', { IPAddressVersion: 'IPV4', Addresses: [] });
  });

  test('the geo allow-list blocks every other country, first', () => {
    const rule = rulesOf(variantTemplate, variant)[0];
    expect(rule).toMatchObject({ Name: 'GeoAllowList', Action: { Block: {} }, Statement: { NotStatement: { Statement: { GeoMatchStatement: { CountryCodes: ['US', 'CA'] } } } } });
  });
});

describe('FhirFirewall: association and logging', () => {
  test('associates the web ACL with the deployment stage and waits for it', () => {
    const association = resourceOf(template, base.firewall.association, base.stack);
    expect(association.Properties).toEqual({ ResourceArn: base.stack.resolve(base.stage.stageArn), WebACLArn: base.stack.resolve(base.firewall.webAcl.attrArn) });
    expect(association.DependsOn).toContain(base.stack.getLogicalId(base.stage.node.defaultChild as apigateway.CfnStage));
  });

  test('logs to an aws-waf-logs-<stack>- log group, CMK-encrypted, kept six years, retained', () => {
    const group = resourceOf(template, base.firewall.logGroup, base.stack);
    expect(group.Properties.LogGroupName).toMatch(/^aws-waf-logs-FirewallStack-[0-9a-f]{8}$/);
    expect(group.Properties).toMatchObject({ KmsKeyId: base.stack.resolve(base.keys.logs.keyArn), RetentionInDays: 2192 });
    expect(group.DeletionPolicy).toBe('Retain');
  });

  test('the logging configuration names the log group ARN without the ":*" suffix', () => {
    const logging = resourceOf(template, base.firewall.loggingConfiguration, base.stack).Properties;
    expect(logging.ResourceArn).toEqual(base.stack.resolve(base.firewall.webAcl.attrArn));
    const destination = JSON.stringify(logging.LogDestinationConfigs);
    expect(destination).toContain(':log-group:');
    expect(destination).toContain(base.stack.getLogicalId(base.firewall.logGroup.node.defaultChild as logs.CfnLogGroup));
    expect(destination).not.toContain(':*');
  });

  test('redacts the authorization and cookie headers and the query string', () => {
    const logging = resourceOf(template, base.firewall.loggingConfiguration, base.stack).Properties;
    expect(logging.RedactedFields).toEqual([{ SingleHeader: { Name: 'authorization' } }, { SingleHeader: { Name: 'cookie' } }, { QueryString: {} }]);
    expect(logging.LoggingFilter).toBeUndefined();
  });
});

describe('FhirFirewall: the drift guard', () => {
  const fn = (t: Template, f: Fixture): Json => resourceOf(t, f.firewall.guard.fn, f.stack);

  test('is told the stage, the expected web ACL and whether to remediate', () => {
    const env = fn(template, base).Properties.Environment.Variables;
    expect(env).toMatchObject({
      STAGE_ARNS: base.stack.resolve(base.stage.stageArn),
      WEB_ACL_ARN: base.stack.resolve(base.firewall.webAcl.attrArn),
      WEB_ACL_ID: base.stack.resolve(base.firewall.webAcl.attrId),
      WEB_ACL_SCOPE: 'REGIONAL',
      REMEDIATE: 'false',
      METRIC_NAMESPACE: SECURITY_METRIC_NAMESPACE,
    });
    expect(env.WEB_ACL_NAME).toEqual({ 'Fn::Select': [2, { 'Fn::Split': ['/', base.stack.resolve(base.firewall.webAcl.attrArn)] }] });
    expect(env.REQUIRED_RULE_GROUPS.split(',')).toContain('AWSManagedRulesAnonymousIpList');
    expect(fn(variantTemplate, variant).Properties.Environment.Variables).toMatchObject({ REMEDIATE: 'true' });
    expect(fn(variantTemplate, variant).Properties.Environment.Variables.REQUIRED_RULE_GROUPS.split(',')).not.toContain('AWSManagedRulesAnonymousIpList');
  });

  test('runs every 5 minutes from an EventBridge schedule', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: base.stack.resolve(base.firewall.guard.fn.functionArn) })],
    });
  });

  test('runs asynchronously with an encrypted dead-letter queue', () => {
    expect(fn(template, base).Properties.DeadLetterConfig).toEqual({ TargetArn: base.stack.resolve(base.firewall.guard.deadLetterQueue!.queueArn) });
  });

  test('may only read this web ACL, its logging and the stage association', () => {
    const statements = guardPolicy(template, base);
    expect(wafActions(statements)).toEqual(['wafv2:GetLoggingConfiguration', 'wafv2:GetWebACL', 'wafv2:GetWebACLForResource']);
    const acl = base.stack.resolve(base.firewall.webAcl.attrArn);
    const stageArn = base.stack.resolve(base.stage.stageArn);
    expect(statement(statements, 'ReadExpectedWebAcl').Resource).toEqual(acl);
    const association = statement(statements, 'ReadStageAssociation').Resource;
    expect(association).toContainEqual(acl);
    expect(association).toContainEqual(stageArn);
    expect(JSON.stringify(statements.filter((s) => s.Sid !== 'PublishDriftMetrics'))).not.toContain('"*"');
  });

  test('publishes metrics only to the security namespace', () => {
    expect(statement(guardPolicy(template, base), 'PublishDriftMetrics')).toEqual({
      Sid: 'PublishDriftMetrics', Effect: 'Allow', Action: 'cloudwatch:PutMetricData', Resource: '*',
      Condition: { StringEquals: { 'cloudwatch:namespace': SECURITY_METRIC_NAMESPACE } },
    });
  });

  test('with autoRemediate, may also re-associate this web ACL with this stage (and nothing else)', () => {
    const statements = guardPolicy(variantTemplate, variant);
    expect(wafActions(statements)).toEqual(['apigateway:SetWebACL', 'wafv2:AssociateWebACL', 'wafv2:GetLoggingConfiguration', 'wafv2:GetWebACL', 'wafv2:GetWebACLForResource']);
    const stageArn = variant.stack.resolve(variant.stage.stageArn);
    expect(statement(statements, 'ReassociateExpectedWebAcl').Resource).toEqual(expect.arrayContaining([variant.stack.resolve(variant.firewall.webAcl.attrArn), stageArn]));
    expect(statement(statements, 'SetWebAclOnStage').Resource).toEqual(stageArn);
  });

  test('one alarm per drift kind on its metric, to the alarm topic', () => {
    expect(base.firewall.driftAlarms).toHaveLength(DRIFT_KINDS.length);
    for (const kind of DRIFT_KINDS) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: SECURITY_METRIC_NAMESPACE,
        MetricName: driftMetricName(kind),
        Dimensions: [{ Name: 'StageArn', Value: base.stack.resolve(base.stage.stageArn) }],
        Statistic: 'Maximum',
        Period: 300,
        Threshold: 1,
        EvaluationPeriods: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        AlarmActions: [base.stack.resolve(base.topic.topicArn)],
      });
    }
  });

  test('a failed check, or a guard that stops reporting, alarms after 15 minutes', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'WafGuardCheckFailed',
      Dimensions: [{ Name: 'StageArn', Value: base.stack.resolve(base.stage.stageArn) }],
      EvaluationPeriods: 3,
      TreatMissingData: 'breaching',
      AlarmActions: [base.stack.resolve(base.topic.topicArn)],
    });
  });

  test('finds no drift in the web ACL and logging FhirFirewall deploys (the CloudFormation shapes are the API\'s)', () => {
    for (const [t, f] of [[template, base], [variantTemplate, variant]] as const) {
      const required = (fn(t, f).Properties.Environment.Variables.REQUIRED_RULE_GROUPS as string).split(',');
      expect(ruleDrift(aclOf(t, f) as WebACL, required)).toEqual([]);
      expect(loggingDrift(resourceOf(t, f.firewall.loggingConfiguration, f.stack).Properties)).toEqual([]);
    }
  });

  test('every created resource is a public field', () => {
    const f = base.firewall;
    expect(f.webAcl).toBeInstanceOf(wafv2.CfnWebACL);
    expect(f.association).toBeInstanceOf(wafv2.CfnWebACLAssociation);
    expect(f.stages).toEqual([base.stage]);
    expect(f.loggingConfiguration).toBeInstanceOf(wafv2.CfnLoggingConfiguration);
    expect(f.logGroup).toBeInstanceOf(logs.LogGroup);
    expect(f.guard.fn).toBeInstanceOf(lambda.Function);
    expect(f.schedule.node.path).toBe('FirewallStack/Firewall/Schedule');
    expect(variant.firewall.systemAllowListIpSets).toHaveLength(2);
  });
});

describe('FhirFirewall: every stage (one per API version)', () => {
  const r = (v: unknown) => multi.stack.resolve(v);
  const stageArns = multi.stages.map((st) => r(st.stageArn));
  /** The account-qualified spelling of a stage ARN that WAF's authorization reference uses. */
  const accountSpelling = (st: apigateway.Stage) => r(`arn:${Stack.of(st).partition}:apigateway:${Stack.of(st).region}:${Stack.of(st).account}:/restapis/${st.restApi.restApiId}/stages/${st.stageName}`);
  const alarms = (): Json[] => Object.values(multiTemplate.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
  const dimensionOf = (alarm: Json) => alarm.Dimensions?.[0]?.Value;

  test('one association per stage, each named after its stage (retiring or reordering a version moves no other association) and waiting for it', () => {
    multiTemplate.resourceCountIs('AWS::WAFv2::WebACLAssociation', 3);
    expect(multi.firewall.associations.map((a) => a.node.id)).toEqual(['Associationr4', 'Associationv2', 'Associationv3beta']);
    expect(multi.firewall.association).toBe(multi.firewall.associations[0]);
    multi.firewall.associations.forEach((association, i) => {
      const resource = resourceOf(multiTemplate, association, multi.stack);
      expect(resource.Properties).toEqual({ ResourceArn: stageArns[i], WebACLArn: r(multi.firewall.webAcl.attrArn) });
      expect(resource.DependsOn).toContain(multi.stack.getLogicalId(multi.stages[i].node.defaultChild as apigateway.CfnStage));
    });
  });

  test('the one-stage form keeps one association, with the id Association', () => {
    template.resourceCountIs('AWS::WAFv2::WebACLAssociation', 1);
    expect(base.firewall.associations).toEqual([base.firewall.association]);
    expect(base.firewall.association.node.id).toBe('Association');
  });

  test('the guard\'s environment lists every stage (STAGE_ARNS, space-separated)', () => {
    const env = resourceOf(multiTemplate, multi.firewall.guard.fn, multi.stack).Properties.Environment.Variables;
    expect(env.STAGE_ARNS).toEqual(r(multi.stages.map((st) => st.stageArn).join(' ')));
    for (const st of multi.stages) expect(JSON.stringify(env.STAGE_ARNS)).toContain(multi.stack.getLogicalId(st.node.defaultChild as apigateway.CfnStage));
    expect(env).not.toHaveProperty('STAGE_ARN');
  });

  test('IAM names every stage, in both spellings, and nothing else', () => {
    const statements = guardPolicy(multiTemplate, multi);
    const acl = r(multi.firewall.webAcl.attrArn);
    const bothSpellings = multi.stages.flatMap((st, i) => [stageArns[i], accountSpelling(st)]);
    const sorted = (arns: unknown[]) => arns.map((a) => JSON.stringify(a)).sort();
    expect(sorted(statement(statements, 'ReadStageAssociation').Resource)).toEqual(sorted([acl, ...bothSpellings]));
    expect(sorted(statement(statements, 'ReassociateExpectedWebAcl').Resource)).toEqual(sorted([acl, ...bothSpellings]));
    expect(sorted(statement(statements, 'SetWebAclOnStage').Resource)).toEqual(sorted(stageArns));
    expect(statement(statements, 'ReadExpectedWebAcl').Resource).toEqual(acl);
  });

  test('association drift alarms per stage, on that stage\'s metric, naming the stage', () => {
    for (const kind of ['NotAssociated', 'DifferentWebAcl'] as const) {
      const own = alarms().filter((a) => a.MetricName === driftMetricName(kind));
      expect(own.map(dimensionOf)).toEqual(stageArns);
      own.forEach((a, i) => expect(a.AlarmDescription).toMatch(new RegExp(`Stage: ${['r4', 'v2', 'v3-beta'][i]}\\.$`)));
    }
    expect(multi.firewall.driftAlarms).toHaveLength(2 * 3 + DRIFT_KINDS.length - 2);
    multiTemplate.resourceCountIs('AWS::CloudWatch::Alarm', 2 * 3 + DRIFT_KINDS.length - 2 + 1);
  });

  test.each([...DRIFT_KINDS.filter((k) => k !== 'NotAssociated' && k !== 'DifferentWebAcl').map(driftMetricName), 'WafGuardCheckFailed'])('one %s alarm over the maximum of every stage\'s metric', (metricName) => {
    const found = alarms().filter((a) => (a.Metrics ?? []).some((m: Json) => m.MetricStat?.Metric.MetricName === metricName));
    expect(found).toHaveLength(1);
    const metrics: Json[] = found[0].Metrics;
    expect(metrics.find((m) => m.ReturnData !== false)).toMatchObject({ Expression: 'MAX([s0, s1, s2])' });
    expect(metrics.filter((m) => m.MetricStat).map((m) => [m.Id, m.MetricStat.Metric.Dimensions, m.MetricStat.Stat])).toEqual(
      stageArns.map((arn, i) => [`s${i}`, [{ Name: 'StageArn', Value: arn }], 'Maximum']),
    );
    expect(found[0]).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', AlarmActions: [r(multi.topic.topicArn)] });
    expect(found[0].TreatMissingData).toBe(metricName === 'WafGuardCheckFailed' ? 'breaching' : 'notBreaching');
  });

  test('every stage is associated with a web ACL for every pack, and the firewall has no findings', () => {
    expect(packFindings(multi.stack).filter((x) => /WAF/i.test(x) || x.includes(`/${multi.firewall.node.id}/`))).toEqual([]);
  });
});

describe('FhirFirewall: compliance packs', () => {
  // The minimal API of the fixture still has findings that belong to API Gateway, not to the
  // firewall (client certificates, caching, request validation, Cognito authorizers, the
  // fixture's authorizer function outside a VPC, and FHIR.HIPAA-APIGWAccessLogging's
  // DestinationUnverifiable under the cdk.json flag apigateway:logGroupDestinationArnWithoutWildcard),
  // so the zero-findings assertion is filtered to the firewall's own construct paths.
  const firewallFindings = (f: Fixture) => packFindings(f.stack).filter((x) => x.includes(`/${f.firewall.node.id}/`));

  test('the firewall has zero findings in all three packs (defaults)', () => {
    expect(firewallFindings(base)).toEqual([]);
  });

  test('the firewall has zero findings in all three packs (allow-lists, count, auto-remediation)', () => {
    expect(firewallFindings(variant)).toEqual([]);
  });

  test('the stage is associated with a web ACL for every pack', () => {
    expect(packFindings(base.stack).filter((x) => /WAF/i.test(x))).toEqual([]);
  });
});

describe('FhirFirewall: refused configurations', () => {
  const build = (props: Partial<FhirFirewallProps>) => () => {
    const stack = new Stack(createTestApp(), 'Refused');
    const keys = new FhirKeys(stack, 'Keys');
    const api = new apigateway.RestApi(stack, 'Api');
    api.root.addMethod('GET', new apigateway.MockIntegration());
    new FhirFirewall(stack, 'Firewall', { keys, stage: api.deploymentStage, alarmTopic: new sns.Topic(stack, 'T'), ...props });
  };

  test('a body limit WAF cannot enforce (over 64 KiB)', () => {
    expect(build({ maxBodyBytes: 1024 * 1024 })).toThrow(/maxBodyBytes is 1048576.*64 KiB/);
  });

  test('a rate limit outside WAF\'s range', () => {
    expect(build({ rateLimitPerIp: 5 })).toThrow(/rateLimitPerIp is 5/);
  });

  test('counting anonymous IPs in production', () => {
    expect(build({ environment: 'production', anonymousIpAction: 'count' })).toThrow(/not allowed in production/);
    expect(build({ environment: 'staging', anonymousIpAction: 'count' })).not.toThrow();
  });

  test('a system allow-list entry that is not a CIDR block', () => {
    expect(build({ systemAllowList: ['203.0.113.10'] })).toThrow(/not a CIDR block/);
    expect(build({ systemAllowList: ['0.0.0.0/0'] })).toThrow(/not a CIDR block/);
  });

  test('an empty or malformed geo allow-list', () => {
    expect(build({ geoAllowList: [] })).toThrow(/would block every request/);
    expect(build({ geoAllowList: ['usa'] })).toThrow(/ISO 3166-1/);
  });

  describe('the stages', () => {
    /** A stack with an API of `names.length` stages (the first is the deployment stage). */
    const stagesOf = (names: string[], otherApiStage = false) => {
      const stack = new Stack(createTestApp(), 'Stages');
      const keys = new FhirKeys(stack, 'Keys');
      const api = new apigateway.RestApi(stack, 'Api', { deployOptions: { stageName: names[0] } });
      api.root.addMethod('GET', new apigateway.MockIntegration());
      const deployment = new apigateway.Deployment(stack, 'Deployment', { api });
      const stages = [api.deploymentStage, ...names.slice(1).map((name, i) => new apigateway.Stage(stack, `Stage${i}`, { deployment, stageName: name }))];
      if (otherApiStage) {
        const other = new apigateway.RestApi(stack, 'Other');
        other.root.addMethod('GET', new apigateway.MockIntegration());
        stages.push(other.deploymentStage);
      }
      return { stack, keys, stages, topic: new sns.Topic(stack, 'T') };
    };
    const firewall = (names: string[], pick: (stages: apigateway.Stage[]) => Partial<FhirFirewallProps>, otherApiStage = false) => () => {
      const f = stagesOf(names, otherApiStage);
      new FhirFirewall(f.stack, 'Firewall', { keys: f.keys, alarmTopic: f.topic, ...pick(f.stages) });
    };

    test('both stage and stages', () => {
      expect(firewall(['v1', 'v2'], (st) => ({ stage: st[0], stages: st }))).toThrow(/give either stage \(one stage\) or stages .*not both; put the stage into stages/);
    });

    test('neither stage nor stages', () => {
      expect(firewall(['v1'], () => ({}))).toThrow(/no stage to protect; give stages .* or stage/);
    });

    test('an empty list', () => {
      expect(firewall(['v1'], () => ({ stages: [] }))).toThrow(/stages is empty; list every API version's stage/);
    });

    test('a stage listed twice', () => {
      expect(firewall(['v1', 'v2'], (st) => ({ stages: [st[0], st[1], st[0]] }))).toThrow(/stages lists Stages\/Api\/DeploymentStage.v1 twice; list each stage once/);
    });

    test('stages of different REST APIs', () => {
      expect(firewall(['v1'], (st) => ({ stages: st }), true)).toThrow(/belong to different REST APIs; one FhirFirewall protects the stages of one API/);
    });

    test('more stages than the alarms can read', () => {
      const names = Array.from({ length: MAX_FIREWALL_STAGES + 1 }, (_v, i) => `v${i + 1}`);
      expect(firewall(names, (st) => ({ stages: st }))).toThrow(/stages lists 11 stages; one FhirFirewall protects at most 10/);
      expect(firewall(names.slice(0, MAX_FIREWALL_STAGES), (st) => ({ stages: st }))).not.toThrow();
    });

    test('stage names that give the same construct id', () => {
      expect(firewall(['v1', 'v1-0', 'v10'], (st) => ({ stages: st }))).toThrow(/have names that give the same construct id suffix "v10"; give the stages names that differ in letters or digits/);
    });
  });

  test('log retention under six years', () => {
    expect(build({ logRetention: logs.RetentionDays.ONE_YEAR })).toThrow(/2192/);
  });
});
