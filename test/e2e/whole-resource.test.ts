/**
 * "The proxy decides only on what it has seen whole, and returns only what it decided on"
 * (DESIGN.md, the enforcement rule), end to end, against the LEAST HELPFUL conformant server:
 * one that honours `_elements`/`_summary` by dropping everything not asked for (`meta`,
 * `subject`, … included) and resolves conditional references in writes
 * (`LEAST_HELPFUL_SERVER`, `fhir-server.ts`). Security labels and Consent are enforced with the
 * kit's label policy and the apps of `fixtures/consent-seed.ts`; the data is
 * `fixtures/consent-seed.ts` plus `fixtures/whole-resource-seed.ts`.
 *
 * Each table runs one attack through every route it applies to: read, vread, search, history,
 * `_include`/`_revinclude`, `$everything`, batch and transaction entries.
 * 1. projections (`_elements`, `_summary`) never release what the whole resource would not, are
 *    never forwarded, are applied by the proxy (SUBSETTED), and `_summary=count` counts only what
 *    the caller may see;
 * 2. nested resources (`contained[]`, entries of a stored Bundle, deeper) are decided as if read
 *    alone and redacted;
 * 3. inline labels on repeating elements remove the element and keep `x`/`_x` aligned;
 * 4. unknown consent state (Consent search outage, malformed Consent) releases nothing of the
 *    patient: 503 + Retry-After for an outage, audited as such;
 * 5. writes are authorised as they will be sent (a create's id is not the caller's to choose),
 *    and the AuditEvent reports what the server did;
 * 6. conditional references (`Patient?identifier=…`) cannot reach another patient.
 */
import type { AuditEvent } from 'fhir/r4';
import { APPS, CLIENTS, consent, CONSENT_SEED, POLICY } from './fixtures/consent-seed';
import { PATIENT_A, PATIENT_B, SEED_IDS } from './fixtures/seed';
import {
  IDENTIFIER_SYSTEM,
  MRN_A,
  MRN_B,
  OBSERVATION_VALUE_SYSTEM,
  SECRETS,
  VISIBLE,
  WHO,
  WR,
  WR_SEED,
  type Who,
} from './fixtures/whole-resource-seed';
import type { RecordedRequest } from './fhir-server';
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

const HARNESS_OPTIONS = {
  labels: { policy: POLICY, apps: APPS, consentCacheTtlMs: 0 },
  confidentialClientIds: [CONFIDENTIAL_CLIENT, CLIENTS.payer],
  readableNonCompartmentTypes: ['Medication', 'Practitioner', 'Organization', 'Bundle'],
};

async function seededHarness(): Promise<Harness> {
  const h = await startHarness(HARNESS_OPTIONS, LEAST_HELPFUL_SERVER);
  h.server.seed([...CONSENT_SEED, ...WR_SEED]);
  return h;
}

const call = (h: Harness, who: Who, spec: CallSpec): Promise<CallResult> => h.callAs(authorizerContext(who), spec);

// ---------------------------------------------------------------------------------------------
// Helpers on responses

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The response as text without Bundle links (they echo the caller's own query). */
function responseText(r: CallResult): string {
  return r.body === undefined ? r.text : JSON.stringify(withoutLinks(r.body));
}

/** Which of `secrets` appear in the response. */
const leaked = (r: CallResult, secrets: readonly string[]): string[] => {
  const text = responseText(r);
  return secrets.filter((s) => text.includes(s));
};

const RESULT_BUNDLES = new Set(['searchset', 'history', 'batch-response', 'transaction-response']);

/** Every resource a response returns: itself, or the resources of its (nested) result Bundles; OperationOutcomes left out. */
function returned(body: unknown): Json[] {
  if (!isObj(body) || body.resourceType === 'OperationOutcome') return [];
  if (body.resourceType === 'Bundle' && RESULT_BUNDLES.has(body.type)) {
    return (Array.isArray(body.entry) ? body.entry : []).flatMap((e: Json) => returned(e?.resource));
  }
  return [body];
}

const hasCode = (codings: unknown, code: string): boolean =>
  Array.isArray(codings) && codings.some((c) => isObj(c) && c.system === OBSERVATION_VALUE_SYSTEM && c.code === code);
const subsetted = (r: Json) => hasCode(r.meta?.tag, 'SUBSETTED');
const redacted = (r: Json) => hasCode(r.meta?.security, 'REDACTED');

/** Forwarded requests (or forwarded Bundle entries) that carried `_elements` or `_summary`. */
function forwardedProjections(forwarded: readonly RecordedRequest[]): string[] {
  const out: string[] = [];
  for (const f of forwarded) {
    if (f.query.some(([n]) => n === '_elements' || n === '_summary' || n.startsWith('_elements:') || n.startsWith('_summary:'))) {
      out.push(`${f.method} ${f.path}?${f.rawQuery}`);
    }
    const body = f.body as Json | undefined;
    if (isObj(body) && body.resourceType === 'Bundle' && Array.isArray(body.entry)) {
      for (const e of body.entry) {
        const url = String(e?.request?.url ?? '');
        if (/[?&]_(elements|summary)[=:]/.test(url)) out.push(`entry ${url}`);
      }
    }
  }
  return out;
}

/** Every `x` / `_x` pair of arrays in the response that is out of step (an `_x` array needs an `x` array of its length). */
function misaligned(value: unknown, path = '$'): string[] {
  const out: string[] = [];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...misaligned(v, `${path}[${i}]`)));
  else if (isObj(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (k.startsWith('_') && Array.isArray(v)) {
        const sibling = value[k.slice(1)];
        if (!Array.isArray(sibling) || sibling.length !== v.length) out.push(`${path}.${k}`);
      }
      out.push(...misaligned(v, `${path}.${k}`));
    }
  }
  return out;
}

