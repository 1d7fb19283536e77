/**
 * Request-derived names that are members of `Object.prototype` (`__proto__`, `constructor`,
 * `toString`, …), end to end: the proxy built by the e2e harness (real SMART authorizer, local
 * SigV4-checking FHIR server), each name sent everywhere a request carries a name.
 *
 * Expected answers, per place:
 * - a parameter name (plain, modifier, chain), a form-encoded POST `_search` field, a name listed
 *   by `_include`/`_sort`/`_elements`/`_type`, an `If-None-Exist` criterion, a property of a
 *   written JSON body at any depth, a JSON Patch path: 400 with a constant OperationOutcome, and
 *   nothing forwarded (none of these is a FHIR name, so it is malformed, as `request.ts` says);
 * - inside a batch entry's URL: 200 `batch-response`, the entry answered 400 (a batch answers per
 *   entry); inside a transaction entry's URL or `ifNoneExist`: 400 for the whole transaction; a
 *   property of an entry's resource is a property of the request body: 400 for the whole Bundle;
 * - a resource type in the path: 400, as for any unknown type;
 * - a header name: ignored, as any unknown header is: the search is answered normally;
 * - an id (`Observation/constructor`: a valid FHIR id): an ordinary 404, as for any missing id;
 * - an operation (`$constructor`): 403 "Operation not allowed", as for any unconfigured one.
 *
 * Always: never 500, the answer never quotes the name, and no built-in is changed afterwards.
 */
import type { CallSpec, CallResult } from '../../e2e/proxy-harness';
import { CONFIDENTIAL_CLIENT, startHarness, type Harness } from '../../e2e/proxy-harness';
import { PATIENT_A } from '../../e2e/fixtures/seed';

const NAMES = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '__defineGetter__', 'valueOf'] as const;

/** `{ [key]: value }` with `key` as an own data property, even `__proto__` (as `JSON.parse` makes it). */
const own = <T>(key: string, value: T): Record<string, T> => Object.fromEntries([[key, value]]) as Record<string, T>;
/** A JSON text with one crafted property (a template: a JS object literal would set the prototype). */
const withProp = (json: string, key: string, value: string): string => `${json.slice(0, -1)},${JSON.stringify(key)}:${value}}`;

const observation = (extra = '') =>
  `{"resourceType":"Observation","status":"final","code":{"text":"x"${extra}},"subject":{"reference":"Patient/${PATIENT_A}"}}`;
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };
const JSON_PATCH = { 'Content-Type': 'application/json-patch+json' };
const POLLUTE = '{"polluted":"yes"}';

// A system token sees everything (nothing narrowed, so a request that got through would reach the
// server as sent); a patient token goes through the confined-context rules.
const SYSTEM = { client_id: CONFIDENTIAL_CLIENT, sub: CONFIDENTIAL_CLIENT, scope: 'system/*.cruds', fhirUser: undefined, patient: undefined };
const TOKENS = [
  ['patient', undefined],
  ['system', SYSTEM],
] as const;

type Expect =
  | { readonly kind: 'refused'; readonly status: 400; readonly message: string }
  | { readonly kind: 'batch-entry'; readonly message: string }
  | { readonly kind: 'same-as'; readonly baseline: CallSpec };

const refused = (message: string): Expect => ({ kind: 'refused', status: 400, message });

