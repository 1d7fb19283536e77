/**
 * Properties of the enforcement rule (DESIGN.md: "the proxy decides only on what it has seen
 * whole, and returns only what it decided on"), with fast-check, against the least helpful
 * conformant server (`LEAST_HELPFUL_SERVER`: `_elements`/`_summary` answered with `meta`,
 * `subject`, … dropped).
 *
 * Generated data: Observations and RelatedPersons of patient A or B, and collection Bundles of
 * them, with random security labels at resource level (`meta.security`), element level (inline
 * DS4P labels on list items, on repeating primitives through `_given`, on a primitive through
 * `_valueString`) and nested level (`contained[]`, Bundle entries, contained inside entries).
 * Every string value is a distinctive token.
 *
 * THE ORACLE (written from the rules, not from the proxy): a token is visible to a caller iff
 * every resource on its path (the Bundle, the entry, the container, the contained resource) has
 * only labels the caller is cleared for and, for a compartment-confined caller, belongs to the
 * caller's patient (a Bundle belongs to no patient), and its own inline labels (with those of the
 * list item it sits in) are cleared too. Clearance per caller is a fixed table derived from
 * `policies/labels.json` and the registry of `fixtures/consent-seed.ts` (no Consents are seeded
 * for property 1, so no Consent decides; self-access applies to the patient's own data only, not
 * to a Bundle, which belongs to no patient).
 *
 * 1. Whatever the request (read, vread, search, history, `_include`/`_revinclude`,
 *    `$everything`, batch, transaction; random `_elements`, `_summary`), no token the caller
 *    could not see in the whole stored resource read alone appears in the response, and every
 *    `x`/`_x` pair stays aligned.
 * 2. Adding a deny (a Consent deny provision, a label on the stored resource, a removed grant)
 *    never widens a response: the tokens returned after are a subset of those returned before.
 */
import fc from 'fast-check';
import { ACT_CODE_SYSTEM, CONFIDENTIALITY_SYSTEM, INLINE_LABEL_EXTENSION } from '../../lambdas/fhir-proxy/labels';
import { APPS, CLIENTS, POLICY } from './fixtures/consent-seed';
import { PATIENT_A, PATIENT_B } from './fixtures/seed';
import type { Who } from './fixtures/whole-resource-seed';
import {
  authorizerContext,
  CONFIDENTIAL_CLIENT,
  LEAST_HELPFUL_SERVER,
  startHarness,
  withoutLinks,
  type CallResult,
  type CallSpec,
  type Harness,
} from './proxy-harness';

type Json = Record<string, any>;

// ---------------------------------------------------------------------------------------------
// Labels and callers

type Label = 'N' | 'R' | 'V' | 'PSY' | 'ETH' | 'SUD' | 'X';
const LABELS: readonly Label[] = ['N', 'R', 'V', 'PSY', 'ETH', 'SUD', 'X'];
const CODING: Readonly<Record<Label, { system: string; code: string }>> = {
  N: { system: CONFIDENTIALITY_SYSTEM, code: 'N' },
  R: { system: CONFIDENTIALITY_SYSTEM, code: 'R' },
  V: { system: CONFIDENTIALITY_SYSTEM, code: 'V' },
  PSY: { system: ACT_CODE_SYSTEM, code: 'PSY' },
  ETH: { system: ACT_CODE_SYSTEM, code: 'ETH' },
  SUD: { system: ACT_CODE_SYSTEM, code: 'SUD' },
  /** Not in the policy: unknown, held to V with no self-access and opt-in. */
  X: { system: 'urn:example:labels', code: 'SECRET' },
};
const PROCESS_INLINE = { system: ACT_CODE_SYSTEM, code: 'PROCESSINLINELABEL' };

const PATIENT_SCOPE = 'launch/patient patient/Observation.rs patient/RelatedPerson.rs patient/Patient.rs patient/Bundle.rs';
const USER_SCOPE = 'openid fhirUser user/Observation.rs user/RelatedPerson.rs user/Patient.rs user/Bundle.rs';