/** Statuses of a batch/transaction response's entries. */
const entryStatuses = (r: CallResult): string[] => (Array.isArray(r.body?.entry) ? r.body.entry.map((e: Json) => String(e?.response?.status ?? '')) : []);

// ---------------------------------------------------------------------------------------------
// Routes

type Route = 'read' | 'vread' | 'search' | 'history' | '_include' | '_revinclude' | '_revinclude:performer' | '$everything' | 'batch' | 'transaction';
const SEARCH_ROUTES: ReadonlySet<Route> = new Set(['search', '_include', '_revinclude', '_revinclude:performer', '$everything']);

interface Target {
  readonly type: string;
  readonly id: string;
  /** The patient the resource belongs to (none for a Bundle). */
  readonly patient?: string;
  /** The version vread asks for, and the one holding the labelled content. @default '1' */
  readonly version?: string;
  /** `_include` values. @default - `<type>:subject`, `<type>:performer` */
  readonly includes?: readonly string[];
}

type Params = ReadonlyArray<readonly [string, string]>;

const toQuery = (params: Params): Record<string, string[]> | undefined => {
  if (params.length === 0) return undefined;
  const out: Record<string, string[]> = {};
  for (const [n, v] of params) (out[n] ??= []).push(v);
  return out;
};
const toUrl = (path: string, params: Params) =>
  params.length === 0 ? path : `${path}?${params.map(([n, v]) => `${encodeURIComponent(n)}=${encodeURIComponent(v)}`).join('&')}`;

/** The request of one route at one target, with extra parameters (a projection). */
function routeSpec(route: Route, t: Target, extra: Params = []): CallSpec {
  const get = (path: string, params: Params = []): CallSpec => ({ method: 'GET', path, query: toQuery([...params, ...extra]) });
  switch (route) {
    case 'read':
      return get(`${t.type}/${t.id}`);
    case 'vread':
      return get(`${t.type}/${t.id}/_history/${t.version ?? '1'}`);
    case 'search':
      return get(t.type, [['_id', t.id]]);
    case 'history':
      return get(`${t.type}/${t.id}/_history`);
    case '_include':
      return get(t.type, [['_id', t.id], ...(t.includes ?? [`${t.type}:subject`, `${t.type}:performer`]).map((v) => ['_include', v] as const)]);
    case '_revinclude':
      return t.type === 'Patient'
        ? get('Patient', [
            ['_id', t.id],
            ['_revinclude', 'Observation:subject'],
          ])
        : get('Patient', [
            ['_id', t.patient ?? PATIENT_A],
            ['_revinclude', `${t.type}:subject`],
          ]);
    case '_revinclude:performer':
      return get('Practitioner', [
        ['_id', SEED_IDS.practitioner],
        ['_revinclude', 'Observation:performer'],
      ]);
    case '$everything':
      return get(`Patient/${t.patient ?? PATIENT_A}/$everything`);
    case 'batch':
    case 'transaction': {
      const entry = [
        { request: { method: 'GET', url: toUrl(`${t.type}/${t.id}`, extra) } },
        { request: { method: 'GET', url: toUrl(t.type, [['_id', t.id], ...extra]) } },
      ];
      return { method: 'POST', path: null, body: { resourceType: 'Bundle', type: route, entry } };
    }
  }
}

/** Checks shared by every read-side row. */
function expectCommon(r: CallResult, secrets: readonly string[]): void {
  expect(r.status).toBeLessThan(500);
  expect(leaked(r, secrets)).toEqual([]);
  expect(forwardedProjections(r.forwarded)).toEqual([]);
  expect(r.forwarded.every((f) => f.signatureValid)).toBe(true);
  expect(r.audits.length).toBeGreaterThanOrEqual(1);
}

// ---------------------------------------------------------------------------------------------
// 1. Projections

