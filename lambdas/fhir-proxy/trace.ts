/**
 * What the audit needs to know about one request, filled in as it is handled, and the one
 * place that turns it into BALP AuditEvents (`audit.ts`): one per patient touched.
 *
 * The outcome recorded is what happened: a request the proxy refused is `refused`; a request it
 * forwarded is judged by what the FHIR server answered (`upstreamStatus`), so a write the server
 * carried out is `success` even when the proxy then withholds the result.
 *
 * The same trace is the request's one record in the per-app metrics ({@link recordMetrics}): an
 * error (5xx), a denial (401, 403, or a 404 the proxy chose) with its reason, or neither, and the
 * patients touched (counted by the recorder, never emitted). The reason is the one the refusal
 * carries (`Denial.reason`, stated where the refusal is decided), never read from its text.
 */
import { randomUUID } from 'crypto';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { DenialReason, RequestRecord } from '../shared/app-metrics';
import type { FhirInteraction } from '../shared/fhir-interactions';
import type { Access, Caller, Denial, RefusalReason } from './access';
import { buildAuditEvents, type AuditOutcome } from './audit';
import type { ProxyContext } from './context';
import { PatientCollector } from './filter';
import type { RequestGuard } from './guard';
import { encodeParams, type ParsedRequest } from './request';

export interface Trace {
  interaction: FhirInteraction;
  caller?: Caller;
  access?: Access;
  guard?: RequestGuard;
  resourceType?: string;
  id?: string;
  versionId?: string;
  query?: string;
  description?: string;
  /** The status of a write the FHIR server carried out (set once forwarded). */
  upstreamStatus?: number;
  /**
   * Set when the proxy refused the request ({@link traceDenial}), to the refusal's reason: its
   * 404 is a decision, not the server's.
   */
  refusal?: RefusalReason;
  /** The public base the request was served under (set once its API version is known). */
  serverBaseUrl?: string;
  patients: PatientCollector;
}

/** Best guess of the interaction of a request that could not be parsed (for the audit only). */
export function guessInteraction(method: string | undefined): FhirInteraction {
  switch (String(method ?? '').toUpperCase()) {
    case 'GET':
      return 'search-type';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
    default:
      return 'operation';
  }
}

export function newTrace(method: string | undefined, baseUrls: readonly string[] = []): Trace {
  return { interaction: guessInteraction(method), patients: new PatientCollector(baseUrls) };
}

/** Records a refusal: its reason, its message and the patients it named. */
export function traceDenial(trace: Trace, denial: Denial): void {
  trace.refusal = denial.reason;
  trace.description = denial.message;
  trace.patients.addIds(denial.patientIds);
}

/** Records what the parsed request names (interaction, type, id, version, query). */
export function describe(trace: Trace, parsed: ParsedRequest): void {
  trace.interaction = parsed.interaction;
  if ('resourceType' in parsed && parsed.resourceType !== undefined) trace.resourceType = parsed.resourceType;
  if ('id' in parsed && parsed.id !== undefined) trace.id = parsed.id;
  if (parsed.interaction === 'vread') trace.versionId = parsed.versionId;
  if (
    parsed.interaction === 'search-type' ||
    parsed.interaction === 'search-system' ||
    parsed.interaction === 'history-type' ||
    parsed.interaction === 'history-system' ||
    parsed.interaction === 'operation'
  ) {
    trace.query = parsed.params.length > 0 ? `${parsed.path}?${encodeParams(parsed.params)}` : parsed.path;
  }
}

function outcomeOf(trace: Trace, status: number): AuditOutcome {
  const judged = trace.upstreamStatus !== undefined && trace.upstreamStatus < 400 ? trace.upstreamStatus : status;
  return judged < 400 ? 'success' : judged < 500 ? 'refused' : 'error';
}

