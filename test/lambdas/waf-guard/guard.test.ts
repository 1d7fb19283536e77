import { CloudWatchClient, PutMetricDataCommand, PutMetricDataCommandInput } from '@aws-sdk/client-cloudwatch';
import {
  AssociateWebACLCommand, GetLoggingConfigurationCommand, GetWebACLCommand, GetWebACLForResourceCommand, Rule, WAFV2Client,
} from '@aws-sdk/client-wafv2';
import { mockClient } from 'aws-sdk-client-mock';
import { DRIFT_KINDS, DriftKind } from '../../../lambdas/waf-guard/expectations';
import { GuardReport, WafGuardOptions, createWafGuard } from '../../../lambdas/waf-guard/guard';
import {
  ACL_ARN, ACL_ID, ACL_NAME, NAMESPACE, OTHER_ACL_ARN, STAGE_ARN, STAGE_ARN_V2, authorizeRoute, awsError, compliantAcl, compliantLogging, compliantRules,
} from './fixtures';

const waf = mockClient(WAFV2Client);
const cw = mockClient(CloudWatchClient);

beforeEach(() => {
  waf.reset();
  cw.reset();
  waf.on(GetWebACLForResourceCommand).resolves({ WebACL: compliantAcl() });
  waf.on(GetWebACLCommand).resolves({ WebACL: compliantAcl(), LockToken: 'lock' });
  waf.on(GetLoggingConfigurationCommand).resolves({ LoggingConfiguration: compliantLogging() });
  waf.on(AssociateWebACLCommand).resolves({});
  cw.on(PutMetricDataCommand).resolves({});
});

function guard(options: Partial<WafGuardOptions> = {}) {
  return createWafGuard({
    client: new WAFV2Client({ region: 'eu-west-1' }),
    cloudwatch: new CloudWatchClient({ region: 'eu-west-1' }),
    stageArn: STAGE_ARN,
    expectedWebAclArn: ACL_ARN,
    expectedWebAclName: ACL_NAME,
    expectedWebAclId: ACL_ID,
    scope: 'REGIONAL',
    remediate: false,
    namespace: NAMESPACE,
    now: () => new Date('2025-01-02T03:04:05Z'),
    ...options,
  });
}

const kinds = (report: GuardReport): DriftKind[] => [...new Set(report.drift.map((d) => d.kind))].sort();

/** The metrics of the one PutMetricData call, `{ name: value }`. */
function publishedMetrics(): Record<string, number> {
  const calls = cw.commandCalls(PutMetricDataCommand);
  expect(calls).toHaveLength(1);
  const input = calls[0].args[0].input as PutMetricDataCommandInput;
  expect(input.Namespace).toBe(NAMESPACE);
  for (const m of input.MetricData ?? []) expect(m.Dimensions).toEqual([{ Name: 'StageArn', Value: STAGE_ARN }]);
  return Object.fromEntries((input.MetricData ?? []).map((m) => [m.MetricName, m.Value]));
}

const withRules = (mutate: (rules: Rule[]) => Rule[]) => waf.on(GetWebACLCommand).resolves({ WebACL: compliantAcl(mutate(compliantRules())) });
const ruleOf = (rules: Rule[], name: string): Rule => rules.find((r) => r.Name === name)!;

describe('waf guard: no drift', () => {
  test('reports ok when associated, blocking, rate-limited and logging with redaction', async () => {
    const report = await guard().check();
    expect(report).toMatchObject({ ok: true, drift: [], failed: [], remediation: 'disabled', associatedWebAclArn: ACL_ARN, checkedAt: '2025-01-02T03:04:05.000Z' });
    expect(report.determined).toEqual([...DRIFT_KINDS]);
  });

  test('publishes 0 for every drift kind and for WafGuardCheckFailed', async () => {
    await guard().check();
    const metrics = publishedMetrics();
    expect(metrics).toEqual({ ...Object.fromEntries(DRIFT_KINDS.map((k) => [`WafDrift${k}`, 0])), WafGuardCheckFailed: 0 });
  });

  test('reads the expected web ACL by name, id and scope, and its logging by ARN', async () => {
    await guard().check();
    expect(waf.commandCalls(GetWebACLForResourceCommand)[0].args[0].input).toEqual({ ResourceArn: STAGE_ARN });
    expect(waf.commandCalls(GetWebACLCommand)[0].args[0].input).toEqual({ Name: ACL_NAME, Id: ACL_ID, Scope: 'REGIONAL' });
    expect(waf.commandCalls(GetLoggingConfigurationCommand)[0].args[0].input).toEqual({ ResourceArn: ACL_ARN });
  });

  test('publishes nothing without a CloudWatch client (the command line)', async () => {
    const report = await guard({ cloudwatch: undefined }).check();
    expect(report.ok).toBe(true);
    expect(cw.commandCalls(PutMetricDataCommand)).toHaveLength(0);
  });
});