const PROJECTIONS: ReadonlyArray<readonly [string, string]> = [
  ['_elements', 'id'],
  ['_elements', 'status'],
  ['_summary', 'true'],
  ['_summary', 'text'],
  ['_summary', 'data'],
  ['_summary', 'count'],
];

interface Denied {
  readonly name: string;
  readonly who: Who;
  readonly target: Target;
  readonly secrets: readonly string[];
  readonly routes: readonly Route[];
  /**
   * Resources never returned (`Type/id`). @default - the target. (The target's id may still appear
   * inside a resource the caller may see, e.g. in a visible MedicationRequest's reference.)
   */
  readonly withheld?: readonly string[];
}

const OBS_ROUTES: readonly Route[] = ['read', 'vread', 'search', 'history', '_include', '_revinclude', '_revinclude:performer', '$everything', 'batch', 'transaction'];

const DENIED: readonly Denied[] = [
  {
    name: 'SUD data without consent',
    who: WHO.prac2,
    target: { type: 'Observation', id: WR.sudA, patient: PATIENT_A },
    secrets: [WR.sudA, SECRETS.sud],
    routes: OBS_ROUTES,
  },
  {
    name: 'PSY data through an app not cleared for it',
    who: WHO.thirdPartySelf,
    target: { type: 'Observation', id: WR.psyA, patient: PATIENT_A },
    secrets: [WR.psyA, SECRETS.psy],
    routes: OBS_ROUTES,
  },
  {
    name: "another patient's data to a confined caller",
    who: WHO.portalSelf,
    target: { type: 'Observation', id: WR.plainB, patient: PATIENT_B },
    secrets: [WR.plainB, SECRETS.plainB],
    routes: OBS_ROUTES,
  },
  {
    name: 'Consent-denied data (the payer)',
    who: WHO.payer,
    target: { type: 'Observation', id: WR.plainA, patient: PATIENT_A },
    secrets: [WR.plainA, VISIBLE.plainA],
    routes: OBS_ROUTES,
  },
  {
    name: 'a labelled Medication reached by _include',
    who: WHO.thirdPartySelf,
    target: { type: 'MedicationRequest', id: 'medreq-a-psy', patient: PATIENT_A, includes: ['MedicationRequest:medication'] },
    secrets: ['36437'],
    withheld: ['Medication/med-psy'],
    routes: ['_include'],
  },
];

/** `total` an unprojected request gives: its match entries (undefined when paged or refused). */
async function visibleMatches(h: Harness, who: Who, spec: CallSpec): Promise<number | undefined> {
  const r = await call(h, who, spec);
  if (r.status !== 200 || (r.body?.link ?? []).some((l: Json) => l.relation === 'next')) return undefined;
  return (r.body?.entry ?? []).filter((e: Json) => e.resource && (e.search?.mode ?? 'match') === 'match').length;
}

