import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, HIPAASecurityChecks } from 'cdk-nag';
import { IConstruct } from 'constructs';

/**
 * Registers the kit's compliance gate on an app (or stage): cdk-nag's `HIPAASecurityChecks` and
 * `AwsSolutionsChecks`, plus the kit's own `FHIR.HIPAA` pack. Every finding that is not
 * acknowledged (`Validations.of(construct).acknowledge({ id, reason })`), warnings included, fails
 * the synth; findings land in `cdk.out/validation-report.json`.
 *
 * Call it once on the `App`, after or before building stacks: the packs run at synth time over
 * the whole construct tree.
 */
export function applyCompliancePacks(app: IConstruct): void {
  Validations.of(app).addPlugins(new HIPAASecurityChecks(app), new AwsSolutionsChecks(app));
}
