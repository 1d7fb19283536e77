/**
 * Writes while security labels are enforced, end to end (the proxy with `policies/labels.json`
 * over the local SigV4-checking FHIR server): an unconfined caller's update, patch and delete are
 * pinned to the version the label gate checked (`If-Match`), a change in between is 412 and
 * writes nothing, a JSON Patch's result is checked like a PUT body, FHIRPath Patch is refused.
 * `fetch` is wrapped so a test can act between the proxy's read of the target and its write.
 */
import { HealthLakeClient, type HealthLakeResponse } from '../../lambdas/fhir-proxy/healthlake-client';
import { ACT_CODE_SYSTEM, INLINE_LABEL_EXTENSION } from '../../lambdas/fhir-proxy/labels';
import { PATCH_ERRORS } from '../../lambdas/fhir-proxy/patch';
import { APPS, CLIENTS, consent, CONSENT_SEED, POLICY } from './fixtures/consent-seed';
import { PATIENT_A } from './fixtures/seed';
import { CREDENTIALS, REGION, startHarness, type Harness } from './proxy-harness';
import type { RecordedRequest } from './fhir-server';

/** Runs after the proxy's `fetch` got a response, before the proxy reads it; may replace it. */
type Hook = (url: string, init: RequestInit | undefined, response: Response) => Promise<Response | void>;
let hook: Hook | undefined;
let h: Harness;
let client: HealthLakeClient;

const ETH = { system: ACT_CODE_SYSTEM, code: 'ETH' };
const PSY = { system: ACT_CODE_SYSTEM, code: 'PSY' };
const USER_SCOPE = 'openid fhirUser user/Observation.cruds';
const CORRECT = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code: 'correct' }] };

beforeAll(async () => {
  const wrapped: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    const replaced = hook ? await hook(String(input), init, response) : undefined;
    return replaced ?? response;
  };
  h = await startHarness({ labels: { policy: POLICY, apps: APPS }, fetch: wrapped });
  client = new HealthLakeClient({ baseUrl: h.server.baseUrl, region: REGION, credentials: CREDENTIALS, maxRetries: 0 });
  const seed = [
    ...CONSENT_SEED,
    // prac-1 may read ETH records of A but not change them (Consent action `correct` denied).
    consent('consent-a-writes', PATIENT_A, {
      provision: [{ type: 'deny', action: [CORRECT], securityLabel: [ETH], actor: [{ reference: { reference: 'Practitioner/prac-1' } }] }],
    }),
    // The patient may read ETH records through the portal but not change them there.
    consent('consent-a-portal-writes', PATIENT_A, {
      provision: [{ type: 'deny', action: [CORRECT], securityLabel: [ETH], actor: [{ reference: { identifier: { system: 'https://fhir.example.org/sid/smart-app', value: 'portal' } } }] }],
    }),
    // prac-5 may not see what prac-author authored (data meaning `authoredby`).
    consent('consent-a-authored', PATIENT_A, {
      provision: [{ type: 'deny', actor: [{ reference: { reference: 'Practitioner/prac-5' } }], data: [{ meaning: 'authoredby', reference: { reference: 'Practitioner/prac-author' } }] }],
    }),
  ];
  for (const r of seed) await put(r);
});
afterAll(() => h.close());
afterEach(() => {
  hook = undefined;
});

async function put(r: Record<string, unknown>): Promise<HealthLakeResponse> {
  const res = await client.request({ method: 'PUT', path: `${String(r.resourceType)}/${String(r.id)}`, body: r });
  if (res.status >= 300) throw new Error(`seed failed: ${String(r.resourceType)}/${String(r.id)} ${res.status}`);
  return res;
}

async function stored(id: string): Promise<any> {
  return (await client.request({ method: 'GET', path: `Observation/${id}` })).body;
}

function obs(id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    resourceType: 'Observation',
    id,
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '2345-7' }] },
    subject: { reference: `Patient/${PATIENT_A}` },
    effectiveDateTime: '2024-03-01T08:00:00Z',
    valueQuantity: { value: 5.1, unit: 'mmol/L' },
    ...extra,
  };
}

let seq = 0;
/** A fresh unlabelled (or labelled) Observation of A, stored once (version 1). */
async function fresh(extra: Record<string, unknown> = {}): Promise<string> {
  const id = `lw-${++seq}`;
  await put(obs(id, extra));
  return id;
}