describe('1. projections: _elements and _summary decided on the whole resource', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await seededHarness();
  });
  afterAll(() => h.close());

  const rows = DENIED.flatMap((d) =>
    d.routes.flatMap((route) =>
      PROJECTIONS.map(([name, value]) => [`projection: ${route} ${name}=${value} does not release ${d.name}`, d, route, name, value] as const),
    ),
  );

  test.each(rows)('%s', async (_title, d, route, name, value) => {
    const spec = routeSpec(route, d.target, [[name, value]]);
    const r = await call(h, d.who, spec);
    expectCommon(r, d.secrets);
    const withheld = new Set(d.withheld ?? [`${d.target.type}/${d.target.id}`]);
    expect(returned(r.body).filter((x) => withheld.has(`${x.resourceType}/${x.id}`)).map((x) => `${x.resourceType}/${x.id}`)).toEqual([]);
    // Whatever is returned was projected by the proxy, and says so.
    if (value !== 'count') expect(returned(r.body).filter((x) => !subsetted(x)).map((x) => `${x.resourceType}/${x.id}`)).toEqual([]);
    if (value === 'count' && SEARCH_ROUTES.has(route) && r.status === 200) {
      expect(returned(r.body)).toEqual([]);
      const expected = await visibleMatches(h, d.who, routeSpec(route, d.target));
      if (expected !== undefined) expect(r.body.total).toBe(expected);
    }
  });

  // The same projections for a caller who may see the record: applied by the proxy, mandatory elements kept.
  const ALLOWED: ReadonlyArray<readonly [string, string]> = [...PROJECTIONS, ['_elements', 'foo'], ['_elements', 'note']];
  const target: Target = { type: 'Observation', id: WR.plainA, patient: PATIENT_A };
  const allowedRows = OBS_ROUTES.flatMap((route) =>
    ALLOWED.map(([name, value]) => [`projection: ${route} ${name}=${value} is applied by the proxy to what the caller may see`, route, name, value] as const),
  );

  test.each(allowedRows)('%s', async (_title, route, name, value) => {
    const r = await call(h, WHO.portalSelf, routeSpec(route, target, [[name, value]]));
    expectCommon(r, [WR.plainB, SECRETS.plainB]);
    expect(r.status).toBe(200);
    if (value === 'count') {
      if (SEARCH_ROUTES.has(route)) {
        expect(returned(r.body)).toEqual([]);
        const expected = await visibleMatches(h, WHO.portalSelf, routeSpec(route, target));
        expect(r.body.total).toBeGreaterThanOrEqual(1);
        if (expected !== undefined) expect(r.body.total).toBe(expected);
      }
      return;
    }
    const resources = returned(r.body);
    const mine = resources.filter((x) => x.resourceType === 'Observation' && x.id === WR.plainA);
    expect(mine.length).toBeGreaterThanOrEqual(1);
    expect(resources.filter((x) => !subsetted(x)).map((x) => `${x.resourceType}/${x.id}`)).toEqual([]);
    for (const o of resources.filter((x) => x.resourceType === 'Observation')) {
      if (name === '_elements') {
        // Observation.status and Observation.code are mandatory: always returned.
        expect(o.status).toBeDefined();
        expect(o.code).toBeDefined();
        const allowed = new Set(['resourceType', 'id', 'meta', 'status', 'code', ...(value === 'note' ? ['note'] : [])]);
        expect(Object.keys(o).filter((k) => !allowed.has(k))).toEqual([]);
      }
      if (value === 'true') expect(o.note).toBeUndefined();
      if (value === 'text') expect(Object.keys(o).filter((k) => !['resourceType', 'id', 'meta', 'text', 'status', 'code'].includes(k))).toEqual([]);
      if (value === 'data') expect(o.text).toBeUndefined();
    }
    if (value === 'note' || value === 'data') expect(JSON.stringify(mine)).toContain(VISIBLE.plainA);
    else expect(JSON.stringify(mine)).not.toContain(VISIBLE.plainA);
  });
});

// ---------------------------------------------------------------------------------------------
// 2. Nested resources

interface Nested {
  readonly name: string;
  readonly who: Who;
  readonly target: Target;
  readonly secrets: readonly string[];
  /** A distinctive value of the container itself (it is returned, redacted). */
  readonly visible?: string;
  readonly routes: readonly Route[];
}

const NESTED_OBS_ROUTES: readonly Route[] = ['read', 'vread', 'search', 'history', '_revinclude', '$everything', 'batch', 'transaction'];
const BUNDLE_ROUTES: readonly Route[] = ['read', 'vread', 'search', 'history', 'batch', 'transaction'];

const NESTED: readonly Nested[] = [
  {
    name: 'a contained PSY-labelled Observation, to an app not cleared for PSY',
    who: WHO.thirdPartySelf,
    target: { type: 'Observation', id: WR.nestedPsy, patient: PATIENT_A },
    secrets: [SECRETS.nestedPsy],
    visible: VISIBLE.nestedPsy,
    routes: NESTED_OBS_ROUTES,
  },
  {
    name: "a contained Observation of patient B, to patient A's app",
    who: WHO.portalSelf,
    target: { type: 'Observation', id: WR.nestedB, patient: PATIENT_A },
    secrets: [SECRETS.nestedB],
    visible: VISIBLE.nestedB,
    routes: NESTED_OBS_ROUTES,
  },
  {
    name: 'a contained R-labelled Observation, to a clinician without an R grant',
    who: WHO.pracNoGroups,
    target: { type: 'Observation', id: WR.nestedR, patient: PATIENT_A },
    secrets: [SECRETS.nestedR],
    visible: VISIBLE.nestedR,
    routes: NESTED_OBS_ROUTES.filter((r) => r !== '$everything'),
  },
  {
    name: "a stored collection Bundle's B, PSY and deeper nested entries, to patient A's third-party app",
    who: WHO.thirdPartySelf,
    target: { type: 'Bundle', id: WR.collection },
    secrets: [SECRETS.bundleB, SECRETS.bundlePsy, SECRETS.bundleDeepB, SECRETS.bundleDeepPsy],
    routes: BUNDLE_ROUTES,
  },
  {
    name: "a stored document Bundle's B and PSY entries, to patient A's third-party app",
    who: WHO.thirdPartySelf,
    target: { type: 'Bundle', id: WR.document },
    secrets: [SECRETS.docB, SECRETS.docPsy],
    routes: BUNDLE_ROUTES,
  },
  {
    name: "a stored collection Bundle's PSY entries (also nested deeper), to an unconfined clinician without label grants",
    who: WHO.pracNoGroups,
    target: { type: 'Bundle', id: WR.collection },
    secrets: [SECRETS.bundlePsy, SECRETS.bundleDeepPsy],
    routes: BUNDLE_ROUTES,
  },
  {
    name: "a stored document Bundle's PSY entry, to an unconfined clinician without label grants",
    who: WHO.pracNoGroups,
    target: { type: 'Bundle', id: WR.document },
    secrets: [SECRETS.docPsy],
    routes: BUNDLE_ROUTES,
  },
];