/** Every place a name travels, for one crafted name. */
function cases(n: string): Array<[string, CallSpec, Expect]> {
  const bundle = (type: 'batch' | 'transaction', entry: string) =>
    `{"resourceType":"Bundle","type":"${type}","entry":[${entry}]}`;
  const getEntry = (url: string) => `{"request":{"method":"GET","url":${JSON.stringify(url)}}}`;
  return [
    ['query parameter name', { method: 'GET', path: 'Observation', query: own(n, ['polluted']) }, refused('Invalid query parameter name')],
    ['modifier', { method: 'GET', path: 'Observation', query: own(`code:${n}`, ['x']) }, refused('Invalid query parameter name')],
    ['chain', { method: 'GET', path: 'Observation', query: own(`subject.${n}`, ['x']) }, refused('Invalid query parameter name')],
    ['_has segment', { method: 'GET', path: 'Patient', query: own(`_has:Observation:${n}:code`, ['x']) }, refused('Invalid query parameter name')],
    ['repeated parameter name', { method: 'GET', path: 'Observation', query: own(n, ['a', 'b']) }, refused('Invalid query parameter name')],
    ['_include target', { method: 'GET', path: 'Observation', query: { _include: [`Observation:${n}`] } }, refused('Invalid query parameter value')],
    ['_revinclude target', { method: 'GET', path: 'Patient', query: { _revinclude: [`Observation:${n}`] } }, refused('Invalid query parameter value')],
    ['_sort name', { method: 'GET', path: 'Observation', query: { _sort: [`-${n}`] } }, refused('Invalid query parameter value')],
    ['_elements name', { method: 'GET', path: 'Observation', query: { _elements: [`code,${n}`] } }, refused('Invalid query parameter value')],
    ['POST _search form field', { method: 'POST', path: 'Observation/_search', headers: FORM, body: `${encodeURIComponent(n)}=polluted` }, refused('Invalid query parameter name')],
    ['system POST _search form field', { method: 'POST', path: '_search', headers: FORM, body: `code=1&${encodeURIComponent(n)}=1` }, refused('Invalid query parameter name')],
    [
      'batch entry URL',
      { method: 'POST', path: null, body: bundle('batch', getEntry(`Observation?${n}=polluted`)) },
      { kind: 'batch-entry', message: 'Malformed Bundle entry' },
    ],
    [
      'batch entry URL, modifier',
      { method: 'POST', path: null, body: bundle('batch', getEntry(`Observation?code:${encodeURIComponent(n)}=x`)) },
      { kind: 'batch-entry', message: 'Malformed Bundle entry' },
    ],
    [
      'transaction entry URL',
      { method: 'POST', path: null, body: bundle('transaction', getEntry(`Patient/${PATIENT_A}?${n}=1`)) },
      refused('Malformed transaction entry'),
    ],
    [
      'transaction entry URL, repeated name',
      { method: 'POST', path: null, body: bundle('transaction', getEntry(`Observation?${n}=1&${n}=2`)) },
      refused('Malformed transaction entry'),
    ],
    [
      'transaction entry resource property',
      {
        method: 'POST',
        path: null,
        body: bundle('transaction', `{"resource":${withProp(observation(), n, POLLUTE)},"request":{"method":"POST","url":"Observation"}}`),
      },
      // The Bundle is the request body: refused whole, before any entry is planned.
      refused('Body contains a reserved property name'),
    ],
    [
      'transaction entry If-None-Exist',
      {
        method: 'POST',
        path: null,
        body: bundle('transaction', `{"resource":${observation()},"request":{"method":"POST","url":"Observation","ifNoneExist":${JSON.stringify(`${n}=1`)}}}`),
      },
      refused('Malformed transaction entry'),
    ],
    ['If-None-Exist criterion', { method: 'POST', path: 'Observation', headers: { 'If-None-Exist': `${n}=1` }, body: observation() }, refused('Invalid query parameter name')],
    ['resource type in the path', { method: 'GET', path: `${n}/1` }, refused('Unknown resource type in path')],
    ['resource type in a search path', { method: 'GET', path: n }, refused('Unknown resource type in path')],
    ['created body property', { method: 'POST', path: 'Observation', body: withProp(observation(), n, POLLUTE) }, refused('Body contains a reserved property name')],
    ['nested body property', { method: 'POST', path: 'Observation', body: observation(`,"coding":[{${JSON.stringify(n)}:${POLLUTE}}]`) }, refused('Body contains a reserved property name')],
    [
      'updated body property',
      { method: 'PUT', path: 'Observation/obs-a-lab', body: withProp(withProp(observation(), 'id', '"obs-a-lab"'), n, POLLUTE) },
      refused('Body contains a reserved property name'),
    ],
    ['JSON Patch path', { method: 'PATCH', path: 'Observation/obs-a-lab', headers: JSON_PATCH, body: JSON.stringify([{ op: 'add', path: `/${n}/polluted`, value: 'yes' }]) }, refused('Invalid patch document')],
    ['JSON Patch from', { method: 'PATCH', path: 'Observation/obs-a-lab', headers: JSON_PATCH, body: JSON.stringify([{ op: 'copy', from: `/code/${n}`, path: '/note' }]) }, refused('Invalid patch document')],
    [
      'JSON Patch value property',
      { method: 'PATCH', path: 'Observation/obs-a-lab', headers: JSON_PATCH, body: `[{"op":"add","path":"/code","value":{${JSON.stringify(n)}:${POLLUTE}}}]` },
      refused('Body contains a reserved property name'),
    ],
    [
      'header name',
      { method: 'GET', path: 'Observation', query: { code: ['2345-7'] }, headers: own(n, 'polluted') },
      { kind: 'same-as', baseline: { method: 'GET', path: 'Observation', query: { code: ['2345-7'] } } },
    ],
  ];
}

/** Names that are also valid FHIR ids or operation names: ordinary values there, answered as such. */
const ID_LIKE = NAMES.filter((n) => /^[A-Za-z0-9\-.]{1,64}$/.test(n));
const OPERATION_LIKE = NAMES.filter((n) => /^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(n));

/** The built-ins a pollution would change, as they were before any request. */
const BUILTINS = [Object, Object.prototype, Array.prototype, Function.prototype, String.prototype];
const before = BUILTINS.map((b) => Object.getOwnPropertyNames(b).sort());
const builtinMembers = () => BUILTINS.map((b) => Object.getOwnPropertyNames(b).sort());

