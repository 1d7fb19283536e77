import type { APIGatewayProxyEvent } from 'aws-lambda';
import {
  authorize,
  callerFromAuthorizer,
  narrowingParam,
  resolveAccess,
  type Access,
  type AccessOptions,
  type Caller,
  type Plan,
} from '../../../lambdas/fhir-proxy/authorize';
import { see } from '../../../lambdas/fhir-proxy/access';
import { isRequestError, parseFhirRequest, type ParsedRequest } from '../../../lambdas/fhir-proxy/request';

const OPTIONS: AccessOptions = {
  readableNonCompartmentTypes: new Set(['Medication', 'Practitioner']),
  confidentialClientIds: new Set(['backend']),
  referenceBaseUrls: ['https://fhir.example.org/r4'],
};

function caller(scope: string, extra: Record<string, string> = {}): Caller {
  const c = callerFromAuthorizer({ sub: 'user-1', clientId: 'app', scope, jti: 'jti-1', patient: '', fhirUser: '', tier: '', labels: '', ...extra });
  if (!c) throw new Error('caller expected');
  return c;
}

function access(scope: string, extra: Record<string, string> = {}): Access {
  const a = resolveAccess(caller(scope, extra), OPTIONS);
  if (a.kind !== 'access') throw new Error(`access expected, got ${a.message}`);
  return a;
}

function request(method: string, path: string, query?: Record<string, string[]>, body?: object): ParsedRequest {
  const event = {
    httpMethod: method,
    pathParameters: { proxy: path },
    multiValueQueryStringParameters: query ?? null,
    headers: body ? { 'Content-Type': 'application/fhir+json' } : {},
    body: body ? JSON.stringify(body) : null,
    isBase64Encoded: false,
    requestContext: {},
  } as unknown as APIGatewayProxyEvent;
  const parsed = parseFhirRequest(event);
  if (isRequestError(parsed)) throw new Error(parsed.message);
  return parsed;
}

const obs = (patient: string, extra: object = {}) => ({
  resourceType: 'Observation',
  status: 'final',
  code: { text: 'x' },
  subject: { reference: `Patient/${patient}` },
  ...extra,
});

describe('caller from the authorizer context', () => {
  test.each([
    ['missing', undefined],
    ['not an object', 'sub'],
    ['no sub', { clientId: 'app', scope: 'patient/*.rs', jti: 'j' }],
    ['no jti', { sub: 's', clientId: 'app', scope: 'patient/*.rs' }],
    ['no scope', { sub: 's', clientId: 'app', jti: 'j' }],
    ['non-string field', { sub: 's', clientId: 'app', scope: 'patient/*.rs', jti: 'j', patient: 5 }],
  ])('%s → no caller (401)', (_name, ctx) => {
    expect(callerFromAuthorizer(ctx)).toBeUndefined();
  });

  test('parses scopes, patient, fhirUser and labels', () => {
    const c = caller('patient/Observation.read launch/patient', { patient: 'pat-a', fhirUser: 'Patient/pat-a', labels: 'N R' });
    expect(c.scopes.grants.map((g) => [g.context, g.resourceType, [...g.permissions].join('')])).toEqual([['patient', 'Observation', 'rs']]);
    expect(c).toMatchObject({ patient: 'pat-a', fhirUser: 'Patient/pat-a', labels: ['N', 'R'] });
  });
});

