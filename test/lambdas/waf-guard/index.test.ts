import type { mockClient } from 'aws-sdk-client-mock';
import type { GuardReport } from '../../../lambdas/waf-guard/guard';
import { parseWafGuardEnvironment, wafGuardEnvironment, type WafGuardEnvironment } from '../../../lambdas/waf-guard/environment';
import { guardFromEnvironment } from '../../../lambdas/waf-guard/index';
import { ACL_ARN, ACL_ID, ACL_NAME, NAMESPACE, STAGE_ARN, STAGE_ARN_V2, compliantAcl, compliantLogging } from './fixtures';

/** The variables of a release before API versions (one stage, `STAGE_ARN`). */
const ENV = {
  STAGE_ARN,
  WEB_ACL_ARN: ACL_ARN,
  WEB_ACL_NAME: ACL_NAME,
  WEB_ACL_ID: ACL_ID,
  WEB_ACL_SCOPE: 'REGIONAL',
  REMEDIATE: 'false',
  METRIC_NAMESPACE: NAMESPACE,
  REQUIRED_RULE_GROUPS: 'AWSManagedRulesCommonRuleSet,AWSManagedRulesAnonymousIpList',
};

type Handler = () => Promise<GuardReport>;
type Mocks = { waf: ReturnType<typeof mockClient>; cw: ReturnType<typeof mockClient> };

/**
 * A fresh copy of the handler module run with `env`. The module and its AWS SDK clients are
 * loaded in an isolated registry, so the SDK mocks are set up on that registry's classes.
 */
function loadHandler(env: Record<string, string | undefined>, setup: (m: Mocks, sdk: { wafv2: typeof import('@aws-sdk/client-wafv2') }) => void = () => undefined): { run: Handler } & Mocks {
  let handler: Handler | undefined;
  let mocks: Mocks | undefined;
  const level = process.env.POWERTOOLS_LOG_LEVEL;
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  jest.isolateModules(() => {
    /* eslint-disable @typescript-eslint/no-require-imports */
    const wafv2 = require('@aws-sdk/client-wafv2') as typeof import('@aws-sdk/client-wafv2');
    const cloudwatch = require('@aws-sdk/client-cloudwatch') as typeof import('@aws-sdk/client-cloudwatch');
    const mock = (require('aws-sdk-client-mock') as typeof import('aws-sdk-client-mock')).mockClient;
    mocks = { waf: mock(wafv2.WAFV2Client), cw: mock(cloudwatch.CloudWatchClient) };
    mocks.waf.on(wafv2.GetWebACLForResourceCommand).resolves({ WebACL: compliantAcl() });
    mocks.waf.on(wafv2.GetWebACLCommand).resolves({ WebACL: compliantAcl() });
    mocks.waf.on(wafv2.GetLoggingConfigurationCommand).resolves({ LoggingConfiguration: compliantLogging() });
    mocks.cw.on(cloudwatch.PutMetricDataCommand).resolves({});
    setup(mocks, { wafv2 });
    handler = (require('../../../lambdas/waf-guard/index') as { handler: Handler }).handler;
    /* eslint-enable @typescript-eslint/no-require-imports */
  });
  if (level === undefined) delete process.env.POWERTOOLS_LOG_LEVEL;
  else process.env.POWERTOOLS_LOG_LEVEL = level;
  const run = async () => {
    const saved = { ...process.env };
    Object.assign(process.env, { POWERTOOLS_LOG_LEVEL: 'SILENT', AWS_REGION: 'eu-west-1' }, env);
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
    try {
      return await handler!();
    } finally {
      process.env = saved;
    }
  };
  return { run, ...mocks! };
}

