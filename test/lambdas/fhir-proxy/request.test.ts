import type { APIGatewayProxyEvent } from 'aws-lambda';
import fc from 'fast-check';
import {
  encodeParams,
  hasReservedKey,
  isRequestError,
  isReservedKey,
  isSafeJsonPointer,
  parseFhirRequest,
  parseParamName,
  REQUEST_ERRORS,
  requestErrorResponse,
  type ParsedRequest,
  type RequestError,
} from '../../../lambdas/fhir-proxy/request';

interface Spec {
  method: string;
  path?: string | null;
  query?: Record<string, string[]>;
  headers?: Record<string, string>;
  body?: string | object;
  base64?: boolean;
}

const JSON_CT = { 'Content-Type': 'application/fhir+json' };

function event(spec: Spec): APIGatewayProxyEvent {
  const raw = spec.body === undefined ? null : typeof spec.body === 'string' ? spec.body : JSON.stringify(spec.body);
  return {
    httpMethod: spec.method,
    path: `/r4/${spec.path ?? ''}`,
    resource: '/r4/{proxy+}',
    pathParameters: spec.path === null ? null : { proxy: spec.path ?? '' },
    multiValueQueryStringParameters: spec.query ?? null,
    queryStringParameters: spec.query ? Object.fromEntries(Object.entries(spec.query).map(([k, v]) => [k, v[v.length - 1]])) : null,
    headers: spec.headers ?? {},
    multiValueHeaders: {},
    body: raw === null ? null : spec.base64 ? Buffer.from(raw, 'utf8').toString('base64') : raw,
    isBase64Encoded: spec.base64 ?? false,
    stageVariables: null,
    requestContext: {} as APIGatewayProxyEvent['requestContext'],
  };
}

function parsed(spec: Spec): ParsedRequest {
  const result = parseFhirRequest(event(spec));
  if (isRequestError(result)) throw new Error(`unexpected error: ${result.message}`);
  return result;
}

const obs = { resourceType: 'Observation', status: 'final', code: { text: 'x' } };