describe('one context per token (the mixed-scope rule)', () => {
  test('any patient/ grant: patient context, other contexts ignored', () => {
    const a = access('patient/Observation.rs user/Condition.rs system/*.cruds', { patient: 'pat-a', fhirUser: 'Practitioner/p1' });
    expect(a.context).toBe('patient');
    expect(a.patientId).toBe('pat-a');
    expect(a.grants.every((g) => g.context === 'patient')).toBe(true);
    // user/Condition.rs does not widen it.
    expect(authorize(a, request('GET', 'Condition'))).toMatchObject({ kind: 'deny', status: 403 });
  });

  test('patient/ grants without a patient are refused, with no fallback to user/ grants', () => {
    const r = resolveAccess(caller('patient/Observation.rs user/Observation.rs', { fhirUser: 'Practitioner/p1' }), OPTIONS);
    expect(r).toMatchObject({ kind: 'deny', status: 403 });
  });

  test('user/ grants act for fhirUser: required, on this server, of a supported type', () => {
    expect(resolveAccess(caller('user/Observation.rs'), OPTIONS)).toMatchObject({ kind: 'deny', status: 403 });
    expect(resolveAccess(caller('user/Observation.rs', { fhirUser: 'https://other.example.org/Practitioner/p1' }), OPTIONS)).toMatchObject({ kind: 'deny' });
    expect(resolveAccess(caller('user/Observation.rs', { fhirUser: 'RelatedPerson/r1' }), OPTIONS)).toMatchObject({ kind: 'deny' });
    const practitioner = access('user/Observation.rs', { fhirUser: 'https://fhir.example.org/r4/Practitioner/p1' });
    expect(practitioner.context).toBe('user');
    expect(practitioner.patientId).toBeUndefined();
    expect(access('user/Observation.rs', { fhirUser: 'Patient/pat-a' })).toMatchObject({ context: 'user', patientId: 'pat-a' });
  });

  test('fhirUser is resolved once, in every context, and only when it is on this server', () => {
    expect(access('patient/Observation.rs', { patient: 'pat-a', fhirUser: 'Patient/pat-a' }).user).toEqual({ resourceType: 'Patient', id: 'pat-a' });
    expect(access('patient/Observation.rs', { patient: 'pat-a', fhirUser: 'https://fhir.example.org/r4/Patient/pat-a' }).user).toEqual({ resourceType: 'Patient', id: 'pat-a' });
    expect(access('patient/Observation.rs', { patient: 'pat-a', fhirUser: 'https://other.example.org/r4/Patient/pat-a' }).user).toBeUndefined();
    expect(access('user/Observation.rs', { fhirUser: 'https://fhir.example.org/r4/Practitioner/p1' }).user).toEqual({ resourceType: 'Practitioner', id: 'p1' });
    expect(access('patient/Observation.rs', { patient: 'pat-a' }).user).toBeUndefined();
  });

  test('user/ wins over system/, and system/ needs a confidential client', () => {
    expect(access('user/*.rs system/*.rs', { fhirUser: 'Practitioner/p1' }).context).toBe('user');
    expect(resolveAccess(caller('system/*.rs'), OPTIONS)).toMatchObject({ kind: 'deny', status: 403 });
    const backend = resolveAccess({ ...caller('system/*.rs'), clientId: 'backend' }, OPTIONS);
    expect(backend).toMatchObject({ kind: 'access', context: 'system' });
  });

  test('an interaction the proxy does not know is denied', () => {
    const a = access('user/*.cruds', { fhirUser: 'Practitioner/p1' });
    const unknown = { ...request('GET', 'Observation'), interaction: 'graphql' } as unknown as ParsedRequest;
    expect(authorize(a, unknown)).toMatchObject({ kind: 'deny', status: 403 });
  });

  test('a token without resource scopes is refused', () => {
    expect(resolveAccess(caller('openid fhirUser'), OPTIONS)).toMatchObject({ kind: 'deny', status: 403 });
  });
});

