/**
 * The security-label (DS4P) and Consent policy: `policies/labels.json`, validated against
 * `policies/labels.schema.json` (ajv) and then by the cross-field rules below. Every error names
 * the file and the field: `policies/labels.json: field "labels[3].code": duplicate label`.
 *
 * Rules beyond the schema:
 * - each (system, code) is listed once; a confidentiality label's code is one of U L M N R V and
 *   its system v3-Confidentiality;
 * - `defaultConfidentiality` is a listed confidentiality label that needs no clearance;
 * - every code a grant unlocks is a listed label.
 *
 * The proxy's meaning of the policy (clearance, self-access, opt-in/opt-out, the unknown-label
 * rule) is documented in `lambdas/fhir-proxy/labels.ts` and `guard.ts`.
 */
import * as path from 'node:path';
import type { ErrorObject } from 'ajv';
import { CONFIDENTIALITY_RANK, CONFIDENTIALITY_SYSTEM, defaultSystem, type LabelKind, type LabelPolicy, type LabelRule } from '../lambdas/fhir-proxy/labels';
import schema from './labels.schema.json';

export type { LabelPolicy };
import { compileSchema, describeSchemaError, fieldPath, plainJsonCopy, readJsonFile, readSuppliedJsonFile, repoFileLabel, throwIfProblems } from './schema-errors';

export class LabelPolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LabelPolicyError';
  }
}

/** The policy file this module reads by default: `labels.json` next to it. */
export const DEFAULT_LABEL_POLICY_FILE = path.join(__dirname, 'labels.json');
const DEFAULT_LABEL = 'policies/labels.json';

const validateSchema = compileSchema(schema);

function describe(err: ErrorObject): { field: string; message: string } {
  const { segments, message } = describeSchemaError(err);
  return { field: fieldPath(segments), message };
}

interface RawLabel {
  code: string;
  kind: LabelKind;
  system?: string;
  clearance: boolean;
  selfAccess: LabelRule['selfAccess'];
  noConsent: LabelRule['noConsent'];
  description?: string;
}

interface RawPolicy {
  defaultConfidentiality: string;
  general: { noConsent: 'permit' | 'deny' };
  labels: RawLabel[];
  grants: Record<string, string[]>;
  purposeOfUse: { default: string; self: string; apps?: Record<string, string> };
  consent: { enforce: boolean; cacheTtlSeconds: number };
}

/**
 * Validates a parsed policy document.
 * @throws LabelPolicyError naming the file and the field of every problem (at most 10 listed)
 */
export function parseLabelPolicy(json: unknown, fileLabel: string = DEFAULT_LABEL): LabelPolicy {
  const messages: string[] = [];
  const add = (field: string, message: string) => messages.push(`${fileLabel}:${field ? ` field "${field}":` : ''} ${message}`);
  if (!validateSchema(json)) {
    for (const err of validateSchema.errors ?? []) {
      const { field, message } = describe(err);
      add(field, message);
    }
  } else {
    const raw = json as unknown as RawPolicy;
    const seen = new Map<string, number>();
    raw.labels.forEach((l, i) => {
      const system = l.system ?? defaultSystem(l.kind);
      const key = `${system}|${l.code}`;
      const first = seen.get(key);
      if (first !== undefined) add(`labels[${i}].code`, `duplicate label (also labels[${first}])`);
      else seen.set(key, i);
      if (l.kind === 'confidentiality') {
        if (CONFIDENTIALITY_RANK[l.code] === undefined) add(`labels[${i}].code`, 'a confidentiality label must be one of U, L, M, N, R, V');
        if (system !== CONFIDENTIALITY_SYSTEM) add(`labels[${i}].system`, `a confidentiality label must use ${CONFIDENTIALITY_SYSTEM}`);
      }
    });
    const def = raw.labels.find((l) => l.kind === 'confidentiality' && l.code === raw.defaultConfidentiality);
    if (!def) add('defaultConfidentiality', 'must be a listed confidentiality label');
    else if (def.clearance) add('defaultConfidentiality', 'must name a label that needs no clearance');
    const codes = new Set(raw.labels.map((l) => l.code));
    for (const [grant, unlocked] of Object.entries(raw.grants)) {
      unlocked.forEach((code, i) => {
        if (!codes.has(code)) add(`grants.${grant}[${i}]`, `"${code}" is not a listed label`);
      });
    }
  }
  throwIfProblems(messages, fileLabel, (m) => new LabelPolicyError(m));
  const raw = json as unknown as RawPolicy;
  return Object.freeze({
    defaultConfidentiality: raw.defaultConfidentiality,
    general: Object.freeze({ noConsent: raw.general.noConsent }),
    labels: Object.freeze(
      raw.labels.map((l) =>
        Object.freeze({
          code: l.code,
          kind: l.kind,
          system: l.system ?? defaultSystem(l.kind),
          clearance: l.clearance,
          selfAccess: l.selfAccess,
          noConsent: l.noConsent,
          ...(l.description !== undefined ? { description: l.description } : {}),
        }),
      ),
    ),
    grants: Object.freeze(Object.fromEntries(Object.entries(raw.grants).map(([g, c]) => [g, Object.freeze([...c])]))),
    purposeOfUse: Object.freeze({ default: raw.purposeOfUse.default, self: raw.purposeOfUse.self, apps: Object.freeze({ ...(raw.purposeOfUse.apps ?? {}) }) }),
    consent: Object.freeze({ enforce: raw.consent.enforce, cacheTtlSeconds: raw.consent.cacheTtlSeconds }),
  });
}

