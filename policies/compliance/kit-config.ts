/**
 * The pieces of the kit's configuration that the compliance gate reads: the deployment
 * environments, the log-retention floor and the kit's context keys. They live here, on the
 * policies side, so that `policies/` never imports `lib/`; `lib/config.ts` re-exports them for
 * its users (`loadZeroTrustFhirConfig` and the constructs).
 */
import { IConstruct } from 'constructs';

/** Where a stack runs. `production` turns on the controls that cannot be waived. */
export type DeploymentEnvironment = 'sandbox' | 'staging' | 'production';

export const DEPLOYMENT_ENVIRONMENTS: readonly DeploymentEnvironment[] = ['sandbox', 'staging', 'production'];

/**
 * HIPAA asks covered entities to keep the documentation of their security activities for six
 * years (45 CFR 164.316(b)(2)(i)); the kit applies the same floor to every audit and access log.
 */
export const MIN_RETENTION_DAYS = 2192;

/** The context key of the configuration object (cdk.json `context.zeroTrustFhir`). */
export const CONFIG_CONTEXT_KEY = 'zeroTrustFhir';

/**
 * The colon form of a context key: `zeroTrustFhir:environment`, given as
 * `cdk synth -c zeroTrustFhir:environment=production` or as its own key in cdk.json `context`.
 */
export function contextKey(key: string): string {
  return `${CONFIG_CONTEXT_KEY}:${key}`;
}

/**
 * The value of one kit context key as seen from `scope`: the colon form `zeroTrustFhir:<key>`
 * when set (not `null`), else the field of the `zeroTrustFhir` object (or JSON string); never
 * throws (a malformed object reads as unset).
 */
export function kitContextValue(scope: IConstruct, key: string): unknown {
  const own: unknown = scope.node.tryGetContext(contextKey(key));
  if (own !== undefined && own !== null) return own;
  let object: unknown = scope.node.tryGetContext(CONFIG_CONTEXT_KEY);
  if (typeof object === 'string') {
    try {
      object = JSON.parse(object);
    } catch {
      return undefined;
    }
  }
  return typeof object === 'object' && object !== null && !Array.isArray(object) ? (object as Record<string, unknown>)[key] : undefined;
}
