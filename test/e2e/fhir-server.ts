/**
 * A local FHIR R4 server standing in for AWS HealthLake in tests (node:http on 127.0.0.1, random
 * port, base `http://127.0.0.1:<port>/datastore/<id>/r4/` like HealthLake's).
 *
 * - Verifies the SigV4 signature of EVERY request (service `healthlake`) by recomputing it with
 *   `@smithy/signature-v4` from what was received, and answers 403 when it does not match.
 * - Keeps resources in memory with versions and history; supports read, vread, create (server
 *   assigned id, conditional with If-None-Exist), update (and conditional update), JSON Patch,
 *   delete (and conditional delete), `If-Match` on update, patch and delete (also in Bundle
 *   entries), history (instance, type), search (GET and POST `_search`) by `_id`,
 *   `patient`/`subject`, `category`, `code`, with `_include`/`_revinclude` and `_count` paging
 *   whose links use this server's own base URL, `metadata`, and batch/transaction Bundles.
 * - Records every request it received (`requests`), signed or not, with the status it answered,
 *   so tests can assert what the proxy forwarded and what the server did with it.
 * - Patient search by `identifier`, `name`, `family`; `Patient/<id>/$everything`.
 *
 * Optional behaviours (all off by default), for tests of the least helpful conformant server:
 * - `projection: 'minimal'`: `_elements` and `_summary` (`true|text|data|count|false`) are
 *   honoured on read, vread, search (matches and includes), history and `$everything` by
 *   returning copies that keep only `resourceType`, `id` and what was asked for. `meta` is dropped
 *   too (R4 lets a server drop non-mandatory elements) and nothing is marked SUBSETTED;
 *   `_summary=true` keeps only one or two summary elements per type; `_summary=count` answers a
 *   Bundle with `total` (every match) and no entries. Without the option both parameters are
 *   unsupported search parameters (400), as before.
 * - `resolveConditionalReferences: true`: a reference written as a search
 *   (`Patient?identifier=sys|val`) in a created or updated resource (directly, or in a batch or
 *   transaction entry; contained resources and extensions included) is rewritten to `Type/<id>`
 *   of its one match; no match or several: 412 (the whole transaction).
 * - `failConsentSearch` (also switchable at run time through `faults`): `Consent` searches answer
 *   503 with `Retry-After`, an outage of the datastore for exactly the proxy's consent lookup.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { applyPatch, type Operation } from 'fast-json-patch';
import type { AwsCredentialIdentity } from '@smithy/types';
import { patientCompartmentPaths } from '../../lambdas/shared/fhir/patient-compartment';
import { parseReference } from '../../lambdas/shared/fhir/references';
import { isFhirResourceType } from '../../lambdas/shared/fhir-resource-types';
import { SEED_WRITES, type SeedWrite } from './fixtures/seed';

// ---------------------------------------------------------------------------------------------
// SigV4 verification

export interface ReceivedRequest {
  readonly method: string;
  /** The raw path as received (still percent-encoded), without the query. */
  readonly rawPath: string;
  /** The raw query string (without `?`). */
  readonly rawQuery: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
}

export interface VerifyOptions {
  readonly credentials: AwsCredentialIdentity;
  readonly region: string;
  /** @default 'healthlake' */
  readonly service?: string;
  /** Largest accepted clock difference. @default 5 minutes */
  readonly maxSkewMs?: number;
  /** @default - now */
  readonly now?: Date;
}

const AUTH = /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request, SignedHeaders=([a-z0-9\-;]+), Signature=([0-9a-f]{64})$/;