describe('waf guard: each drift kind', () => {
  test('NotAssociated: the stage has no web ACL', async () => {
    waf.on(GetWebACLForResourceCommand).resolves({});
    const report = await guard().check();
    expect(kinds(report)).toEqual(['NotAssociated']);
    expect(report.ok).toBe(false);
    expect(publishedMetrics()).toMatchObject({ WafDriftNotAssociated: 1, WafDriftDifferentWebAcl: 0, WafGuardCheckFailed: 0 });
  });

  test('NotAssociated: WAF answers WAFNonexistentItemException', async () => {
    waf.on(GetWebACLForResourceCommand).rejects(awsError('WAFNonexistentItemException'));
    const report = await guard().check();
    expect(kinds(report)).toEqual(['NotAssociated']);
    expect(report.failed).toEqual([]);
  });

  test('DifferentWebAcl: another web ACL protects the stage', async () => {
    waf.on(GetWebACLForResourceCommand).resolves({ WebACL: { ...compliantAcl(), ARN: OTHER_ACL_ARN, Name: 'Legacy' } });
    const report = await guard().check();
    expect(kinds(report)).toEqual(['DifferentWebAcl']);
    expect(report.associatedWebAclArn).toBe(OTHER_ACL_ARN);
    expect(report.drift[0].detail).toContain(OTHER_ACL_ARN);
    expect(publishedMetrics()).toMatchObject({ WafDriftDifferentWebAcl: 1 });
  });

  test('WebAclDeleted: the expected web ACL no longer exists', async () => {
    waf.on(GetWebACLCommand).rejects(awsError('WAFNonexistentItemException'));
    const report = await guard().check();
    expect(kinds(report)).toEqual(['WebAclDeleted']);
    expect(report.failed).toEqual([]);
  });

  test('RuleGroupMissing: a required managed rule group was removed', async () => {
    withRules((rules) => rules.filter((r) => r.Name !== 'AWSManagedRulesSQLiRuleSet'));
    const report = await guard().check();
    expect(report.drift).toEqual([{ kind: 'RuleGroupMissing', detail: 'AWSManagedRulesSQLiRuleSet is not in the web ACL' }]);
    expect(publishedMetrics()).toMatchObject({ WafDriftRuleGroupMissing: 1, WafDriftRuleGroupNotBlocking: 0 });
  });

  test('RuleGroupMissing: a group from the same vendor-less name does not count', async () => {
    withRules((rules) => rules.map((r) => (r.Name === 'AWSManagedRulesKnownBadInputsRuleSet' ? { ...r, Statement: { ManagedRuleGroupStatement: { VendorName: 'Acme', Name: r.Name } } } : r)));
    expect(kinds(await guard().check())).toEqual(['RuleGroupMissing']);
  });

  test('RuleGroupNotBlocking: a required group switched to Count', async () => {
    withRules((rules) => rules.map((r) => (r.Name === 'AWSManagedRulesCommonRuleSet' ? { ...r, OverrideAction: { Count: {} } } : r)));
    const report = await guard().check();
    expect(kinds(report)).toEqual(['RuleGroupNotBlocking']);
    expect(report.drift[0].detail).toMatch(/AWSManagedRulesCommonRuleSet.*Count/);
    expect(publishedMetrics()).toMatchObject({ WafDriftRuleGroupNotBlocking: 1 });
  });

  test('RuleGroupNotBlocking: one rule of a required group overridden to Count', async () => {
    withRules((rules) => {
      ruleOf(rules, 'AWSManagedRulesSQLiRuleSet').Statement!.ManagedRuleGroupStatement!.RuleActionOverrides = [{ Name: 'SQLi_BODY', ActionToUse: { Count: {} } }];
      return rules;
    });
    const report = await guard().check();
    expect(report.drift).toEqual([{ kind: 'RuleGroupNotBlocking', detail: 'AWSManagedRulesSQLiRuleSet rule SQLi_BODY is overridden to Count' }]);
  });

  test('RuleGroupNotBlocking: one rule overridden to Allow, or excluded', async () => {
    withRules((rules) => {
      ruleOf(rules, 'AWSManagedRulesKnownBadInputsRuleSet').Statement!.ManagedRuleGroupStatement!.RuleActionOverrides = [{ Name: 'Log4JRCE_BODY', ActionToUse: { Allow: {} } }];
      ruleOf(rules, 'AWSManagedRulesAmazonIpReputationList').Statement!.ManagedRuleGroupStatement!.ExcludedRules = [{ Name: 'AWSManagedIPReputationList' }];
      return rules;
    });
    const details = (await guard().check()).drift.map((d) => `${d.kind}: ${d.detail}`);
    expect(details).toEqual([
      'RuleGroupNotBlocking: AWSManagedRulesKnownBadInputsRuleSet rule Log4JRCE_BODY is overridden to Allow',
      'RuleGroupNotBlocking: AWSManagedRulesAmazonIpReputationList rule AWSManagedIPReputationList is excluded (counted, not blocked)',
    ]);
  });

  test('RuleGroupNotBlocking: SizeRestrictions_BODY counted once the kit\'s own size rule is gone', async () => {
    withRules((rules) => rules.filter((r) => r.Name !== 'BodySizeLimit'));
    const report = await guard().check();
    expect(kinds(report)).toEqual(['RuleGroupNotBlocking']);
    expect(report.drift[0].detail).toContain('SizeRestrictions_BODY');
  });

  test('RuleGroupNotBlocking: SizeRestrictions_BODY overridden to Allow, even with the kit\'s own size rule (Allow ends the evaluation)', async () => {
    withRules((rules) => {
      ruleOf(rules, 'AWSManagedRulesCommonRuleSet').Statement!.ManagedRuleGroupStatement!.RuleActionOverrides![0].ActionToUse = { Allow: {} };
      return rules;
    });
    const report = await guard().check();
    expect(report.drift).toEqual([{ kind: 'RuleGroupNotBlocking', detail: 'AWSManagedRulesCommonRuleSet rule SizeRestrictions_BODY is overridden to Allow' }]);
  });

  test('the anonymous-IP group is checked when required (configured to block)', async () => {
    withRules((rules) => rules.map((r) => (r.Name === 'AWSManagedRulesAnonymousIpList' ? { ...r, OverrideAction: { Count: {} } } : r)));
    expect(kinds(await guard().check())).toEqual([]);
    const required = ['AWSManagedRulesCommonRuleSet', 'AWSManagedRulesAnonymousIpList'];
    expect(kinds(await guard({ requiredRuleGroups: required }).check())).toEqual(['RuleGroupNotBlocking']);
  });

  test('RateRuleMissing: the rate-based rule was removed', async () => {
    withRules((rules) => rules.filter((r) => r.Name !== 'RateLimitPerIp'));
    const report = await guard().check();
    expect(report.drift).toEqual([{ kind: 'RateRuleMissing', detail: 'the web ACL has no rate-based rule' }]);
    expect(publishedMetrics()).toMatchObject({ WafDriftRateRuleMissing: 1 });
  });

  test('RateRuleMissing: the rate-based rule only counts', async () => {
    withRules((rules) => rules.map((r) => (r.Name === 'RateLimitPerIp' ? { ...r, Action: { Count: {} } } : r)));
    expect(kinds(await guard().check())).toEqual(['RateRuleMissing']);
  });

  test('LoggingRemoved: the web ACL has no logging configuration', async () => {
    waf.on(GetLoggingConfigurationCommand).rejects(awsError('WAFNonexistentItemException'));
    const report = await guard().check();
    expect(kinds(report)).toEqual(['LoggingRemoved']);
    expect(report.failed).toEqual([]);
    expect(publishedMetrics()).toMatchObject({ WafDriftLoggingRemoved: 1 });
  });

  test('LoggingRemoved: no destination, or a filter that drops requests', async () => {
    waf.on(GetLoggingConfigurationCommand).resolves({ LoggingConfiguration: { ...compliantLogging(), LogDestinationConfigs: [] } });
    expect(kinds(await guard().check())).toEqual(['LoggingRemoved']);
    waf.on(GetLoggingConfigurationCommand).resolves({
      LoggingConfiguration: { ...compliantLogging(), LoggingFilter: { DefaultBehavior: 'DROP', Filters: [{ Behavior: 'KEEP', Requirement: 'MEETS_ANY', Conditions: [{ ActionCondition: { Action: 'BLOCK' } }] }] } },
    });
    const report = await guard().check();
    expect(report.drift).toEqual([{ kind: 'LoggingRemoved', detail: 'a logging filter drops requests from the log' }]);
  });

  test('RedactionRemoved: the cookie header is no longer redacted', async () => {
    waf.on(GetLoggingConfigurationCommand).resolves({ LoggingConfiguration: { ...compliantLogging(), RedactedFields: [{ SingleHeader: { Name: 'authorization' } }] } });
    const report = await guard().check();
    expect(report.drift).toEqual([{ kind: 'RedactionRemoved', detail: 'the cookie header is no longer redacted from the logs' }]);
    expect(publishedMetrics()).toMatchObject({ WafDriftRedactionRemoved: 1, WafDriftLoggingRemoved: 0 });
  });

  test('header names are compared case-insensitively', async () => {
    waf.on(GetLoggingConfigurationCommand).resolves({ LoggingConfiguration: { ...compliantLogging(), RedactedFields: [{ SingleHeader: { Name: 'Authorization' } }, { SingleHeader: { Name: 'COOKIE' } }] } });
    expect((await guard().check()).ok).toBe(true);
  });
});