const PRAC = {
  /** Cleared for PSY, ETH, SUD, R (user) through the clinician app; Consent denies it `correct` on ETH. */
  one: { fhirUser: 'Practitioner/prac-1', labels: 'part2-program behavioral-health' },
  /** Cleared for SUD, ETH, R only. */
  two: { fhirUser: 'Practitioner/prac-2', labels: 'part2-program' },
};

interface Spec {
  readonly method: string;
  readonly path: string | null;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  readonly who?: { fhirUser: string; labels: string; patient?: string; scope?: string; clientId?: string };
}

async function call(spec: Spec) {
  const who: NonNullable<Spec['who']> = spec.who ?? PRAC.two;
  const context = {
    sub: `user-${who.fhirUser}`,
    clientId: who.clientId ?? CLIENTS.clinician,
    scope: who.scope ?? USER_SCOPE,
    patient: who.patient ?? '',
    fhirUser: who.fhirUser,
    tier: 'standard',
    jti: 'jti-w',
    labels: who.labels,
  };
  const start = h.server.requests.length;
  const event = h.event({ method: spec.method, path: spec.path, ...(spec.body !== undefined ? { body: spec.body } : {}), ...(spec.headers ? { headers: spec.headers } : {}) }, context);
  const result = await h.proxy(event);
  return {
    status: result.statusCode,
    text: result.body,
    body: result.body ? JSON.parse(result.body) : undefined,
    forwarded: h.server.requests.slice(start),
  };
}

const writes = (forwarded: RecordedRequest[]) => forwarded.filter((r) => r.method !== 'GET');
const jsonPatch = (ops: unknown[]) => ({ body: JSON.stringify(ops), headers: { 'Content-Type': 'application/json-patch+json' } });
const diagnostics = (body: any): string[] => (body?.issue ?? []).map((i: any) => i.diagnostics);

/** After the proxy's read of `Observation/<id>`, someone else writes `next` (a concurrent change). */
function concurrentWrite(id: string, next: Record<string, unknown>): Hook {
  let done = false;
  return async (url, init) => {
    if (done || (init?.method ?? 'GET') !== 'GET' || !url.includes(`/Observation/${id}`)) return;
    done = true;
    await put(next);
  };
}