function header(headers: ReceivedRequest['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/**
 * Verifies a received request's SigV4 signature by re-signing what was received with the known
 * credentials and comparing the `Authorization` header. Also checks the credential scope, the
 * clock, the session token and that `x-amz-content-sha256` is the hash of the body received.
 */
export async function verifySigV4(req: ReceivedRequest, options: VerifyOptions): Promise<boolean> {
  const service = options.service ?? 'healthlake';
  const authorization = header(req.headers, 'authorization');
  const amzDate = header(req.headers, 'x-amz-date');
  if (!authorization || !amzDate) return false;
  const m = AUTH.exec(authorization);
  if (!m) return false;
  const [, accessKeyId, shortDate, region, scopeService, signedHeaderList] = m;
  if (accessKeyId !== options.credentials.accessKeyId || region !== options.region || scopeService !== service) {
    return false;
  }
  const dm = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!dm || `${dm[1]}${dm[2]}${dm[3]}` !== shortDate) return false;
  const signingDate = new Date(Date.UTC(+dm[1], +dm[2] - 1, +dm[3], +dm[4], +dm[5], +dm[6]));
  const now = (options.now ?? new Date()).getTime();
  if (Math.abs(now - signingDate.getTime()) > (options.maxSkewMs ?? 5 * 60_000)) return false;

  const signed = signedHeaderList.split(';');
  if (!signed.includes('host') || !signed.includes('x-amz-date')) return false;
  if (options.credentials.sessionToken !== undefined) {
    if (header(req.headers, 'x-amz-security-token') !== options.credentials.sessionToken) return false;
    if (!signed.includes('x-amz-security-token')) return false;
  }
  const bodyHash = createHash('sha256').update(req.body).digest('hex');
  const contentSha = header(req.headers, 'x-amz-content-sha256');
  if (contentSha !== undefined && contentSha !== bodyHash) return false;

  const headers: Record<string, string> = {};
  for (const name of signed) {
    const value = header(req.headers, name);
    if (value === undefined) return false;
    headers[name] = value;
  }
  const query: Record<string, string | string[]> = {};
  try {
    for (const pair of req.rawQuery.split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      const name = decodeURIComponent(eq < 0 ? pair : pair.slice(0, eq));
      const value = decodeURIComponent(eq < 0 ? '' : pair.slice(eq + 1));
      const existing = query[name];
      query[name] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
    }
  } catch {
    return false;
  }
  const host = headers.host;
  const signer = new SignatureV4({ service, region: options.region, credentials: options.credentials, sha256: Sha256 });
  const expected = await signer.sign(
    {
      method: req.method,
      protocol: 'http:',
      hostname: host.replace(/:\d+$/, ''),
      path: req.rawPath,
      query,
      headers,
      body: req.body.length > 0 ? req.body : undefined,
    },
    { signingDate },
  );
  const a = Buffer.from(expected.headers.authorization ?? '');
  const b = Buffer.from(authorization);
  return a.length === b.length && timingSafeEqual(a, b);
}

// ---------------------------------------------------------------------------------------------
// Store

type Json = Record<string, unknown>;
type Res = Json & { resourceType: string; id: string; meta?: Json };

interface Version {
  readonly type: string;
  readonly id: string;
  readonly resource?: Res;
  readonly versionId: string;
  readonly lastUpdated: string;
  readonly method: 'POST' | 'PUT' | 'DELETE';
}

class Store {
  private versions = new Map<string, Version[]>();
  private clock = Date.UTC(2024, 0, 1);

  snapshot(): Map<string, Version[]> {
    return new Map([...this.versions].map(([k, v]) => [k, [...v]]));
  }

  restore(snapshot: Map<string, Version[]>): void {
    this.versions = snapshot;
  }

  history(type: string, id: string): Version[] {
    return this.versions.get(`${type}/${id}`) ?? [];
  }

  current(type: string, id: string): Version | undefined {
    const list = this.history(type, id);
    return list[list.length - 1];
  }

  live(type?: string): Res[] {
    const out: Res[] = [];
    for (const [key, list] of this.versions) {
      const last = list[list.length - 1];
      if (last.resource && (type === undefined || key.startsWith(`${type}/`))) out.push(last.resource);
    }
    return out;
  }

  allVersions(type: string): Version[] {
    const out: Version[] = [];
    for (const [key, list] of this.versions) if (key.startsWith(`${type}/`)) out.push(...list);
    return out.sort((x, y) => y.lastUpdated.localeCompare(x.lastUpdated));
  }

  write(resource: Res, method: 'POST' | 'PUT'): Version {
    const list = this.history(resource.resourceType, resource.id);
    const versionId = String(list.length + 1);
    const lastUpdated = this.tick();
    const stored: Res = { ...structuredClone(resource), meta: { ...(resource.meta ?? {}), versionId, lastUpdated } };
    const version: Version = { type: resource.resourceType, id: resource.id, resource: stored, versionId, lastUpdated, method };
    this.versions.set(`${resource.resourceType}/${resource.id}`, [...list, version]);
    return version;
  }

  remove(type: string, id: string): Version | undefined {
    const list = this.history(type, id);
    if (list.length === 0 || !list[list.length - 1].resource) return undefined;
    const version: Version = { type, id, versionId: String(list.length + 1), lastUpdated: this.tick(), method: 'DELETE' };
    this.versions.set(`${type}/${id}`, [...list, version]);
    return version;
  }

  private tick(): string {
    this.clock += 1000;
    return new Date(this.clock).toISOString();
  }
}

// ---------------------------------------------------------------------------------------------
// FHIR handling

interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** A conditional reference that did not match exactly one resource (fails a transaction 412). */
  conditional?: boolean;
}

export type Param = [name: string, value: string];

function outcome(status: number, code: string, diagnostics: string): Reply {
  return {
    status,
    body: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics }] },
  };
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function valuesAt(root: unknown, path: string): unknown[] {
  let current: unknown[] = [root];
  for (const name of path.split('.')) {
    const next: unknown[] = [];
    for (const node of current) {
      if (!isObject(node)) continue;
      const v = node[name];
      if (Array.isArray(v)) next.push(...v);
      else if (v !== undefined) next.push(v);
    }
    current = next;
  }
  return current;
}

/** Element paths searched by a reference parameter (`patient`, `subject`, include targets). */
function referencePaths(type: string, param: string): string[] {
  if (param === 'subject') return ['subject'];
  if (param === 'patient') {
    return [...(patientCompartmentPaths(type, 'patient') ?? patientCompartmentPaths(type, 'subject') ?? [])];
  }
  if (param === 'performer' || param === 'requester' || param === 'encounter' || param === 'medication') {
    return param === 'medication' ? ['medicationReference'] : [param];
  }
  return [];
}

function tokenMatches(element: unknown, value: string): boolean {
  const bar = value.indexOf('|');
  const system = bar < 0 ? undefined : value.slice(0, bar);
  const code = bar < 0 ? value : value.slice(bar + 1);
  return valuesAt(element, 'coding').some(
    (c) => isObject(c) && c.code === code && (system === undefined || c.system === system),
  );
}

