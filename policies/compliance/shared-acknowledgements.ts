/**
 * One decision, seen by every checker.
 *
 * At synth, an aspect that `applyCompliancePacks` registers ({@link ShareAcknowledgements}), for
 * each `CfnResource`:
 * 1. a Guard Rules Registry rule that cannot read what the kit writes ({@link RULE_LIMITATIONS})
 *    is acknowledged on the resource where that is so, with the reason, computed from the
 *    resource itself;
 * 2. every acknowledgement that covers the resource is written into its CloudFormation metadata
 *    as `Metadata.guard.SuppressedRules`: its own id, and the names AWS's Guard rules (the Guard
 *    Rules Registry's, and Control Tower's) that check the same skip a resource for, so a
 *    `cfn-guard validate` run over `cdk.out` outside the kit sees the same decisions the gate
 *    made. An acknowledgement without a reason is never written (the gate refuses it).
 *
 * When the AWS Control Tower cross-check reports a resource (`policies/compliance/control-tower.ts`, while
 * it validates, {@link acknowledgeControlTowerFinding}), and only then: the control's known
 * limitation, or an acknowledgement of a gate rule that checks the same (`equivalent-rules.ts`),
 * is recorded for that control on that resource, with the reason and where it came from; CDK then
 * clears the finding like any other acknowledged one.
 *
 * Derived acknowledgements carry the metadata {@link DERIVED_ACKNOWLEDGEMENT_METADATA_KEY}, so
 * the evidence and the report show them with the decision they come from.
 */
import { CfnResource, IAspect, Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { COVERAGE_BASELINE } from './coverage';
import { CONTROL_TOWER_PACK_NAME, GUARD_REGISTRY_NAMESPACE } from './pack-names';
import { equivalencesOf, RULE_EQUIVALENCES } from './equivalent-rules';
import { reachesProduction } from './environment';
import { NON_WAIVABLE_IN_PRODUCTION } from './fhir-hipaa-checks';
import { acknowledgementsRecordedOn, isAnnotationNamespace, parseRuleId } from './rule-ids';
import { cfnProperties, isObject, logicalIdOf, stackResources } from './rules/common/cfn';


/** Construct metadata marking an acknowledgement the gate derived: `{ id, from: { rule, at } }` or `{ id, limitation }`. */
export const DERIVED_ACKNOWLEDGEMENT_METADATA_KEY = 'zero-trust-fhir:derived-acknowledgement';

/** The CloudFormation metadata key Guard reads suppressions from. */
export const GUARD_METADATA_KEY = 'guard';

export { GUARD_REGISTRY_NAMESPACE } from './pack-names';

/** An AWS-authored Guard rule that cannot read what the kit writes, and where. */
export interface RuleLimitation {
  /** `AWS.ControlTower` (run at synth when the cross-check is on) or `GuardRulesRegistry` (not run; recorded for outside checkers). */
  readonly namespace: string;
  /** The Guard rule name. */
  readonly rule: string;
  readonly type: string;
  /** The reason, when the limitation applies to this resource (its resolved properties). */
  readonly applies: (node: CfnResource, properties: Record<string, unknown>) => string | undefined;
}

/** A resolved value rendered for a reason: `arn:${AWS::Partition}:execute-api:…:${GatewayApi4EDF2151}/…`. */
function render(value: unknown, depth = 0): string {
  if (depth > 8) return '…';
  if (typeof value === 'string') return value;
  if (!isObject(value)) return JSON.stringify(value);
  if (typeof value.Ref === 'string') return `\${${value.Ref}}`;
  const att = value['Fn::GetAtt'];
  if (Array.isArray(att)) return `\${${att.join('.')}}`;
  const join = value['Fn::Join'];
  if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) return (join[1] as unknown[]).map((v) => render(v, depth + 1)).join(join[0]);
  return JSON.stringify(value);
}

const SERVICE_PRINCIPAL = /^[a-z0-9.-]+\.amazonaws\.com(\.cn)?$/;