describe('version-pinned writes of an unconfined caller', () => {
  test('update, patch and delete are forwarded with If-Match of the version checked', async () => {
    const id = await fresh();
    const update = await call({ method: 'PUT', path: `Observation/${id}`, body: obs(id, { status: 'amended' }) });
    expect(update.status).toBe(200);
    expect(writes(update.forwarded).map((r) => [r.method, r.headers['if-match']])).toEqual([['PUT', 'W/"1"']]);
    const patch = await call({ method: 'PATCH', path: `Observation/${id}`, ...jsonPatch([{ op: 'replace', path: '/status', value: 'corrected' }]) });
    expect(patch.status).toBe(200);
    expect(writes(patch.forwarded).map((r) => [r.method, r.headers['if-match']])).toEqual([['PATCH', 'W/"2"']]);
    const del = await call({ method: 'DELETE', path: `Observation/${id}` });
    expect(del.status).toBe(204);
    expect(writes(del.forwarded).map((r) => [r.method, r.headers['if-match']])).toEqual([['DELETE', 'W/"3"']]);
  });

  test('a label added between the check and the write: 412, the labelled version is not overwritten', async () => {
    const id = await fresh();
    hook = concurrentWrite(id, obs(id, { meta: { security: [PSY] } }));
    const r = await call({ method: 'PUT', path: `Observation/${id}`, body: obs(id, { status: 'amended' }) });
    expect(r.status).toBe(412);
    expect(diagnostics(r.body)).toEqual(['Version conflict']);
    const now = await stored(id);
    expect(now.meta.security).toEqual([PSY]);
    expect(now.status).toBe('final');
  });

  test('the same race on a delete and a patch: 412, nothing removed or changed', async () => {
    const del = await fresh();
    hook = concurrentWrite(del, obs(del, { meta: { security: [PSY] } }));
    expect((await call({ method: 'DELETE', path: `Observation/${del}` })).status).toBe(412);
    expect((await stored(del)).meta.security).toEqual([PSY]);
    const patched = await fresh();
    hook = concurrentWrite(patched, obs(patched, { meta: { security: [PSY] } }));
    const r = await call({ method: 'PATCH', path: `Observation/${patched}`, ...jsonPatch([{ op: 'replace', path: '/status', value: 'amended' }]) });
    expect(r.status).toBe(412);
    expect((await stored(patched)).status).toBe('final');
  });

  test("a client If-Match that is not the stored version: 412 before anything is written", async () => {
    const id = await fresh();
    const r = await call({ method: 'PUT', path: `Observation/${id}`, body: obs(id), headers: { 'If-Match': 'W/"7"' } });
    expect(r.status).toBe(412);
    expect(writes(r.forwarded)).toEqual([]);
    const same = await call({ method: 'PUT', path: `Observation/${id}`, body: obs(id), headers: { 'If-Match': 'W/"1"' } });
    expect(same.status).toBe(200);
  });

  test('a stored version that cannot be determined (no versionId, no ETag): 409, nothing written', async () => {
    const id = await fresh();
    hook = async (url, init, response) => {
      if ((init?.method ?? 'GET') !== 'GET' || !url.includes(`/Observation/${id}`)) return;
      const body = (await response.json()) as Record<string, any>;
      delete body.meta.versionId;
      return new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/fhir+json' } });
    };
    const r = await call({ method: 'PUT', path: `Observation/${id}`, body: obs(id, { status: 'amended' }) });
    expect(r.status).toBe(409);
    expect(diagnostics(r.body)).toEqual(['Stored version could not be determined']);
    expect(writes(r.forwarded)).toEqual([]);
  });

  test('a record the caller may read but not change (Consent denies `correct`) cannot be rewritten without its label', async () => {
    const id = await fresh({ meta: { security: [ETH] } });
    expect((await call({ method: 'GET', path: `Observation/${id}`, who: PRAC.one })).status).toBe(200);
    const strip = await call({ method: 'PUT', path: `Observation/${id}`, body: obs(id), who: PRAC.one });
    expect(strip.status).toBe(403);
    const removeLabel = await call({ method: 'PATCH', path: `Observation/${id}`, who: PRAC.one, ...jsonPatch([{ op: 'remove', path: '/meta/security' }]) });
    expect(removeLabel.status).toBe(403);
    expect(writes([...strip.forwarded, ...removeLabel.forwarded])).toEqual([]);
    expect((await stored(id)).meta.security).toEqual([ETH]);
    // prac-2 (no such Consent) may.
    expect((await call({ method: 'PUT', path: `Observation/${id}`, body: obs(id, { meta: { security: [ETH] } }) })).status).toBe(200);
  });

  test("a patient's own delete (confined, prechecked) is pinned too while labels are enforced", async () => {
    const id = await fresh();
    const self = { fhirUser: `Patient/${PATIENT_A}`, labels: '', patient: PATIENT_A, scope: 'launch/patient patient/Observation.cruds', clientId: CLIENTS.portal };
    const r = await call({ method: 'DELETE', path: `Observation/${id}`, who: self });
    expect(r.status).toBe(204);
    expect(writes(r.forwarded).map((f) => [f.method, f.headers['if-match']])).toEqual([['DELETE', 'W/"1"']]);
  });

  test("a patient's own record it may read but not change (confined, prechecked): the same 403, nothing written", async () => {
    const id = await fresh({ meta: { security: [ETH] } });
    const self = { fhirUser: `Patient/${PATIENT_A}`, labels: 'ETH', patient: PATIENT_A, scope: 'launch/patient patient/Observation.cruds', clientId: CLIENTS.portal };
    expect((await call({ method: 'GET', path: `Observation/${id}`, who: self })).status).toBe(200);
    const strip = await call({ method: 'PUT', path: `Observation/${id}`, body: obs(id), who: self });
    const remove = await call({ method: 'DELETE', path: `Observation/${id}`, who: self });
    expect([strip.status, remove.status]).toEqual([403, 403]);
    expect(writes([...strip.forwarded, ...remove.forwarded])).toEqual([]);
    expect((await stored(id)).meta.security).toEqual([ETH]);
  });

  test('update-as-create: a missing target passes, but the body still goes through the write guard', async () => {
    const labelled = await call({ method: 'PUT', path: 'Observation/lw-new-psy', body: obs('lw-new-psy', { meta: { security: [PSY] } }) });
    expect(labelled.status).toBe(403);
    expect(writes(labelled.forwarded)).toEqual([]);
    const plain = await call({ method: 'PUT', path: 'Observation/lw-new-plain', body: obs('lw-new-plain') });
    expect(plain.status).toBe(201);
    expect(writes(plain.forwarded).map((r) => r.headers['if-match'])).toEqual([undefined]);
  });
});