/** `system|value`, `|value`, `system|` or `value` against an Identifier. */
function identifierMatches(element: unknown, value: string): boolean {
  if (!isObject(element)) return false;
  const bar = value.indexOf('|');
  if (bar < 0) return element.value === value;
  const system = value.slice(0, bar);
  const v = value.slice(bar + 1);
  if (system !== '' && element.system !== system) return false;
  if (system === '' && element.system !== undefined) return false;
  return v === '' || element.value === v;
}

/** R4 string search on a HumanName: case-insensitive starts-with on family (and given, text unless `familyOnly`). */
function humanNameMatches(name: unknown, value: string, familyOnly: boolean): boolean {
  if (!isObject(name)) return false;
  const wanted = value.toLowerCase();
  const parts: unknown[] = familyOnly ? [name.family] : [name.family, name.text, ...(Array.isArray(name.given) ? name.given : [])];
  return parts.some((p) => typeof p === 'string' && p.toLowerCase().startsWith(wanted));
}

/** A projection asked for by `_summary` / `_elements` (`_summary` wins when both are given). */
export type Projection =
  | { readonly kind: 'elements'; readonly elements: readonly string[] }
  | { readonly kind: 'summary' | 'text' | 'data' | 'count' };

/** The projection of a query (`_summary=false` and absent parameters: none). */
export function parseProjection(query: readonly Param[]): Projection | undefined {
  const summary = query.filter(([n]) => n === '_summary').map(([, v]) => v).pop();
  if (summary === 'true') return { kind: 'summary' };
  if (summary === 'text' || summary === 'data' || summary === 'count') return { kind: summary };
  const elements = query.filter(([n]) => n === '_elements').flatMap(([, v]) => v.split(',')).map((e) => e.trim()).filter((e) => e !== '');
  if (elements.length > 0) return { kind: 'elements', elements };
  return undefined;
}

/**
 * The one or two elements `_summary=true` keeps per type (all of them R4 summary elements); never
 * `meta`, `subject`, `patient`, `category`, so what a resource belongs to and how it is labelled
 * is gone.
 */
const SUMMARY_ELEMENTS: Readonly<Record<string, readonly string[]>> = {
  Observation: ['status', 'code'],
  Condition: ['code', 'clinicalStatus'],
  Encounter: ['status', 'class'],
  MedicationRequest: ['status', 'intent'],
  Patient: ['active', 'gender'],
  RelatedPerson: ['active', 'relationship'],
  Consent: ['status', 'scope'],
  Bundle: ['type', 'identifier'],
  Medication: ['code'],
  Practitioner: ['active'],
  Organization: ['name'],
};

/**
 * The least a conformant server may return for a projection: `resourceType`, `id` and the
 * elements asked for (with their `_name` extension companions); `meta` only when asked for by
 * `_elements`; nothing marked SUBSETTED.
 */
export function project(resource: Json, p: Projection): Json {
  const keep = new Set<string>();
  if (p.kind === 'elements') for (const e of p.elements) keep.add(e);
  else if (p.kind === 'summary') for (const e of SUMMARY_ELEMENTS[String(resource.resourceType)] ?? ['status']) keep.add(e);
  else if (p.kind === 'text') keep.add('text');
  else if (p.kind === 'data') for (const k of Object.keys(resource)) if (k !== 'text' && k !== '_text' && k !== 'meta') keep.add(k.replace(/^_/, ''));
  const out: Json = { resourceType: resource.resourceType, ...(resource.id !== undefined ? { id: resource.id } : {}) };
  for (const [k, v] of Object.entries(resource)) {
    if (k === 'resourceType' || k === 'id') continue;
    if (keep.has(k) || (k.startsWith('_') && keep.has(k.slice(1)))) out[k] = structuredClone(v);
  }
  return out;
}

export interface FhirServerOptions {
  readonly credentials: AwsCredentialIdentity;
  readonly region: string;
  /** Load `test/e2e/fixtures/seed.ts`. @default true */
  readonly seed?: boolean;
  /**
   * `minimal`: honour `_elements` and `_summary` with the least a conformant server may return
   * (see the module comment). @default 'none' (both parameters are unsupported: 400)
   */
  readonly projection?: 'none' | 'minimal';
  /** Resolve conditional references (`Patient?identifier=…`) in writes, as R4 transactions do. @default false */
  readonly resolveConditionalReferences?: boolean;
  /** Answer `Consent` searches with this status (`true`: 503) and `Retry-After: 1`. @default false */
  readonly failConsentSearch?: boolean | number;
}

/** Faults that can be switched while the server runs. */
export interface FhirServerFaults {
  /** Status `Consent` searches answer with (503 and `Retry-After: 1` when `true`); off when false or undefined. */
  failConsentSearch?: boolean | number;
}

export interface RecordedRequest {
  readonly method: string;
  /** Path relative to the base, decoded (e.g. `Observation/1/_history/2`, `` for the system). */
  readonly path: string;
  /** Decoded query parameters in order (for POST `_search`: from the form body). */
  readonly query: readonly Param[];
  readonly rawQuery: string;
  /** Parsed JSON body, or the raw text for non-JSON bodies; undefined when empty. */
  readonly body?: unknown;
  readonly headers: Readonly<Record<string, string>>;
  readonly signatureValid: boolean;
  /** The status the server answered (set once it has answered). */
  responseStatus?: number;
}