describe('parseFhirRequest: each interaction', () => {
  test.each<[string, Spec, Partial<ParsedRequest> & Record<string, unknown>]>([
    ['read', { method: 'GET', path: 'Patient/123' }, { interaction: 'read', resourceType: 'Patient', id: '123', path: 'Patient/123' }],
    [
      'vread',
      { method: 'GET', path: 'Observation/a.b-1/_history/2' },
      { interaction: 'vread', id: 'a.b-1', versionId: '2', path: 'Observation/a.b-1/_history/2' },
    ],
    [
      'update',
      { method: 'PUT', path: 'Observation/1', headers: { ...JSON_CT, 'If-Match': 'W/"3"' }, body: { ...obs, id: '1' } },
      { interaction: 'update', id: '1', conditional: false, forwardHeaders: { 'If-Match': 'W/"3"' } },
    ],
    [
      'conditional update',
      { method: 'PUT', path: 'Patient', query: { identifier: ['http://x|1'] }, headers: JSON_CT, body: { resourceType: 'Patient' } },
      { interaction: 'update', conditional: true, params: [{ name: 'identifier', value: 'http://x|1' }] },
    ],
    [
      'JSON Patch',
      {
        method: 'PATCH',
        path: 'Observation/1',
        headers: { 'Content-Type': 'application/json-patch+json' },
        body: [{ op: 'replace', path: '/status', value: 'amended' }],
      },
      { interaction: 'patch', id: '1', patch: { format: 'json-patch', operations: [{ op: 'replace', path: '/status', value: 'amended' }] } },
    ],
    [
      'FHIRPath Patch',
      {
        method: 'PATCH',
        path: 'Observation/1',
        headers: { 'Content-Type': 'application/fhir+json; charset=utf-8' },
        body: { resourceType: 'Parameters', parameter: [{ name: 'operation', part: [] }] },
      },
      { interaction: 'patch', patch: expect.objectContaining({ format: 'fhirpath-patch' }) },
    ],
    [
      'conditional patch',
      { method: 'PATCH', path: 'Observation', query: { _id: ['1'] }, headers: { 'Content-Type': 'application/json-patch+json' }, body: [{ op: 'remove', path: '/note' }] },
      { interaction: 'patch', conditional: true },
    ],
    ['delete', { method: 'DELETE', path: 'Observation/1' }, { interaction: 'delete', id: '1', conditional: false }],
    [
      'conditional delete',
      { method: 'DELETE', path: 'Observation', query: { patient: ['1'], code: ['x'] } },
      { interaction: 'delete', conditional: true, params: [{ name: 'patient', value: '1' }, { name: 'code', value: 'x' }] },
    ],
    ['create', { method: 'POST', path: 'Observation', headers: JSON_CT, body: obs }, { interaction: 'create', resourceType: 'Observation', body: obs }],
    [
      'conditional create (If-None-Exist)',
      { method: 'POST', path: 'Patient', headers: { 'content-type': 'application/json', 'if-none-exist': 'identifier=http://x%7C1' }, body: { resourceType: 'Patient' } },
      {
        interaction: 'create',
        ifNoneExist: [{ name: 'identifier', value: 'http://x|1' }],
        forwardHeaders: { 'If-None-Exist': 'identifier=http%3A%2F%2Fx%7C1' },
      },
    ],
    ['history instance', { method: 'GET', path: 'Patient/1/_history', query: { _count: ['5'] } }, { interaction: 'history-instance', id: '1' }],
    ['history type', { method: 'GET', path: 'Patient/_history' }, { interaction: 'history-type', resourceType: 'Patient' }],
    ['history system', { method: 'GET', path: '_history' }, { interaction: 'history-system', path: '_history' }],
    [
      'search type (GET) with chains, modifiers and _has',
      {
        method: 'GET',
        path: 'Observation',
        query: { 'subject:Patient.name': ['Smith'], 'code:text': ['glucose'], '_has:Observation:patient:code': ['1234'], _include: ['Observation:subject'] },
      },
      { interaction: 'search-type', viaPost: false, path: 'Observation' },
    ],
    [
      'search type (POST _search) merges the form body after the query',
      {
        method: 'POST',
        path: 'Observation/_search',
        query: { _count: ['10'] },
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'patient=123&code=http%3A%2F%2Floinc.org%7C8867-4&name=a+b',
      },
      {
        interaction: 'search-type',
        viaPost: true,
        params: [
          { name: '_count', value: '10' },
          { name: 'patient', value: '123' },
          { name: 'code', value: 'http://loinc.org|8867-4' },
          { name: 'name', value: 'a b' },
        ],
      },
    ],
    ['search system (GET, empty path)', { method: 'GET', path: '', query: { _type: ['Patient'] } }, { interaction: 'search-system', viaPost: false, path: '' }],
    ['search system (no pathParameters at all)', { method: 'GET', path: null }, { interaction: 'search-system' }],
    ['search system (POST _search)', { method: 'POST', path: '_search' }, { interaction: 'search-system', viaPost: true, params: [] }],
    ['capabilities', { method: 'GET', path: 'metadata' }, { interaction: 'capabilities', path: 'metadata' }],
    [
      'batch',
      { method: 'POST', path: '', headers: JSON_CT, body: { resourceType: 'Bundle', type: 'batch', entry: [] } },
      { interaction: 'batch', path: '' },
    ],
    [
      'transaction (base64 body)',
      { method: 'POST', path: '', headers: JSON_CT, body: { resourceType: 'Bundle', type: 'transaction' }, base64: true },
      { interaction: 'transaction' },
    ],
    ['operation, system level', { method: 'GET', path: '$export' }, { interaction: 'operation', level: 'system', operation: 'export', path: '$export' }],
    [
      'operation, type level (POST Parameters)',
      { method: 'POST', path: 'Observation/$lastn', headers: JSON_CT, body: { resourceType: 'Parameters' } },
      { interaction: 'operation', level: 'type', resourceType: 'Observation', operation: 'lastn', body: { resourceType: 'Parameters' } },
    ],
    [
      'operation, instance level (percent-encoded $)',
      { method: 'GET', path: 'Patient/123/%24everything' },
      { interaction: 'operation', level: 'instance', id: '123', operation: 'everything', path: 'Patient/123/$everything' },
    ],
    ['operation POST without a body', { method: 'POST', path: 'Patient/1/$everything' }, { interaction: 'operation', level: 'instance' }],
    [
      'Prefer and If-None-Match are kept in canonical form',
      { method: 'GET', path: 'Patient/1', headers: { prefer: 'return=minimal; foo=bar', 'If-None-Match': '"4"' } },
      { forwardHeaders: { Prefer: 'return=minimal', 'If-None-Match': 'W/"4"' } },
    ],
  ])('%s', (_name, spec, expected) => {
    expect(parsed(spec)).toMatchObject(expected);
  });

  test('method is case-insensitive; a single-value query map is used when there is no multi-value map', () => {
    const e = { ...event({ method: 'get', path: 'Patient' }), queryStringParameters: { name: 'x' } };
    expect(parseFhirRequest(e)).toMatchObject({ interaction: 'search-type', params: [{ name: 'name', value: 'x' }] });
  });
});