describe('waf guard: the authorization endpoint exception (label match)', () => {
  const RFI = 'GenericRFI_QUERYARGUMENTS';
  const QUERY_SIZE = 'SizeRestrictions_QUERYSTRING';
  const RFI_LABEL = 'awswaf:managed:aws:core-rule-set:GenericRFI_QueryArguments';
  const QUERY_SIZE_LABEL = 'awswaf:managed:aws:core-rule-set:SizeRestrictions_QueryString';
  const details = (report: GuardReport) => report.drift.map((d) => `${d.kind}: ${d.detail}`);
  const noRfiRule = `RuleGroupNotBlocking: AWSManagedRulesCommonRuleSet rule ${RFI} is overridden to Count and the web ACL has no blocking rule after the group on its label ${RFI_LABEL} (sparing at most GET ^/[^/]+/auth/authorize$)`;
  const noQuerySizeRule = `RuleGroupNotBlocking: AWSManagedRulesCommonRuleSet rule ${QUERY_SIZE} is overridden to Count and the web ACL has no blocking rule after the group on its label ${QUERY_SIZE_LABEL} (sparing at most GET ^/[^/]+/auth/authorize$)`;
  const noSizeLimit = `RuleGroupNotBlocking: AWSManagedRulesCommonRuleSet rule ${QUERY_SIZE} is overridden to Count and the web ACL has no blocking query-string size rule of at most 8192 bytes`;
  /** The `i`th statement of a re-blocking rule's AND (0: the label match, 1: NOT the route). */
  const part = (rule: Rule, i: number) => rule.Statement!.AndStatement!.Statements![i];
  const route = (rule: Rule) => part(rule, 1).NotStatement!.Statement!.AndStatement!.Statements!;

  test('the expected web ACL (the two overrides, their re-blocking rules and the size limit) is not drift', async () => {
    expect((await guard().check()).drift).toEqual([]);
  });

  test('without the rule re-blocking GenericRFI_QueryArguments: drift', async () => {
    withRules((rules) => rules.filter((r) => r.Name !== 'GenericRFIQueryArgumentsExceptAuthorize'));
    const report = await guard().check();
    expect(details(report)).toEqual([noRfiRule]);
    expect(publishedMetrics()).toMatchObject({ WafDriftRuleGroupNotBlocking: 1 });
  });

  test('without the rule re-blocking SizeRestrictions_QueryString: drift', async () => {
    withRules((rules) => rules.filter((r) => r.Name !== 'QueryStringSizeExceptAuthorize'));
    expect(details(await guard().check())).toEqual([noQuerySizeRule]);
  });

  test('without the query-string size limit: drift', async () => {
    withRules((rules) => rules.filter((r) => r.Name !== 'QueryStringSizeLimit'));
    expect(details(await guard().check())).toEqual([noSizeLimit]);
  });

  test.each<[string, (rule: Rule) => void]>([
    ['raised above 8192 bytes', (r) => { r.Statement!.SizeConstraintStatement!.Size = 8193; }],
    ['URL-decoded first (a smaller size)', (r) => { r.Statement!.SizeConstraintStatement!.TextTransformations = [{ Priority: 0, Type: 'URL_DECODE' }]; }],
    ['switched to Count', (r) => { r.Action = { Count: {} }; }],
    ['on the URI path instead', (r) => { r.Statement!.SizeConstraintStatement!.FieldToMatch = { UriPath: {} }; }],
  ])('a query-string size limit %s: drift', async (_what, mutate) => {
    withRules((rules) => {
      mutate(ruleOf(rules, 'QueryStringSizeLimit'));
      return rules;
    });
    expect(details(await guard().check())).toEqual([noSizeLimit]);
  });

  test.each<[string, (rule: Rule) => void]>([
    ['counting instead of blocking', (r) => { r.Action = { Count: {} }; }],
    ['evaluated before the group (a label match sees only earlier rules\' labels)', (r) => { r.Priority = 3; }],
    ['matching another label', (r) => { part(r, 0).LabelMatchStatement!.Key = 'awswaf:managed:aws:core-rule-set:GenericRFI_Body'; }],
    ['matching a namespace', (r) => { part(r, 0).LabelMatchStatement!.Scope = 'NAMESPACE'; }],
    ['sparing any path ending in /auth/authorize', (r) => { route(r)[1].RegexMatchStatement!.RegexString = '/auth/authorize$'; }],
    ['sparing a lower-cased, URL-decoded path', (r) => { route(r)[1].RegexMatchStatement!.TextTransformations = [{ Priority: 0, Type: 'URL_DECODE' }, { Priority: 1, Type: 'LOWERCASE' }]; }],
    ['sparing every method', (r) => { part(r, 1).NotStatement!.Statement = { AndStatement: { Statements: [route(r)[1]] } }; }],
    ['sparing POST', (r) => { route(r)[0].ByteMatchStatement!.SearchString = new TextEncoder().encode('POST'); }],
    ['sparing everything but the route (the NOT dropped)', (r) => { r.Statement!.AndStatement!.Statements![1] = authorizeRoute(); }],
    ['with a third condition that narrows it', (r) => { r.Statement!.AndStatement!.Statements!.push({ GeoMatchStatement: { CountryCodes: ['US'] } }); }],
  ])('the rule re-blocking GenericRFI_QueryArguments %s: drift', async (_what, mutate) => {
    withRules((rules) => {
      mutate(ruleOf(rules, 'GenericRFIQueryArgumentsExceptAuthorize'));
      return rules;
    });
    expect(details(await guard().check())).toEqual([noRfiRule]);
  });

  test('a re-blocking rule that spares nothing (the label alone) is stricter, not drift', async () => {
    withRules((rules) => {
      ruleOf(rules, 'GenericRFIQueryArgumentsExceptAuthorize').Statement = { LabelMatchStatement: { Scope: 'LABEL', Key: RFI_LABEL } };
      return rules;
    });
    expect((await guard().check()).drift).toEqual([]);
  });

  test('the route\'s conditions in either order, and the search string as CloudFormation spells it, are not drift', async () => {
    withRules((rules) => {
      const r = ruleOf(rules, 'QueryStringSizeExceptAuthorize');
      const [method, path] = route(r);
      method.ByteMatchStatement!.SearchString = 'GET' as unknown as Uint8Array;
      part(r, 1).NotStatement!.Statement!.AndStatement!.Statements = [path, method];
      r.Statement!.AndStatement!.Statements!.reverse();
      return rules;
    });
    expect((await guard().check()).drift).toEqual([]);
  });

  test('another rule of the common rule set overridden to Count is drift, re-blocking rules or not', async () => {
    withRules((rules) => {
      ruleOf(rules, 'AWSManagedRulesCommonRuleSet').Statement!.ManagedRuleGroupStatement!.RuleActionOverrides!.push({ Name: 'CrossSiteScripting_QUERYARGUMENTS', ActionToUse: { Count: {} } });
      return rules;
    });
    expect(details(await guard().check())).toEqual(['RuleGroupNotBlocking: AWSManagedRulesCommonRuleSet rule CrossSiteScripting_QUERYARGUMENTS is overridden to Count']);
  });

  test('the same override in another group is drift (the exception is the common rule set\'s)', async () => {
    withRules((rules) => {
      ruleOf(rules, 'AWSManagedRulesKnownBadInputsRuleSet').Statement!.ManagedRuleGroupStatement!.RuleActionOverrides = [{ Name: RFI, ActionToUse: { Count: {} } }];
      return rules;
    });
    expect(details(await guard().check())).toEqual([`RuleGroupNotBlocking: AWSManagedRulesKnownBadInputsRuleSet rule ${RFI} is overridden to Count`]);
  });

  test('an excepted rule overridden to Allow, or excluded, is drift even with its re-blocking rule', async () => {
    withRules((rules) => {
      const statement = ruleOf(rules, 'AWSManagedRulesCommonRuleSet').Statement!.ManagedRuleGroupStatement!;
      statement.RuleActionOverrides = statement.RuleActionOverrides!.map((o) => (o.Name === RFI ? { ...o, ActionToUse: { Allow: {} } } : o)).filter((o) => o.Name !== QUERY_SIZE);
      statement.ExcludedRules = [{ Name: QUERY_SIZE }];
      return rules;
    });
    expect(details(await guard().check())).toEqual([
      `RuleGroupNotBlocking: AWSManagedRulesCommonRuleSet rule ${RFI} is overridden to Allow`,
      `RuleGroupNotBlocking: AWSManagedRulesCommonRuleSet rule ${QUERY_SIZE} is excluded (counted, not blocked)`,
    ]);
  });

  test('re-blocking rules without the overrides are harmless (the group blocks by itself)', async () => {
    withRules((rules) => {
      const statement = ruleOf(rules, 'AWSManagedRulesCommonRuleSet').Statement!.ManagedRuleGroupStatement!;
      statement.RuleActionOverrides = statement.RuleActionOverrides!.filter((o) => o.Name === 'SizeRestrictions_BODY');
      return rules;
    });
    expect((await guard().check()).drift).toEqual([]);
  });
});