/** The registry's list of retention values (its CW_LOGGROUP_RETENTION_PERIOD_CHECK). */
const REGISTRY_RETENTION_VALUES = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653];
/** Every value CloudWatch Logs accepts for RetentionInDays. */
const CLOUDWATCH_RETENTION_VALUES = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/** AWS-authored rules that cannot read the CloudFormation CDK writes, each with how to tell and why. */
export const RULE_LIMITATIONS: readonly RuleLimitation[] = [
  {
    namespace: CONTROL_TOWER_PACK_NAME,
    rule: 'lambda_function_public_access_prohibited_check',
    type: 'AWS::Lambda::Permission',
    applies: (_node, p) => {
      const principal = p.Principal;
      if (typeof principal !== 'string' || !SERVICE_PRINCIPAL.test(principal)) return undefined;
      const source = p.SourceArn;
      if (!isObject(source) || !Array.isArray(source['Fn::Join'])) return undefined;
      return `The permission is not public: it lets only ${principal} invoke the function, and only for the source ARN ${render(source)} (SourceArn). `
        + 'AWS Control Tower CT.LAMBDA.PR.2 accepts a SourceArn only as a literal string or a Ref/Fn::GetAtt of the template, and cannot read the Fn::Join that CDK writes to build that ARN from the API, stage and method.';
    },
  },
  {
    namespace: CONTROL_TOWER_PACK_NAME,
    rule: 'sqs_dlq_check',
    type: 'AWS::SQS::Queue',
    applies: (node) => {
      const users = deadLetterUsers(node);
      if (users.length === 0) return undefined;
      return `This queue is itself the dead-letter queue of ${users.join(', ')}: it receives what failed there, and a dead-letter queue for it would have nowhere further to send a message. `
        + 'AWS Control Tower CT.SQS.PR.1 asks every queue for a RedrivePolicy and cannot tell a dead-letter queue from a work queue.';
    },
  },
  {
    namespace: GUARD_REGISTRY_NAMESPACE,
    rule: 'CW_LOGGROUP_RETENTION_PERIOD_CHECK',
    type: 'AWS::Logs::LogGroup',
    applies: (_node, p) => {
      const days = typeof p.RetentionInDays === 'number' ? p.RetentionInDays : Number.NaN;
      if (!CLOUDWATCH_RETENTION_VALUES.includes(days) || REGISTRY_RETENTION_VALUES.includes(days)) return undefined;
      return `RetentionInDays is ${days}${days === 2192 ? ' (six years, what 45 CFR 164.316(b)(2)(i) asks for)' : ''}, a value CloudWatch Logs accepts; the Guard Rules Registry's CW_LOGGROUP_RETENTION_PERIOD_CHECK allows only ${REGISTRY_RETENTION_VALUES.join(', ')} and omits ${days}.`;
    },
  },
  {
    namespace: GUARD_REGISTRY_NAMESPACE,
    rule: 'CLOUD_TRAIL_ENCRYPTION_ENABLED',
    type: 'AWS::CloudTrail::Trail',
    applies: (_node, p) => (isObject(p.KMSKeyId)
      ? `The trail is encrypted with a customer-managed KMS key: KMSKeyId is ${render(p.KMSKeyId)}. The Guard Rules Registry's CLOUD_TRAIL_ENCRYPTION_ENABLED accepts KMSKeyId only as a literal string and cannot read the reference to the key in the same template.`
      : undefined),
  },
  {
    namespace: GUARD_REGISTRY_NAMESPACE,
    rule: 'CLOUDTRAIL_S3_DATAEVENTS_ENABLED',
    type: 'AWS::CloudTrail::Trail',
    applies: (_node, p) => {
      if (!Array.isArray(p.AdvancedEventSelectors)) return undefined;
      const types = new Set<string>();
      for (const selector of p.AdvancedEventSelectors) {
        const fields = isObject(selector) && Array.isArray(selector.FieldSelectors) ? selector.FieldSelectors : [];
        for (const f of fields) if (isObject(f) && f.Field === 'resources.type' && Array.isArray(f.Equals)) for (const t of f.Equals) if (typeof t === 'string') types.add(t);
      }
      if (types.size === 0) return undefined;
      return `The trail records data events with advanced event selectors, for ${[...types].join(' and ')} resources of this stack (FHIR.HIPAA-CloudTrailDataEvents evaluates them); the Guard Rules Registry's CLOUDTRAIL_S3_DATAEVENTS_ENABLED reads only basic EventSelectors and accepts only S3 data events for every bucket of the account. The data events the organisation reviews are those of the resources that handle PHI; the stack's buckets hold only CloudTrail's and S3's own logs.`;
    },
  },
];