describe('patient context decisions', () => {
  const a = access('patient/*.cruds', { patient: 'pat-a' });

  test('searches are narrowed to the patient', () => {
    const plan = authorize(a, request('GET', 'Observation', { code: ['x'] })) as Plan;
    expect(plan.forward.params).toEqual([
      { name: 'code', value: 'x' },
      { name: 'subject', value: 'Patient/pat-a' },
    ]);
    expect(narrowingParam('Patient', 'pat-a')).toEqual({ name: '_id', value: 'pat-a' });
    expect(narrowingParam('Condition', 'pat-a')).toEqual({ name: 'patient', value: 'Patient/pat-a' });
    expect(narrowingParam('Coverage', 'pat-a')).toEqual({ name: 'beneficiary', value: 'Patient/pat-a' });
    expect(narrowingParam('Medication', 'pat-a')).toBeUndefined();
  });

  test.each([
    ['another patient by reference', { subject: ['Patient/pat-b'] }],
    ['another patient by bare id', { patient: ['pat-b'] }],
    ['another patient among alternatives', { subject: ['Patient/pat-a,Patient/pat-b'] }],
    ['another patient in any parameter', { focus: ['Patient/pat-b'] }],
    ['chained parameter', { 'subject.name': ['x'] }],
    ['_has', { '_has:Observation:patient:code': ['x'] }],
    ['_filter', { _filter: ['x'] }],
    ['an unparseable patient link value', { subject: ['http://other/Patient/pat-a'] }],
  ])('refuses a search naming %s', (_name, query) => {
    expect(authorize(a, request('GET', 'Observation', query))).toMatchObject({ kind: 'deny', status: 403 });
  });

  test('own-patient parameters and non-patient references are fine', () => {
    const queries: Array<Record<string, string[]>> = [{ subject: ['pat-a'] }, { 'subject:Group': ['g1'] }, { performer: ['Practitioner/p1'] }, { _include: ['Observation:subject'] }];
    for (const query of queries) {
      expect(authorize(a, request('GET', 'Observation', query)).kind).toBe('allow');
    }
  });

  test('writes: in the compartment alone; conditional writes, PATCH and other types refused', () => {
    expect(authorize(a, request('POST', 'Observation', undefined, obs('pat-a'))).kind).toBe('allow');
    expect(authorize(a, request('POST', 'Observation', undefined, obs('pat-b')))).toMatchObject({ kind: 'deny', status: 403 });
    expect(authorize(a, request('POST', 'Observation', undefined, obs('pat-a', { performer: [{ reference: 'Patient/pat-b' }] })))).toMatchObject({ kind: 'deny' });
    expect(authorize(a, request('PUT', 'Observation', { code: ['x'] }, obs('pat-a')))).toMatchObject({ kind: 'deny' });
    expect(authorize(a, request('DELETE', 'Observation', { code: ['x'] }))).toMatchObject({ kind: 'deny' });
    expect(authorize(a, request('POST', 'Medication', undefined, { resourceType: 'Medication' }))).toMatchObject({ kind: 'deny' });
    const update = authorize(a, request('PUT', 'Observation/o1', undefined, { ...obs('pat-a'), id: 'o1' })) as Plan;
    expect(update.precheck).toEqual({ resourceType: 'Observation', id: 'o1', perms: ['u'], pinVersion: true });
    const create = authorize(a, request('POST', 'Observation', undefined, { ...obs('pat-a'), id: 'chosen-id' })) as Plan;
    expect(create.forward.body).not.toHaveProperty('id');
  });

  test('strict membership on returned resources', () => {
    expect(see(a, obs('pat-a'), ['r']).visible).toBe(true);
    expect(see(a, obs('pat-b'), ['r']).visible).toBe(false);
    expect(see(a, obs('pat-a', { performer: [{ reference: 'Patient/pat-b' }] }), ['r']).visible).toBe(false);
    expect(see(a, obs('pat-a', { subject: { reference: 'https://fhir.example.org/r4/Patient/pat-a' } }), ['r']).visible).toBe(true);
    expect(see(a, { resourceType: 'Patient', id: 'pat-a', link: [{ other: { reference: 'Patient/pat-b' } }] }, ['r']).visible).toBe(true);
    expect(see(a, { resourceType: 'Patient', id: 'pat-b' }, ['r']).visible).toBe(false);
    expect(see(a, { resourceType: 'Medication', id: 'm' }, ['r']).visible).toBe(true);
    expect(see(a, { resourceType: 'Location', id: 'l' }, ['r']).visible).toBe(false);
  });

  test('operations: $everything on self only, $export never, others unless configured', () => {
    expect(authorize(a, request('GET', 'Patient/pat-a/$everything')).kind).toBe('allow');
    expect(authorize(a, request('GET', 'Patient/pat-b/$everything'))).toMatchObject({ kind: 'deny' });
    expect(authorize(a, request('GET', '$export'))).toMatchObject({ kind: 'deny' });
    expect(authorize(a, request('GET', 'Observation/$lastn'))).toMatchObject({ kind: 'deny' });
    expect(authorize(a, request('GET', 'Observation/$lastn'), { operations: { lastn: { permission: 's', levels: ['type'] } } }).kind).toBe('allow');
  });

  test('a parameter refusal names the patients the request names (the same list as its other refusals)', () => {
    const everything = authorize(a, request('GET', 'Patient/pat-a/$everything', { _filter: ['x'] }));
    expect(everything).toMatchObject({ kind: 'deny', status: 403, patientIds: ['pat-a'] });
    const search = authorize(a, request('GET', 'Observation', { subject: ['Patient/pat-b'] }));
    expect(search).toMatchObject({ kind: 'deny', status: 403, patientIds: ['pat-b'] });
    const read = authorize(a, request('GET', 'Observation/o1', { _has: ['Patient/pat-b'] }));
    expect(read).toMatchObject({ kind: 'deny', status: 403, patientIds: ['pat-b'] });
  });
});