interface Caller {
  readonly name: string;
  readonly who: Who;
  /** Compartment-confined to this patient. */
  readonly confinedTo?: 'A' | 'B';
  /**
   * The labels it may see on data it may otherwise see (policies/labels.json, no Consent):
   * - third-party app for patient A (app: N): R, ETH by self-access `any-app`; PSY, SUD and V
   *   need a cleared app (`cleared-apps`);
   * - portal app for patient A (app: N R PSY ETH SUD): also PSY and SUD (self-access waives the
   *   user side and SUD's opt-in); not V (rank above R);
   * - clinician with `behavioral-health` (PSY ETH R) on the clinician app: R, PSY, ETH; not SUD, V;
   * - clinician without grants: nothing that needs clearance.
   * The unknown label X is never cleared (V with no self-access, opt-in with no Consent).
   */
  readonly cleared: ReadonlySet<Label>;
  /**
   * The labels it may see on a resource of no patient (a Bundle): self-access is for the
   * patient's own data only, so app AND user need the grant, and a patient user holds none.
   * @default - {@link cleared}
   */
  readonly clearedWithoutPatient?: ReadonlySet<Label>;
}

const CALLERS: readonly Caller[] = [
  {
    name: 'third-party app, patient A',
    who: { clientId: CLIENTS.thirdParty, scope: PATIENT_SCOPE, patient: PATIENT_A, fhirUser: `Patient/${PATIENT_A}` },
    confinedTo: 'A',
    cleared: new Set<Label>(['N', 'R', 'ETH']),
    clearedWithoutPatient: new Set<Label>(['N']),
  },
  {
    name: 'portal app, patient A',
    who: { clientId: CLIENTS.portal, scope: PATIENT_SCOPE, patient: PATIENT_A, fhirUser: `Patient/${PATIENT_A}` },
    confinedTo: 'A',
    cleared: new Set<Label>(['N', 'R', 'PSY', 'ETH', 'SUD']),
    clearedWithoutPatient: new Set<Label>(['N']),
  },
  {
    name: 'clinician with behavioral-health',
    who: { clientId: CLIENTS.clinician, scope: USER_SCOPE, fhirUser: 'Practitioner/prac-7', labels: 'behavioral-health' },
    cleared: new Set<Label>(['N', 'R', 'PSY', 'ETH']),
  },
  {
    name: 'clinician without grants',
    who: { clientId: CLIENTS.clinician, scope: USER_SCOPE, fhirUser: 'Practitioner/prac-8' },
    cleared: new Set<Label>(['N']),
  },
];

// ---------------------------------------------------------------------------------------------
// Generated resources

type Pat = 'A' | 'B';
const patientId = (p: Pat) => (p === 'A' ? PATIENT_A : PATIENT_B);

interface ObsSpec {
  readonly kind: 'Observation';
  readonly patient: Pat;
  readonly labels: readonly Label[];
  /** Inline labels of each note (a list of complex elements). */
  readonly notes: ReadonlyArray<readonly Label[]>;
  /** Inline labels of each component item, and of its `valueString` (through `_valueString`). */
  readonly components: ReadonlyArray<{ readonly item: readonly Label[]; readonly value: readonly Label[] }>;
  readonly contained: readonly LeafSpec[];
}
interface RpSpec {
  readonly kind: 'RelatedPerson';
  readonly patient: Pat;
  readonly labels: readonly Label[];
  /** Inline labels of each name item, and of each of its given names (a repeating primitive, `_given`). */
  readonly names: ReadonlyArray<{ readonly item: readonly Label[]; readonly given: ReadonlyArray<readonly Label[]> }>;
  readonly telecom: ReadonlyArray<readonly Label[]>;
}
type LeafSpec = (Omit<ObsSpec, 'contained'> & { readonly contained: readonly [] }) | RpSpec;
interface BundleSpec {
  readonly kind: 'Bundle';
  readonly labels: readonly Label[];
  readonly entries: ReadonlyArray<ObsSpec | RpSpec>;
}
type TopSpec = ObsSpec | RpSpec | BundleSpec;

