import { Stack, Stage } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { DEPLOYMENT_ENVIRONMENTS, DeploymentEnvironment } from './kit-config';

export type { DeploymentEnvironment } from './kit-config';

/** Construct metadata type under which a stack (or an app or stage) records its deployment environment. */
export const DEPLOYMENT_ENVIRONMENT_METADATA_KEY = 'zero-trust-fhir:deployment-environment';

/**
 * Construct metadata type under which the compliance gate records the environment it assumes for
 * a stack that states none (see {@link GATE_DEFAULT_ENVIRONMENT}).
 */
export const DEFAULT_DEPLOYMENT_ENVIRONMENT_METADATA_KEY = 'zero-trust-fhir:default-deployment-environment';

/**
 * What `applyCompliancePacks(app)` assumes for a stack whose environment nobody stated: the
 * strictest. Unknown never widens: a stack that may be production gets the production rules.
 */
export const GATE_DEFAULT_ENVIRONMENT: DeploymentEnvironment = 'production';

/**
 * Construct metadata type with which the compliance gate notes, on a stack it marked at synth
 * from its default, that nobody stated the stack's environment.
 */
export const ASSUMED_DEPLOYMENT_ENVIRONMENT_METADATA_KEY = 'zero-trust-fhir:deployment-environment-assumed';

/**
 * Records where `scope` is deployed: a stack, or an app or stage (then every stack in it). The
 * `FHIR.HIPAA` pack reads it: in `production` some rules apply only there (no self sign-up, the
 * security alarm topic has a subscription) and the non-waivable rules refuse acknowledgements.
 * Call it once per scope (`ZeroTrustFhirStack` does, from its `environment` prop;
 * `applyCompliancePacks(app, { environment })` does for the app). Marking a scope differently
 * from what it, an enclosing scope or a stack inside it already says throws.
 */
export function setDeploymentEnvironment(scope: Stack | Stage, env: DeploymentEnvironment): void {
  if (!Stack.isStack(scope) && !Stage.isStage(scope)) {
    throw new Error('setDeploymentEnvironment: the first argument must be a Stack, a Stage or the App');
  }
  assertEnvironment('setDeploymentEnvironment', env);
  const where = scope.node.path || 'the app';
  const current = ownEnvironment(scope);
  if (current === env) return;
  if (current !== undefined) {
    throw new Error(`setDeploymentEnvironment: ${where} is already marked "${current}"; it cannot also be "${env}"`);
  }
  const above = scope.node.scope ? statedEnvironment(scope.node.scope) : undefined;
  if (above && above.env !== env) {
    throw new Error(`setDeploymentEnvironment: ${where} is inside ${above.at.node.path || 'the app'}, which is marked "${above.env}"; it cannot be "${env}"`);
  }
  for (const inner of scope.node.findAll()) {
    const own = inner === scope ? undefined : ownEnvironment(inner);
    if (own !== undefined && own !== env) {
      throw new Error(`setDeploymentEnvironment: ${inner.node.path} is already marked "${own}"; ${where}, which holds it, cannot be "${env}"`);
    }
  }
  scope.node.addMetadata(DEPLOYMENT_ENVIRONMENT_METADATA_KEY, env);
}

/**
 * Records the environment assumed for the stacks in `scope` (an app or stage) that state none.
 * `applyCompliancePacks(app)` records {@link GATE_DEFAULT_ENVIRONMENT}.
 */
export function setDefaultDeploymentEnvironment(scope: Stage, env: DeploymentEnvironment): void {
  assertEnvironment('setDefaultDeploymentEnvironment', env);
  if (defaultEnvironmentOn(scope) === env) return;
  scope.node.addMetadata(DEFAULT_DEPLOYMENT_ENVIRONMENT_METADATA_KEY, env);
}

/**
 * The deployment environment of `construct`: the nearest marked scope up the tree (a stack, an
 * app or a stage, see {@link setDeploymentEnvironment}); when nothing is marked, the default the
 * compliance gate recorded on an enclosing app or stage; `undefined` when there is neither.
 * A nested stack inherits its parent's environment.
 */
