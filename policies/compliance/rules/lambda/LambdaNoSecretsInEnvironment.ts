import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { cfnProperties, isCfnType, isObject } from '../common/cfn';

/** Variable names that suggest a credential. */
const SECRET_NAME = /pass(word)?|secret|token|private[_-]?key|api[_-]?key/i;

/**
 * Name endings that mark a pointer to a secret (or configuration about it), not the secret:
 * `SECRET_ARN`, `TOKEN_URL`, `API_KEY_PARAMETER`, `TOKEN_TTL`, …
 */
const REFERENCE_NAME = /[_-](arn|name|id|ids|url|uri|endpoint|table|param|parameter|path|ttl|use|header|type|issuer|audience|region)$/i;

/** Values that are pointers, not secrets: ARNs, URLs, SSM parameter paths, booleans. */
const REFERENCE_VALUE = /^(arn:|https?:\/\/|\/[A-Za-z0-9_.\-/]+$|true$|false$)/i;

const PEM_PRIVATE_KEY = /-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----/;
const AWS_ACCESS_KEY_ID = /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/;
const DYNAMIC_SECRET_REFERENCE = /\{\{resolve:(secretsmanager|ssm-secure):/;

/** True when the literal value looks like key material whatever the variable is called. */
export function looksLikeSecretValue(value: string): boolean {
  if (PEM_PRIVATE_KEY.test(value) || AWS_ACCESS_KEY_ID.test(value) || DYNAMIC_SECRET_REFERENCE.test(value)) return true;
  // An AWS secret access key: 40 characters of base64 alphabet, mixed case and digits, not hex.
  return /^[A-Za-z0-9/+]{40}$/.test(value) && /[a-z]/.test(value) && /[A-Z]/.test(value) && /\d/.test(value)
    && !/^[0-9a-fA-F]{40}$/.test(value);
}

/**
 * No Lambda environment variable holds a secret in plain text (Lambda shows environment values
 * to anyone who can read the function configuration): a variable whose name suggests a
 * credential (`/pass(word)?|secret|token|private[_-]?key|api[_-]?key/i`, names ending `_ARN`,
 * `_URL`, `_NAME`, `_ID`, … excepted) with a literal string value (ARNs, URLs, parameter paths
 * and booleans excepted), or any value that looks like a PEM private key, an AWS access key, an
 * AWS secret key, or a `{{resolve:secretsmanager|ssm-secure:…}}` dynamic reference (resolved
 * into the plain-text configuration at deploy time). Values that are references (`Ref`,
 * `Fn::GetAtt`, …) are not secrets. Findings: `Variable::<name>`.
 * @param node the CfnResource to check
 */
export function LambdaNoSecretsInEnvironment(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::Lambda::Function')) return NagRuleCompliance.NOT_APPLICABLE;
  const environment = cfnProperties(node).Environment;
  const variables = isObject(environment) && isObject(environment.Variables) ? environment.Variables : {};
  const findings: string[] = [];
  for (const [name, value] of Object.entries(variables)) {
    if (typeof value !== 'string' || value === '') continue;
    const byName = SECRET_NAME.test(name) && !REFERENCE_NAME.test(name) && !REFERENCE_VALUE.test(value);
    if (byName || looksLikeSecretValue(value)) findings.push(`Variable::${name}`);
  }
  return findings.length === 0 ? NagRuleCompliance.COMPLIANT : findings;
}