/** Writes the request's AuditEvents (one per patient touched) to the sink. */
export async function writeAudit(ctx: ProxyContext, event: APIGatewayProxyEvent, trace: Trace, status: number): Promise<void> {
  const outcome = outcomeOf(trace, status);
  const caller = trace.caller;
  const options = ctx.options;
  const identity = event?.requestContext?.identity as { sourceIp?: unknown } | undefined;
  const systemClient = trace.access?.context === 'system' && caller?.sub === caller?.clientId;
  const events = buildAuditEvents({
    interaction: trace.interaction,
    outcome,
    ...(outcome !== 'success' && trace.description ? { outcomeDescription: trace.description } : {}),
    recorded: ctx.clock(),
    requestId: typeof event?.requestContext?.requestId === 'string' ? event.requestContext.requestId : randomUUID(),
    client: {
      clientId: caller?.clientId ?? 'anonymous',
      ...(options.clientIdentifierSystem ? { identifierSystem: options.clientIdentifierSystem } : {}),
      ...(typeof identity?.sourceIp === 'string' ? { sourceIp: identity.sourceIp } : {}),
    },
    ...(caller && !systemClient
      ? {
          user: {
            sub: caller.sub,
            ...(caller.fhirUser ? { fhirUser: caller.fhirUser } : {}),
            ...(options.userIdentifierSystem ? { identifierSystem: options.userIdentifierSystem } : {}),
          },
        }
      : {}),
    ...(caller ? { jti: caller.jti } : {}),
    // A request whose version is not served (or that failed before) has no version's base.
    serverBaseUrl: trace.serverBaseUrl ?? ctx.publicBaseOf(event, undefined),
    ...(trace.resourceType ? { resourceType: trace.resourceType } : {}),
    ...(trace.id ? { id: trace.id } : {}),
    ...(trace.versionId ? { versionId: trace.versionId } : {}),
    ...(trace.query ? { query: trace.query } : {}),
    patientIds: [...trace.patients.ids],
    ...(trace.guard ? { consentDecisions: trace.guard.decisions() } : {}),
  });
  for (const e of events) await ctx.sink.write(e);
}

/**
 * Why the proxy refused: the reason the refusal carries; `consent` whenever the answer says the
 * patient's consent state is unknown (`proxy.ts` answers so for any refusal once the guard saw an
 * unavailable or malformed Consent, `guard.consentUnknown`); for an answer withheld whole
 * (`withheld`, or a refusal not recorded), the guard's first deny (`label` or `consent`), else a
 * patient outside the token's compartment, else `other`.
 */
export function denialReason(trace: Trace): DenialReason {
  if (trace.guard?.consentUnknown !== undefined) return 'consent';
  const reason = trace.refusal;
  if (reason !== undefined && reason !== 'withheld') return reason;
  const guarded = trace.guard?.firstDenial;
  if (guarded !== undefined) return guarded;
  const own = trace.access?.patientId;
  if (own !== undefined) for (const id of trace.patients.ids) if (id !== own) return 'compartment';
  return 'other';
}

/** The request's per-app record: an error (5xx), a denial (401, 403, a 404 the proxy chose), or neither. */
export function metricsRecord(trace: Trace, status: number): RequestRecord {
  const clientId = trace.caller?.clientId;
  const patientIds = trace.patients.ids;
  if (status >= 500) return { clientId, outcome: 'error', patientIds };
  if (status === 401) return { clientId, outcome: 'denied', reason: 'invalid-token', patientIds };
  if (status === 403 || (status === 404 && trace.refusal !== undefined)) return { clientId, outcome: 'denied', reason: denialReason(trace), patientIds };
  return { clientId, outcome: 'ok', patientIds };
}

/** Records the request in the per-app metrics, when the proxy has them (never throws). */
export function recordMetrics(ctx: ProxyContext, trace: Trace, status: number): void {
  const metrics = ctx.options.metrics;
  if (!metrics) return;
  try {
    metrics.record(metricsRecord(trace, status));
  } catch {
    // The recorder never throws; a trace it cannot read changes no response either.
  }
}
