/**
 * IHE Basic Audit Log Patterns (BALP) AuditEvents for FHIR proxy requests: one FHIR R4
 * AuditEvent per patient touched (one without a patient entity when none), written one JSON line
 * each to stdout, which Lambda ships to CloudWatch Logs.
 *
 * Shape (BALP 1.1, server side, OAuth):
 * - `type` rest, `subtype` the FHIR restful interaction, `action` C/R/U/D/E, `recorded`,
 *   `outcome` 0 success / 4 minor failure (refused) / 8 serious failure (error).
 * - agents: the client app (DCM 110150 Application + its BALP role, `client_id` as identifier,
 *   network address = caller IP), the server (the public FHIR base), and the user (`sub` as
 *   identifier, `fhirUser` as reference, requestor, BALP UserOauthAgent). The token's `jti` is
 *   recorded as `urn:ietf:params:oauth:jti:<jti>` in the requestor's `policy`; the token itself
 *   never is.
 * - entities: the X-Request-Id/request id (BALP XrequestId), the resource acted on (`what`
 *   `Type/id[/_history/v]`), the search (`query` = base64 of the raw request), and the patient
 *   (type 1 Person, role 1 Patient, `what` `Patient/<id>`).
 * - `meta.profile` names the BALP profiles the event conforms to: only successful events claim
 *   them (BALP fixes `outcome` to 0), and only when the profile's required parts are present.
 *
 * @see https://profiles.ihe.net/ITI/BALP/
 */
import type {
  AuditEvent,
  AuditEventAgent,
  AuditEventEntity,
  Coding,
} from 'fhir/r4';
import type { FhirInteraction } from '../shared/fhir-interactions';
import { isValidId } from '../shared/fhir/references';
import { FHIR_RESOURCE_TYPES_SYSTEM, isFhirResourceType } from '../shared/fhir-resource-types';
import { isSafeText } from '../shared/operation-outcome';

export type AuditOutcome = 'success' | 'refused' | 'error';

export interface AuditInput {
  readonly interaction: FhirInteraction;
  /** success → 0, refused (authorization denied, invalid request) → 4, error → 8. */
  readonly outcome: AuditOutcome;
  /** A constant description of a failure (e.g. "Scope does not permit read"); never request data. */
  readonly outcomeDescription?: string;
  /** @default - now */
  readonly recorded?: Date;
  /** The API Gateway request id (or X-Request-Id). */
  readonly requestId: string;
  readonly client: {
    /** The OAuth `client_id`. */
    readonly clientId: string;
    /** @default - no system */
    readonly identifierSystem?: string;
    /** The caller's IP address as seen by API Gateway. */
    readonly sourceIp?: string;
  };
  /** The end user; absent for system (client-credentials) tokens. */
  readonly user?: {
    /** The token `sub`. */
    readonly sub: string;
    /** The SMART `fhirUser` claim (e.g. `Practitioner/123` or an absolute URL). */
    readonly fhirUser?: string;
    /** The issuer, as the identifier system of `sub`. @default - no system */
    readonly identifierSystem?: string;
  };
  /** The access token's `jti` (never the token). */
  readonly jti?: string;
  /** The public FHIR base URL, identifying this server. */
  readonly serverBaseUrl: string;
  /** Who recorded the event. @default 'zero-trust-fhir FHIR proxy' */
  readonly observer?: string;
  /** The resource acted on, when known. */
  readonly resourceType?: string;
  readonly id?: string;
  readonly versionId?: string;
  /** The search as requested, relative to the base (e.g. `Observation?patient=123`). */
  readonly query?: string;
  /** Every patient the request touched (from the request and the response). */
  readonly patientIds?: readonly string[];
  /**
   * Security-label and Consent decisions (counted per patient, decision and rule), recorded as
   * BALP consent-decision entities on the event of their patient (patient-less ones on every
   * event); at most {@link MAX_DECISIONS} per event.
   */
  readonly consentDecisions?: ReadonlyArray<{
    readonly patientId?: string;
    readonly decision: 'permit' | 'deny';
    /** The rule that decided: `Consent/<id>#provision…`, `label:<code>:…`, `default:<code>:…`. */
    readonly rule: string;
    /** The Consent that decided, when one did: the entity's `what`. */
    readonly consentId?: string;
    readonly count: number;
  }>;
}