describe('parseFhirRequest: each rejection', () => {
  const big = 'x'.repeat(2000);
  test.each<[string, Spec, number, string]>([
    ['unknown resource type', { method: 'GET', path: 'Patients/1' }, 400, REQUEST_ERRORS.unknownResourceType],
    ['lower-case resource type', { method: 'GET', path: 'patient' }, 400, REQUEST_ERRORS.unknownResourceType],
    ['abstract type', { method: 'GET', path: 'DomainResource' }, 400, REQUEST_ERRORS.unknownResourceType],
    ['invalid id characters', { method: 'GET', path: 'Patient/a_b' }, 400, REQUEST_ERRORS.invalidId],
    ['id too long', { method: 'GET', path: `Patient/${'a'.repeat(65)}` }, 400, REQUEST_ERRORS.invalidId],
    ['dot-segment id', { method: 'GET', path: 'Patient/..' }, 400, REQUEST_ERRORS.invalidId],
    ['encoded slash in id', { method: 'GET', path: 'Patient/a%2Fb' }, 400, REQUEST_ERRORS.invalidId],
    ['invalid version id', { method: 'GET', path: 'Patient/1/_history/v_1' }, 400, REQUEST_ERRORS.invalidVersionId],
    ['compartment search is not supported', { method: 'GET', path: 'Patient/1/Observation' }, 400, REQUEST_ERRORS.unsupportedPath],
    ['too many segments', { method: 'GET', path: 'Patient/1/_history/2/x' }, 400, REQUEST_ERRORS.unsupportedPath],
    ['empty segment', { method: 'GET', path: 'Patient//1' }, 400, REQUEST_ERRORS.unsupportedPath],
    ['malformed percent-encoding', { method: 'GET', path: 'Patient/%E0%A4%A' }, 400, REQUEST_ERRORS.unsupportedPath],
    ['bad operation name', { method: 'GET', path: 'Patient/$ev;il' }, 400, REQUEST_ERRORS.invalidOperation],
    ['POST on an instance', { method: 'POST', path: 'Patient/1' }, 405, REQUEST_ERRORS.methodNotAllowed],
    ['DELETE metadata', { method: 'DELETE', path: 'metadata' }, 405, REQUEST_ERRORS.methodNotAllowed],
    ['GET _search', { method: 'GET', path: 'Observation/_search' }, 405, REQUEST_ERRORS.methodNotAllowed],
    ['PUT history', { method: 'PUT', path: 'Patient/1/_history/1' }, 405, REQUEST_ERRORS.methodNotAllowed],
    ['HEAD', { method: 'HEAD', path: 'Patient/1' }, 405, REQUEST_ERRORS.methodNotAllowed],
    ['OPTIONS', { method: 'OPTIONS', path: '' }, 405, REQUEST_ERRORS.methodNotAllowed],
    ['bad parameter name', { method: 'GET', path: 'Patient', query: { 'na me': ['x'] } }, 400, REQUEST_ERRORS.invalidParamName],
    ['parameter name starting with a digit', { method: 'GET', path: 'Patient', query: { '1x': ['x'] } }, 400, REQUEST_ERRORS.invalidParamName],
    ['parameter value too long', { method: 'GET', path: 'Patient', query: { name: [big] } }, 400, REQUEST_ERRORS.paramTooLong],
    ['control character in a value', { method: 'GET', path: 'Patient', query: { name: ['a\nb'] } }, 400, REQUEST_ERRORS.invalidParamValue],
    [
      'too many parameters',
      { method: 'GET', path: 'Patient', query: { name: Array.from({ length: 101 }, (_, i) => `n${i}`) } },
      400,
      REQUEST_ERRORS.tooManyParams,
    ],
    ['non-JSON _format', { method: 'GET', path: 'Patient/1', query: { _format: ['xml'] } }, 400, REQUEST_ERRORS.unsupportedFormat],
    ['conditional delete without criteria', { method: 'DELETE', path: 'Patient', query: { _count: ['1'] } }, 400, REQUEST_ERRORS.missingCriteria],
    ['conditional update without criteria', { method: 'PUT', path: 'Patient', headers: JSON_CT, body: { resourceType: 'Patient' } }, 400, REQUEST_ERRORS.missingCriteria],
    ['body on GET', { method: 'GET', path: 'Patient/1', body: '{}' }, 400, REQUEST_ERRORS.bodyNotAllowed],
    ['body on DELETE', { method: 'DELETE', path: 'Patient/1', body: '{}' }, 400, REQUEST_ERRORS.bodyNotAllowed],
    ['create without body', { method: 'POST', path: 'Patient', headers: JSON_CT }, 400, REQUEST_ERRORS.bodyRequired],
    ['create as XML', { method: 'POST', path: 'Patient', headers: { 'Content-Type': 'application/fhir+xml' }, body: '<Patient/>' }, 415, REQUEST_ERRORS.unsupportedContentType],
    ['create without Content-Type', { method: 'POST', path: 'Patient', body: { resourceType: 'Patient' } }, 415, REQUEST_ERRORS.unsupportedContentType],
    [
      'non-UTF-8 charset',
      { method: 'POST', path: 'Patient', headers: { 'Content-Type': 'application/json; charset=iso-8859-1' }, body: { resourceType: 'Patient' } },
      415,
      REQUEST_ERRORS.unsupportedContentType,
    ],
    ['invalid JSON', { method: 'POST', path: 'Patient', headers: JSON_CT, body: '{"resourceType":' }, 400, REQUEST_ERRORS.invalidJson],
    ['JSON array as a resource', { method: 'POST', path: 'Patient', headers: JSON_CT, body: '[]' }, 400, REQUEST_ERRORS.notAnObject],
    ['JSON without resourceType', { method: 'POST', path: 'Patient', headers: JSON_CT, body: { id: '1' } }, 400, REQUEST_ERRORS.notAnObject],
    ['nesting too deep', { method: 'POST', path: 'Patient', headers: JSON_CT, body: `{"resourceType":"Patient","x":${'['.repeat(70)}${']'.repeat(70)}}` }, 400, REQUEST_ERRORS.tooDeep],
    ['create with another resource type', { method: 'POST', path: 'Patient', headers: JSON_CT, body: obs }, 400, REQUEST_ERRORS.resourceTypeMismatch],
    ['update with another resource type', { method: 'PUT', path: 'Patient/1', headers: JSON_CT, body: { ...obs, id: '1' } }, 400, REQUEST_ERRORS.resourceTypeMismatch],
    ['update without id', { method: 'PUT', path: 'Observation/1', headers: JSON_CT, body: obs }, 400, REQUEST_ERRORS.missingBodyId],
    ['update with another id', { method: 'PUT', path: 'Observation/1', headers: JSON_CT, body: { ...obs, id: '2' } }, 400, REQUEST_ERRORS.idMismatch],
    ['update with an invalid id', { method: 'PUT', path: 'Observation/1', headers: JSON_CT, body: { ...obs, id: 7 } }, 400, REQUEST_ERRORS.invalidBodyId],
    ['system POST of a non-Bundle', { method: 'POST', path: '', headers: JSON_CT, body: obs }, 400, REQUEST_ERRORS.resourceTypeMismatch],
    ['system POST of a searchset', { method: 'POST', path: '', headers: JSON_CT, body: { resourceType: 'Bundle', type: 'searchset' } }, 400, REQUEST_ERRORS.invalidBundleType],
    ['patch with a JSON body that is not Parameters', { method: 'PATCH', path: 'Observation/1', headers: JSON_CT, body: obs }, 400, REQUEST_ERRORS.invalidPatch],
    ['JSON Patch with an unknown op', { method: 'PATCH', path: 'Observation/1', headers: { 'Content-Type': 'application/json-patch+json' }, body: [{ op: 'merge', path: '/a' }] }, 400, REQUEST_ERRORS.invalidPatch],
    ['JSON Patch that is empty', { method: 'PATCH', path: 'Observation/1', headers: { 'Content-Type': 'application/json-patch+json' }, body: [] }, 400, REQUEST_ERRORS.invalidPatch],
    ['form search with a JSON body', { method: 'POST', path: 'Observation/_search', headers: JSON_CT, body: { a: 1 } }, 415, REQUEST_ERRORS.unsupportedContentType],
    ['form search with malformed encoding', { method: 'POST', path: 'Observation/_search', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'a=%E0%A4%A' }, 400, REQUEST_ERRORS.invalidForm],
    ['form search with a bad name', { method: 'POST', path: '_search', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'a%20b=1' }, 400, REQUEST_ERRORS.invalidParamName],
    ['bad If-Match', { method: 'PUT', path: 'Observation/1', headers: { ...JSON_CT, 'If-Match': 'W/"1" OR 1=1' }, body: { ...obs, id: '1' } }, 400, REQUEST_ERRORS.invalidHeader],
    ['If-None-Exist without criteria', { method: 'POST', path: 'Patient', headers: { ...JSON_CT, 'If-None-Exist': '_count=1' }, body: { resourceType: 'Patient' } }, 400, REQUEST_ERRORS.invalidHeader],
    ['operation input that is not a resource', { method: 'POST', path: '$export', headers: JSON_CT, body: { resourceType: 'Nope' } }, 400, REQUEST_ERRORS.resourceTypeMismatch],
  ])('%s → %i', (_name, spec, status, message) => {
    const result = parseFhirRequest(event(spec)) as RequestError;
    expect(isRequestError(result)).toBe(true);
    expect(result).toMatchObject({ status, message });
  });

  test('body size is measured in decoded bytes, with a configurable limit', () => {
    const body = JSON.stringify({ resourceType: 'Patient', text: 'é'.repeat(600) }); // ~1.2 kB of UTF-8
    const spec: Spec = { method: 'POST', path: 'Patient', headers: JSON_CT, body };
    expect(parseFhirRequest(event(spec), { maxBodyBytes: 1000 })).toMatchObject({ status: 413, message: REQUEST_ERRORS.bodyTooLarge });
    expect(parseFhirRequest(event({ ...spec, base64: true }), { maxBodyBytes: 1000 })).toMatchObject({ status: 413 });
    expect(parseFhirRequest(event(spec), { maxBodyBytes: 2000 })).toMatchObject({ interaction: 'create' });
    expect(parseFhirRequest(event({ ...spec, base64: true }), { maxBodyBytes: 2000 })).toMatchObject({ interaction: 'create' });
  });

  test('parameter limits are configurable', () => {
    const spec: Spec = { method: 'GET', path: 'Patient', query: { name: ['abcdef'], family: ['x'] } };
    expect(parseFhirRequest(event(spec), { maxParamValueLength: 5 })).toMatchObject({ message: REQUEST_ERRORS.paramTooLong });
    expect(parseFhirRequest(event(spec), { maxParams: 1 })).toMatchObject({ message: REQUEST_ERRORS.tooManyParams });
  });

  test('invalid base64 is refused', () => {
    const e = { ...event({ method: 'POST', path: 'Patient', headers: JSON_CT }), body: '%%%%', isBase64Encoded: true };
    expect(parseFhirRequest(e)).toMatchObject({ status: 400, message: REQUEST_ERRORS.invalidEncoding });
    const notUtf8 = { ...e, body: Buffer.from([0x7b, 0xff, 0x7d]).toString('base64') };
    expect(parseFhirRequest(notUtf8)).toMatchObject({ status: 400, message: REQUEST_ERRORS.invalidEncoding });
  });

  test('405 responses carry Allow; every error is an OperationOutcome with security headers', () => {
    const error = parseFhirRequest(event({ method: 'POST', path: 'Patient/1' })) as RequestError;
    const response = requestErrorResponse(error);
    expect(response.statusCode).toBe(405);
    expect(response.headers).toMatchObject({ Allow: 'GET, PUT, PATCH, DELETE', 'Content-Type': 'application/fhir+json', 'Cache-Control': 'no-store' });
    expect(JSON.parse(response.body)).toEqual({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'not-supported', diagnostics: REQUEST_ERRORS.methodNotAllowed }],
    });
  });

  test('errors never echo the input (property)', () => {
    const marker = fc.stringMatching(/^[A-Za-z0-9]{6,12}$/).map((s) => `ZQ${s}`);
    fc.assert(
      fc.property(marker, fc.constantFrom('path', 'id', 'param', 'value', 'body', 'type'), (m, where) => {
        const spec: Spec =
          where === 'path'
            ? { method: 'GET', path: `${m}/x/y/z/w` }
            : where === 'id'
              ? { method: 'GET', path: `Patient/${m}_!` }
              : where === 'param'
                ? { method: 'GET', path: 'Patient', query: { [`${m} `]: ['1'] } }
                : where === 'value'
                  ? { method: 'GET', path: 'Patient', query: { name: [`${m}\u0000`] } }
                  : where === 'body'
                    ? { method: 'POST', path: 'Patient', headers: JSON_CT, body: `{"resourceType":"${m}"` }
                    : { method: 'POST', path: 'Patient', headers: JSON_CT, body: { resourceType: m } };
        const result = parseFhirRequest(event(spec));
        expect(isRequestError(result)).toBe(true);
        const response = requestErrorResponse(result as RequestError);
        expect(JSON.stringify(response)).not.toContain(m);
      }),
      { numRuns: 150 },
    );
  });
});