export interface FhirServer {
  /** `http://127.0.0.1:<port>/datastore/<id>/r4/` (trailing slash, as HealthLake's). */
  readonly baseUrl: string;
  readonly requests: RecordedRequest[];
  /** Faults switchable at run time (initialised from the options). */
  readonly faults: FhirServerFaults;
  /** Writes resources straight into the store (as PUTs, no signature, not recorded). */
  seed(resources: ReadonlyArray<Record<string, unknown>>): void;
  /** Deletes straight in the store (not recorded). */
  remove(type: string, id: string): void;
  /** A copy of the current version of a resource, undefined when missing or deleted. */
  stored(type: string, id: string): (Record<string, unknown> & { resourceType: string; id: string }) | undefined;
  /** Copies of every live resource (current versions), of one type or all. */
  resources(type?: string): Array<Record<string, unknown> & { resourceType: string; id: string }>;
  close(): Promise<void>;
}

const DATASTORE_ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const DEFAULT_COUNT = 50;

export async function startFhirServer(options: FhirServerOptions): Promise<FhirServer> {
  const store = new Store();
  if (options.seed ?? true) applySeed(store, SEED_WRITES);
  const requests: RecordedRequest[] = [];
  const faults: FhirServerFaults = { failConsentSearch: options.failConsentSearch ?? false };
  const minimal = options.projection === 'minimal';
  const resolveConditional = options.resolveConditionalReferences === true;
  const basePath = `/datastore/${DATASTORE_ID}/r4/`;
  let baseUrl = '';

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void onRequest(req, Buffer.concat(chunks), res).catch(() => {
        send(res, outcome(500, 'exception', 'Internal error'));
      });
    });
  });

  async function onRequest(req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    const rawQuery = q < 0 ? '' : url.slice(q + 1);
    const method = req.method ?? 'GET';
    const signatureValid = await verifySigV4(
      { method, rawPath, rawQuery, headers: req.headers, body },
      { credentials: options.credentials, region: options.region },
    );
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
    const text = body.toString('utf8');
    const contentType = (headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    let parsedBody: unknown = text.length > 0 ? text : undefined;
    if (text.length > 0 && contentType.includes('json')) {
      try {
        parsedBody = JSON.parse(text);
      } catch {
        parsedBody = text;
      }
    }
    let path: string;
    let query: Param[];
    try {
      path = rawPath.startsWith(basePath)
        ? decodeURIComponent(rawPath.slice(basePath.length))
        : rawPath === basePath.slice(0, -1)
          ? ''
          : `\u0000${rawPath}`;
      query = parseParams(rawQuery);
      if (contentType === 'application/x-www-form-urlencoded') query = [...query, ...parseParams(text, true)];
    } catch {
      path = '\u0000';
      query = [];
    }
    const recorded: RecordedRequest = { method, path, query, rawQuery, body: parsedBody, headers, signatureValid };
    requests.push(recorded);
    const answer = (reply: Reply): void => {
      recorded.responseStatus = reply.status;
      send(res, reply);
    };

    if (!signatureValid) return answer(outcome(403, 'security', 'Invalid signature'));
    if (path.startsWith('\u0000')) return answer(outcome(404, 'not-found', 'Unknown path'));
    const consentFault = faults.failConsentSearch;
    if (consentFault !== undefined && consentFault !== false && (path === 'Consent' || path === 'Consent/_search') && (method === 'GET' || method === 'POST')) {
      const status = consentFault === true ? 503 : consentFault;
      return answer({ ...outcome(status, 'transient', 'Service unavailable'), headers: { 'Retry-After': '1' } });
    }
    answer(handle(method, path, query, parsedBody, headers));
  }

  function send(res: ServerResponse, reply: Reply): void {
    const payload = reply.body === undefined ? '' : JSON.stringify(reply.body);
    res.writeHead(reply.status, {
      ...(payload ? { 'Content-Type': 'application/fhir+json; charset=utf-8' } : {}),
      ...reply.headers,
    });
    res.end(payload);
  }

  // -------------------------------------------------------------------------------------------
  // Interactions

  function handle(method: string, path: string, query: Param[], body: unknown, headers: Record<string, string>): Reply {
    try {
      return dispatch(method, path, query, body, headers);
    } catch (e) {
      if (e instanceof SearchError) return outcome(400, 'not-supported', 'Unsupported search parameter');
      throw e;
    }
  }

  function dispatch(method: string, path: string, query: Param[], body: unknown, headers: Record<string, string>): Reply {
    const segments = path === '' ? [] : path.split('/');
    const [type, second, third, fourth] = segments;
    if (segments.length === 0) {
      if (method === 'POST') return bundle(body);
      return outcome(400, 'not-supported', 'System search not supported');
    }
    if (type === 'metadata' && segments.length === 1 && method === 'GET') return capabilities();
    if (!isFhirResourceType(type)) return outcome(404, 'not-found', 'Unknown resource type');
    if (segments.length === 1) {
      if (method === 'GET') return search(type, query);
      if (method === 'POST') return create(type, body, headers['if-none-exist']);
      if (method === 'PUT') return conditionalUpdate(type, query, body);
      if (method === 'DELETE') return conditionalDelete(type, query);
    }
    if (segments.length === 2 && second === '_search' && method === 'POST') return search(type, query);
    if (segments.length === 2 && second === '_history' && method === 'GET') return typeHistory(type, query);
    if (segments.length === 2 && !second.startsWith('_') && !second.startsWith('$')) {
      if (method === 'GET') return read(type, second, query);
      if (method === 'PUT') return update(type, second, body, headers['if-match']);
      if (method === 'PATCH') return patch(type, second, body, headers['content-type'], headers['if-match']);
      if (method === 'DELETE') return remove(type, second, headers['if-match']);
    }
    if (segments.length === 3 && third === '_history' && method === 'GET') return instanceHistory(type, second, query);
    if (segments.length === 4 && third === '_history' && method === 'GET') return vread(type, second, fourth, query);
    if (segments.length === 3 && type === 'Patient' && third === '$everything' && method === 'GET') return everything(second, query);
    return outcome(400, 'not-supported', 'Unsupported interaction');
  }

  function resourceReply(status: number, version: Version, type: string, id: string): Reply {
    return {
      status,
      headers: {
        ETag: `W/"${version.versionId}"`,
        'Last-Modified': new Date(version.lastUpdated).toUTCString(),
        ...(status === 201 ? { Location: `${baseUrl}${type}/${id}/_history/${version.versionId}` } : {}),
      },
      body: version.resource,
    };
  }

  function read(type: string, id: string, query: Param[] = []): Reply {
    const current = store.current(type, id);
    if (!current) return outcome(404, 'not-found', 'Resource not found');
    if (!current.resource) return outcome(410, 'deleted', 'Resource deleted');
    return projectReply(resourceReply(200, current, type, id), query);
  }

  function vread(type: string, id: string, versionId: string, query: Param[] = []): Reply {
    const version = store.history(type, id).find((v) => v.versionId === versionId);
    if (!version) return outcome(404, 'not-found', 'Version not found');
    if (!version.resource) return outcome(410, 'deleted', 'Version deleted');
    return projectReply(resourceReply(200, version, type, id), query);
  }

  // -------------------------------------------------------------------------------------------
  // Projection (`projection: 'minimal'`)

  /** The projection a query asks for, when the server honours it. */
  function projectionOf(query: Param[]): Projection | undefined {
    if (!minimal) return undefined;
    return parseProjection(query);
  }

  /** A read or vread answer, projected when asked (`_summary=count` does not apply to a read). */
  function projectReply(reply: Reply, query: Param[]): Reply {
    const p = projectionOf(query);
    if (!p || p.kind === 'count' || !isObject(reply.body)) return reply;
    return { ...reply, body: project(reply.body as Res, p) };
  }

  /** Entries of a searchset or history Bundle, their resources projected when asked. */
  function projectEntries(entries: Json[], query: Param[]): Json[] {
    const p = projectionOf(query);
    if (!p) return entries;
    return entries.map((e) => (isObject(e.resource) ? { ...e, resource: project(e.resource as Res, p) } : e));
  }

  /** `_summary=count`: a Bundle of this type with the count of every match and nothing else. */
  function countOnly(query: Param[], bundleType: string, total: number): Reply | undefined {
    if (projectionOf(query)?.kind !== 'count') return undefined;
    return { status: 200, body: { resourceType: 'Bundle', type: bundleType, total } };
  }

  // -------------------------------------------------------------------------------------------
  // Conditional references (`resolveConditionalReferences`)

  /**
   * The resource with each conditional reference (`Type?params`, anywhere in it) replaced by
   * `Type/<id>` of its one match; a reply (412, or 400 for an unsupported search) when a
   * reference matches nothing or several resources.
   */
  function resolveReferences(resource: Json): { resource: Json } | { reply: Reply } {
    if (!resolveConditional) return { resource };
    let failure: Reply | undefined;
    const visit = (node: unknown): unknown => {
      if (failure) return node;
      if (Array.isArray(node)) return node.map(visit);
      if (!isObject(node)) return node;
      const out: Json = {};
      for (const [key, value] of Object.entries(node)) {
        const m = key === 'reference' && typeof value === 'string' ? /^([A-Z][A-Za-z]+)\?(.*)$/.exec(value) : null;
        if (m && isFhirResourceType(m[1])) {
          let matches: Res[];
          try {
            matches = filter(m[1], parseParams(m[2]));
          } catch (e) {
            failure = e instanceof SearchError ? outcome(400, 'not-supported', 'Unsupported search parameter') : outcome(400, 'invalid', 'Invalid conditional reference');
            return node;
          }
          if (matches.length !== 1) {
            failure = { ...outcome(412, matches.length === 0 ? 'not-found' : 'multiple-matches', 'Conditional reference did not match exactly one resource'), conditional: true };
            return node;
          }
          out[key] = `${m[1]}/${matches[0].id}`;
        } else out[key] = visit(value);
      }
      return out;
    };
    const resolved = visit(resource) as Json;
    return failure ? { reply: failure } : { resource: resolved };
  }

  // -------------------------------------------------------------------------------------------
  // $everything

  /** `Patient/<id>/$everything`: the Patient and every live resource in its compartment (no paging). */
  function everything(id: string, query: Param[]): Reply {
    const patient = store.current('Patient', id)?.resource;
    if (!patient) return outcome(404, 'not-found', 'Resource not found');
    const members: Res[] = [patient];
    for (const r of store.live()) {
      if (r.resourceType === 'Patient') continue;
      const paths = referencePaths(r.resourceType, 'patient');
      if (paths.some((p) => valuesAt(r, p).some((v) => referenceMatches(v, `Patient/${id}`)))) members.push(r);
    }
    const counted = countOnly(query, 'searchset', members.length);
    if (counted) return counted;
    return {
      status: 200,
      body: {
        resourceType: 'Bundle',
        type: 'searchset',
        total: members.length,
        link: [{ relation: 'self', url: `${baseUrl}Patient/${id}/$everything` }],
        entry: projectEntries(
          members.map((r) => ({ fullUrl: `${baseUrl}${r.resourceType}/${r.id}`, resource: r, search: { mode: 'match' } })),
          query,
        ),
      },
    };
  }

  function create(type: string, body: unknown, ifNoneExist?: string): Reply {
    if (!isObject(body) || body.resourceType !== type) return outcome(400, 'invalid', 'Invalid resource');
    const resolved = resolveReferences(body);
    if ('reply' in resolved) return resolved.reply;
    body = resolved.resource;
    if (ifNoneExist !== undefined) {
      const matches = filter(type, parseParams(ifNoneExist.replace(/^\?/, '')));
      if (matches.length === 1) {
        return resourceReply(200, store.current(type, matches[0].id) as Version, type, matches[0].id);
      }
      if (matches.length > 1) return outcome(412, 'duplicate', 'Multiple matches');
    }
    const id = randomUUID();
    const version = store.write({ ...(body as Json), resourceType: type, id }, 'POST');
    return resourceReply(201, version, type, id);
  }

  function update(type: string, id: string, body: unknown, ifMatch?: string): Reply {
    if (!isObject(body) || body.resourceType !== type || body.id !== id) return outcome(400, 'invalid', 'Invalid resource');
    const resolved = resolveReferences(body);
    if ('reply' in resolved) return resolved.reply;
    body = resolved.resource;
    const current = store.current(type, id);
    if (ifMatch !== undefined && ifMatch !== `W/"${current?.versionId ?? ''}"`) {
      return outcome(412, 'conflict', 'Version conflict');
    }
    const version = store.write(body as Res, 'PUT');
    return resourceReply(current?.resource ? 200 : 201, version, type, id);
  }

  function conditionalUpdate(type: string, query: Param[], body: unknown): Reply {
    const matches = filter(type, query);
    if (matches.length > 1) return outcome(412, 'multiple-matches', 'Multiple matches');
    if (!isObject(body)) return outcome(400, 'invalid', 'Invalid resource');
    const id = matches.length === 1 ? matches[0].id : typeof body.id === 'string' ? body.id : randomUUID();
    return update(type, id, { ...body, id }, undefined);
  }

  /** JSON Patch (RFC 6902) on the current version, honouring `If-Match`; FHIRPath Patch is not supported. */
  function patch(type: string, id: string, body: unknown, contentType: string | undefined, ifMatch?: string): Reply {
    if (!(contentType ?? '').toLowerCase().startsWith('application/json-patch+json') || !Array.isArray(body)) {
      return outcome(400, 'not-supported', 'Only JSON Patch is supported');
    }
    const current = store.current(type, id);
    if (!current) return outcome(404, 'not-found', 'Resource not found');
    if (!current.resource) return outcome(410, 'deleted', 'Resource deleted');
    if (ifMatch !== undefined && ifMatch !== `W/"${current.versionId}"`) return outcome(412, 'conflict', 'Version conflict');
    let result: unknown;
    try {
      result = applyPatch(current.resource, body as Operation[], true, false).newDocument;
    } catch {
      return outcome(422, 'processing', 'Patch failed');
    }
    if (!isObject(result) || result.resourceType !== type || result.id !== id) return outcome(422, 'processing', 'Patch failed');
    return resourceReply(200, store.write(result as Res, 'PUT'), type, id);
  }

  function remove(type: string, id: string, ifMatch?: string): Reply {
    const current = store.current(type, id);
    if (ifMatch !== undefined && ifMatch !== `W/"${current?.versionId ?? ''}"`) return outcome(412, 'conflict', 'Version conflict');
    store.remove(type, id);
    return { status: 204 };
  }

  function conditionalDelete(type: string, query: Param[]): Reply {
    const matches = filter(type, query);
    if (matches.length > 1) return outcome(412, 'multiple-matches', 'Multiple matches');
    for (const m of matches) store.remove(type, m.id);
    return { status: 204 };
  }

  function capabilities(): Reply {
    return {
      status: 200,
      body: {
        resourceType: 'CapabilityStatement',
        status: 'active',
        date: '2024-01-01',
        kind: 'instance',
        fhirVersion: '4.0.1',
        format: ['json'],
        rest: [
          {
            mode: 'server',
            resource: ['Patient', 'Observation', 'Condition', 'Encounter', 'MedicationRequest'].map((t) => ({
              type: t,
              interaction: ['read', 'vread', 'update', 'delete', 'history-instance', 'history-type', 'create', 'search-type'].map(
                (code) => ({ code }),
              ),
            })),
            interaction: [{ code: 'batch' }, { code: 'transaction' }],
          },
        ],
      },
    };
  }

  function historyBundle(versions: Version[], type: string, id: string | undefined, query: Param[]): Reply {
    const counted = countOnly(query, 'history', versions.length);
    if (counted) return counted;
    const count = Number(query.find(([n]) => n === '_count')?.[1] ?? versions.length);
    const list = versions.slice(0, Number.isFinite(count) ? count : versions.length);
    return {
      status: 200,
      body: {
        resourceType: 'Bundle',
        type: 'history',
        total: versions.length,
        link: [{ relation: 'self', url: `${baseUrl}${type}${id ? `/${id}` : ''}/_history` }],
        entry: projectEntries(
          list.map((v) => {
            const rid = v.id;
            return {
              fullUrl: `${baseUrl}${type}/${rid}`,
              ...(v.resource ? { resource: v.resource } : {}),
              request: { method: v.method, url: v.method === 'POST' ? type : `${type}/${rid}` },
              response: { status: v.method === 'POST' ? '201' : v.method === 'DELETE' ? '204' : '200', etag: `W/"${v.versionId}"` },
            };
          }),
          query,
        ),
      },
    };
  }

  function instanceHistory(type: string, id: string, query: Param[]): Reply {
    const versions = [...store.history(type, id)].reverse();
    if (versions.length === 0) return outcome(404, 'not-found', 'Resource not found');
    return historyBundle(versions, type, id, query);
  }

  function typeHistory(type: string, query: Param[]): Reply {
    const versions = store.allVersions(type);
    return historyBundle(versions, type, undefined, query);
  }

  // -------------------------------------------------------------------------------------------
  // Search

  function referenceMatches(value: unknown, wanted: string): boolean {
    if (!isObject(value) || typeof value.reference !== 'string') return false;
    const ref = parseReference(value.reference, { baseUrls: [baseUrl] });
    if (!ref) return false;
    const w = parseReference(wanted, { baseUrls: [baseUrl] });
    if (w) return ref.resourceType === w.resourceType && ref.id === w.id;
    return ref.id === wanted;
  }

  function filter(type: string, query: Param[]): Res[] {
    let results = store.live(type).sort((a, b) => a.id.localeCompare(b.id));
    for (const [name, value] of query) {
      const alternatives = value.split(',');
      if (name === '_id') results = results.filter((r) => alternatives.includes(r.id));
      else if (name === 'patient' || name === 'subject') {
        const paths = referencePaths(type, name);
        if (paths.length === 0) throw new SearchError();
        results = results.filter((r) =>
          paths.some((p) => valuesAt(r, p).some((v) => alternatives.some((a) => referenceMatches(v, a)))),
        );
      } else if (name === 'category' || name === 'code') {
        results = results.filter((r) =>
          valuesAt(r, name).some((el) => alternatives.some((a) => tokenMatches(el, a))),
        );
      } else if (name === 'identifier') {
        results = results.filter((r) => valuesAt(r, 'identifier').some((el) => alternatives.some((a) => identifierMatches(el, a))));
      } else if ((name === 'name' || name === 'family') && (type === 'Patient' || type === 'Practitioner' || type === 'RelatedPerson')) {
        results = results.filter((r) =>
          valuesAt(r, 'name').some((n) => alternatives.some((a) => humanNameMatches(n, a, name === 'family'))),
        );
      } else if (minimal && (name === '_elements' || name === '_summary')) {
        // Honoured when the matches are returned (projection), not a criterion.
      } else if (!['_count', 'page', '_include', '_revinclude', '_format', '_pretty', '_total'].includes(name)) {
        throw new SearchError();
      }
    }
    return results;
  }

  function search(type: string, query: Param[]): Reply {
    const matches = filter(type, query);
    const counted = countOnly(query, 'searchset', matches.length);
    if (counted) return counted;
    const countParam = query.find(([n]) => n === '_count')?.[1];
    const count = countParam === undefined ? DEFAULT_COUNT : Math.max(0, Math.min(1000, Number(countParam) || 0));
    const pageToken = query.find(([n]) => n === 'page')?.[1];
    let offset = 0;
    if (pageToken !== undefined) {
      const decoded = /^o(\d+)$/.exec(Buffer.from(pageToken, 'base64url').toString('utf8'));
      if (!decoded) return outcome(400, 'invalid', 'Invalid page token');
      offset = Number(decoded[1]);
    }
    const page = matches.slice(offset, offset + count);
    const others = query.filter(([n]) => n !== 'page');
    const link = (params: Param[]) =>
      `${baseUrl}${type}${params.length ? `?${params.map(([n, v]) => `${encodeURIComponent(n)}=${encodeURIComponent(v)}`).join('&')}` : ''}`;
    const links = [{ relation: 'self', url: link(query) }];
    if (offset + count < matches.length) {
      links.push({ relation: 'next', url: link([...others, ['page', Buffer.from(`o${offset + count}`).toString('base64url')]]) });
    }
    const included = includes(type, page, query);
    return {
      status: 200,
      body: {
        resourceType: 'Bundle',
        type: 'searchset',
        total: matches.length,
        link: links,
        entry: projectEntries(
          [
            ...page.map((r) => ({ fullUrl: `${baseUrl}${r.resourceType}/${r.id}`, resource: r, search: { mode: 'match' } })),
            ...included.map((r) => ({ fullUrl: `${baseUrl}${r.resourceType}/${r.id}`, resource: r, search: { mode: 'include' } })),
          ],
          query,
        ),
      },
    };
  }

  function includes(type: string, page: Res[], query: Param[]): Res[] {
    const seen = new Set(page.map((r) => `${r.resourceType}/${r.id}`));
    const out: Res[] = [];
    const add = (r: Res | undefined): void => {
      if (r && !seen.has(`${r.resourceType}/${r.id}`)) {
        seen.add(`${r.resourceType}/${r.id}`);
        out.push(r);
      }
    };
    for (const [name, value] of query) {
      const [source, param, target] = value.split(':');
      if (name === '_include' && source === type) {
        for (const r of page) {
          for (const path of referencePaths(type, param)) {
            for (const v of valuesAt(r, path)) {
              const ref = isObject(v) ? parseReference(v.reference, { baseUrls: [baseUrl] }) : undefined;
              if (ref && (target === undefined || ref.resourceType === target)) {
                add(store.current(ref.resourceType, ref.id)?.resource);
              }
            }
          }
        }
      } else if (name === '_revinclude' && isFhirResourceType(source)) {
        const paths = referencePaths(source, param);
        for (const candidate of store.live(source)) {
          const hit = paths.some((p) =>
            valuesAt(candidate, p).some((v) => page.some((r) => referenceMatches(v, `${r.resourceType}/${r.id}`))),
          );
          if (hit) add(candidate);
        }
      }
    }
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Batch / transaction

  function bundle(body: unknown): Reply {
    if (!isObject(body) || body.resourceType !== 'Bundle' || (body.type !== 'batch' && body.type !== 'transaction')) {
      return outcome(400, 'invalid', 'Expected a batch or transaction Bundle');
    }
    const transaction = body.type === 'transaction';
    const entries = Array.isArray(body.entry) ? (body.entry as Json[]) : [];
    // Resolve urn:uuid fullUrls of POST entries to server-assigned ids (transaction only).
    const assigned = new Map<string, string>();
    if (transaction) {
      for (const e of entries) {
        const req = isObject(e.request) ? e.request : {};
        const resource = isObject(e.resource) ? e.resource : undefined;
        if (req.method === 'POST' && typeof e.fullUrl === 'string' && e.fullUrl.startsWith('urn:uuid:') && resource) {
          assigned.set(e.fullUrl, `${String(resource.resourceType)}/${randomUUID()}`);
        }
      }
    }
    const resolve = (value: unknown): unknown => {
      if (typeof value === 'string') return assigned.get(value) ?? value;
      if (Array.isArray(value)) return value.map(resolve);
      if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v)]));
      return value;
    };
    const snapshot = store.snapshot();
    const responses: Json[] = [];
    for (const e of entries) {
      const req = isObject(e.request) ? e.request : {};
      const method = typeof req.method === 'string' ? req.method : '';
      const url = typeof req.url === 'string' ? req.url : '';
      const q = url.indexOf('?');
      const path = q < 0 ? url : url.slice(0, q);
      const params = q < 0 ? [] : parseParams(url.slice(q + 1));
      let resource = isObject(e.resource) ? (resolve(e.resource) as Json) : undefined;
      let reply: Reply;
      const preset = typeof e.fullUrl === 'string' ? assigned.get(e.fullUrl) : undefined;
      const resolved = method === 'POST' && preset && resource ? resolveReferences(resource) : undefined;
      if (resolved && 'reply' in resolved) {
        reply = resolved.reply;
      } else if (method === 'POST' && preset && resource) {
        const [, id] = preset.split('/');
        resource = { ...(resolved ? resolved.resource : resource), id };
        const version = store.write(resource as Res, 'POST');
        reply = resourceReply(201, version, String(resource.resourceType), id);
      } else {
        reply = handle(method, path, params, resource, typeof req.ifMatch === 'string' ? { 'if-match': req.ifMatch } : {});
      }
      if (transaction && reply.status >= 400) {
        store.restore(snapshot);
        if (reply.conditional) return outcome(412, 'processing', 'Transaction failed: a conditional reference did not match exactly one resource');
        return outcome(400, 'processing', 'Transaction failed');
      }
      responses.push({
        ...(reply.body !== undefined ? { resource: reply.body } : {}),
        response: {
          status: String(reply.status),
          ...(reply.headers?.Location ? { location: reply.headers.Location } : {}),
          ...(reply.headers?.ETag ? { etag: reply.headers.ETag } : {}),
        },
      });
    }
    return {
      status: 200,
      body: { resourceType: 'Bundle', type: transaction ? 'transaction-response' : 'batch-response', entry: responses },
    };
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  baseUrl = `http://127.0.0.1:${port}${basePath}`;

  const copy = (r: Res): Res => structuredClone(r);
  return {
    baseUrl,
    requests,
    faults,
    seed: (resources) => {
      for (const r of resources) store.write(r as Res, 'PUT');
    },
    remove: (type, id) => void store.remove(type, id),
    stored: (type, id) => {
      const r = store.current(type, id)?.resource;
      return r ? copy(r) : undefined;
    },
    resources: (type) => store.live(type).map(copy),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

class SearchError extends Error {}

function parseParams(text: string, plusIsSpace = false): Param[] {
  const out: Param[] = [];
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const decode = (s: string) => decodeURIComponent(plusIsSpace ? s.replace(/\+/g, ' ') : s);
    out.push([decode(eq < 0 ? pair : pair.slice(0, eq)), decode(eq < 0 ? '' : pair.slice(eq + 1))]);
  }
  return out;
}

function applySeed(store: Store, writes: readonly SeedWrite[]): void {
  for (const w of writes) {
    if ('put' in w) store.write(w.put as Res, 'PUT');
    else {
      const [type, id] = w.delete.split('/');
      store.remove(type, id);
    }
  }
}