describe('2. nested resources are decided as if read alone', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await seededHarness();
  });
  afterAll(() => h.close());

  const rows = NESTED.flatMap((n) =>
    n.routes.flatMap((route) => [
      [`nested: ${route} never returns ${n.name}`, n, route, undefined] as const,
      [`nested: ${route} _elements=contained,entry never returns ${n.name}`, n, route, ['_elements', n.target.type === 'Bundle' ? 'entry' : 'contained'] as const] as const,
    ]),
  );

  test.each(rows)('%s', async (_title, n, route, projection) => {
    const r = await call(h, n.who, routeSpec(route, n.target, projection ? [projection] : []));
    expectCommon(r, n.secrets);
    if (n.visible === undefined) return;
    // The container is released, without the nested resource, and marked REDACTED.
    const containers = returned(r.body).filter((x) => x.resourceType === n.target.type && x.id === n.target.id);
    if (route === 'read' || route === 'vread' || route === 'search') {
      expect(r.status).toBe(200);
      expect(containers).toHaveLength(1);
    }
    if (!projection && (route === 'read' || route === 'vread' || route === 'search')) expect(JSON.stringify(containers)).toContain(n.visible);
    expect(containers.filter((c) => !redacted(c)).map((c) => `${c.resourceType}/${c.id}`)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// 3. Inline labels on repeating elements

interface Inline {
  readonly name: string;
  readonly target: Target;
  readonly secrets: readonly string[];
  readonly visible: readonly string[];
  readonly routes: readonly Route[];
}

const INLINE: readonly Inline[] = [
  {
    name: "patient A's PSY-labelled given name, name, telecom and contact parts (repeating primitives, complex and nested lists)",
    target: { type: 'Patient', id: PATIENT_A, patient: PATIENT_A, version: '3' },
    secrets: SECRETS.patientInline,
    visible: VISIBLE.patientInline,
    routes: ['read', 'vread', 'search', 'history', '_revinclude', '$everything', 'batch', 'transaction'],
  },
  {
    name: 'PSY-labelled components, a component value and a note of an Observation',
    target: { type: 'Observation', id: WR.inlineObs, patient: PATIENT_A },
    secrets: SECRETS.obsInline,
    visible: VISIBLE.obsInline,
    routes: ['read', 'vread', 'search', 'history', '_include', '_revinclude', '$everything', 'batch', 'transaction'],
  },
];

describe('3. inline labels on repeating elements', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await seededHarness();
  });
  afterAll(() => h.close());

  const rows = INLINE.flatMap((c) =>
    c.routes.flatMap((route) => [
      [`inline: ${route} never returns ${c.name} to an app not cleared for PSY`, c, route, undefined] as const,
      [`inline: ${route} with _elements never returns ${c.name} to an app not cleared for PSY`, c, route, ['_elements', c.target.type === 'Patient' ? 'name,telecom,contact' : 'note,component'] as const] as const,
    ]),
  );

  test.each(rows)('%s', async (_title, c, route, projection) => {
    const r = await call(h, WHO.thirdPartySelf, routeSpec(route, c.target, projection ? [projection] : []));
    // Patient A is returned along with the Observation by some routes: neither's labelled parts may appear.
    expectCommon(r, [...SECRETS.patientInline, ...SECRETS.obsInline]);
    expect(misaligned(r.body)).toEqual([]);
    // The copies of the version holding the labelled elements (older versions of Patient A have none).
    const copies = returned(r.body).filter((x) => x.resourceType === c.target.type && x.id === c.target.id && x.meta?.versionId === (c.target.version ?? '1'));
    if (route === 'read' || route === 'vread' || route === 'search') {
      expect(r.status).toBe(200);
      expect(copies.length).toBeGreaterThanOrEqual(1);
      for (const v of c.visible) expect(responseText(r)).toContain(v);
    }
    expect(copies.filter((x) => !redacted(x)).length).toBe(0);
  });

  test('inline: the portal app (cleared, the Consent permits the patient) sees every part, aligned', async () => {
    for (const c of INLINE) {
      const r = await call(h, WHO.portalSelf, routeSpec('read', c.target));
      expect(r.status).toBe(200);
      for (const v of [...c.secrets, ...c.visible]) expect(r.text).toContain(v);
      expect(misaligned(r.body)).toEqual([]);
      expect(redacted(r.body)).toBe(false);
    }
  });

  test('inline: given and _given stay aligned after the labelled given name is removed', async () => {
    const r = await call(h, WHO.thirdPartySelf, routeSpec('read', INLINE[0].target));
    expect(r.status).toBe(200);
    const name = r.body.name?.[0];
    expect(name.given).toEqual(['Ann', 'Annette']);
    if (name._given !== undefined) expect(name._given).toHaveLength(2);
    expect(r.body.telecom).toEqual([{ system: 'phone', value: '555-0100' }]);
    expect(r.body.contact?.[0]?.name?.given).toEqual(['Carla']);
  });
});

