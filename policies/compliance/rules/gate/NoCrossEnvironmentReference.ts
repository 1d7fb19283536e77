import { CfnResource, Stack } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { DEPLOYMENT_ENVIRONMENTS, kitContextValue, type DeploymentEnvironment } from '../../kit-config';
import { deploymentEnvironmentOf } from '../../environment';
import { isObject, templateEntry } from '../common/cfn';

/**
 * A resource of a stack in one environment names nothing of another environment: no account id
 * that the configuration (`zeroTrustFhir.accounts`) gives to another environment (an ARN, a
 * principal, a condition value), and no `Fn::ImportValue` of an export of a stack in the same
 * app that is marked for another environment. A sandbox that reaches production data, or a
 * production stack that trusts a sandbox account, is exactly the promotion the environments
 * exist to prevent. Findings: `Account::<environment>`, `Import::<environment>`. Not applicable
 * when the resource's environment is unknown, or no other environment's account is configured
 * and no other environment's stack is in the app.
 * @param node the CfnResource to check
 */
export function NoCrossEnvironmentReference(node: CfnResource): NagRuleResult {
  const own = deploymentEnvironmentOf(node);
  if (own === undefined) return NagRuleCompliance.NOT_APPLICABLE;
  const others = otherAccounts(node, own);
  const imports = otherExports(node, own);
  if (others.length === 0 && imports.size === 0) return NagRuleCompliance.NOT_APPLICABLE;
  const entry = templateEntry(node);
  if (!entry) return NagRuleCompliance.NOT_APPLICABLE;
  const findings = new Set<string>();
  const text = JSON.stringify(entry.Properties ?? {});
  for (const { env, account } of others) {
    if (new RegExp(`(^|[^0-9])${account}([^0-9]|$)`).test(text)) findings.add(`Account::${env}`);
  }
  if (imports.size > 0) {
    visit(entry.Properties, (value) => {
      if (isObject(value) && typeof value['Fn::ImportValue'] === 'string') {
        const env = imports.get(value['Fn::ImportValue']);
        if (env !== undefined) findings.add(`Import::${env}`);
      }
    });
  }
  return findings.size === 0 ? NagRuleCompliance.COMPLIANT : [...findings].sort();
}

/** The accounts the configuration gives to the other environments. */
function otherAccounts(node: CfnResource, own: DeploymentEnvironment): Array<{ env: DeploymentEnvironment; account: string }> {
  const accounts = kitContextValue(node, 'accounts');
  let parsed: unknown = accounts;
  if (typeof accounts === 'string') {
    try {
      parsed = JSON.parse(accounts);
    } catch {
      return [];
    }
  }
  if (!isObject(parsed)) return [];
  const out: Array<{ env: DeploymentEnvironment; account: string }> = [];
  for (const env of DEPLOYMENT_ENVIRONMENTS) {
    const binding = parsed[env];
    if (env !== own && isObject(binding) && typeof binding.account === 'string' && /^\d{12}$/.test(binding.account)) out.push({ env, account: binding.account });
  }
  return out;
}

/** Every export of the app's marked stacks, with its stack's environment: found once per app. */
const EXPORTS = new WeakMap<object, Map<string, DeploymentEnvironment>>();

/** Export names of the app's stacks marked for another environment. */
function otherExports(node: CfnResource, own: DeploymentEnvironment): Map<string, DeploymentEnvironment> {
  const root = node.node.root;
  let all = EXPORTS.get(root);
  if (all === undefined) {
    all = new Map();
    for (const child of root.node.findAll()) {
      if (!Stack.isStack(child)) continue;
      const env = deploymentEnvironmentOf(child);
      if (env === undefined) continue;
      for (const c of child.node.findAll()) {
        const name = (c as { exportName?: unknown }).exportName;
        if (typeof name === 'string' && !name.includes('${Token')) all.set(name, env);
      }
    }
    EXPORTS.set(root, all);
  }
  const out = new Map<string, DeploymentEnvironment>();
  for (const [name, env] of all) if (env !== own) out.set(name, env);
  return out;
}

function visit(value: unknown, fn: (value: unknown) => void, depth = 0): void {
  if (depth > 64) return;
  fn(value);
  if (Array.isArray(value)) for (const v of value) visit(v, fn, depth + 1);
  else if (isObject(value)) for (const v of Object.values(value)) visit(v, fn, depth + 1);
}