/** Most consent-decision entities per AuditEvent. */
export const MAX_DECISIONS = 20;
/** `entity.type` of a consent decision (the Consent when one decided, else the policy rule). */
export const CONSENT_DECISION_TYPE: Coding = { system: FHIR_RESOURCE_TYPES_SYSTEM, code: 'Consent', display: 'Consent' };

export interface AuditSink {
  write(event: AuditEvent): void | Promise<void>;
}

/** Writes each AuditEvent as one JSON line (to stdout, hence CloudWatch Logs, by default). */
export class StdoutAuditSink implements AuditSink {
  constructor(private readonly writeLine: (line: string) => void = (line) => void process.stdout.write(line)) {}

  write(event: AuditEvent): void {
    this.writeLine(`${JSON.stringify(event)}\n`);
  }
}

export const BALP = 'https://profiles.ihe.net/ITI/BALP/StructureDefinition/';
export const BALP_PROFILES = {
  create: `${BALP}IHE.BasicAudit.Create`,
  patientCreate: `${BALP}IHE.BasicAudit.PatientCreate`,
  read: `${BALP}IHE.BasicAudit.Read`,
  patientRead: `${BALP}IHE.BasicAudit.PatientRead`,
  update: `${BALP}IHE.BasicAudit.Update`,
  patientUpdate: `${BALP}IHE.BasicAudit.PatientUpdate`,
  delete: `${BALP}IHE.BasicAudit.Delete`,
  patientDelete: `${BALP}IHE.BasicAudit.PatientDelete`,
  query: `${BALP}IHE.BasicAudit.Query`,
  patientQuery: `${BALP}IHE.BasicAudit.PatientQuery`,
  oauthMinimal: `${BALP}IHE.BasicAudit.OAUTHaccessTokenUse.Minimal`,
} as const;

const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const APPLICATION: Coding = { system: DCM, code: '110150', display: 'Application' };
const SOURCE_ROLE: Coding = { system: DCM, code: '110153', display: 'Source Role ID' };
const DESTINATION_ROLE: Coding = { system: DCM, code: '110152', display: 'Destination Role ID' };
const USER_OAUTH: Coding = {
  system: 'https://profiles.ihe.net/ITI/BALP/CodeSystem/UserAgentTypes',
  code: 'UserOauthAgent',
  display: 'User OAuth Agent participant',
};
const PARTICIPATION = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';
const INFORMATION_RECIPIENT: Coding = { system: PARTICIPATION, code: 'IRCP', display: 'information recipient' };
const INFORMANT: Coding = { system: PARTICIPATION, code: 'INF', display: 'informant' };
const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';

type Action = 'C' | 'R' | 'U' | 'D' | 'E';

const ACTIONS: Record<FhirInteraction, Action> = {
  create: 'C',
  read: 'R',
  vread: 'R',
  'history-instance': 'R',
  capabilities: 'R',
  update: 'U',
  patch: 'U',
  delete: 'D',
  'history-type': 'E',
  'history-system': 'E',
  'search-type': 'E',
  'search-system': 'E',
  batch: 'E',
  transaction: 'E',
  operation: 'E',
};

const OUTCOMES: Record<AuditOutcome, '0' | '4' | '8'> = { success: '0', refused: '4', error: '8' };