describe('batch and transaction entries go through the same gate, pinned', () => {
  const bundle = (type: string, entry: unknown[]) => ({ resourceType: 'Bundle', type, entry });

  test('a batch update entry is forwarded with ifMatch; a concurrent label makes only that entry 412', async () => {
    const raced = await fresh();
    const calm = await fresh();
    hook = concurrentWrite(raced, obs(raced, { meta: { security: [PSY] } }));
    const r = await call({
      method: 'POST',
      path: null,
      body: bundle('batch', [
        { resource: obs(raced, { status: 'amended' }), request: { method: 'PUT', url: `Observation/${raced}` } },
        { resource: obs(calm, { status: 'amended' }), request: { method: 'PUT', url: `Observation/${calm}` } },
      ]),
    });
    expect(r.status).toBe(200);
    const sent = r.forwarded.find((f) => f.method === 'POST' && f.path === '')?.body as any;
    expect(sent.entry.map((e: any) => e.request.ifMatch)).toEqual(['W/"1"', 'W/"1"']);
    expect(r.body.entry.map((e: any) => e.response.status)).toEqual(['412', '200']);
    expect((await stored(raced)).meta.security).toEqual([PSY]);
  });

  test('a FHIRPath Patch entry is refused with the JSON Patch hint (batch entry; whole transaction)', async () => {
    const id = await fresh();
    const entry = {
      resource: { resourceType: 'Parameters', parameter: [{ name: 'operation', part: [{ name: 'type', valueCode: 'replace' }, { name: 'path', valueString: 'Observation.status' }, { name: 'value', valueCode: 'amended' }] }] },
      request: { method: 'PATCH', url: `Observation/${id}` },
    };
    const batch = await call({ method: 'POST', path: null, body: bundle('batch', [entry]) });
    expect(batch.body.entry[0].response.status).toBe('422');
    expect(diagnostics(batch.body.entry[0].response.outcome)).toEqual([PATCH_ERRORS.fhirPathPatch]);
    expect(writes(batch.forwarded)).toEqual([]);
    const transaction = await call({ method: 'POST', path: null, body: bundle('transaction', [entry]) });
    expect(transaction.status).toBe(422);
    expect(writes(transaction.forwarded)).toEqual([]);
  });
});