/** Resources of `queue`'s stack that send their failures to it (a function's DeadLetterConfig, a queue's RedrivePolicy). */
function deadLetterUsers(queue: CfnResource): string[] {
  const id = logicalIdOf(queue);
  const refersToQueue = (value: unknown): boolean => isObject(value) && Array.isArray(value['Fn::GetAtt']) && value['Fn::GetAtt'][0] === id;
  const users: string[] = [];
  for (const c of stackResources(queue)) {
    if (c === queue) continue;
    if (c.cfnResourceType !== 'AWS::Lambda::Function' && c.cfnResourceType !== 'AWS::SQS::Queue') continue;
    const p = cfnProperties(c);
    const target = c.cfnResourceType === 'AWS::Lambda::Function'
      ? (isObject(p.DeadLetterConfig) ? p.DeadLetterConfig.TargetArn : undefined)
      : (isObject(p.RedrivePolicy) ? p.RedrivePolicy.deadLetterTargetArn : undefined);
    if (refersToQueue(target)) users.push(c.node.path);
  }
  return users;
}

/** An acknowledgement covering a resource: recorded on it or an ancestor. */
interface Covering {
  readonly key: string;
  readonly reason: string;
  readonly at: string;
}

function coveringAcknowledgements(node: IConstruct): Covering[] {
  const out: Covering[] = [];
  for (let c: IConstruct | undefined = node; c; c = c.node.scope) {
    for (const { key, reason } of acknowledgementsRecordedOn(c)) {
      if (typeof reason === 'string' && reason.trim() !== '') out.push({ key, reason, at: c.node.path });
    }
  }
  return out;
}

/** The gate rules an acknowledgement stands for on a resource of `type`: the rule, or for `ResourceEvaluated` the type's baseline. */
function standsFor(rule: string, type: string): string[] {
  return rule === 'FHIR.HIPAA-ResourceEvaluated' ? [...(COVERAGE_BASELINE[type] ?? [])] : [rule];
}

/** The aspect (see the module comment). */
export class ShareAcknowledgements implements IAspect {
  public visit(node: IConstruct): void {
    if (!CfnResource.isCfnResource(node)) return;
    acknowledgeRegistryLimitations(node);
    writeGuardMetadata(node);
  }
}

const ctKey = (rule: string): string => `${CONTROL_TOWER_PACK_NAME}::${rule}`;

function acknowledgeRegistryLimitations(node: CfnResource): void {
  const limitations = RULE_LIMITATIONS.filter((l) => l.type === node.cfnResourceType && l.namespace === GUARD_REGISTRY_NAMESPACE);
  if (limitations.length === 0) return;
  const covered = new Set(coveringAcknowledgements(node).map((a) => a.key));
  const properties = cfnProperties(node);
  for (const limitation of limitations) {
    const key = `${limitation.namespace}::${limitation.rule}`;
    if (covered.has(key)) continue;
    const reason = limitation.applies(node, properties);
    if (!reason) continue;
    Validations.of(node).acknowledge({ id: key, reason });
    node.node.addMetadata(DERIVED_ACKNOWLEDGEMENT_METADATA_KEY, { id: key, limitation: limitation.rule });
  }
}

/**
 * Called by the Control Tower cross-check for each resource a control reported: acknowledges the
 * finding when the control cannot read what the kit wrote here (a {@link RULE_LIMITATIONS} entry
 * that applies to `properties`, the resource's template entry) or when an acknowledgement of a gate
 * rule that checks the same covers the resource. Nothing is recorded when the resource already
 * carries an acknowledgement of the control.
 * @returns the key recorded, if any
 */
