/**
 * The environments section: which deployment environment each synthesized stack was marked
 * (construct metadata `zero-trust-fhir:deployment-environment`, and whether the compliance gate
 * assumed it), which AWS account it is bound to (the cloud assembly manifest's `environment`,
 * `aws://unknown-account/unknown-region` for an env-agnostic stack, which only a sandbox may be),
 * and the table of what differs between the environments, `ENVIRONMENT_DIFFERENCES` itself (the
 * README renders the same rows).
 */
import { ASSUMED_DEPLOYMENT_ENVIRONMENT_METADATA_KEY, GATE_DEFAULT_ENVIRONMENT } from '../../policies/compliance/environment';
import { ENVIRONMENT_DIFFERENCES } from '../environment-profile';
import { CloudAssemblyInput } from './cloud-assembly';
import { EnvironmentsSection, StackEnvironmentRow, StackSummary } from './model';

/** The account and region of an `aws://account/region` environment; `unknown-…` means not bound. */
export function awsEnvironment(environment: string): { readonly account?: string; readonly region?: string } {
  const m = /^aws:\/\/([^/]*)\/(.*)$/.exec(environment);
  const bound = (v: string | undefined): string | undefined => (v && !v.startsWith('unknown-') ? v : undefined);
  const account = bound(m?.[1]);
  const region = bound(m?.[2]);
  return { ...(account ? { account } : {}), ...(region ? { region } : {}) };
}

function stackRow(stack: StackSummary, input: CloudAssemblyInput): StackEnvironmentRow {
  const artifact = input.stacks.find((s) => s.id === stack.id);
  const assumed = (artifact?.metadata.get(stack.displayName) ?? []).some((m) => m.type === ASSUMED_DEPLOYMENT_ENVIRONMENT_METADATA_KEY && m.data === true);
  const { account, region } = awsEnvironment(stack.environment);
  // A stack nobody marked is judged as the gate's default (production): unknown never widens.
  const judgedAs = stack.deploymentEnvironment ?? GATE_DEFAULT_ENVIRONMENT;
  return {
    stack: stack.displayName,
    ...(stack.deploymentEnvironment !== undefined ? { deploymentEnvironment: stack.deploymentEnvironment } : {}),
    assumed,
    ...(account ? { account } : {}),
    ...(region ? { region } : {}),
    envAgnostic: account === undefined,
    accountAllowed: account !== undefined || judgedAs === 'sandbox',
  };
}

/** Builds the section from the stacks the summary lists. */
export function buildEnvironmentsSection(input: CloudAssemblyInput, stacks: readonly StackSummary[], marked: readonly string[]): EnvironmentsSection {
  return { marked: [...marked], stacks: stacks.map((s) => stackRow(s, input)), differences: ENVIRONMENT_DIFFERENCES };
}