/** BALP profile pair (without / with patient) for an interaction, when BALP defines one. */
const PROFILES: Partial<Record<FhirInteraction, { plain: string; patient: string; needs: 'data' | 'query' }>> = {
  create: { plain: BALP_PROFILES.create, patient: BALP_PROFILES.patientCreate, needs: 'data' },
  read: { plain: BALP_PROFILES.read, patient: BALP_PROFILES.patientRead, needs: 'data' },
  vread: { plain: BALP_PROFILES.read, patient: BALP_PROFILES.patientRead, needs: 'data' },
  update: { plain: BALP_PROFILES.update, patient: BALP_PROFILES.patientUpdate, needs: 'data' },
  patch: { plain: BALP_PROFILES.update, patient: BALP_PROFILES.patientUpdate, needs: 'data' },
  delete: { plain: BALP_PROFILES.delete, patient: BALP_PROFILES.patientDelete, needs: 'data' },
  'search-type': { plain: BALP_PROFILES.query, patient: BALP_PROFILES.patientQuery, needs: 'query' },
  'search-system': { plain: BALP_PROFILES.query, patient: BALP_PROFILES.patientQuery, needs: 'query' },
};

const MAX_TEXT = 1024;

/** Bounded, single-line, printable: identifiers from the token and the request context. */
function clean(value: string | undefined, max = MAX_TEXT): string | undefined {
  return value !== undefined && isSafeText(value, max) ? value : undefined;
}

/**
 * Builds the BALP AuditEvents of one request: one per distinct valid patient id in
 * `input.patientIds` (in order), or a single event without a patient entity when there is none.
 */
export function buildAuditEvents(input: AuditInput): AuditEvent[] {
  const patients = [...new Set((input.patientIds ?? []).filter((id) => isValidId(id)))];
  const base = baseEvent(input);
  if (patients.length === 0) return [finish(base, input, undefined, true)];
  return patients.map((patientId, i) => finish(base, input, patientId, i === 0));
}

interface BaseParts {
  readonly agents: AuditEventAgent[];
  readonly entities: AuditEventEntity[];
  readonly hasData: boolean;
  readonly hasQuery: boolean;
  readonly jtiPolicy?: string;
}

function baseEvent(input: AuditInput): BaseParts {
  const action = ACTIONS[input.interaction];
  // BALP follows DICOM: the client is the Destination on reads and the Source otherwise.
  const clientRole = action === 'R' ? DESTINATION_ROLE : SOURCE_ROLE;
  const serverRole = action === 'R' ? SOURCE_ROLE : DESTINATION_ROLE;
  const jti = clean(input.jti, 256);
  const jtiPolicy = jti === undefined ? undefined : `urn:ietf:params:oauth:jti:${jti}`;
  const sub = clean(input.user?.sub, 256);
  const hasUser = sub !== undefined;

  const clientId = clean(input.client.clientId, 256) ?? 'unknown';
  const clientSystem = clean(input.client.identifierSystem, 256);
  const sourceIp = clean(input.client.sourceIp, 64);
  const client: AuditEventAgent = {
    type: { coding: [APPLICATION, clientRole] },
    who: { identifier: { ...(clientSystem ? { system: clientSystem } : {}), value: clientId } },
    requestor: !hasUser,
    ...(!hasUser && jtiPolicy ? { policy: [jtiPolicy] } : {}),
    ...(sourceIp ? { network: { address: sourceIp, type: '2' as const } } : {}),
  };

  const serverUrl = clean(input.serverBaseUrl) ?? 'unknown';
  let serverHost: string | undefined;
  try {
    serverHost = new URL(serverUrl).hostname || undefined;
  } catch {
    serverHost = undefined;
  }
  const server: AuditEventAgent = {
    type: { coding: [serverRole] },
    who: { identifier: { system: 'urn:ietf:rfc:3986', value: serverUrl } },
    requestor: false,
    ...(serverHost ? { network: { address: serverHost, type: '1' as const } } : {}),
  };

  const agents = [client, server];
  if (hasUser) {
    const fhirUser = clean(input.user?.fhirUser);
    const userSystem = clean(input.user?.identifierSystem);
    agents.push({
      type: { coding: [USER_OAUTH, action === 'R' || action === 'E' ? INFORMATION_RECIPIENT : INFORMANT] },
      who: {
        ...(fhirUser ? { reference: fhirUser } : {}),
        identifier: { ...(userSystem ? { system: userSystem } : {}), value: sub },
      },
      requestor: true,
      ...(jtiPolicy ? { policy: [jtiPolicy] } : {}),
    });
  }

  const entities: AuditEventEntity[] = [];
  const requestId = clean(input.requestId, 256);
  if (requestId) {
    entities.push({
      what: { identifier: { value: requestId } },
      type: { system: 'https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType', code: 'XrequestId' },
    });
  }
  let hasData = false;
  if (input.resourceType !== undefined && isFhirResourceType(input.resourceType) && isValidId(input.id)) {
    const version = isValidId(input.versionId) ? `/_history/${input.versionId}` : '';
    entities.push({
      what: { reference: `${input.resourceType}/${input.id}${version}` },
      type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
      role: { system: OBJECT_ROLE, code: '4', display: 'Domain Resource' },
    });
    hasData = true;
  }
  let hasQuery = false;
  if (typeof input.query === 'string' && input.query.length > 0) {
    entities.push({
      type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
      role: { system: OBJECT_ROLE, code: '24', display: 'Query' },
      query: Buffer.from(input.query, 'utf8').toString('base64'),
    });
    hasQuery = true;
  }
  return { agents, entities, hasData, hasQuery, jtiPolicy };
}

