import { Aspects, IAspect, Stack, Stage, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, HIPAASecurityChecks, NagPack } from 'cdk-nag';
import { IConstruct } from 'constructs';
import { DEPLOYMENT_ENVIRONMENTS, DeploymentEnvironment } from './kit-config';
import {
  GATE_DEFAULT_ENVIRONMENT, recordDeploymentEnvironment, setDefaultDeploymentEnvironment, setDeploymentEnvironment,
} from './environment';
import { ControlTowerChecks, controlTowerUnavailable } from './control-tower';
import { FhirHipaaChecks } from './fhir-hipaa-checks';
import { observePack } from './observe';
import { ShareAcknowledgements } from './shared-acknowledgements';

export { acknowledge } from './acknowledge';
export type { DeploymentEnvironment } from './kit-config';
export { deploymentEnvironmentOf, setDeploymentEnvironment } from './environment';
export { baseRuleId, normalizeRuleId } from './rule-ids';
export { CONTROL_TOWER_PACK_NAME, ControlTowerChecks } from './control-tower';

/**
 * The kit's compliance packs, new instances: cdk-nag's `HIPAASecurityChecks` and
 * `AwsSolutionsChecks`, plus the kit's own `FHIR.HIPAA` pack, last. The first two are observed
 * (`policies/compliance/observe.ts`) and given to the last, whose `ResourceEvaluated` rule reports a
 * resource their rules did not evaluate. Tests run them directly, in this order, with
 * `pack.validateScope(scope)`.
 */
export function createCompliancePacks(scope?: IConstruct): NagPack[] {
  const peers = [new HIPAASecurityChecks(scope), new AwsSolutionsChecks(scope)];
  for (const peer of peers) observePack(peer);
  return [...peers, new FhirHipaaChecks(scope).coverWith(peers)];
}

/** Options of {@link applyCompliancePacks}. */
export interface CompliancePackOptions {
  /**
   * Where every stack in the app (or stage) is deployed. In `production` the production-only
   * rules apply (no self sign-up, subscribed security alarms) and the non-waivable rules
   * (`FhirHipaaChecks.NON_WAIVABLE_IN_PRODUCTION`) cannot be acknowledged. A stack in the app
   * already marked with another environment (`setDeploymentEnvironment`, `ZeroTrustFhirStack`'s
   * `environment`) makes this call, or that marking, throw.
   *
   * @default - each stack's own marking; a stack that states none is treated as `production`
   *   (the strictest: an unknown environment never relaxes the gate)
   */
  readonly environment?: DeploymentEnvironment;

  /**
   * Also run the AWS Control Tower proactive controls at synth, as the pack `AWS.ControlTower`
   * (`@cdklabs/cdk-validator-cfnguard`, which ships cfn-guard and the controls; see
   * `policies/compliance/control-tower.ts`). `true` when the package is not installed (or cfn-guard does
   * not run on this platform) throws; `false` leaves the cross-check out.
   *
   * @default - on when `@cdklabs/cdk-validator-cfnguard` is installed and runs here; the
   *   reviewer's report says when it did not run, and why
   */
  readonly awsControlTower?: boolean;
}

/** What {@link applyCompliancePacks} set up on an app, as the evidence records it. */
export interface GateSetup {
  readonly packs: readonly NagPack[];
  /** The AWS Control Tower cross-check: whether it runs, and why not when it does not. */
  readonly controlTower: { readonly enabled: boolean; readonly reason?: string };
}

/**
 * Registers the kit's compliance gate on an app (or stage) and states where it deploys: every
 * finding that is not acknowledged (`acknowledge(construct, id, reason)` from `policies/`),
 * warnings included, fails the synth; findings land in `cdk.out/validation-report.json`.
 *
 * The gate is cdk-nag's `HIPAASecurityChecks` and `AwsSolutionsChecks`, the kit's `FHIR.HIPAA`
 * (last: its `ResourceEvaluated` rule reads what the others evaluated), and, when
 * `@cdklabs/cdk-validator-cfnguard` is installed, the AWS Control Tower proactive controls
 * (`AWS.ControlTower`, `policies/compliance/control-tower.ts`). An aspect writes every acknowledgement into
 * the resources' `Metadata.guard.SuppressedRules` for outside Guard checkers
 * (`policies/compliance/shared-acknowledgements.ts`).
 *
 * Call it once on the `App`: the packs run at synth time over the whole construct tree. With
 * `{ environment }` every stack in the app is that environment; without it each stack keeps its
 * own marking and an unmarked stack is treated as `production`. At synth each stack's
 * environment is recorded in its metadata, where the reviewer's report reads it.
 * @returns the registered nag pack instances (also {@link compliancePacksOf}`(app)`; the
 *   cross-check's state is {@link gateSetupOf}`(app)`)
 */
export function applyCompliancePacks(app: IConstruct, options: CompliancePackOptions = {}): NagPack[] {
  const { environment } = options;
  if (environment !== undefined && !(DEPLOYMENT_ENVIRONMENTS as readonly string[]).includes(environment)) {
    throw new Error(`applyCompliancePacks: environment "${String(environment)}" is not one of ${DEPLOYMENT_ENVIRONMENTS.join(' | ')}`);
  }
  if (environment !== undefined) {
    if (!Stage.isStage(app) && !Stack.isStack(app)) {
      throw new Error('applyCompliancePacks: call it with the App (or a Stage or Stack) to state its environment');
    }
    setDeploymentEnvironment(app, environment);
  }
  const unavailable = controlTowerUnavailable();
  if (options.awsControlTower === true && unavailable) {
    throw new Error(`applyCompliancePacks: awsControlTower is true but ${unavailable}`);
  }
  const controlTower = options.awsControlTower ?? unavailable === undefined;
  const stage = Stage.isStage(app) ? app : Stage.of(app);
  if (stage) setDefaultDeploymentEnvironment(stage, GATE_DEFAULT_ENVIRONMENT);
  const packs = createCompliancePacks(app);
  const previous = GATES.get(app);
  Validations.of(app).addPlugins(...packs, ...(controlTower && !previous?.controlTower.enabled ? [new ControlTowerChecks()] : []));
  if (!previous) {
    Aspects.of(app).add(new RecordDeploymentEnvironment());
    Aspects.of(app).add(new ShareAcknowledgements());
  }
  GATES.set(app, {
    packs: [...(previous?.packs ?? []), ...packs],
    controlTower: previous?.controlTower.enabled || controlTower
      ? { enabled: true }
      : { enabled: false, reason: options.awsControlTower === false ? 'turned off (applyCompliancePacks(app, { awsControlTower: false }))' : unavailable },
  });
  return packs;
}

const GATES = new WeakMap<IConstruct, GateSetup>();

/** What `applyCompliancePacks(app)` set up on `app`; `undefined` when it was not called. */
export function gateSetupOf(app: IConstruct): GateSetup | undefined {
  return GATES.get(app);
}

/**
 * The pack instances `applyCompliancePacks(app)` registered on `app` (the evidence recorder
 * observes these, so the packs run once per synth); `undefined` when it was not called.
 */
export function compliancePacksOf(app: IConstruct): readonly NagPack[] | undefined {
  return GATES.get(app)?.packs;
}

/**
 * Marks each stack with the environment the gate judges it by (its own, its app's, or the gate's
 * default), so that the cloud assembly, and the reviewer's report built from it, say the same.
 */
class RecordDeploymentEnvironment implements IAspect {
  public visit(node: IConstruct): void {
    if (Stack.isStack(node)) recordDeploymentEnvironment(node);
  }
}