describe('helpers', () => {
  test.each([
    ['subject:Patient.name', { code: 'subject', modifier: 'Patient', chain: 'name' }],
    ['code:text', { code: 'code', modifier: 'text' }],
    ['patient.organization.name', { code: 'patient', chain: 'organization.name' }],
    ['_has:Observation:patient:code', { code: '_has', modifier: 'Observation:patient:code' }],
    ['_id', { code: '_id' }],
  ])('parseParamName(%s)', (name, expected) => {
    expect(parseParamName(name)).toEqual(expected);
  });

  test('encodeParams round-trips through decodeURIComponent', () => {
    const params = [{ name: 'code', value: 'http://loinc.org|1 2&3=4' }];
    expect(encodeParams(params)).toBe('code=http%3A%2F%2Floinc.org%7C1%202%263%3D4');
  });
});

describe('names that are Object.prototype members', () => {
  const NAMES = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '__defineGetter__', '__lookupSetter__', 'valueOf', 'isPrototypeOf', 'propertyIsEnumerable', 'toLocaleString'];
  /** `{ [key]: value }` with `key` an own data property, even `__proto__` (as API Gateway's JSON parse makes it). */
  const own = <T>(key: string, value: T): Record<string, T> => Object.fromEntries([[key, value]]) as Record<string, T>;
  const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };
  const PATCH_CT = { 'Content-Type': 'application/json-patch+json' };
  const withProp = (json: string, key: string, value: string) => `${json.slice(0, -1)},${JSON.stringify(key)}:${value}}`;
  const obsJson = JSON.stringify(obs);

  test('isReservedKey covers every member of Object.prototype, and nothing FHIR', () => {
    for (const n of [...NAMES, ...Object.getOwnPropertyNames(Object.prototype)]) expect(isReservedKey(n)).toBe(true);
    for (const n of ['name', 'code', 'value', 'length', 'valueString', '_birthDate', 'resourceType', 'Constructor', '__PROTO__', 'proto', '']) {
      expect(isReservedKey(n)).toBe(false);
    }
  });

  test.each(NAMES.flatMap((n) => [
    [`${n}: parameter name`, { method: 'GET', path: 'Observation', query: own(n, ['x']) }, REQUEST_ERRORS.invalidParamName],
    [`${n}: modifier`, { method: 'GET', path: 'Observation', query: own(`code:${n}`, ['x']) }, REQUEST_ERRORS.invalidParamName],
    [`${n}: chain`, { method: 'GET', path: 'Observation', query: own(`subject:Patient.${n}`, ['x']) }, REQUEST_ERRORS.invalidParamName],
    [`${n}: _has segment`, { method: 'GET', path: 'Patient', query: own(`_has:Observation:patient:${n}`, ['x']) }, REQUEST_ERRORS.invalidParamName],
    [`${n}: single-value query`, { method: 'GET', path: 'Observation', query: undefined, single: own(n, 'x') }, REQUEST_ERRORS.invalidParamName],
    [`${n}: conditional delete criterion`, { method: 'DELETE', path: 'Observation', query: own(n, ['x']) }, REQUEST_ERRORS.invalidParamName],
    [`${n}: form field`, { method: 'POST', path: 'Observation/_search', headers: FORM, body: `code=1&${n}=x` }, REQUEST_ERRORS.invalidParamName],
    [`${n}: system form field`, { method: 'POST', path: '_search', headers: FORM, body: `${n}:exact=x` }, REQUEST_ERRORS.invalidParamName],
    [`${n}: If-None-Exist criterion`, { method: 'POST', path: 'Observation', headers: { ...JSON_CT, 'If-None-Exist': `${n}=1` }, body: obs }, REQUEST_ERRORS.invalidParamName],
    [`${n}: _include target`, { method: 'GET', path: 'Observation', query: { _include: [`Observation:${n}`] } }, REQUEST_ERRORS.invalidParamValue],
    [`${n}: _include:iterate type`, { method: 'GET', path: 'Observation', query: { '_include:iterate': [`${n}:subject`] } }, REQUEST_ERRORS.invalidParamValue],
    [`${n}: _revinclude target type`, { method: 'GET', path: 'Patient', query: { _revinclude: [`Observation:subject:${n}`] } }, REQUEST_ERRORS.invalidParamValue],
    [`${n}: _sort`, { method: 'GET', path: 'Observation', query: { _sort: [`date,-${n}`] } }, REQUEST_ERRORS.invalidParamValue],
    [`${n}: _elements`, { method: 'GET', path: 'Observation', query: { _elements: [`code.${n}`] } }, REQUEST_ERRORS.invalidParamValue],
    [`${n}: _type`, { method: 'GET', path: '$export', query: { _type: [`Patient,${n}`] } }, REQUEST_ERRORS.invalidParamValue],
    [`${n}: body property`, { method: 'POST', path: 'Observation', headers: JSON_CT, body: withProp(obsJson, n, '{"polluted":1}') }, REQUEST_ERRORS.reservedKey],
    [`${n}: nested body property`, { method: 'PUT', path: 'Observation/1', headers: JSON_CT, body: `{"resourceType":"Observation","id":"1","code":{"coding":[{${JSON.stringify(n)}:1}]}}` }, REQUEST_ERRORS.reservedKey],
    [`${n}: Bundle entry property`, { method: 'POST', path: '', headers: JSON_CT, body: `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient/1"},${JSON.stringify(n)}:{}}]}` }, REQUEST_ERRORS.reservedKey],
    [`${n}: operation input property`, { method: 'POST', path: 'Patient/1/$everything', headers: JSON_CT, body: `{"resourceType":"Parameters","parameter":[{"name":"x",${JSON.stringify(n)}:"y"}]}` }, REQUEST_ERRORS.reservedKey],
    [`${n}: FHIRPath Patch property`, { method: 'PATCH', path: 'Observation/1', headers: JSON_CT, body: `{"resourceType":"Parameters","parameter":[],${JSON.stringify(n)}:1}` }, REQUEST_ERRORS.reservedKey],
    [`${n}: JSON Patch path`, { method: 'PATCH', path: 'Observation/1', headers: PATCH_CT, body: [{ op: 'add', path: `/${n}/polluted`, value: 1 }] }, REQUEST_ERRORS.invalidPatch],
    [`${n}: JSON Patch last token`, { method: 'PATCH', path: 'Observation/1', headers: PATCH_CT, body: [{ op: 'replace', path: `/code/${n}`, value: 1 }] }, REQUEST_ERRORS.invalidPatch],
    [`${n}: JSON Patch from`, { method: 'PATCH', path: 'Observation/1', headers: PATCH_CT, body: [{ op: 'copy', from: `/${n}`, path: '/x' }] }, REQUEST_ERRORS.invalidPatch],
    [`${n}: JSON Patch value property`, { method: 'PATCH', path: 'Observation/1', headers: PATCH_CT, body: `[{"op":"add","path":"/code","value":{${JSON.stringify(n)}:1}}]` }, REQUEST_ERRORS.reservedKey],
  ] as Array<[string, Spec & { single?: Record<string, string> }, string]>))('%s → 400', (_name, spec, message) => {
    const e = event(spec);
    if (spec.single) e.queryStringParameters = spec.single;
    const result = parseFhirRequest(e) as RequestError;
    expect(isRequestError(result)).toBe(true);
    expect(result).toMatchObject({ status: 400, message });
    expect(JSON.stringify(requestErrorResponse(result))).not.toMatch(/polluted|__|constructor|prototype|toString|valueOf|OwnProperty/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('an escaped JSON Pointer token is unescaped before the check', () => {
    expect(isSafeJsonPointer('/a~1b/c~0d')).toBe(true);
    expect(isSafeJsonPointer('')).toBe(true);
    expect(isSafeJsonPointer('/note/0/text')).toBe(true);
    expect(isSafeJsonPointer('/__proto__')).toBe(false);
    expect(isSafeJsonPointer('/code/constructor')).toBe(false);
    expect(isSafeJsonPointer('status')).toBe(false); // not a pointer
    expect(isSafeJsonPointer(undefined)).toBe(false);
    expect(hasReservedKey(JSON.parse('[{"a":[{"b":{"__proto__":1}}]}]'))).toBe(true);
    expect(hasReservedKey({ a: [{ b: { c: 'constructor' } }] })).toBe(false); // values are not keys
  });

  test('header names are only keys of a Map: unknown ones are ignored, known ones still read', () => {
    const headers = { ...Object.fromEntries(NAMES.map((n) => [n, 'x'])), 'Content-Type': 'application/fhir+json', 'If-Match': 'W/"3"' };
    const result = parsed({ method: 'PUT', path: 'Observation/1', headers, body: { ...obs, id: '1' } });
    expect(result).toMatchObject({ interaction: 'update', forwardHeaders: { 'If-Match': 'W/"3"' } });
    expect(Object.keys(result.forwardHeaders)).toEqual(['If-Match']);
    const multi = { ...event({ method: 'GET', path: 'Observation' }), headers: {}, multiValueHeaders: Object.fromEntries(NAMES.map((n) => [n, ['x']])) };
    expect(parseFhirRequest(multi)).toMatchObject({ interaction: 'search-type' });
    // A missing Content-Type is still missing when `constructor`/`toString` headers are sent.
    expect(parseFhirRequest(event({ method: 'POST', path: 'Observation', headers: Object.fromEntries(NAMES.map((n) => [n, 'x'])), body: obs }))).toMatchObject({
      status: 415,
    });
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  test('the names are ordinary values where a value is expected', () => {
    for (const n of ['constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf']) {
      expect(parsed({ method: 'GET', path: `Observation/${n}` })).toMatchObject({ interaction: 'read', id: n }); // a valid id
      expect(parsed({ method: 'GET', path: 'Observation', query: { code: [n], 'code:text': [n] } }).params).toEqual([
        { name: 'code', value: n },
        { name: 'code:text', value: n },
      ]);
      expect(parsed({ method: 'POST', path: 'Observation', headers: JSON_CT, body: { ...obs, note: [{ text: n }] } })).toMatchObject({ interaction: 'create' });
    }
    // Names that merely contain one are not one.
    expect(parsed({ method: 'GET', path: 'Observation', query: { 'code-constructor': ['x'], _sort: ['-toStringDate'], _include: ['Observation:has-member'] } })).toMatchObject({
      interaction: 'search-type',
    });
  });
});