// ---------------------------------------------------------------------------------------------
// 4. Consent unknown

/** Values of patient A's data (unlabelled included). */
const A_DATA = [WR.plainA, VISIBLE.plainA, SEED_IDS.obsAVitals, SEED_IDS.obsALab, 'Alpha', '555-0100', 'Annette'];

const auditText = (audits: AuditEvent[]) => JSON.stringify(audits);
const namesConsentUnavailable = (audits: AuditEvent[]) => /consent[^"]{0,40}unavailable|unavailable[^"]{0,40}consent/i.test(auditText(audits));

describe('4. consent state unknown releases nothing of the patient', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await seededHarness();
  });
  afterAll(() => h.close());

  const target: Target = { type: 'Observation', id: WR.plainA, patient: PATIENT_A };
  const callers: ReadonlyArray<readonly [string, Who, readonly Route[]]> = [
    ['patient A (portal)', WHO.portalSelf, ['read', 'vread', 'search', 'history', '_revinclude', '$everything', 'batch', 'transaction']],
    ['clinician prac-1', WHO.prac1, ['read', 'vread', 'search', 'history', '_revinclude', 'batch', 'transaction']],
  ];

  const outageRows = callers.flatMap(([who, caller, routes]) =>
    routes.map((route) => [`consent outage: ${route} of A's unlabelled data by ${who} is 503 with Retry-After, nothing of A`, caller, route] as const),
  );

  test.each(outageRows)('%s', async (_title, who, route) => {
    h.server.faults.failConsentSearch = true;
    let r: CallResult;
    try {
      r = await call(h, who, routeSpec(route, target));
    } finally {
      h.server.faults.failConsentSearch = false;
    }
    expect(leaked(r, A_DATA)).toEqual([]);
    const whole = r.status === 503;
    // A batch may answer 200 with each entry (the read and the search) 503; anything else is 503 whole.
    if (route === 'batch' && !whole) expect({ status: r.status, entries: entryStatuses(r) }).toEqual({ status: 200, entries: ['503', '503'] });
    else expect(r.status).toBe(503);
    if (whole) {
      expect(r.headers['Retry-After'] ?? r.headers['retry-after']).toMatch(/^\d+$/);
      expect(r.body.resourceType).toBe('OperationOutcome');
    }
    expect(r.audits.length).toBeGreaterThanOrEqual(1);
    expect(r.audits.filter((a) => a.outcome === '0')).toEqual([]);
    expect(namesConsentUnavailable(r.audits)).toBe(true);
  });

  const malformedRows = callers.flatMap(([who, caller]) =>
    (['read', 'vread', 'search', 'history', 'batch'] as const).map((route) => [`consent malformed: ${route} of A's unlabelled data by ${who} releases nothing of A`, caller, route] as const),
  );

  test.each(malformedRows)('%s', async (_title, who, route) => {
    h.server.seed([consent('wr-consent-a-broken', PATIENT_A, { type: 'maybe' })]);
    let r: CallResult;
    try {
      r = await call(h, who, routeSpec(route, target));
    } finally {
      h.server.remove('Consent', 'wr-consent-a-broken');
    }
    expect(leaked(r, A_DATA)).toEqual([]);
    expect(r.status).toBeLessThan(500);
    if (route === 'read' || route === 'vread') {
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.audits.filter((a) => a.outcome === '0')).toEqual([]);
    }
    // Whatever the route, the audit says why A's data was not released.
    expect(namesConsentUnavailable(r.audits)).toBe(true);
  });

  test('consent known again: the same read is released (the outage rows are not vacuous)', async () => {
    const r = await call(h, WHO.portalSelf, routeSpec('read', target));
    expect(r.status).toBe(200);
    expect(r.text).toContain(VISIBLE.plainA);
  });
});

// ---------------------------------------------------------------------------------------------
// 5. Writes normalised, audited as the server answered

const writesOf = (forwarded: readonly RecordedRequest[]) => forwarded.filter((f) => f.method !== 'GET' && !f.path.endsWith('_search'));
const patientCount = (h: Harness) => h.server.resources('Patient').length;
const bundle = (type: 'batch' | 'transaction', entry: unknown[]) => ({ resourceType: 'Bundle', type, entry });

