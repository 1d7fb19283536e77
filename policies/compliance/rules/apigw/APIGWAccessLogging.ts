import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { asString, cfnProperties, isCfnType, isObject, referencedLogGroup } from '../common/cfn';

/** Context variables every access-log line must carry (the `$context.status` match is exact). */
const REQUIRED_FIELDS: ReadonlyArray<{ name: string; pattern: RegExp }> = [
  { name: 'requestId', pattern: /\$context\.requestId(?![A-Za-z0-9_])/ },
  { name: 'sourceIp', pattern: /\$context\.identity\.sourceIp(?![A-Za-z0-9_])/ },
  { name: 'principal', pattern: /\$context\.authorizer\.(principalId|claims\.sub|sub)(?![A-Za-z0-9_])/ },
  { name: 'status', pattern: /\$context\.status(?![A-Za-z0-9_.])/ },
  { name: 'tlsVersion', pattern: /\$context\.tlsVersion(?![A-Za-z0-9_])/ },
];

/**
 * The stage writes access logs (`AccessLogSetting`) to an `AWS::Logs::LogGroup` of the same
 * stack that has a `KmsKeyId`, in a JSON format that includes `$context.requestId`,
 * `$context.identity.sourceIp`, the principal (`$context.authorizer.principalId`,
 * `…claims.sub` or `…sub`), `$context.status` and `$context.tlsVersion`. Findings:
 * `NoAccessLogSetting`, `DestinationUnverifiable` (not an in-stack log group, e.g. a literal
 * ARN or Firehose), `LogGroupNotEncrypted`, `FormatMissing` (absent or unresolved),
 * `FormatNotJson`, `MissingField::<name>`.
 * @param node the CfnResource to check
 */
export function APIGWAccessLogging(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::ApiGateway::Stage')) return NagRuleCompliance.NOT_APPLICABLE;
  const setting = cfnProperties(node).AccessLogSetting;
  if (!isObject(setting) || setting.DestinationArn === undefined) return ['NoAccessLogSetting'];
  const findings: string[] = [];
  const logGroup = referencedLogGroup(node, setting.DestinationArn);
  if (!logGroup) findings.push('DestinationUnverifiable');
  else if (cfnProperties(logGroup).KmsKeyId === undefined) findings.push('LogGroupNotEncrypted');
  const format = asString(setting.Format);
  if (format === undefined) return [...findings, 'FormatMissing'];
  if (!isJsonObject(format)) findings.push('FormatNotJson');
  for (const field of REQUIRED_FIELDS) {
    if (!field.pattern.test(format)) findings.push(`MissingField::${field.name}`);
  }
  return findings.length === 0 ? NagRuleCompliance.COMPLIANT : findings;
}

function isJsonObject(text: string): boolean {
  try {
    const parsed: unknown = JSON.parse(text);
    return isObject(parsed);
  } catch {
    return false;
  }
}