describe('waf guard: WAF API errors are failed checks, never "no drift"', () => {
  test('ThrottlingException on GetWebACLForResource', async () => {
    waf.on(GetWebACLForResourceCommand).rejects(awsError('ThrottlingException', 'Rate exceeded'));
    const report = await guard().check();
    expect(report.ok).toBe(false);
    expect(report.drift).toEqual([]);
    expect(report.failed).toEqual([{
      check: 'Association', operation: 'GetWebACLForResource', error: 'ThrottlingException', message: 'Rate exceeded', undetermined: ['NotAssociated', 'DifferentWebAcl'], stageArn: STAGE_ARN,
    }]);
    expect(report.determined).not.toContain('NotAssociated');
  });

  test('the undetermined kinds are not published as 0, and WafGuardCheckFailed is 1', async () => {
    waf.on(GetWebACLForResourceCommand).rejects(awsError('ThrottlingException'));
    await guard().check();
    const metrics = publishedMetrics();
    expect(metrics.WafGuardCheckFailed).toBe(1);
    expect(metrics).not.toHaveProperty('WafDriftNotAssociated');
    expect(metrics).not.toHaveProperty('WafDriftDifferentWebAcl');
    expect(metrics.WafDriftRuleGroupMissing).toBe(0);
  });

  test('AccessDeniedException on GetWebACLForResource hints at a different web ACL', async () => {
    waf.on(GetWebACLForResourceCommand).rejects(awsError('AccessDeniedException', 'not authorized to perform wafv2:GetWebACL'));
    const report = await guard().check();
    expect(report.failed[0]).toMatchObject({ check: 'Association', error: 'AccessDeniedException' });
    expect(report.failed[0].message).toMatch(/different one/);
  });

  test('AccessDeniedException on GetWebACL', async () => {
    waf.on(GetWebACLCommand).rejects(awsError('AccessDeniedException'));
    const report = await guard().check();
    expect(report.failed).toEqual([expect.objectContaining({ check: 'WebAcl', operation: 'GetWebACL', error: 'AccessDeniedException', undetermined: ['WebAclDeleted', 'RuleGroupMissing', 'RuleGroupNotBlocking', 'RateRuleMissing'] })]);
    expect(report.drift).toEqual([]);
    const metrics = publishedMetrics();
    expect(metrics).toMatchObject({ WafGuardCheckFailed: 1, WafDriftNotAssociated: 0, WafDriftLoggingRemoved: 0 });
    expect(metrics).not.toHaveProperty('WafDriftRuleGroupMissing');
  });

  test('ThrottlingException on GetLoggingConfiguration', async () => {
    waf.on(GetLoggingConfigurationCommand).rejects(awsError('ThrottlingException'));
    const report = await guard().check();
    expect(report.failed).toEqual([expect.objectContaining({ check: 'Logging', error: 'ThrottlingException', undetermined: ['LoggingRemoved', 'RedactionRemoved'] })]);
    expect(publishedMetrics()).not.toHaveProperty('WafDriftRedactionRemoved');
  });

  test('an internal error and drift together: both reported', async () => {
    waf.on(GetWebACLForResourceCommand).resolves({});
    waf.on(GetWebACLCommand).rejects(awsError('WAFInternalErrorException'));
    const report = await guard().check();
    expect(kinds(report)).toEqual(['NotAssociated']);
    expect(report.failed.map((f) => f.error)).toEqual(['WAFInternalErrorException']);
  });

  test('a failed PutMetricData is reported as a failed check', async () => {
    cw.on(PutMetricDataCommand).rejects(awsError('AccessDeniedException'));
    const report = await guard().check();
    expect(report.ok).toBe(false);
    expect(report.failed).toEqual([expect.objectContaining({ check: 'Metrics', operation: 'PutMetricData', error: 'AccessDeniedException' })]);
  });
});

