/**
 * Names of the rule sets beyond the nag packs, in their own module so that the modules that use
 * them (`control-tower.ts`, `shared-acknowledgements.ts`) do not load each other to read them.
 */

/** The AWS Control Tower cross-check's pack (plugin) name; CDK's namespace for its rules is the same. */
export const CONTROL_TOWER_PACK_NAME = 'AWS.ControlTower';

/**
 * The namespace of the AWS Guard Rules Registry's rules (HIPAA Security set). The gate does not
 * run them; acknowledgements under it are written to `Metadata.guard.SuppressedRules` for
 * whoever runs them over `cdk.out`.
 */
export const GUARD_REGISTRY_NAMESPACE = 'GuardRulesRegistry';