describe('PATCH: the result is checked like a PUT body', () => {
  test('adding a meta.security label the caller may not write: 403, nothing forwarded', async () => {
    const id = await fresh();
    const r = await call({ method: 'PATCH', path: `Observation/${id}`, ...jsonPatch([{ op: 'add', path: '/meta/security', value: [PSY] }]) });
    expect(r.status).toBe(403);
    expect(diagnostics(r.body)).toEqual([PATCH_ERRORS.notWritable]);
    expect(writes(r.forwarded)).toEqual([]);
    expect((await stored(id)).meta.security).toBeUndefined();
    // A label it may write goes through, pinned.
    const eth = await call({ method: 'PATCH', path: `Observation/${id}`, ...jsonPatch([{ op: 'add', path: '/meta/security', value: [ETH] }]) });
    expect(eth.status).toBe(200);
    expect(eth.body.meta.security).toEqual([ETH]);
  });

  test('adding an inline-labelled element the caller may not see: 403', async () => {
    const id = await fresh();
    const note = { text: 'discussed depression screening', extension: [{ url: INLINE_LABEL_EXTENSION, valueCoding: PSY }] };
    /** PATCH adding `note` as an inline-labelled element (the resource marked PROCESSINLINELABEL). */
    const addNote = (n: typeof note) =>
      call({
        method: 'PATCH',
        path: `Observation/${id}`,
        ...jsonPatch([
          { op: 'add', path: '/meta/security', value: [{ system: ACT_CODE_SYSTEM, code: 'PROCESSINLINELABEL' }] },
          { op: 'add', path: '/note', value: [n] },
        ]),
      });
    const r = await addNote(note);
    expect(r.status).toBe(403);
    expect(writes(r.forwarded)).toEqual([]);
    // An inline label it is cleared for (ETH) goes through.
    const eth = { ...note, extension: [{ url: INLINE_LABEL_EXTENSION, valueCoding: ETH }] };
    const cleared = await addNote(eth);
    expect(cleared.status).toBe(200);
    expect(cleared.body.note).toEqual([eth]);
  });

  test('a patch that does not apply: 422 without the resource or the patch in it, nothing forwarded', async () => {
    const id = await fresh();
    for (const ops of [
      [{ op: 'test', path: '/valueQuantity/value', value: 9.9 }],
      [{ op: 'remove', path: '/performer/0' }],
      [{ op: 'add', path: '/code/coding/7', value: { code: 'x' } }],
    ]) {
      const r = await call({ method: 'PATCH', path: `Observation/${id}`, ...jsonPatch(ops) });
      expect(r.status).toBe(422);
      expect(r.body.resourceType).toBe('OperationOutcome');
      expect(diagnostics(r.body)).toEqual([PATCH_ERRORS.notApplicable]);
      for (const secret of ['5.1', '9.9', '2345-7', PATIENT_A, 'performer']) expect(r.text).not.toContain(secret);
      expect(writes(r.forwarded)).toEqual([]);
    }
  });

  test('a patch that changes the id or type, or leaves an invalid resource: 422, nothing forwarded', async () => {
    const id = await fresh();
    const rename = await call({ method: 'PATCH', path: `Observation/${id}`, ...jsonPatch([{ op: 'replace', path: '/id', value: 'other' }]) });
    expect(rename.status).toBe(422);
    expect(diagnostics(rename.body)).toEqual([PATCH_ERRORS.identity]);
    const retype = await call({ method: 'PATCH', path: `Observation/${id}`, ...jsonPatch([{ op: 'replace', path: '/resourceType', value: 'Condition' }]) });
    expect(retype.status).toBe(422);
    const invalid = await call({ method: 'PATCH', path: `Observation/${id}`, ...jsonPatch([{ op: 'remove', path: '/code' }]) });
    expect(invalid.status).toBe(422);
    expect(writes([...rename.forwarded, ...retype.forwarded, ...invalid.forwarded])).toEqual([]);
  });

  test('a patch of a missing resource: 404; FHIRPath Patch: 422 naming JSON Patch', async () => {
    const missing = await call({ method: 'PATCH', path: 'Observation/lw-none', ...jsonPatch([{ op: 'replace', path: '/status', value: 'amended' }]) });
    expect(missing.status).toBe(404);
    const id = await fresh();
    const fhirpath = await call({
      method: 'PATCH',
      path: `Observation/${id}`,
      body: { resourceType: 'Parameters', parameter: [{ name: 'operation', part: [{ name: 'type', valueCode: 'delete' }, { name: 'path', valueString: 'Observation.meta.security' }] }] },
    });
    expect(fhirpath.status).toBe(422);
    expect(diagnostics(fhirpath.body)).toEqual([PATCH_ERRORS.fhirPathPatch]);
    expect(fhirpath.forwarded).toEqual([]);
  });
});

describe('Consent data meaning through the proxy', () => {
  test('authoredby: what prac-author performed is withheld from prac-5; unknown authorship is withheld too', async () => {
    const prac5 = { fhirUser: 'Practitioner/prac-5', labels: '' };
    const byAuthor = await fresh({ performer: [{ reference: 'https://fhir.example.org/r4/Practitioner/prac-author' }] });
    const byOther = await fresh({ performer: [{ reference: 'Practitioner/prac-other' }] });
    const unknown = await fresh();
    expect((await call({ method: 'GET', path: `Observation/${byAuthor}`, who: prac5 })).status).toBe(404);
    expect((await call({ method: 'GET', path: `Observation/${byOther}`, who: prac5 })).status).toBe(200);
    expect((await call({ method: 'GET', path: `Observation/${unknown}`, who: prac5 })).status).toBe(404);
    expect((await call({ method: 'GET', path: `Observation/${byAuthor}` })).status).toBe(200);
  });
});