describe('waf guard: remediation', () => {
  test('off: drift is reported, nothing is re-associated', async () => {
    waf.on(GetWebACLForResourceCommand).resolves({});
    const report = await guard({ remediate: false }).check();
    expect(report.remediation).toBe('disabled');
    expect(waf.commandCalls(AssociateWebACLCommand)).toHaveLength(0);
  });

  test('on: a stage without a web ACL gets the expected one back, and the drift is still reported', async () => {
    waf.on(GetWebACLForResourceCommand).resolves({});
    const report = await guard({ remediate: true }).check();
    expect(report.remediation).toBe('reassociated');
    expect(kinds(report)).toEqual(['NotAssociated']);
    expect(waf.commandCalls(AssociateWebACLCommand).map((c) => c.args[0].input)).toEqual([{ WebACLArn: ACL_ARN, ResourceArn: STAGE_ARN }]);
    expect(publishedMetrics()).toMatchObject({ WafDriftNotAssociated: 1, WafGuardCheckFailed: 0 });
  });

  test('on: a stage with a different web ACL is re-associated with the expected one', async () => {
    waf.on(GetWebACLForResourceCommand).resolves({ WebACL: { ...compliantAcl(), ARN: OTHER_ACL_ARN } });
    const report = await guard({ remediate: true }).check();
    expect(report.remediation).toBe('reassociated');
    expect(waf.commandCalls(AssociateWebACLCommand)).toHaveLength(1);
  });

  test('on: nothing to do when the association is right (other drift is not "remediated")', async () => {
    withRules((rules) => rules.filter((r) => r.Name !== 'RateLimitPerIp'));
    const report = await guard({ remediate: true }).check();
    expect(report.remediation).toBe('not-needed');
    expect(waf.commandCalls(AssociateWebACLCommand)).toHaveLength(0);
  });

  test('on: impossible when the expected web ACL was deleted', async () => {
    waf.on(GetWebACLForResourceCommand).resolves({});
    waf.on(GetWebACLCommand).rejects(awsError('WAFNonexistentItemException'));
    const report = await guard({ remediate: true }).check();
    expect(report.remediation).toBe('impossible');
    expect(waf.commandCalls(AssociateWebACLCommand)).toHaveLength(0);
  });

  test('on: a failed AssociateWebACL is a failed check', async () => {
    waf.on(GetWebACLForResourceCommand).resolves({});
    waf.on(AssociateWebACLCommand).rejects(awsError('AccessDeniedException'));
    const report = await guard({ remediate: true }).check();
    expect(report.remediation).toBe('failed');
    expect(report.failed).toEqual([expect.objectContaining({ check: 'Remediation', operation: 'AssociateWebACL', error: 'AccessDeniedException' })]);
    expect(publishedMetrics()).toMatchObject({ WafDriftNotAssociated: 1, WafGuardCheckFailed: 1 });
  });

  test('on: not attempted when the association check itself failed', async () => {
    waf.on(GetWebACLForResourceCommand).rejects(awsError('ThrottlingException'));
    const report = await guard({ remediate: true }).check();
    expect(report.remediation).toBe('not-needed');
    expect(waf.commandCalls(AssociateWebACLCommand)).toHaveLength(0);
  });
});