const label = fc.constantFrom(...LABELS);
const labels = fc.oneof({ weight: 3, arbitrary: fc.constant<Label[]>([]) }, { weight: 2, arbitrary: fc.uniqueArray(label, { minLength: 1, maxLength: 2 }) });
const inlineLabels = fc.oneof({ weight: 3, arbitrary: fc.constant<Label[]>([]) }, { weight: 1, arbitrary: fc.uniqueArray(label, { minLength: 1, maxLength: 1 }) });
const pat = fc.constantFrom<Pat>('A', 'A', 'B');

const obsFields = {
  kind: fc.constant('Observation' as const),
  patient: pat,
  labels,
  notes: fc.array(inlineLabels, { minLength: 1, maxLength: 3 }),
  components: fc.array(fc.record({ item: inlineLabels, value: inlineLabels }), { maxLength: 2 }),
};
const rpSpec: fc.Arbitrary<RpSpec> = fc.record({
  kind: fc.constant('RelatedPerson' as const),
  patient: pat,
  labels,
  names: fc.array(fc.record({ item: inlineLabels, given: fc.array(inlineLabels, { minLength: 1, maxLength: 3 }) }), { minLength: 1, maxLength: 2 }),
  telecom: fc.array(inlineLabels, { maxLength: 2 }),
});
const leafSpec: fc.Arbitrary<LeafSpec> = fc.oneof(fc.record({ ...obsFields, contained: fc.constant([] as []) }), rpSpec);
const obsSpec: fc.Arbitrary<ObsSpec> = fc.record({ ...obsFields, contained: fc.array(leafSpec, { maxLength: 2 }) });
const bundleSpec: fc.Arbitrary<BundleSpec> = fc.record({
  kind: fc.constant('Bundle' as const),
  labels,
  entries: fc.array(fc.oneof(obsSpec, rpSpec), { minLength: 1, maxLength: 3 }),
});
const topSpec: fc.Arbitrary<TopSpec> = fc.oneof({ weight: 3, arbitrary: obsSpec }, { weight: 2, arbitrary: rpSpec }, { weight: 2, arbitrary: bundleSpec });

/** One resource on a token's path: its labels and patient (none for a Bundle). */
interface Node {
  readonly labels: readonly Label[];
  readonly patient?: Pat;
}
/** A distinctive string value and what decides whether a caller may see it. */
interface Token {
  readonly value: string;
  readonly path: readonly Node[];
  readonly inline: readonly Label[];
}

/**
 * THE ORACLE: visible iff every resource on the path is in the caller's compartment (when
 * confined) with labels the caller is cleared for (for a resource of no patient, without
 * self-access), and the token's own inline labels are cleared for its resource.
 */
function visible(caller: Caller, t: Token): boolean {
  const clearedFor = (n: Node) => (n.patient === undefined ? (caller.clearedWithoutPatient ?? caller.cleared) : caller.cleared);
  const inCompartment = (n: Node) => caller.confinedTo === undefined || n.patient === undefined || n.patient === caller.confinedTo;
  const own = t.path[t.path.length - 1];
  return t.path.every((n) => inCompartment(n) && n.labels.every((l) => clearedFor(n).has(l))) && t.inline.every((l) => clearedFor(own).has(l));
}

let counter = 0;
/** A fresh distinctive value (never a substring of another: fixed width, fenced). */
const fresh = () => `wpz${String(++counter).padStart(6, '0')}q`;
const ext = (ls: readonly Label[]) => (ls.length > 0 ? { extension: ls.map((l) => ({ url: INLINE_LABEL_EXTENSION, valueCoding: CODING[l] })) } : {});

interface Rendered {
  readonly resource: Json;
  readonly tokens: Token[];
}

