/**
 * The one reading of a compliance rule id, shared by the gate (`acknowledge`, the `FHIR.HIPAA`
 * pack's refusal of non-waivable acknowledgements) and the reviewer's report (`lib/report`), so
 * that what the gate accepts and what the report shows as acknowledged cannot drift apart.
 *
 * One rule id appears in three forms:
 * - the violation's `ruleName`, as a pack reports it: `FHIR.HIPAA-HealthLakeCMKEncryption`,
 *   `AwsSolutions-IAM5[Action::s3:*]` (granular: `Rule[finding]`), `W3010`;
 * - the form the synth prints after "Acknowledge with": the plugin's namespace in front,
 *   `HIPAA.Security::HIPAA.Security-S3BucketReplicationEnabled`, `CloudFormation-Validate::W3010`;
 * - the key CDK records in the `aws:cdk:acknowledged-rules` metadata: `Annotation::<id>` for an
 *   id given without a namespace (`annotation::` before aws-cdk-lib 2.262.1), `<namespace>::<id>`
 *   for one given with it.
 *
 * {@link normalizeRuleId} turns any of them into the `ruleName` form. `::` inside the finding
 * brackets (`[Action::s3:*]`) is part of the finding, never a namespace separator.
 *
 * {@link acknowledgementsRecordedOn} is the one reading of that metadata on a construct.
 */
import { Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** An id split into its parts. */
export interface ParsedRuleId {
  /** The namespace before `::` (`Annotation`, `FHIR.HIPAA`, `CloudFormation-Validate`), if any. */
  readonly namespace?: string;
  /** The id as a pack reports it: `FHIR.HIPAA-X` or `FHIR.HIPAA-X[finding]`. */
  readonly ruleName: string;
  /** The rule without its finding: `FHIR.HIPAA-X`. */
  readonly rule: string;
  /** The granular finding inside the brackets, if any. */
  readonly finding?: string;
}

/**
 * Splits an id (any of the three forms) into namespace, rule and finding. Surrounding
 * whitespace is ignored; the namespace is the part before the last `::` outside brackets.
 */
export function parseRuleId(id: string): ParsedRuleId {
  const text = id.trim();
  let depth = 0;
  let separator = -1;
  let bracket = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '[') {
      if (depth === 0 && bracket < 0) bracket = i;
      depth++;
    } else if (c === ']') {
      depth = Math.max(0, depth - 1);
    } else if (depth === 0 && bracket < 0 && c === ':' && text[i + 1] === ':') {
      separator = i;
      i++;
    }
  }
  const namespace = separator >= 0 ? text.slice(0, separator) : undefined;
  const ruleName = separator >= 0 ? text.slice(separator + 2) : text;
  const open = separator >= 0 ? bracket - separator - 2 : bracket;
  const rule = open >= 0 ? ruleName.slice(0, open) : ruleName;
  const finding = open >= 0 && ruleName.endsWith(']') ? ruleName.slice(open + 1, -1) : undefined;
  return { ...(namespace !== undefined ? { namespace } : {}), ruleName, rule, ...(finding !== undefined ? { finding } : {}) };
}

/**
 * The id as a pack reports it (the violation's `ruleName`): the namespace removed, the granular
 * finding kept. `Annotation::FHIR.HIPAA-X[a::b]` → `FHIR.HIPAA-X[a::b]`;
 * `HIPAA.Security::HIPAA.Security-X` → `HIPAA.Security-X`; `CloudFormation-Validate::W3010` → `W3010`.
 */
export function normalizeRuleId(id: string): string {
  return parseRuleId(id).ruleName;
}

/** The rule an id names, without namespace or finding: `Annotation::FHIR.HIPAA-X[f]` → `FHIR.HIPAA-X`. */
export function baseRuleId(id: string): string {
  return parseRuleId(id).rule;
}

/** True for CDK's namespace of ids given without one (`Annotation`, formerly `annotation`). */
export function isAnnotationNamespace(namespace: string | undefined): boolean {
  return namespace !== undefined && namespace.toLowerCase() === 'annotation';
}

/** The namespace CDK gives a validation plugin's rules: its name with spaces as dashes. */
export function pluginNamespace(pluginName: string): string {
  return pluginName.replace(/ /g, '-');
}

/**
 * The pack a nag rule id belongs to by its prefix (`FHIR.HIPAA-X` → `FHIR.HIPAA`,
 * `AwsSolutions-IAM5[…]` → `AwsSolutions`), when the prefix is one of `packs`.
 */
export function packOfRuleId(id: string, packs: readonly string[]): string | undefined {
  const { rule } = parseRuleId(id);
  return packs.find((p) => rule.startsWith(`${p}-`));
}

/**
 * Whether an acknowledgement recorded under `key` clears the violation `ruleName` reported by the
 * plugin `pluginName`, the way the gate decides it: the pack clears an id given without namespace
 * (`Annotation::`), and CDK clears one given with the plugin's own namespace. The finding must
 * match exactly (an acknowledgement of `Rule` does not clear `Rule[finding]`).
 */
export function acknowledgementMatches(key: string, ruleName: string, pluginName: string): boolean {
  const parsed = parseRuleId(key);
  if (parsed.ruleName !== normalizeRuleId(ruleName)) return false;
  return parsed.namespace === undefined || isAnnotationNamespace(parsed.namespace) || parsed.namespace === pluginNamespace(pluginName);
}

/** An acknowledgement as CDK records it on a construct: the key, and the reason as given (not checked). */
export interface RecordedAcknowledgement {
  readonly key: string;
  readonly reason: unknown;
}

/** The acknowledgements recorded on `construct` itself (its `aws:cdk:acknowledged-rules` metadata), not its ancestors'. */
export function acknowledgementsRecordedOn(construct: IConstruct): RecordedAcknowledgement[] {
  const out: RecordedAcknowledgement[] = [];
  for (const entry of construct.node.metadata) {
    if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY || !entry.data || typeof entry.data !== 'object') continue;
    for (const [key, reason] of Object.entries(entry.data as Record<string, unknown>)) out.push({ key, reason });
  }
  return out;
}
