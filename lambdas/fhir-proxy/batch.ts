/**
 * Batch and transaction Bundles: every entry goes through the same interaction pipeline as a
 * single request (`pipeline.ts`: authorize → prepare → forward → release); the entries allowed
 * are forwarded together in one Bundle, and each answer is released like a single response.
 * A transaction is refused whole when any entry is refused or invalid; a batch answers each
 * entry on its own.
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import { isObject, type JsonObject } from '../shared/json';
import { errorResponse, operationOutcome, type IssueType, type OperationOutcomeIssueInput } from '../shared/operation-outcome';
import { refuse, type Access, type Denial } from './access';
import type { Plan } from './authorize';
import { forwardedEntry, planBundle, type EntryPlan } from './bundle';
import type { ProxyContext } from './context';
import { sanitizeOutcome } from './filter';
import type { LinkRewriter } from './links';
import { isWrite, prepare, release, type Ready, type Stop } from './pipeline';
import type { BundleRequest } from './request';
import { CONSENT_UNKNOWN, json, upstreamMessage } from './responses';
import type { Trace } from './trace';

type AllowedEntry = EntryPlan & { decision: Plan };

/** How the single-request path answers a stop (`proxy.ts`), for a transaction refused whole. */
export type StopResponder = (trace: Trace, stop: Stop, access: Access) => APIGatewayProxyResult;

function entryOutcome(status: number, code: IssueType, message: string): JsonObject {
  return { response: { status: String(status), outcome: operationOutcome([{ severity: 'error', code, diagnostics: message }]) } };
}

function stopEntry(stop: Stop, trace: Trace): JsonObject {
  if (stop.kind === 'invalid') return { response: { status: '422', outcome: operationOutcome(stop.issues) } };
  if (stop.kind === 'refused') {
    if (trace.guard?.consentUnknown === 'outage') return entryOutcome(503, 'transient', CONSENT_UNKNOWN.outage);
    return entryOutcome(stop.denial.status, stop.denial.code, stop.denial.message);
  }
  const mapped = upstreamMessage(stop.response.status);
  return entryOutcome(mapped.status, 'processing', mapped.message);
}

export async function executeBundle(
  ctx: ProxyContext,
  access: Access,
  request: BundleRequest,
  trace: Trace,
  rewriter: LinkRewriter,
  stopResponse: StopResponder,
): Promise<APIGatewayProxyResult> {
  const planned = planBundle(access, request, {
    ...ctx.authorizeOptions,
    limits: ctx.limits,
    publicBaseUrl: rewriter.publicBaseUrl,
    maxEntries: ctx.maxBundleEntries,
  });
  if (planned.kind === 'deny') return stopResponse(trace, { kind: 'refused', denial: planned }, access);
  const transaction = planned.type === 'transaction';
  const answered = new Map<number, JsonObject>(); // entry index → its answer

  // Authorize and prepare every entry; a transaction stops at the first entry that cannot go.
  const ready: Array<{ entry: AllowedEntry; ready: Ready }> = [];
  const stops: Array<{ entry: EntryPlan; stop: Stop }> = [];
  for (const e of planned.entries) {
    trace.patients.addIds(e.decision.patientIds);
    if (e.decision.kind === 'deny') {
      stops.push({ entry: e, stop: { kind: 'refused', denial: e.decision as Denial } });
      continue;
    }
    const entry = e as AllowedEntry;
    // Validation of every entry first: a transaction reports all invalid entries at once.
    const prepared = await prepare(ctx, access, entry.decision, trace, `Bundle.entry[${e.index}].resource`);
    if (prepared.kind === 'ready') ready.push({ entry, ready: prepared });
    else stops.push({ entry: e, stop: prepared });
  }
  if (transaction && stops.length > 0) return refuseTransaction(trace, stops, access, stopResponse);
  for (const s of stops) answered.set(s.entry.index, stopEntry(s.stop, trace));

  if (ready.length > 0) {
    const upstream = await ctx.client.request({
      method: 'POST',
      path: '',
      body: { resourceType: 'Bundle', type: planned.type, entry: ready.map((r) => forwardedEntry(r.entry, r.ready.ifMatch)) },
    });
    if (upstream.status >= 400) return stopResponse(trace, { kind: 'upstream-error', response: upstream }, access);
    const responses = isObject(upstream.body) && Array.isArray(upstream.body.entry) ? upstream.body.entry : [];
    if (responses.length !== ready.length) {
      trace.description = 'Unexpected response from the FHIR server';
      return errorResponse(502, 'exception', 'Unexpected response from the FHIR server');
    }
    // The audit judges by the server's answer only when something was written.
    if (ready.some((r) => isWrite(r.entry.decision))) trace.upstreamStatus = upstream.status;
    await trace.guard?.loadFor(...responses.filter(isObject).map((re) => re.resource));
    ready.forEach((r, i) => answered.set(r.entry.index, releasedEntry(access, r.entry.decision, responses[i], trace)));
  }
  // A Consent outage releases nothing of the patients it hides: the whole Bundle is 503.
  if (trace.guard?.consentUnknown === 'outage') return stopResponse(trace, { kind: 'refused', denial: refuse('consent', 403, CONSENT_UNKNOWN.outage) }, access);
  const entries = planned.entries.map((e) => answered.get(e.index) as JsonObject);
  return json(200, { resourceType: 'Bundle', type: `${planned.type}-response`, entry: entries }, rewriter);
}

/** A transaction with an entry that cannot go: all invalid entries' issues (422), else the first refusal. */
function refuseTransaction(trace: Trace, stops: ReadonlyArray<{ stop: Stop }>, access: Access, stopResponse: StopResponder): APIGatewayProxyResult {
  const issues: OperationOutcomeIssueInput[] = stops.flatMap((s) => (s.stop.kind === 'invalid' ? [...s.stop.issues] : []));
  const refused = stops.find((s) => s.stop.kind !== 'invalid');
  if (refused?.stop.kind === 'refused') {
    return stopResponse(trace, { kind: 'refused', denial: { ...refused.stop.denial, message: 'A transaction entry was refused' } }, access);
  }
  if (refused) return stopResponse(trace, refused.stop, access);
  return stopResponse(trace, { kind: 'invalid', issues }, access);
}

/** One forwarded entry's answer: status and headers kept, its resource released like a single response. */
function releasedEntry(access: Access, plan: Plan, answer: unknown, trace: Trace): JsonObject {
  const entry = isObject(answer) ? answer : {};
  const response = isObject(entry.response) ? entry.response : {};
  const status = typeof response.status === 'string' ? response.status.slice(0, 64) : '500';
  const out: JsonObject = {
    response: {
      status,
      ...(typeof response.location === 'string' ? { location: response.location } : {}),
      ...(typeof response.etag === 'string' ? { etag: response.etag } : {}),
      ...(typeof response.lastModified === 'string' ? { lastModified: response.lastModified } : {}),
      ...(response.outcome !== undefined ? { outcome: sanitizeOutcome(response.outcome, 'Entry outcome') } : {}),
    },
  };
  if (entry.resource === undefined) return out;
  const released = release(access, plan, entry.resource, trace.patients);
  if (released.kind === 'released') {
    if (released.body !== undefined) out.resource = released.body;
    return out;
  }
  // A write the server carried out keeps its status; only its result is withheld.
  if (/^2\d\d/.test(status) && isWrite(plan)) return out;
  if (trace.guard?.consentUnknown === 'outage') return entryOutcome(503, 'transient', CONSENT_UNKNOWN.outage);
  return entryOutcome(404, 'not-found', 'Resource not found');
}