function hasInline(spec: TopSpec | LeafSpec): boolean {
  switch (spec.kind) {
    case 'Observation':
      return spec.notes.some((n) => n.length > 0) || spec.components.some((c) => c.item.length > 0 || c.value.length > 0) || spec.contained.some(hasInline);
    case 'RelatedPerson':
      return spec.names.some((n) => n.item.length > 0 || n.given.some((g) => g.length > 0)) || spec.telecom.some((t) => t.length > 0);
    case 'Bundle':
      return spec.entries.some(hasInline);
  }
}

/** Renders a spec as FHIR JSON, recording each token with its path. `id`: a top-level resource's id (itself a token). */
function render(spec: TopSpec | LeafSpec, parents: readonly Node[], top: boolean, containedId?: string): Rendered {
  const node: Node = { labels: spec.labels, ...(spec.kind !== 'Bundle' ? { patient: spec.patient } : {}) };
  const path = [...parents, node];
  const tokens: Token[] = [];
  const t = (inline: readonly Label[]) => {
    const value = fresh();
    tokens.push({ value, path, inline });
    return value;
  };
  const security = [...spec.labels.map((l) => CODING[l]), ...(hasInline(spec) ? [PROCESS_INLINE] : [])];
  const head: Json = {
    resourceType: spec.kind,
    ...(top ? { id: t([]) } : containedId ? { id: containedId } : {}),
    ...(security.length > 0 ? { meta: { security } } : {}),
  };
  switch (spec.kind) {
    case 'Observation': {
      const contained = spec.contained.map((c, i) => render(c, path, false, `c${i}`));
      for (const c of contained) tokens.push(...c.tokens);
      return {
        tokens,
        resource: {
          ...head,
          status: 'final',
          code: { coding: [{ system: 'http://loinc.org', code: '72166-2' }] },
          subject: { reference: `Patient/${patientId(spec.patient)}` },
          ...(contained.length > 0 ? { contained: contained.map((c) => c.resource), derivedFrom: contained.map((_c, i) => ({ reference: `#c${i}` })) } : {}),
          note: spec.notes.map((ls) => ({ text: t(ls), ...ext(ls) })),
          ...(spec.components.length > 0
            ? {
                component: spec.components.map((c) => ({
                  ...ext(c.item),
                  code: { text: t(c.item) },
                  valueString: t([...c.item, ...c.value]),
                  ...(c.value.length > 0 ? { _valueString: ext(c.value) } : {}),
                })),
              }
            : {}),
        },
      };
    }
    case 'RelatedPerson':
      return {
        tokens,
        resource: {
          ...head,
          patient: { reference: `Patient/${patientId(spec.patient)}` },
          name: spec.names.map((n) => ({
            ...ext(n.item),
            family: t(n.item),
            given: n.given.map((g) => t([...n.item, ...g])),
            ...(n.given.some((g) => g.length > 0) ? { _given: n.given.map((g) => (g.length > 0 ? ext(g) : null)) } : {}),
          })),
          ...(spec.telecom.length > 0 ? { telecom: spec.telecom.map((ls) => ({ ...ext(ls), system: 'phone', value: t(ls) })) } : {}),
        },
      };
    case 'Bundle': {
      const entries = spec.entries.map((e) => render(e, path, false));
      for (const e of entries) tokens.push(...e.tokens);
      return {
        tokens,
        resource: {
          ...head,
          type: 'collection',
          entry: entries.map((e, i) => ({ fullUrl: `urn:uuid:5e0c1d2a-7b3f-4c6d-8e9f-${String(counter * 10 + i).padStart(12, '0')}`, resource: e.resource })),
        },
      };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Requests

type Route = 'read' | 'vread' | 'search-id' | 'search-patient' | 'history' | 'revinclude' | 'everything' | 'batch' | 'transaction';
const ROUTES: readonly Route[] = ['read', 'vread', 'search-id', 'search-patient', 'history', 'revinclude', 'everything', 'batch', 'transaction'];
const ELEMENTS = ['id', 'status', 'code', 'note', 'component', 'name', 'telecom', 'patient', 'subject', 'contained', 'entry', 'type', 'meta', 'foo'];

const projection: fc.Arbitrary<Array<[string, string]>> = fc.oneof(
  { weight: 2, arbitrary: fc.constant<Array<[string, string]>>([]) },
  { weight: 2, arbitrary: fc.subarray(ELEMENTS, { minLength: 1, maxLength: 4 }).map((els) => [['_elements', els.join(',')] as [string, string]]) },
  { weight: 2, arbitrary: fc.constantFrom('true', 'text', 'data', 'count').map((v) => [['_summary', v] as [string, string]]) },
);

interface RequestChoice {
  readonly route: Route;
  /** Index (modulo) into the stored resources. */
  readonly target: number;
  readonly projection: Array<[string, string]>;
  readonly include: boolean;
  readonly patient: Pat;
}
const requestChoice: fc.Arbitrary<RequestChoice> = fc.record({
  route: fc.constantFrom(...ROUTES),
  target: fc.nat(),
  projection,
  include: fc.boolean(),
  patient: pat,
});

interface Stored {
  readonly type: string;
  readonly id: string;
  readonly patient?: Pat;
}

const query = (params: ReadonlyArray<readonly [string, string]>): Record<string, string[]> | undefined => {
  if (params.length === 0) return undefined;
  const out: Record<string, string[]> = {};
  for (const [n, v] of params) (out[n] ??= []).push(v);
  return out;
};
const url = (path: string, params: ReadonlyArray<readonly [string, string]>) =>
  params.length === 0 ? path : `${path}?${params.map(([n, v]) => `${encodeURIComponent(n)}=${encodeURIComponent(v)}`).join('&')}`;

function requestFor(c: RequestChoice, s: Stored): CallSpec {
  const p = c.projection;
  const get = (path: string, params: Array<[string, string]> = []): CallSpec => ({ method: 'GET', path, query: query([...params, ...p]) });
  const include: Array<[string, string]> = c.include && s.type !== 'Bundle' ? [['_include', `${s.type}:${s.type === 'Observation' ? 'subject' : 'patient'}`]] : [];
  switch (c.route) {
    case 'read':
      return get(`${s.type}/${s.id}`);
    case 'vread':
      return get(`${s.type}/${s.id}/_history/1`);
    case 'search-id':
      return get(s.type, [['_id', s.id], ...include]);
    case 'search-patient':
      return s.type === 'Bundle' ? get('Bundle') : get(s.type, [['patient', `Patient/${patientId(c.patient)}`], ...include]);
    case 'history':
      return get(`${s.type}/${s.id}/_history`);
    case 'revinclude':
      return get('Patient', [
        ['_id', patientId(s.patient ?? c.patient)],
        ['_revinclude', 'Observation:subject'],
        ['_revinclude', 'RelatedPerson:patient'],
      ]);
    case 'everything':
      return get(`Patient/${patientId(s.patient ?? c.patient)}/$everything`);
    case 'batch':
    case 'transaction':
      return {
        method: 'POST',
        path: null,
        body: {
          resourceType: 'Bundle',
          type: c.route,
          entry: [{ request: { method: 'GET', url: url(`${s.type}/${s.id}`, p) } }, { request: { method: 'GET', url: url(s.type, [['_id', s.id], ...p]) } }],
        },
      };
  }
}

// ---------------------------------------------------------------------------------------------
// Checks

const responseText = (r: CallResult) => (r.body === undefined ? r.text : JSON.stringify(withoutLinks(r.body)));
const TOKEN = /wpz\d{6}q/g;
const tokensIn = (r: CallResult): Set<string> => new Set(responseText(r).match(TOKEN) ?? []);

/** `x`/`_x` array pairs out of step. */
function misaligned(value: unknown, path = '$'): string[] {
  const out: string[] = [];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...misaligned(v, `${path}[${i}]`)));
  else if (value !== null && typeof value === 'object') {
    const o = value as Json;
    for (const [k, v] of Object.entries(o)) {
      if (k.startsWith('_') && Array.isArray(v) && (!Array.isArray(o[k.slice(1)]) || o[k.slice(1)].length !== v.length)) out.push(`${path}.${k}`);
      out.push(...misaligned(v, `${path}.${k}`));
    }
  }
  return out;
}

const HARNESS_OPTIONS = {
  labels: { policy: POLICY, apps: APPS, consentCacheTtlMs: 0 },
  confidentialClientIds: [CONFIDENTIAL_CLIENT],
  readableNonCompartmentTypes: ['Medication', 'Practitioner', 'Organization', 'Bundle'],
};

/** Seeds rendered resources into the server; returns them as stored targets. */
function seed(h: Harness, specs: readonly TopSpec[], known: Token[], stored: Stored[]): Array<Stored & { resource: Json }> {
  const out: Array<Stored & { resource: Json }> = [];
  for (const spec of specs) {
    const { resource, tokens } = render(spec, [], true);
    h.server.seed([resource]);
    known.push(...tokens);
    const s = { type: spec.kind, id: resource.id as string, ...(spec.kind !== 'Bundle' ? { patient: spec.patient } : {}) };
    stored.push(s);
    out.push({ ...s, resource });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Property 1

describe('property: nothing the caller could not see in the whole resource read alone is ever returned', () => {
  let h: Harness;
  const known: Token[] = [];
  const stored: Stored[] = [];
  let responsesWithVisible = 0;
  let responses = 0;

  beforeAll(async () => {
    h = await startHarness(HARNESS_OPTIONS, LEAST_HELPFUL_SERVER);
  });
  afterAll(() => h.close());

  test('random labelled resources, random requests with _elements/_summary/_include, four callers', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(topSpec, { minLength: 1, maxLength: 3 }),
        fc.array(fc.tuple(fc.nat({ max: CALLERS.length - 1 }), requestChoice), { minLength: 3, maxLength: 4 }),
        async (specs, requests) => {
          const fresh = seed(h, specs, known, stored);
          for (const [i, [callerIndex, choice]] of requests.entries()) {
            const caller = CALLERS[callerIndex];
            // The first requests aim at what was just stored; later ones at anything stored so far.
            const target = i < fresh.length ? fresh[i] : stored[choice.target % stored.length];
            const spec = requestFor(choice, target);
            const r = await h.callAs(authorizerContext(caller.who), spec);
            const found = tokensIn(r);
            const invisible = known.filter((t) => found.has(t.value) && !visible(caller, t)).map((t) => t.value);
            const context = `${caller.name}: ${spec.method} ${spec.path ?? ''} ${JSON.stringify(spec.query ?? (spec.body as Json | undefined)?.entry ?? '')} -> ${r.status}`;
            expect({ context, invisible }).toEqual({ context, invisible: [] });
            expect({ context, misaligned: misaligned(r.body) }).toEqual({ context, misaligned: [] });
            expect({ context, status: r.status < 500 }).toEqual({ context, status: true });
            responses++;
            if (known.some((t) => found.has(t.value))) responsesWithVisible++;
          }
        },
      ),
      { numRuns: 40 },
    );
    // Not vacuous: a fair share of responses returned generated values.
    expect(responsesWithVisible).toBeGreaterThan(responses / 5);
  });
});