/** Every AuditEvent says success exactly when the request succeeded (as the server answered, for a forwarded write). */
function expectAuditMatches(r: CallResult): void {
  const writes = writesOf(r.forwarded);
  const serverOk = writes.length > 0 && writes.every((w) => (w.responseStatus ?? 0) < 300) ? true : writes.length > 0 ? false : undefined;
  const ok = serverOk ?? r.status < 400;
  expect(r.audits.length).toBeGreaterThanOrEqual(1);
  expect(r.audits.map((a) => a.outcome === '0')).toEqual(r.audits.map(() => ok));
}

describe('5. writes are authorised as they will be sent', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await seededHarness();
  });
  afterAll(() => h.close());

  const ownPatient = { resourceType: 'Patient', id: PATIENT_A, name: [{ family: 'Alpha', given: ['Copy'] }] };
  const rows: ReadonlyArray<readonly [string, CallSpec]> = [
    ['create', { method: 'POST', path: 'Patient', body: ownPatient }],
    ['batch entry', { method: 'POST', path: null, body: bundle('batch', [{ resource: ownPatient, request: { method: 'POST', url: 'Patient' } }]) }],
    ['transaction entry', { method: 'POST', path: null, body: bundle('transaction', [{ resource: ownPatient, request: { method: 'POST', url: 'Patient' } }]) }],
  ];

  test.each(rows)("write: a patient app's Patient %s carrying its own patient's id is refused and creates no Patient", async (_route, spec) => {
    const before = patientCount(h);
    const r = await call(h, WHO.portalSelf, spec);
    if (spec.path === null && (spec.body as Json).type === 'batch') {
      expect(r.status).toBe(200);
      expect(entryStatuses(r)).toEqual(['403']);
    } else expect(r.status).toBe(403);
    expect(writesOf(r.forwarded)).toEqual([]);
    expect(patientCount(h)).toBe(before);
    expectAuditMatches(r);
  });

  test("write: a create carrying another resource's id is forwarded without it (or refused); the other resource is untouched", async () => {
    const before = h.server.stored('Observation', SEED_IDS.obsBLab);
    const body = { resourceType: 'Observation', id: SEED_IDS.obsBLab, status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${PATIENT_A}` } };
    for (const spec of [
      { method: 'POST', path: 'Observation', body },
      { method: 'POST', path: null, body: bundle('transaction', [{ resource: body, request: { method: 'POST', url: 'Observation' } }]) },
      { method: 'POST', path: null, body: bundle('batch', [{ resource: body, request: { method: 'POST', url: 'Observation' } }]) },
    ] satisfies CallSpec[]) {
      const r = await call(h, WHO.portalSelf, spec);
      expect(r.status).toBeLessThan(500);
      for (const w of writesOf(r.forwarded)) {
        const sent = w.body as Json;
        const resources = sent.resourceType === 'Bundle' ? (sent.entry ?? []).map((e: Json) => e.resource) : [sent];
        expect(resources.filter((x: Json) => x?.id !== undefined).map((x: Json) => x.id)).toEqual([]);
      }
      expectAuditMatches(r);
    }
    expect(h.server.stored('Observation', SEED_IDS.obsBLab)).toEqual(before);
  });

  test('write: a create the server made is audited as success even when the caller may not read the result (create-only scope)', async () => {
    const r = await call(h, WHO.createOnly, {
      method: 'POST',
      path: 'Observation',
      body: { resourceType: 'Observation', status: 'final', code: { text: 'wr-create-only' }, subject: { reference: `Patient/${PATIENT_A}` } },
    });
    const writes = writesOf(r.forwarded);
    expect(writes.map((w) => w.responseStatus)).toEqual([201]);
    expect(r.status).toBe(201);
    expect(r.audits.length).toBeGreaterThanOrEqual(1);
    expect(r.audits.filter((a) => a.outcome !== '0')).toEqual([]);
  });

  test('write: a write the server refused is not audited as success', async () => {
    const stored = h.server.stored('Observation', WR.writable) as Json;
    const r = await call(h, WHO.portalSelf, {
      method: 'PUT',
      path: `Observation/${WR.writable}`,
      body: { ...stored, meta: undefined, status: 'amended' },
      headers: { 'If-Match': 'W/"99"' },
    });
    expect(r.status).toBe(412);
    expect(r.audits.filter((a) => a.outcome === '0')).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// 6. Conditional references

const CONDITIONAL_REFS: ReadonlyArray<readonly [string, string]> = [
  ['identifier', `Patient?identifier=${IDENTIFIER_SYSTEM}|${MRN_B}`],
  ['_id', `Patient?_id=${PATIENT_B}`],
  ['name', 'Patient?name=Bravo'],
  ['family', 'Patient?family=Bravo'],
];

/** An Observation of patient A with `reference` placed in one spot. */
function withReference(place: string, reference: string, note = 'wr-conditional-attempt'): Json {
  const base: Json = {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '72166-2' }] },
    subject: { reference: `Patient/${PATIENT_A}` },
    note: [{ text: note }],
  };
  switch (place) {
    case 'subject':
      return { ...base, subject: { reference } };
    case 'performer':
      return { ...base, performer: [{ reference }] };
    case 'contained':
      return { ...base, contained: [{ resourceType: 'Observation', id: 'c1', status: 'final', code: { text: 'c' }, subject: { reference } }], hasMember: [{ reference: '#c1' }] };
    case 'extension':
      return { ...base, extension: [{ url: 'https://example.org/fhir/StructureDefinition/related', valueReference: { reference } }] };
    default:
      throw new Error(place);
  }
}

const PLACES = ['subject', 'performer', 'contained', 'extension'];

type WriteRoute = 'create' | 'update' | 'transaction POST' | 'transaction PUT' | 'batch POST' | 'batch PUT';

/** `route` writing `body` (`target`: the existing Observation of A an update replaces). */
function writeSpec(route: WriteRoute, body: Json, target: string = WR.writable): CallSpec {
  const put = { ...body, id: target };
  switch (route) {
    case 'create':
      return { method: 'POST', path: 'Observation', body };
    case 'update':
      return { method: 'PUT', path: `Observation/${target}`, body: put };
    case 'transaction POST':
      return { method: 'POST', path: null, body: bundle('transaction', [{ resource: body, request: { method: 'POST', url: 'Observation' } }]) };
    case 'transaction PUT':
      return { method: 'POST', path: null, body: bundle('transaction', [{ resource: put, request: { method: 'PUT', url: `Observation/${target}` } }]) };
    case 'batch POST':
      return { method: 'POST', path: null, body: bundle('batch', [{ resource: body, request: { method: 'POST', url: 'Observation' } }]) };
    case 'batch PUT':
      return { method: 'POST', path: null, body: bundle('batch', [{ resource: put, request: { method: 'PUT', url: `Observation/${target}` } }]) };
  }
}

/** Current versions that name patient B (or B's identifier), as `Type/id/version`. */
function touchingB(h: Harness): string[] {
  return h.server
    .resources()
    .filter((r) => {
      const text = JSON.stringify(r);
      return text.includes(`Patient/${PATIENT_B}`) || text.includes(MRN_B) || text.includes('wr-conditional-attempt');
    })
    .map((r) => `${r.resourceType}/${r.id}/${String((r.meta as Json | undefined)?.versionId)}`)
    .sort();
}

describe('6. conditional references cannot reach another patient', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await seededHarness();
  });
  afterAll(() => h.close());

  const routes: WriteRoute[] = ['create', 'update', 'transaction POST', 'transaction PUT', 'batch POST', 'batch PUT'];
  const rows = [
    ...CONDITIONAL_REFS.flatMap(([kind, ref]) => PLACES.map((place) => [`conditional reference: create with ${place} Patient?${kind}= naming B is refused, nothing written`, 'create' as WriteRoute, place, ref] as const)),
    ...routes
      .filter((r) => r !== 'create')
      .flatMap((route) => PLACES.map((place) => [`conditional reference: ${route} with ${place} Patient?identifier= naming B is refused, nothing written`, route, place, CONDITIONAL_REFS[0][1]] as const)),
  ];

  let fresh = 0;
  test.each(rows)('%s', async (_title, route, place, ref) => {
    // Each row updates its own Observation of A, so one row's outcome cannot change another's.
    const target = `wr-obs-a-target-${++fresh}`;
    h.server.seed([{ ...withReference('subject', `Patient/${PATIENT_A}`, 'wr-update-target'), id: target }]);
    const before = touchingB(h);
    const writable = h.server.stored('Observation', target);
    const r = await call(h, WHO.portalSelf, writeSpec(route, withReference(place, ref), target));
    if (route.startsWith('batch')) {
      expect(r.status).toBe(200);
      expect(entryStatuses(r)).toEqual(['403']);
    } else expect(r.status).toBe(403);
    expect(touchingB(h)).toEqual(before);
    expect(h.server.stored('Observation', target)).toEqual(writable);
    expect(writesOf(r.forwarded).filter((w) => JSON.stringify(w.body ?? '').includes('Patient?'))).toEqual([]);
    expectAuditMatches(r);
  });

  test('conditional reference: a conditional reference to the caller itself does not write anything about B either', async () => {
    const before = touchingB(h);
    const r = await call(h, WHO.portalSelf, writeSpec('create', withReference('subject', `Patient?identifier=${IDENTIFIER_SYSTEM}|${MRN_A}`, 'wr-conditional-self')));
    expect(r.status).toBeLessThan(500);
    expect(touchingB(h)).toEqual(before);
  });
});