export function deploymentEnvironmentOf(construct: IConstruct): DeploymentEnvironment | undefined {
  return statedEnvironment(construct)?.env ?? defaultEnvironmentOf(construct);
}

/**
 * Whether `construct`'s environment was stated (`'stated'`), assumed by the compliance gate for a
 * stack that states none (`'gate-default'`), or is unknown (`undefined`).
 */
export function deploymentEnvironmentSource(construct: IConstruct): 'stated' | 'gate-default' | undefined {
  const stated = statedEnvironment(construct);
  if (stated) return stated.at.node.metadata.some((m) => m.type === ASSUMED_DEPLOYMENT_ENVIRONMENT_METADATA_KEY) ? 'gate-default' : 'stated';
  return defaultEnvironmentOf(construct) !== undefined ? 'gate-default' : undefined;
}

/**
 * Marks `stack` with the environment the compliance gate judges it by, at synth: its own or an
 * enclosing scope's, else the gate's default (noted as assumed, so messages can say so).
 */
export function recordDeploymentEnvironment(stack: Stack): void {
  const source = deploymentEnvironmentSource(stack);
  const env = deploymentEnvironmentOf(stack);
  if (env === undefined || ownEnvironment(stack) !== undefined) return;
  setDeploymentEnvironment(stack, env);
  if (source === 'gate-default') stack.node.addMetadata(ASSUMED_DEPLOYMENT_ENVIRONMENT_METADATA_KEY, true);
}

/** True when `construct` sits in a `production` stack. */
export function isProduction(construct: IConstruct): boolean {
  return deploymentEnvironmentOf(construct) === 'production';
}

/**
 * True when something done on `construct` (an acknowledgement, say) reaches a production stack:
 * the construct is in one, or holds one (an app or stage with a production stack inside).
 */
export function reachesProduction(construct: IConstruct): boolean {
  if (isProduction(construct)) return true;
  return construct.node.findAll().some((c) => Stack.isStack(c) && isProduction(c));
}

/** The nearest explicitly marked scope at or above `construct`. */
function statedEnvironment(construct: IConstruct): { env: DeploymentEnvironment; at: IConstruct } | undefined {
  for (let current: IConstruct | undefined = construct; current; current = current.node.scope) {
    const env = ownEnvironment(current);
    if (env !== undefined) return { env, at: current };
  }
  return undefined;
}

function defaultEnvironmentOf(construct: IConstruct): DeploymentEnvironment | undefined {
  for (let current: IConstruct | undefined = construct; current; current = current.node.scope) {
    const env = defaultEnvironmentOn(current);
    if (env !== undefined) return env;
  }
  return undefined;
}

function ownEnvironment(construct: IConstruct): DeploymentEnvironment | undefined {
  return metadataEnvironment(construct, DEPLOYMENT_ENVIRONMENT_METADATA_KEY);
}

function defaultEnvironmentOn(construct: IConstruct): DeploymentEnvironment | undefined {
  return metadataEnvironment(construct, DEFAULT_DEPLOYMENT_ENVIRONMENT_METADATA_KEY);
}

function metadataEnvironment(construct: IConstruct, type: string): DeploymentEnvironment | undefined {
  for (const entry of construct.node.metadata) {
    if (entry.type === type && typeof entry.data === 'string' && (DEPLOYMENT_ENVIRONMENTS as readonly string[]).includes(entry.data)) {
      return entry.data as DeploymentEnvironment;
    }
  }
  return undefined;
}

function assertEnvironment(fn: string, env: unknown): asserts env is DeploymentEnvironment {
  if (typeof env !== 'string' || !(DEPLOYMENT_ENVIRONMENTS as readonly string[]).includes(env)) {
    throw new Error(`${fn}: environment "${String(env)}" is not one of ${DEPLOYMENT_ENVIRONMENTS.join(' | ')}`);
  }
}