// ---------------------------------------------------------------------------------------------
// Property 2

const APP_IDENTIFIER = new Map(APPS.map((a) => [a.clientId, a.identifier]));

type Deny =
  | { readonly kind: 'consent'; readonly patient: Pat; readonly provision: 'label' | 'class' | 'app' | 'all'; readonly label: Label; readonly type: string }
  | { readonly kind: 'label'; readonly label: Label }
  | { readonly kind: 'grant'; readonly which: number };

const deny: fc.Arbitrary<Deny> = fc.oneof(
  fc.record({
    kind: fc.constant('consent' as const),
    patient: pat,
    provision: fc.constantFrom('label' as const, 'class' as const, 'app' as const, 'all' as const),
    label: fc.constantFrom<Label>('R', 'V', 'PSY', 'ETH', 'SUD'),
    type: fc.constantFrom('Observation', 'RelatedPerson', 'Bundle'),
  }),
  fc.record({ kind: fc.constant('label' as const), label }),
  fc.record({ kind: fc.constant('grant' as const), which: fc.nat() }),
);

/** The caller with one grant removed: a label grant of the user, else the app swapped for one cleared for less, else a scope. */
function withoutGrant(caller: Caller, which: number): Who {
  const who = caller.who;
  const grants = (who.labels ?? '').split(' ').filter((g) => g !== '');
  if (grants.length > 0) return { ...who, labels: grants.filter((_g, i) => i !== which % grants.length).join(' ') };
  if (who.clientId === CLIENTS.portal && which % 2 === 0) return { ...who, clientId: CLIENTS.thirdParty };
  const scopes = who.scope.split(' ').filter((s) => /^(patient|user)\//.test(s));
  const dropped = scopes[which % scopes.length];
  return { ...who, scope: who.scope.split(' ').filter((s) => s !== dropped).join(' ') };
}

/** A Consent of `patient` with only a deny (no root type: nothing is permitted by it). */
function denyConsent(id: string, d: Extract<Deny, { kind: 'consent' }>, caller: Caller): Json {
  const criteria =
    d.provision === 'label'
      ? { securityLabel: [CODING[d.label]] }
      : d.provision === 'class'
        ? { class: [{ system: 'http://hl7.org/fhir/resource-types', code: d.type }] }
        : d.provision === 'app'
          ? { actor: [{ reference: { identifier: APP_IDENTIFIER.get(caller.who.clientId) } }] }
          : {};
  return {
    resourceType: 'Consent',
    id,
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: `Patient/${patientId(d.patient)}` },
    provision: { provision: [{ type: 'deny', ...criteria }] },
  };
}