function expectUnpolluted(): void {
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect((Object as unknown as Record<string, unknown>).polluted).toBeUndefined();
  expect(([] as unknown as Record<string, unknown>).polluted).toBeUndefined();
  expect(builtinMembers()).toEqual(before);
  expect(typeof Object.prototype.toString).toBe('function');
  expect(typeof Object.prototype.hasOwnProperty).toBe('function');
  expect(Object.getPrototypeOf({})).toBe(Object.prototype);
}

function expectNoEcho(result: CallResult, name: string): void {
  expect(result.text).not.toContain(name);
  for (const value of Object.values(result.headers)) expect(String(value)).not.toContain(name);
}

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());
afterEach(() => expectUnpolluted());

describe.each(NAMES)('crafted name %s', (n) => {
  test.each(cases(n).flatMap(([where, spec, expected]) => TOKENS.map(([who, claims]) => [where, who, spec, expected, claims] as const)))(
    '%s (%s token)',
    async (_where, _who, spec, expected, claims) => {
      const sent = { ...spec, ...(claims ? { claims } : {}) };
      // The crafted name really is an own key of what the Lambda receives (not a prototype change).
      const event = h.event(sent);
      const carried = [
        ...Object.entries(event.multiValueQueryStringParameters ?? {}).flat(2),
        ...Object.entries(event.headers ?? {}).flat(),
        event.pathParameters?.proxy ?? '',
        event.body ?? '',
      ].join(' ');
      expect(carried).toContain(n);

      const result = await h.call(sent);
      expect(result.status).not.toBe(500);
      expectNoEcho(result, n);

      if (expected.kind === 'refused') {
        expect(result.status).toBe(expected.status);
        expect(result.body).toEqual({ resourceType: 'OperationOutcome', issue: [expect.objectContaining({ severity: 'error', diagnostics: expected.message })] });
        expect(result.forwarded).toEqual([]);
      } else if (expected.kind === 'batch-entry') {
        expect(result.status).toBe(200);
        expect(result.body).toMatchObject({ resourceType: 'Bundle', type: 'batch-response' });
        expect(result.body.entry).toHaveLength(1);
        expect(result.body.entry[0].response.status).toBe('400');
        expect(result.body.entry[0].response.outcome).toEqual({
          resourceType: 'OperationOutcome',
          issue: [expect.objectContaining({ severity: 'error', diagnostics: expected.message })],
        });
        expect(result.forwarded).toEqual([]);
      } else {
        const baseline = await h.call({ ...expected.baseline, ...(claims ? { claims } : {}) });
        expect(result.status).toBe(baseline.status);
        expect(result.status).toBe(200);
        expect(result.body?.resourceType).toBe('Bundle');
        expect(result.body.total).toBe(baseline.body.total);
        // Only the headers the proxy validates are forwarded; the crafted one is not among them.
        for (const f of result.forwarded) expect(Object.keys(f.headers)).not.toContain(n.toLowerCase());
      }
    },
  );
});

describe('names that are ordinary values elsewhere', () => {
  test.each(ID_LIKE.flatMap((n) => TOKENS.map(([who, claims]) => [n, who, claims] as const)))('id %s (%s token): 404 like any missing id', async (n, _who, claims) => {
    const result = await h.call({ method: 'GET', path: `Observation/${n}`, ...(claims ? { claims } : {}) });
    expect(result.status).toBe(404);
    expect(result.body).toEqual({ resourceType: 'OperationOutcome', issue: [expect.objectContaining({ diagnostics: 'Resource not found' })] });
    expectNoEcho(result, n);
  });

  test.each(OPERATION_LIKE.flatMap((n) => TOKENS.map(([who, claims]) => [n, who, claims] as const)))(
    'operation $%s (%s token): answered like any unconfigured operation',
    async (n, _who, claims) => {
      const unknown = await h.call({ method: 'GET', path: `Patient/${PATIENT_A}/$nosuchop`, ...(claims ? { claims } : {}) });
      const result = await h.call({ method: 'GET', path: `Patient/${PATIENT_A}/$${n}`, ...(claims ? { claims } : {}) });
      expect(result.status).toBe(unknown.status);
      expect(result.status).toBe(403);
      expect(result.body).toEqual(unknown.body);
      expect(result.forwarded).toEqual([]);
      expectNoEcho(result, n);
    },
  );

  test.each(NAMES)('%s as a search value is just a value (forwarded as sent)', async (n) => {
    const result = await h.call({ method: 'GET', path: 'Observation', query: { code: [n] }, claims: SYSTEM });
    expect(result.status).toBe(200);
    expect(result.forwarded.map((f) => f.query)).toEqual([[['code', n]]]);
  });
});