/**
 * Reads and validates a policy file.
 * @param file @default - `labels.json` next to this module
 * @throws LabelPolicyError when the file cannot be read, is not JSON, or is invalid
 */
export function loadLabelPolicy(file: string = DEFAULT_LABEL_POLICY_FILE): LabelPolicy {
  const label = repoFileLabel(file);
  return parseLabelPolicy(readJsonFile(file, label, (m) => new LabelPolicyError(m)), label);
}

/**
 * Construct metadata type under which `FhirGateway` records the label policy it bundled into the
 * FHIR proxy's asset (`{ source, document }`, {@link BundledLabelPolicy}); the reviewer's report
 * reads it.
 */
export const BUNDLED_LABEL_POLICY_METADATA_KEY = 'zero-trust-fhir:bundled-label-policy';

/** What {@link BUNDLED_LABEL_POLICY_METADATA_KEY} records. */
export interface BundledLabelPolicy {
  /** How the policy was supplied, e.g. `config/labels.json`. */
  readonly source: string;
  /** The policy document exactly as bundled (parsed `labels.json`). */
  readonly document: unknown;
}

const LABEL_POLICY_DOCUMENT = Symbol.for('zero-trust-fhir.LabelPolicyDocument');

/**
 * The security-label and Consent policy a team supplies, validated (schema and cross-field rules,
 * as {@link parseLabelPolicy}) when it is made: a file in the team's repository
 * ({@link LabelPolicyDocument.fromFile}), the content of one as an object
 * ({@link LabelPolicyDocument.fromObject}), or the kit's sample (`policies/labels.json`,
 * {@link LabelPolicyDocument.sample}), the documented default. `FhirGateway` writes {@link json},
 * exactly, into the FHIR proxy's asset (`/var/task/labels.json`).
 */
export class LabelPolicyDocument {
  /** True for a {@link LabelPolicyDocument} (of any copy of the kit), not a path or a plain object. */
  public static isLabelPolicyDocument(x: unknown): x is LabelPolicyDocument {
    return x !== null && typeof x === 'object' && (x as Record<symbol, unknown>)[LABEL_POLICY_DOCUMENT] === true;
  }

  /** The kit's sample policy, `policies/labels.json`: the default when a team gives none. */
  public static sample(): LabelPolicyDocument {
    return LabelPolicyDocument.fromFile(DEFAULT_LABEL_POLICY_FILE);
  }

  /**
   * A policy file (`labels.json` format, `policies/labels.schema.json`), absolute or relative to
   * the directory `cdk synth` runs in. It is bundled byte for byte.
   * @throws LabelPolicyError when the file cannot be read, is not JSON, or is invalid (naming the file and the field)
   */
  public static fromFile(file: string): LabelPolicyDocument {
    if (typeof file !== 'string' || file.trim() === '') throw new LabelPolicyError('LabelPolicyDocument.fromFile: give the path of a labels.json file');
    const { label, text, document } = readSuppliedJsonFile(file, (m) => new LabelPolicyError(m));
    return new LabelPolicyDocument(label, parseLabelPolicy(document, label), text, document);
  }

  /**
   * A policy given as the content of a `labels.json`.
   * @param source how messages and the reviewer's report name it @default 'label policy'
   * @throws LabelPolicyError naming `source` and the field of every problem
   */
  public static fromObject(document: unknown, source: string = 'label policy'): LabelPolicyDocument {
    const copy = plainJsonCopy(document, source, (m) => new LabelPolicyError(m));
    return new LabelPolicyDocument(source, parseLabelPolicy(copy, source), `${JSON.stringify(copy, undefined, 2)}\n`, copy);
  }

  private constructor(
    /** How the policy was supplied (a file label, or the `source` given). */
    public readonly source: string,
    /** The policy, validated. */
    public readonly policy: LabelPolicy,
    /** The text bundled into the FHIR proxy's asset. */
    public readonly json: string,
    /** The parsed document (what the reviewer's report reads back from the construct metadata). */
    public readonly document: unknown,
  ) {
    Object.defineProperty(this, LABEL_POLICY_DOCUMENT, { value: true });
  }

  /** What the construct metadata records of this policy. */
  public toMetadata(): BundledLabelPolicy {
    return { source: this.source, document: this.document };
  }
}
