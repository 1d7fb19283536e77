import { GetLoggingConfigurationCommand, GetWebACLCommand, GetWebACLForResourceCommand, WAFV2Client } from '@aws-sdk/client-wafv2';
import { mockClient } from 'aws-sdk-client-mock';
import { EXIT_CHECK_FAILED, EXIT_DRIFT, EXIT_OK, EXIT_USAGE, main, parseArgs } from '../../../bin/verify-waf';
import { ACL_ARN, ACL_ID, ACL_NAME, STAGE_ARN, awsError, compliantAcl, compliantLogging } from './fixtures';

const waf = mockClient(WAFV2Client);

beforeEach(() => {
  waf.reset();
  waf.on(GetWebACLForResourceCommand).resolves({ WebACL: compliantAcl() });
  waf.on(GetWebACLCommand).resolves({ WebACL: compliantAcl() });
  waf.on(GetLoggingConfigurationCommand).resolves({ LoggingConfiguration: compliantLogging() });
});

const ARGS = ['--stage-arn', STAGE_ARN, '--web-acl-arn', ACL_ARN];

/** Runs the CLI in-process; returns the exit code and what it printed. */
async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { client: new WAFV2Client({ region: 'eu-west-1' }), out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('verify-waf: arguments', () => {
  test('reads the web ACL name and id, and the region, from the ARN', () => {
    expect(parseArgs(ARGS)).toEqual({ stageArn: STAGE_ARN, webAclArn: ACL_ARN, webAclName: ACL_NAME, webAclId: ACL_ID, region: 'eu-west-1', json: false });
  });

  test('accepts --flag=value, --region and --json', () => {
    expect(parseArgs([`--stage-arn=${STAGE_ARN}`, `--web-acl-arn=${ACL_ARN}`, '--region', 'eu-west-1', '--json'])).toMatchObject({ region: 'eu-west-1', json: true });
  });

  test.each([
    [[], /--stage-arn is required/],
    [['--stage-arn', STAGE_ARN], /--web-acl-arn is required/],
    [['--stage-arn', 'arn:aws:apigateway:eu-west-1::/restapis/abc', '--web-acl-arn', ACL_ARN], /not an API Gateway REST API stage ARN/],
    [['--stage-arn', STAGE_ARN, '--web-acl-arn', 'arn:aws:wafv2:us-east-1:123456789012:global/webacl/n/i'], /not a REGIONAL web ACL ARN/],
    [['--stage-arn', STAGE_ARN.replace('eu-west-1', 'us-east-1'), '--web-acl-arn', ACL_ARN], /different regions/],
    [[...ARGS, '--region'], /--region needs a value/],
    [[...ARGS, '--region', 'Mars'], /not an AWS region/],
    [[...ARGS, '--remediate'], /unknown argument: --remediate/],
  ])('%j is refused', (argv, message) => {
    const result = parseArgs(argv as string[]);
    expect(result).toHaveProperty('error');
    expect((result as { error: string }).error).toMatch(message);
  });
});

describe('verify-waf: main', () => {
  test('no drift: exit 0 and an OK line', async () => {
    const { code, out } = await run(ARGS);
    expect(code).toBe(EXIT_OK);
    expect(out).toMatch(/OK: associated/);
    expect(waf.commandCalls(GetWebACLCommand)[0].args[0].input).toEqual({ Name: ACL_NAME, Id: ACL_ID, Scope: 'REGIONAL' });
  });

  test('drift: exit 1 and the drift printed', async () => {
    waf.on(GetWebACLForResourceCommand).resolves({});
    const { code, out } = await run(ARGS);
    expect(code).toBe(EXIT_DRIFT);
    expect(out).toContain('DRIFT NotAssociated: the stage has no web ACL');
  });

  test('ThrottlingException: exit 2, a failed check, not "no drift"', async () => {
    waf.on(GetWebACLCommand).rejects(awsError('ThrottlingException', 'Rate exceeded'));
    const { code, out } = await run(ARGS);
    expect(code).toBe(EXIT_CHECK_FAILED);
    expect(out).toContain('FAILED CHECK WebAcl (GetWebACL): ThrottlingException: Rate exceeded');
    expect(out).toContain('NOT VERIFIED');
    expect(out).not.toContain('OK:');
  });

  test('AccessDeniedException: exit 2', async () => {
    waf.on(GetLoggingConfigurationCommand).rejects(awsError('AccessDeniedException'));
    const { code, out } = await run(ARGS);
    expect(code).toBe(EXIT_CHECK_FAILED);
    expect(out).toContain('FAILED CHECK Logging');
  });

  test('never remediates', async () => {
    waf.on(GetWebACLForResourceCommand).resolves({});
    const { out } = await run([...ARGS, '--json']);
    expect(JSON.parse(out)).toMatchObject({ remediation: 'disabled', drift: [{ kind: 'NotAssociated' }] });
  });

  test('bad arguments: exit 64 with the usage on stderr, no WAF call', async () => {
    const { code, err } = await run(['--stage-arn', STAGE_ARN]);
    expect(code).toBe(EXIT_USAGE);
    expect(err).toMatch(/--web-acl-arn is required/);
    expect(err).toMatch(/^Usage: npm run verify:waf/m);
    expect(waf.calls()).toHaveLength(0);
  });
});
