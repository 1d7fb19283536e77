import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, HIPAASecurityChecks, NagPack } from 'cdk-nag';
import { IConstruct } from 'constructs';
import { FhirHipaaChecks } from './fhir-hipaa-checks';

/**
 * The kit's compliance packs, new instances: cdk-nag's `HIPAASecurityChecks` and
 * `AwsSolutionsChecks`, plus the kit's own `FHIR.HIPAA` pack. Tests run them directly with
 * `pack.validateScope(scope)`.
 */
export function createCompliancePacks(scope?: IConstruct): NagPack[] {
  return [new HIPAASecurityChecks(scope), new AwsSolutionsChecks(scope), new FhirHipaaChecks(scope)];
}

/**
 * Registers the kit's compliance gate on an app (or stage). Every finding that is not
 * acknowledged (`Validations.of(construct).acknowledge({ id, reason })`), warnings included, fails
 * the synth; findings land in `cdk.out/validation-report.json`.
 *
 * Call it once on the `App`: the packs run at synth time over the whole construct tree.
 * @returns the registered pack instances (also {@link compliancePacksOf}`(app)`)
 */
export function applyCompliancePacks(app: IConstruct): NagPack[] {
  const packs = createCompliancePacks(app);
  Validations.of(app).addPlugins(...packs);
  GATES.set(app, [...(GATES.get(app) ?? []), ...packs]);
  return packs;
}

const GATES = new WeakMap<IConstruct, readonly NagPack[]>();

/**
 * The pack instances `applyCompliancePacks(app)` registered on `app` (the evidence recorder
 * observes these, so the packs run once per synth); `undefined` when it was not called.
 */
export function compliancePacksOf(app: IConstruct): readonly NagPack[] | undefined {
  return GATES.get(app);
}