function finish(parts: BaseParts, input: AuditInput, patientId: string | undefined, first: boolean): AuditEvent {
  const outcome = OUTCOMES[input.outcome];
  const entities = [...parts.entities];
  if (patientId !== undefined) {
    entities.push({
      what: { reference: `Patient/${patientId}` },
      type: { system: ENTITY_TYPE, code: '1', display: 'Person' },
      role: { system: OBJECT_ROLE, code: '1', display: 'Patient' },
    });
  }
  const profiles: string[] = [];
  const pair = PROFILES[input.interaction];
  const hasNetwork = input.client.sourceIp !== undefined && parts.agents[0].network !== undefined;
  if (outcome === '0' && pair && hasNetwork && (pair.needs === 'data' ? parts.hasData : parts.hasQuery)) {
    profiles.push(patientId !== undefined ? pair.patient : pair.plain);
  }
  if (outcome === '0' && parts.jtiPolicy !== undefined) profiles.push(BALP_PROFILES.oauthMinimal);
  const description = clean(input.outcomeDescription, 200);
  // Decisions about a patient with no event of its own (its data was withheld, so it is not among
  // the patients disclosed) go on the first event: every decision is in the audit trail once.
  const own = new Set(input.patientIds ?? []);
  const decisions = (input.consentDecisions ?? []).filter(
    (d) => d.patientId === undefined || d.patientId === patientId || (first && !own.has(d.patientId)),
  );
  for (const d of decisions.slice(0, MAX_DECISIONS)) {
    const rule = clean(d.rule, 256) ?? 'unknown';
    entities.push({
      ...(isValidId(d.consentId) ? { what: { reference: `Consent/${d.consentId}` } } : {}),
      type: CONSENT_DECISION_TYPE,
      role: { system: OBJECT_ROLE, code: '13', display: 'Security Resource' },
      detail: [
        { type: 'decision', valueString: d.decision },
        { type: 'rule', valueString: rule },
        { type: 'count', valueString: String(d.count) },
      ],
    });
  }

  // A deep copy: events share no objects with each other or with this module's constants.
  return structuredClone<AuditEvent>({
    resourceType: 'AuditEvent',
    ...(profiles.length > 0 ? { meta: { profile: profiles } } : {}),
    type: {
      system: 'http://terminology.hl7.org/CodeSystem/audit-event-type',
      code: 'rest',
      display: 'Restful Operation',
    },
    subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: input.interaction, display: input.interaction }],
    action: ACTIONS[input.interaction],
    recorded: (input.recorded ?? new Date()).toISOString(),
    outcome,
    ...(outcome !== '0' && description ? { outcomeDesc: description } : {}),
    agent: parts.agents,
    source: {
      observer: { display: clean(input.observer, 200) ?? 'zero-trust-fhir FHIR proxy' },
      type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4', display: 'Application Server' }],
    },
    entity: entities,
  });
}