describe('property: adding a deny never widens a response', () => {
  let h: Harness;
  const known: Token[] = [];
  const stored: Stored[] = [];
  let consents = 0;
  let narrowed = 0;

  beforeAll(async () => {
    h = await startHarness(HARNESS_OPTIONS, LEAST_HELPFUL_SERVER);
  });
  afterAll(() => h.close());

  test('a Consent deny provision, an added label or a removed grant: the values returned after are a subset', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(topSpec, { minLength: 1, maxLength: 2 }),
        fc.nat({ max: CALLERS.length - 1 }),
        requestChoice,
        deny,
        async (specs, callerIndex, choice, d) => {
          const fresh = seed(h, specs, known, stored);
          const target = fresh[choice.target % fresh.length];
          const caller = CALLERS[callerIndex];
          const spec = requestFor(choice, target);
          const before = await h.callAs(authorizerContext(caller.who), spec);
          let who = caller.who;
          let consentId: string | undefined;
          if (d.kind === 'consent') {
            consentId = `wp-deny-${++consents}`;
            h.server.seed([denyConsent(consentId, d, caller)]);
          } else if (d.kind === 'label') {
            const security = [...(target.resource.meta?.security ?? []), CODING[d.label]];
            h.server.seed([{ ...target.resource, meta: { ...target.resource.meta, security } }]);
          } else who = withoutGrant(caller, d.which);
          let after: CallResult;
          try {
            after = await h.callAs(authorizerContext(who), spec);
          } finally {
            if (consentId) h.server.remove('Consent', consentId);
          }
          const was = tokensIn(before);
          const widened = [...tokensIn(after)].filter((t) => !was.has(t));
          const context = `${caller.name}, deny ${JSON.stringify(d)}: ${spec.method} ${spec.path ?? ''} ${JSON.stringify(spec.query ?? '')} -> ${before.status}/${after.status}`;
          expect({ context, widened }).toEqual({ context, widened: [] });
          if (tokensIn(after).size < was.size) narrowed++;
        },
      ),
      { numRuns: 40 },
    );
    // Not vacuous: some denies took something away.
    expect(narrowed).toBeGreaterThan(0);
  });
});