describe('waf guard: every stage (one per API version)', () => {
  const both = (options: Partial<WafGuardOptions> = {}) => guard({ stageArn: undefined, stageArns: [STAGE_ARN, STAGE_ARN_V2], ...options });
  const secondStageOnly = () => waf.on(GetWebACLForResourceCommand, { ResourceArn: STAGE_ARN_V2 }).resolves({});

  /** The metrics of the one PutMetricData call, `{ stageArn: { name: value } }`. */
  function metricsByStage(): Record<string, Record<string, number>> {
    const calls = cw.commandCalls(PutMetricDataCommand);
    expect(calls).toHaveLength(1);
    const out: Record<string, Record<string, number>> = {};
    for (const m of (calls[0].args[0].input as PutMetricDataCommandInput).MetricData ?? []) {
      expect(m.Dimensions).toHaveLength(1);
      expect(m.Dimensions![0].Name).toBe('StageArn');
      (out[m.Dimensions![0].Value!] ??= {})[m.MetricName!] = m.Value!;
    }
    return out;
  }

  test('checks each stage\'s association, and the web ACL and its logging once', async () => {
    const report = await both().check();
    expect(report).toMatchObject({ ok: true, stageArns: [STAGE_ARN, STAGE_ARN_V2], stages: [{ stageArn: STAGE_ARN, associatedWebAclArn: ACL_ARN }, { stageArn: STAGE_ARN_V2, associatedWebAclArn: ACL_ARN }] });
    expect(waf.commandCalls(GetWebACLForResourceCommand).map((c) => c.args[0].input)).toEqual([{ ResourceArn: STAGE_ARN }, { ResourceArn: STAGE_ARN_V2 }]);
    expect(waf.commandCalls(GetWebACLCommand)).toHaveLength(1);
    expect(waf.commandCalls(GetLoggingConfigurationCommand)).toHaveLength(1);
  });

  test('no drift: every metric is published under each stage', async () => {
    await both().check();
    const zero = { ...Object.fromEntries(DRIFT_KINDS.map((k) => [`WafDrift${k}`, 0])), WafGuardCheckFailed: 0 };
    expect(metricsByStage()).toEqual({ [STAGE_ARN]: zero, [STAGE_ARN_V2]: zero });
  });

  test('drift on the second stage only is detected, named and published under that stage', async () => {
    secondStageOnly();
    const report = await both().check();
    expect(report.ok).toBe(false);
    expect(report.drift).toEqual([{ kind: 'NotAssociated', detail: 'the stage has no web ACL', stageArn: STAGE_ARN_V2 }]);
    expect(report.stages.map((st) => st.drift.map((d) => d.kind))).toEqual([[], ['NotAssociated']]);
    const metrics = metricsByStage();
    expect(metrics[STAGE_ARN]).toMatchObject({ WafDriftNotAssociated: 0, WafGuardCheckFailed: 0 });
    expect(metrics[STAGE_ARN_V2]).toMatchObject({ WafDriftNotAssociated: 1, WafDriftDifferentWebAcl: 0, WafGuardCheckFailed: 0 });
  });

  test('drift on the second stage only is remediated on that stage only', async () => {
    secondStageOnly();
    const report = await both({ remediate: true }).check();
    expect(report.remediation).toBe('reassociated');
    expect(report.stages.map((st) => st.remediation)).toEqual(['not-needed', 'reassociated']);
    expect(waf.commandCalls(AssociateWebACLCommand).map((c) => c.args[0].input)).toEqual([{ WebACLArn: ACL_ARN, ResourceArn: STAGE_ARN_V2 }]);
  });

  test('a failed re-association is that stage\'s failed check', async () => {
    secondStageOnly();
    waf.on(AssociateWebACLCommand).rejects(awsError('AccessDeniedException'));
    const report = await both({ remediate: true }).check();
    expect(report.remediation).toBe('failed');
    expect(report.failed).toEqual([expect.objectContaining({ check: 'Remediation', stageArn: STAGE_ARN_V2 })]);
    const metrics = metricsByStage();
    expect(metrics[STAGE_ARN].WafGuardCheckFailed).toBe(0);
    expect(metrics[STAGE_ARN_V2].WafGuardCheckFailed).toBe(1);
  });

  test('a failed association check of one stage leaves only that stage\'s association kinds undetermined', async () => {
    waf.on(GetWebACLForResourceCommand, { ResourceArn: STAGE_ARN_V2 }).rejects(awsError('ThrottlingException'));
    const report = await both().check();
    expect(report.failed).toEqual([expect.objectContaining({ check: 'Association', stageArn: STAGE_ARN_V2 })]);
    expect(report.determined).not.toContain('NotAssociated');
    const metrics = metricsByStage();
    expect(metrics[STAGE_ARN]).toMatchObject({ WafDriftNotAssociated: 0, WafGuardCheckFailed: 0 });
    expect(metrics[STAGE_ARN_V2]).not.toHaveProperty('WafDriftNotAssociated');
    expect(metrics[STAGE_ARN_V2]).toMatchObject({ WafDriftRuleGroupMissing: 0, WafGuardCheckFailed: 1 });
  });

  test('web ACL drift is one finding, published under every stage', async () => {
    withRules((rules) => rules.filter((r) => r.Name !== 'RateLimitPerIp'));
    const report = await both().check();
    expect(report.drift).toEqual([{ kind: 'RateRuleMissing', detail: 'the web ACL has no rate-based rule' }]);
    const metrics = metricsByStage();
    expect([metrics[STAGE_ARN].WafDriftRateRuleMissing, metrics[STAGE_ARN_V2].WafDriftRateRuleMissing]).toEqual([1, 1]);
  });

  test('a failed shared check is every stage\'s failed check', async () => {
    waf.on(GetLoggingConfigurationCommand).rejects(awsError('ThrottlingException'));
    await both().check();
    const metrics = metricsByStage();
    for (const arn of [STAGE_ARN, STAGE_ARN_V2]) {
      expect(metrics[arn].WafGuardCheckFailed).toBe(1);
      expect(metrics[arn]).not.toHaveProperty('WafDriftLoggingRemoved');
    }
  });

  test.each([
    [{ stageArn: undefined, stageArns: [] }, /at least one stage/],
    [{ stageArns: [STAGE_ARN_V2] }, /not both/],
    [{ stageArn: undefined, stageArns: [STAGE_ARN, STAGE_ARN] }, /a stage twice/],
  ])('refuses %j', (options, message) => {
    expect(() => guard(options as Partial<WafGuardOptions>)).toThrow(message);
  });
});