describe('granular restrictions and v1 scopes', () => {
  test('one restricted grant narrows exactly; mixed restrictions only filter', () => {
    const one = access('patient/Observation.rs?category=laboratory', { patient: 'pat-a' });
    const plan = authorize(one, request('GET', 'Observation')) as Plan;
    expect(plan.forward.params).toContainEqual({ name: 'category', value: 'laboratory' });
    expect(plan.check).toEqual({ kind: 'bundle', perms: ['s', 'r'], exactTotal: true });

    const same = access('patient/Observation.rs?category=laboratory patient/Observation.rs?category=vital-signs', { patient: 'pat-a' });
    expect((authorize(same, request('GET', 'Observation')) as Plan).forward.params).toContainEqual({ name: 'category', value: 'laboratory,vital-signs' });

    const mixed = access('patient/Observation.rs?category=laboratory patient/Observation.rs?code=http://loinc.org|8867-4', { patient: 'pat-a' });
    const m = authorize(mixed, request('GET', 'Observation')) as Plan;
    expect(m.forward.params.map((p) => p.name)).toEqual(['subject']);
    expect(m.check).toMatchObject({ exactTotal: false });
  });

  test('restrictions are checked on each resource; unknown restriction parameters cover nothing', () => {
    const a = access('user/Observation.rs?category=laboratory user/Condition.rs?foo=bar', { fhirUser: 'Practitioner/p1' });
    const lab = { resourceType: 'Observation', category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }] };
    expect(see(a, lab, ['s']).visible).toBe(true);
    expect(see(a, { ...lab, category: [{ coding: [{ code: 'vital-signs' }] }] }, ['s']).visible).toBe(false);
    expect(see(a, { resourceType: 'Condition', foo: 'bar' }, ['s']).visible).toBe(false);
    expect(authorize(a, request('POST', 'Observation', undefined, { resourceType: 'Observation', status: 'final', code: { text: 'x' } }))).toMatchObject({ kind: 'deny' });
    expect(authorize(a, request('PATCH', 'Observation/o1', undefined, { resourceType: 'Parameters', parameter: [] }))).toMatchObject({ kind: 'deny' });
  });

  test('v1 scopes are mapped (read = rs, write = cud; write never implies read)', () => {
    const read = access('patient/Observation.read', { patient: 'pat-a' });
    expect(authorize(read, request('GET', 'Observation')).kind).toBe('allow');
    expect(authorize(read, request('POST', 'Observation', undefined, obs('pat-a')))).toMatchObject({ kind: 'deny' });
    const write = access('user/Observation.write', { fhirUser: 'Practitioner/p1' });
    expect(authorize(write, request('GET', 'Observation/o1'))).toMatchObject({ kind: 'deny' });
    expect(authorize(write, request('POST', 'Observation', undefined, obs('pat-b'))).kind).toBe('allow');
  });

  test('a grant on one type does not allow another (no user/Procedure.read reading Observations)', () => {
    const a = access('user/Procedure.read', { fhirUser: 'Practitioner/p1' });
    expect(authorize(a, request('GET', 'Observation'))).toMatchObject({ kind: 'deny' });
    expect(see(a, { resourceType: 'Observation' }, ['r', 's']).visible).toBe(false);
    expect(authorize(a, request('GET', '', { _type: ['Observation'] }))).toMatchObject({ kind: 'deny' });
  });
});
