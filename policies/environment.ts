import { Stack } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { DEPLOYMENT_ENVIRONMENTS, DeploymentEnvironment } from '../lib/config';

export type { DeploymentEnvironment } from '../lib/config';

/** Construct metadata type under which a stack records its deployment environment. */
export const DEPLOYMENT_ENVIRONMENT_METADATA_KEY = 'zero-trust-fhir:deployment-environment';

/**
 * Records on `stack` where it is deployed. The `FHIR.HIPAA` pack reads it: in `production`
 * some rules apply only there (no self sign-up) and the non-waivable rules refuse
 * acknowledgements. Call it once per stack (`ZeroTrustFhirStack` does, from its `environment`
 * prop); setting a different value later throws.
 */
export function setDeploymentEnvironment(stack: Stack, env: DeploymentEnvironment): void {
  if (!Stack.isStack(stack)) {
    throw new Error('setDeploymentEnvironment: the first argument must be a Stack');
  }
  if (typeof env !== 'string' || !(DEPLOYMENT_ENVIRONMENTS as readonly string[]).includes(env)) {
    throw new Error(`setDeploymentEnvironment: environment "${String(env)}" is not one of ${DEPLOYMENT_ENVIRONMENTS.join(' | ')}`);
  }
  const current = ownEnvironment(stack);
  if (current === env) return;
  if (current !== undefined) {
    throw new Error(`setDeploymentEnvironment: ${stack.node.path} is already marked "${current}"; it cannot also be "${env}"`);
  }
  stack.node.addMetadata(DEPLOYMENT_ENVIRONMENT_METADATA_KEY, env);
}

/**
 * The deployment environment of the nearest enclosing construct (a stack, usually) marked with
 * {@link setDeploymentEnvironment}; `undefined` when nothing up the tree is marked.
 * A nested stack inherits its parent's environment.
 */
export function deploymentEnvironmentOf(construct: IConstruct): DeploymentEnvironment | undefined {
  let current: IConstruct | undefined = construct;
  while (current) {
    const env = ownEnvironment(current);
    if (env !== undefined) return env;
    current = current.node.scope;
  }
  return undefined;
}

/** True when `construct` sits in a `production` stack. */
export function isProduction(construct: IConstruct): boolean {
  return deploymentEnvironmentOf(construct) === 'production';
}

function ownEnvironment(construct: IConstruct): DeploymentEnvironment | undefined {
  for (const entry of construct.node.metadata) {
    if (entry.type === DEPLOYMENT_ENVIRONMENT_METADATA_KEY && typeof entry.data === 'string'
      && (DEPLOYMENT_ENVIRONMENTS as readonly string[]).includes(entry.data)) {
      return entry.data as DeploymentEnvironment;
    }
  }
  return undefined;
}