describe('waf-guard handler wiring', () => {
  test('runs the check from the environment and returns the report', async () => {
    const { run, waf, cw } = loadHandler(ENV);
    const report = await run();
    expect(report).toMatchObject({ ok: true, stageArn: STAGE_ARN, expectedWebAclArn: ACL_ARN });
    expect(waf.calls().map((c) => c.args[0].input)).toContainEqual({ Name: ACL_NAME, Id: ACL_ID, Scope: 'REGIONAL' });
    expect(cw.calls()[0].args[0].input).toMatchObject({ Namespace: NAMESPACE });
  });

  test('REQUIRED_RULE_GROUPS sets the groups that must block', async () => {
    const { run } = loadHandler(ENV, ({ waf }, { wafv2 }) => {
      waf.on(wafv2.GetWebACLCommand).resolves({ WebACL: compliantAcl(compliantAcl().Rules!.filter((r) => r.Name !== 'AWSManagedRulesAnonymousIpList')) });
    });
    const report = await run();
    expect(report.drift).toEqual([{ kind: 'RuleGroupMissing', detail: 'AWSManagedRulesAnonymousIpList is not in the web ACL' }]);
  });

  test('no stage at all: STAGE_ARNS is not set', () => {
    expect(() => guardFromEnvironment({ ...ENV, STAGE_ARN: undefined })).toThrow(/^STAGE_ARNS: is not set/);
  });

  test('a configuration error fails the invocation (retried, then dead-lettered)', async () => {
    const { run, waf } = loadHandler({ ...ENV, WEB_ACL_ID: undefined });
    await expect(run()).rejects.toThrow('WEB_ACL_ID: is not set');
    expect(waf.calls()).toHaveLength(0);
  });

  test('checks every stage of STAGE_ARNS: drift on the second only', async () => {
    const { STAGE_ARN: _legacy, ...rest } = ENV;
    const { run, waf } = loadHandler({ ...rest, STAGE_ARNS: `${STAGE_ARN} ${STAGE_ARN_V2}` }, ({ waf: w }, { wafv2 }) => {
      w.on(wafv2.GetWebACLForResourceCommand, { ResourceArn: STAGE_ARN_V2 }).resolves({});
    });
    const report = await run();
    expect(report.stageArns).toEqual([STAGE_ARN, STAGE_ARN_V2]);
    expect(report.drift).toEqual([{ kind: 'NotAssociated', detail: 'the stage has no web ACL', stageArn: STAGE_ARN_V2 }]);
    expect(waf.calls().map((c) => c.args[0].input)).toEqual(expect.arrayContaining([{ ResourceArn: STAGE_ARN }, { ResourceArn: STAGE_ARN_V2 }]));
  });

  test('STAGE_ARNS wins over the one-stage STAGE_ARN of earlier releases', () => {
    expect(guardFromEnvironment({ ...ENV, STAGE_ARNS: STAGE_ARN_V2 })).toBeDefined();
    expect(parseWafGuardEnvironment({ ...ENV, STAGE_ARNS: STAGE_ARN_V2 }).stageArns).toEqual([STAGE_ARN_V2]);
    expect(parseWafGuardEnvironment(ENV).stageArns).toEqual([STAGE_ARN]);
  });

  test.each([
    ['STAGE_ARNS', `${STAGE_ARN} arn:aws:apigateway:eu-west-1::/apis/abc`, /^STAGE_ARNS: entry 2 is not an API Gateway stage ARN/],
    ['STAGE_ARNS', `${STAGE_ARN} ${STAGE_ARN_V2} ${STAGE_ARN}`, /^STAGE_ARNS: entry 3 repeats an earlier stage/],
    ['STAGE_ARN', 'arn:aws:apigateway:eu-west-1::/apis/abc', /^STAGE_ARN: is not an API Gateway stage ARN/],
    ['WEB_ACL_ARN', 'arn:aws:wafv2:us-east-1:123456789012:global/webacl/x/y', /^WEB_ACL_ARN: is not a REGIONAL/],
    ['WEB_ACL_SCOPE', 'CLOUDFRONT', /^WEB_ACL_SCOPE: must be REGIONAL/],
    ['REMEDIATE', 'yes', /^REMEDIATE: must be true or false/],
  ])('refuses a bad %s', (name, value, message) => {
    expect(() => guardFromEnvironment({ ...ENV, [name]: value })).toThrow(message);
  });
});

describe('the environment contract (lambdas/waf-guard/environment.ts)', () => {
  const FULL: WafGuardEnvironment = {
    stageArns: [STAGE_ARN, STAGE_ARN_V2],
    webAclArn: ACL_ARN,
    webAclName: ACL_NAME,
    webAclId: ACL_ID,
    webAclScope: 'REGIONAL',
    remediate: true,
    metricNamespace: NAMESPACE,
    requiredRuleGroups: ['AWSManagedRulesCommonRuleSet', 'AWSManagedRulesAnonymousIpList'],
  };

  test('round-trips: what FhirFirewall writes is what the handler reads', () => {
    expect(parseWafGuardEnvironment(wafGuardEnvironment(FULL))).toEqual(FULL);
    const { requiredRuleGroups: _omitted, ...minimal } = { ...FULL, remediate: false };
    expect(parseWafGuardEnvironment(wafGuardEnvironment(minimal))).toEqual(minimal);
  });

  test('the writer names the setting', () => {
    expect(() => wafGuardEnvironment({ ...FULL, webAclArn: 'arn:aws:wafv2:us-east-1:123456789012:global/webacl/x/y' })).toThrow(/^webAclArn: is not a REGIONAL web ACL ARN/);
    expect(() => wafGuardEnvironment({ ...FULL, requiredRuleGroups: ['Common Rule Set'] })).toThrow(/^requiredRuleGroups: must be a list of managed rule group names/);
    expect(() => wafGuardEnvironment({ ...FULL, stageArns: [] })).toThrow(/^stageArns: must list at least one API Gateway stage ARN/);
    expect(() => wafGuardEnvironment({ ...FULL, stageArns: [STAGE_ARN, 'arn:aws:apigateway:eu-west-1::/apis/abc'] })).toThrow(/^stageArns: entry 2 is not an API Gateway stage ARN/);
    expect(() => wafGuardEnvironment({ ...FULL, stageArns: [STAGE_ARN, STAGE_ARN] })).toThrow(/^stageArns: entry 2 repeats an earlier stage/);
  });

  test('the writer lists the stages space-separated in STAGE_ARNS, and checks only literal ones', () => {
    expect(wafGuardEnvironment(FULL).STAGE_ARNS).toBe(`${STAGE_ARN} ${STAGE_ARN_V2}`);
    expect(wafGuardEnvironment(FULL)).not.toHaveProperty('STAGE_ARN');
    const token = '${Token[TOKEN.1]}';
    expect(wafGuardEnvironment({ ...FULL, stageArns: [token, STAGE_ARN] }, { isUnresolved: (v) => v === token }).STAGE_ARNS).toBe(`${token} ${STAGE_ARN}`);
  });
});