export function acknowledgeControlTowerFinding(node: CfnResource, rule: string, properties: Record<string, unknown>): string | undefined {
  const key = ctKey(rule);
  const covering = coveringAcknowledgements(node);
  if (covering.some((a) => a.key === key)) return undefined;
  for (const limitation of RULE_LIMITATIONS) {
    if (limitation.namespace !== CONTROL_TOWER_PACK_NAME || limitation.rule !== rule || limitation.type !== node.cfnResourceType) continue;
    const reason = limitation.applies(node, properties);
    if (!reason) continue;
    Validations.of(node).acknowledge({ id: key, reason });
    node.node.addMetadata(DERIVED_ACKNOWLEDGEMENT_METADATA_KEY, { id: key, limitation: rule });
    return key;
  }
  for (const ack of covering) {
    const parsed = parseRuleId(ack.key);
    if (parsed.namespace !== undefined && !isAnnotationNamespace(parsed.namespace) && !parsed.ruleName.startsWith(`${parsed.namespace}-`)) continue;
    // The gate refuses these in production (a fatal finding): never pass them on.
    if (NON_WAIVABLE_IN_PRODUCTION.includes(parsed.rule) && reachesProduction(node)) continue;
    for (const standIn of standsFor(parsed.rule, node.cfnResourceType)) {
      if (!equivalencesOf(standIn).some((eq) => eq.types.includes(node.cfnResourceType) && eq.controlTower.includes(rule))) continue;
      const via = standIn === parsed.rule ? parsed.ruleName : `${parsed.ruleName} (which stands for ${standIn} here)`;
      Validations.of(node).acknowledge({ id: key, reason: `Same check as ${via}, acknowledged on ${ack.at || 'the app'}: ${ack.reason}` });
      node.node.addMetadata(DERIVED_ACKNOWLEDGEMENT_METADATA_KEY, { id: key, from: { rule: parsed.ruleName, at: ack.at } });
      return key;
    }
  }
  return undefined;
}

/**
 * The names `Metadata.guard.SuppressedRules` records for the acknowledgements covering `node`:
 * each acknowledged id itself (a Guard rule name for the Control Tower and registry rules, the
 * gate's id otherwise, so the template records every decision), and the Guard Rules Registry and
 * Control Tower rules that check the same on a resource of this type.
 */
export function guardSuppressions(node: CfnResource): string[] {
  const names = new Set<string>();
  for (const ack of coveringAcknowledgements(node)) {
    const parsed = parseRuleId(ack.key);
    names.add(parsed.ruleName);
    if (parsed.namespace === CONTROL_TOWER_PACK_NAME || parsed.namespace === GUARD_REGISTRY_NAMESPACE) {
      // The registry's rule for the same check, where there is one.
      for (const eq of RULE_EQUIVALENCES) {
        if (eq.types.includes(node.cfnResourceType) && eq.controlTower.includes(parsed.ruleName)) for (const name of eq.guardRegistry) names.add(name);
      }
      continue;
    }
    if (parsed.namespace !== undefined && !isAnnotationNamespace(parsed.namespace) && !parsed.ruleName.startsWith(`${parsed.namespace}-`)) continue;
    for (const rule of standsFor(parsed.rule, node.cfnResourceType)) {
      for (const eq of equivalencesOf(rule)) {
        if (!eq.types.includes(node.cfnResourceType)) continue;
        for (const name of [...eq.guardRegistry, ...eq.controlTower]) names.add(name);
      }
    }
  }
  return [...names].sort();
}

function writeGuardMetadata(node: CfnResource): void {
  const names = guardSuppressions(node);
  // A Control Tower control that cannot read this resource: the cross-check acknowledges it when
  // it reports it (at validation, after the template is written), so the name is written now.
  const limitations = RULE_LIMITATIONS.filter((l) => l.namespace === CONTROL_TOWER_PACK_NAME && l.type === node.cfnResourceType);
  if (limitations.length > 0) {
    const properties = cfnProperties(node);
    for (const l of limitations) if (!names.includes(l.rule) && l.applies(node, properties)) names.push(l.rule);
    names.sort();
  }
  if (names.length === 0) return;
  const existing = node.getMetadata(GUARD_METADATA_KEY) as { SuppressedRules?: unknown } | undefined;
  const previous = Array.isArray(existing?.SuppressedRules) ? existing!.SuppressedRules.filter((x): x is string => typeof x === 'string') : [];
  node.addMetadata(GUARD_METADATA_KEY, { ...(isObject(existing) ? existing : {}), SuppressedRules: [...new Set([...previous, ...names])].sort() });
}
