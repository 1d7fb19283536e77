#!/usr/bin/env node
/**
 * The WAF drift guard's check from the command line, for a platform engineer after `cdk deploy`:
 *
 *   npm run verify:waf -- --stage-arn arn:aws:apigateway:eu-west-1::/restapis/a1b2c3/stages/v1 \
 *     --web-acl-arn arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/FhirFirewall-x/0f1e…
 *
 * The web ACL's name and id are read from its ARN; `--region` defaults to the ARN's region.
 * Uses the default AWS credential chain, read-only (no remediation, no metrics).
 *
 * Exit codes: 0 no drift and every check ran; 1 drift; 2 a check failed (throttling, access
 * denied, …: the answer is unknown, never "no drift"); 64 bad arguments.
 */
import { WAFV2Client } from '@aws-sdk/client-wafv2';
import { parseStageArn, parseWebAclArn } from '../lambdas/waf-guard/expectations';
import { GuardReport, createWafGuard } from '../lambdas/waf-guard/guard';

export const EXIT_OK = 0;
export const EXIT_DRIFT = 1;
export const EXIT_CHECK_FAILED = 2;
export const EXIT_USAGE = 64;

export const USAGE = `Usage: npm run verify:waf -- --stage-arn <arn> --web-acl-arn <arn> [--region <region>] [--json]

  --stage-arn     the API Gateway stage, arn:aws:apigateway:<region>::/restapis/<api-id>/stages/<stage>
  --web-acl-arn   the expected REGIONAL web ACL, arn:aws:wafv2:<region>:<account>:regional/webacl/<name>/<id>
  --region        AWS region of the WAF API (default: the web ACL ARN's region)
  --json          print the report as JSON

Exit codes: 0 no drift, 1 drift, 2 a check failed, 64 bad arguments.`;

export interface VerifyArgs {
  readonly stageArn: string;
  readonly webAclArn: string;
  readonly webAclName: string;
  readonly webAclId: string;
  readonly region: string;
  readonly json: boolean;
}

/** Parses the command line; returns an error message instead of throwing. */
export function parseArgs(argv: readonly string[]): VerifyArgs | { readonly error: string } {
  const values: Record<string, string> = {};
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--json') {
      json = true;
      continue;
    }
    if (arg === '--help' || arg === '-h') return { error: '' };
    const eq = arg.indexOf('=');
    const [flag, inline] = eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    if (!['--stage-arn', '--web-acl-arn', '--region'].includes(flag)) return { error: `unknown argument: ${arg}` };
    const value = inline ?? argv[++i];
    if (value === undefined || value === '' || value.startsWith('--')) return { error: `${flag} needs a value` };
    values[flag] = value;
  }
  if (!values['--stage-arn']) return { error: '--stage-arn is required' };
  if (!values['--web-acl-arn']) return { error: '--web-acl-arn is required' };
  const stage = parseStageArn(values['--stage-arn']);
  if (!stage) return { error: `--stage-arn is not an API Gateway REST API stage ARN: ${values['--stage-arn']}` };
  const acl = parseWebAclArn(values['--web-acl-arn']);
  if (!acl) return { error: `--web-acl-arn is not a REGIONAL web ACL ARN: ${values['--web-acl-arn']}` };
  if (stage.region !== acl.region) {
    return { error: `the stage (${stage.region}) and the web ACL (${acl.region}) are in different regions; a REGIONAL web ACL protects only resources of its own region` };
  }
  const region = values['--region'] ?? acl.region;
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) return { error: `--region is not an AWS region: ${region}` };
  return { stageArn: stage.arn, webAclArn: acl.arn, webAclName: acl.name, webAclId: acl.id, region, json };
}

/** Human-readable report. */
export function formatReport(report: GuardReport): string {
  const lines = [`WAF drift check of ${report.stageArn}`, `  expected web ACL: ${report.expectedWebAclArn}`];
  if (report.associatedWebAclArn && report.associatedWebAclArn !== report.expectedWebAclArn) {
    lines.push(`  associated web ACL: ${report.associatedWebAclArn}`);
  }
  for (const d of report.drift) lines.push(`  DRIFT ${d.kind}: ${d.detail}`);
  for (const f of report.failed) {
    lines.push(`  FAILED CHECK ${f.check} (${f.operation}): ${f.error}: ${f.message}${f.undetermined.length ? ` — unknown: ${f.undetermined.join(', ')}` : ''}`);
  }
  if (report.ok) lines.push('  OK: associated, all required rule groups blocking, rate-based rule blocking, logging with redaction');
  else if (report.drift.length === 0) lines.push('  NOT VERIFIED: no drift found, but not every check ran');
  return lines.join('\n');
}

export interface MainDependencies {
  /** The WAF client (tests pass one; default: the region's client with the default credentials). */
  readonly client?: WAFV2Client;
  readonly out?: (text: string) => void;
  readonly err?: (text: string) => void;
}

/** Runs the check; resolves to the process exit code. */
export async function main(argv: readonly string[], deps: MainDependencies = {}): Promise<number> {
  const out = deps.out ?? ((t: string) => process.stdout.write(`${t}\n`));
  const err = deps.err ?? ((t: string) => process.stderr.write(`${t}\n`));
  const args = parseArgs(argv);
  if ('error' in args) {
    if (args.error) err(`verify-waf: ${args.error}`);
    err(USAGE);
    return EXIT_USAGE;
  }
  const guard = createWafGuard({
    client: deps.client ?? new WAFV2Client({ region: args.region }),
    stageArn: args.stageArn,
    expectedWebAclArn: args.webAclArn,
    expectedWebAclName: args.webAclName,
    expectedWebAclId: args.webAclId,
    scope: 'REGIONAL',
    remediate: false,
    namespace: 'unused',
  });
  const report = await guard.check();
  out(args.json ? JSON.stringify(report, null, 2) : formatReport(report));
  if (report.drift.length > 0) return EXIT_DRIFT;
  if (report.failed.length > 0) return EXIT_CHECK_FAILED;
  return EXIT_OK;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`verify-waf: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = EXIT_CHECK_FAILED;
    },
  );
}
