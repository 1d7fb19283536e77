/**
 * What the audit needs to know about one request, filled in as it is handled, and the one
 * place that turns it into BALP AuditEvents (`audit.ts`): one per patient touched.
 *
 * The outcome recorded is what happened: a request the proxy refused is `refused`; a request it
 * forwarded is judged by what the FHIR server answered (`upstreamStatus`), so a write the server
 * carried out is `success` even when the proxy then withholds the result.
 */
import { randomUUID } from 'crypto';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { FhirInteraction } from '../shared/fhir-interactions';
import type { Access, Caller, Denial } from './access';
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

/** Records a refusal's message and the patients it named. */
export function traceDenial(trace: Trace, denial: Denial): void {
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
    serverBaseUrl: ctx.publicBaseOf(event),
    ...(trace.resourceType ? { resourceType: trace.resourceType } : {}),
    ...(trace.id ? { id: trace.id } : {}),
    ...(trace.versionId ? { versionId: trace.versionId } : {}),
    ...(trace.query ? { query: trace.query } : {}),
    patientIds: [...trace.patients.ids],
    ...(trace.guard ? { consentDecisions: trace.guard.decisions() } : {}),
  });
  for (const e of events) await ctx.sink.write(e);
}
