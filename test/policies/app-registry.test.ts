import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  AppRegistryError,
  assessmentExpired,
  AppRegistryDocument,
  loadAppRegistry,
  maxPatientsPerHour,
  parseAppRegistry,
  RegisteredApp,
  TIER_DEFAULTS,
} from '../../policies/app-registry';
import { patientOrUserScopes } from '../../policies/compliance/rules/common/scopes';

const TODAY = new Date('2026-11-29T12:00:00Z');

/** A valid public patient app; tests derive invalid variants from it. */
function patientApp(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'acme-portal',
    name: 'Acme Portal',
    vendor: 'Acme',
    identifier: { system: 'https://fhir.example.org/sid/smart-app', value: 'acme-portal' },
    tier: 'low',
    clientType: 'public',
    redirectUris: ['https://acme.example/callback'],
    scopes: ['openid', 'fhirUser', 'launch/patient', 'patient/Observation.rs'],
    baa: { reference: 'BAA-1', signed: '2026-01-02' },
    securityAssessment: { date: '2026-06-01', reviewer: 'Security', expires: '2027-12-31' },
    ...overrides,
  };
}

function backendApp(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return patientApp({
    id: 'acme-bulk',
    identifier: { system: 'https://fhir.example.org/sid/smart-app', value: 'acme-bulk' },
    clientType: 'confidential',
    tier: 'high',
    redirectUris: [],
    scopes: ['system/Patient.rs'],
    ...overrides,
  });
}

/** Registry with two valid apps, the third at apps[2] being the one under test. */
function registry(app: Record<string, unknown>): unknown {
  return { $schema: './apps.schema.json', apps: [patientApp({ id: 'first-app', identifier: { system: 'urn:x', value: '1' } }), backendApp(), app] };
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppRegistryError);
    return (err as Error).message;
  }
  throw new Error('expected an AppRegistryError');
}

describe('the seeded registry (policies/apps.json)', () => {
  let apps: RegisteredApp[];
  beforeAll(() => {
    apps = loadAppRegistry();
  });

  it('parses, with a patient portal, a clinician app and a backend integration', () => {
    expect(apps.map((a) => [a.clientType, a.tier])).toEqual([
      ['public', 'low'],
      ['confidential', 'medium'],
      ['confidential', 'high'],
    ]);
    expect(apps[0].scopes.some((s) => s.startsWith('patient/'))).toBe(true);
    expect(apps[1].scopes).toEqual(expect.arrayContaining(['fhirUser', 'openid']));
    expect(apps[2].scopes.every((s) => s.startsWith('system/'))).toBe(true);
  });

  it('has a BAA for every app and no expired assessment', () => {
    for (const app of apps) {
      expect(app.baa?.reference).toBeTruthy();
      expect(assessmentExpired(app, TODAY)).toBe(false);
      expect(app.securityAssessment.expires >= '2027-10-01').toBe(true);
    }
  });

  it('applies tier throttle defaults unless overridden', () => {
    expect(apps[0].throttle).toEqual(TIER_DEFAULTS.low.throttle);
    expect(apps[2].throttle).toEqual({ rateLimit: 5, burstLimit: 10, quotaPerDay: 20000 });
  });
});

describe('TIER_DEFAULTS', () => {
  it('caps tokens at 60 minutes and gives high risk shorter tokens and lower limits', () => {
    for (const t of Object.values(TIER_DEFAULTS)) {
      expect(t.accessTokenMinutes).toBeLessThanOrEqual(60);
      expect(t.idTokenMinutes).toBeLessThanOrEqual(60);
    }
    expect(TIER_DEFAULTS.high.accessTokenMinutes).toBeLessThan(TIER_DEFAULTS.low.accessTokenMinutes);
    expect(TIER_DEFAULTS.high.refreshTokenDays).toBeLessThan(TIER_DEFAULTS.low.refreshTokenDays);
    expect(TIER_DEFAULTS.high.throttle.rateLimit).toBeLessThan(TIER_DEFAULTS.medium.throttle.rateLimit);
    expect(TIER_DEFAULTS.medium.throttle.rateLimit).toBeLessThan(TIER_DEFAULTS.low.throttle.rateLimit);
  });
});

describe('invalid apps fail with the file, the app and the field named', () => {
  const cases: Array<[string, Record<string, unknown>, string, string]> = [
    ['http redirect', patientApp({ redirectUris: ['http://acme.example/cb'] }), 'redirectUris[0]', 'must use https'],
    ['custom-scheme redirect', patientApp({ redirectUris: ['https://ok.example/cb', 'acme:/cb'] }), 'redirectUris[1]', 'must use https'],
    ['relative redirect', patientApp({ redirectUris: ['/callback'] }), 'redirectUris[0]', 'absolute'],
    ['redirect with fragment', patientApp({ redirectUris: ['https://acme.example/cb#x'] }), 'redirectUris[0]', 'fragment'],
    ['wildcard redirect', patientApp({ redirectUris: ['https://*.acme.example/cb'] }), 'redirectUris[0]', 'wildcard'],
    ['too many redirects', patientApp({ redirectUris: Array.from({ length: 11 }, (_, i) => `https://a.example/${i}`) }), 'redirectUris', 'more than 10'],
    ['no redirect for a user-facing app', patientApp({ redirectUris: [] }), 'redirectUris', 'at least one'],
    ['malformed scope', patientApp({ scopes: ['openid', 'patient/Observation.sr'] }), 'scopes[1]', 'not a valid SMART scope'],
    ['unknown resource type', patientApp({ scopes: ['patient/Bogus.rs'] }), 'scopes[0]', 'unknown resource type'],
    ['system URL in a restriction', patientApp({ scopes: ['patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory'] }), 'scopes[0]', 'Cognito'],
    ['system scope on a public client', patientApp({ scopes: ['system/Patient.rs'] }), 'scopes[0]', 'confidential'],
    ['fhirUser without openid', patientApp({ scopes: ['fhirUser', 'patient/Observation.rs'] }), 'scopes', 'openid'],
    ['duplicate scope', patientApp({ scopes: ['openid', 'openid'] }), 'scopes', 'duplicate'],
    ['bad id', patientApp({ id: 'Acme_Portal' }), 'id', 'pattern'],
    ['bad tier', patientApp({ tier: 'critical' }), 'tier', 'low, medium, high'],
    ['bad client type', patientApp({ clientType: 'secret' }), 'clientType', 'public, confidential'],
    ['identifier system not a URI', patientApp({ identifier: { system: 'acme', value: 'x' } }), 'identifier.system', 'pattern'],
    ['missing assessment', patientApp({ securityAssessment: undefined }), 'securityAssessment', 'is required'],
    ['impossible date', patientApp({ securityAssessment: { date: '2026-02-30', reviewer: 'S', expires: '2027-01-01' } }), 'securityAssessment.date', 'calendar date'],
    ['expiry before date', patientApp({ securityAssessment: { date: '2026-06-01', reviewer: 'S', expires: '2026-05-01' } }), 'securityAssessment.expires', 'after'],
    ['bad BAA date', patientApp({ baa: { reference: 'B', signed: '26-01-01' } }), 'baa.signed', 'pattern'],
    ['zero rate limit', patientApp({ throttle: { rateLimit: 0 } }), 'throttle.rateLimit', '>= 1'],
    ['fractional quota', patientApp({ throttle: { quotaPerDay: 1.5 } }), 'throttle.quotaPerDay', 'integer'],
    ['zero patients per hour', patientApp({ maxPatientsPerHour: 0 }), 'maxPatientsPerHour', '>= 1'],
    ['fractional patients per hour', patientApp({ maxPatientsPerHour: 2.5 }), 'maxPatientsPerHour', 'integer'],
    ['patients per hour as text', patientApp({ maxPatientsPerHour: '10' }), 'maxPatientsPerHour', 'integer'],
    ['patients per hour past a million', patientApp({ maxPatientsPerHour: 1_000_001 }), 'maxPatientsPerHour', '<= 1000000'],
    ['label with a space', patientApp({ labels: ['R', 'very restricted'] }), 'labels[1]', 'pattern'],
    ['unknown field', patientApp({ website: 'https://acme.example' }), 'website', 'unknown field'],
    ['unknown nested field', patientApp({ baa: { reference: 'B', url: 'x' } }), 'baa.url', 'unknown field'],
  ];

  it.each(cases)('%s', (_name, app, field, message) => {
    if (app.securityAssessment === undefined) delete app.securityAssessment;
    const text = errorOf(() => parseAppRegistry(registry(app)));
    const line = text.split('\n').find((l) => l.includes(`field "${field}"`));
    expect(line).toBeDefined();
    expect(line).toContain('policies/apps.json: app ');
    expect(line).toContain('(apps[2])');
    expect(line).toContain(message);
  });

  it('names the app by id when it has one', () => {
    expect(errorOf(() => parseAppRegistry(registry(patientApp({ redirectUris: ['http://acme.example/cb'] })))).split('\n')[0]).toBe(
      'policies/apps.json: app "acme-portal" (apps[2]): field "redirectUris[0]": must use https (http only on localhost or 127.0.0.1)',
    );
  });

  it('accepts loopback http redirects and backend apps without redirects', () => {
    const apps = parseAppRegistry(registry(patientApp({ redirectUris: ['http://localhost:8080/cb', 'http://127.0.0.1/cb'] })));
    expect(apps).toHaveLength(3);
    expect(apps[1].redirectUris).toEqual([]);
  });

  it('rejects unknown top-level fields and a missing apps list', () => {
    expect(errorOf(() => parseAppRegistry({ apps: [], extra: 1 }))).toContain('field "extra": unknown field');
    expect(errorOf(() => parseAppRegistry({}, 'x/apps.json'))).toContain('x/apps.json: field "apps": is required');
  });

  it('rejects duplicate ids and duplicate identifiers', () => {
    const dupId = errorOf(() => parseAppRegistry({ apps: [patientApp(), patientApp({ identifier: { system: 'urn:x', value: '2' } })] }));
    expect(dupId).toContain('app "acme-portal" (apps[1]): field "id": duplicate id (also apps[0])');
    const dupIdentifier = errorOf(() => parseAppRegistry({ apps: [patientApp(), patientApp({ id: 'other-app' })] }));
    expect(dupIdentifier).toContain('app "other-app" (apps[1]): field "identifier": duplicate identifier (also apps[0])');
  });

  it('names the file it loaded, and reports invalid JSON', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'apps-'));
    const file = path.join(dir, 'apps.json');
    writeFileSync(file, '{ "apps": [');
    expect(errorOf(() => loadAppRegistry(file))).toMatch(/apps\.json: is not valid JSON/);
    writeFileSync(file, JSON.stringify({ apps: [patientApp({ tier: 'x' })] }));
    expect(errorOf(() => loadAppRegistry(file))).toContain(`${file}: app "acme-portal" (apps[0]): field "tier"`);
  });
});

describe('maxPatientsPerHour (the per-app distinct-patients alarm threshold)', () => {
  it('is optional: absent, the tier default applies (low 5, medium 50, high 500)', () => {
    const apps = parseAppRegistry(registry(patientApp()));
    expect(apps[2].maxPatientsPerHour).toBeUndefined();
    expect(apps.map(maxPatientsPerHour)).toEqual([5, 500, 5]);
    expect([TIER_DEFAULTS.low, TIER_DEFAULTS.medium, TIER_DEFAULTS.high].map((t) => t.maxPatientsPerHour)).toEqual([5, 50, 500]);
  });

  it('takes a registered positive integer over the tier default, and keeps it through fromApps', () => {
    const apps = parseAppRegistry(registry(patientApp({ maxPatientsPerHour: 1 })));
    expect(apps[2].maxPatientsPerHour).toBe(1);
    expect(maxPatientsPerHour(apps[2])).toBe(1);
    const again = AppRegistryDocument.fromApps(apps);
    expect(again.app('acme-portal')?.maxPatientsPerHour).toBe(1);
    expect(again.app('acme-bulk')?.maxPatientsPerHour).toBeUndefined();
  });
});

describe('helpers', () => {
  const [portal, bulk] = parseAppRegistry(registry(patientApp()));

  it('assessmentExpired compares UTC dates, valid through the expiry day', () => {
    expect(assessmentExpired(portal, new Date('2027-12-31T23:59:59Z'))).toBe(false);
    expect(assessmentExpired(portal, new Date('2028-01-01T00:00:00Z'))).toBe(true);
  });

  it('patientOrUserScopes (the BAA test of CognitoClientAppAssessment) on registered scopes', () => {
    expect(patientOrUserScopes(portal.scopes).length > 0).toBe(true);
    expect(patientOrUserScopes(bulk.scopes).length > 0).toBe(false);
  });
});

describe('environments (registry field)', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { parseAppRegistry: parse, loadAppRegistry: load } = require('../../policies/app-registry') as typeof import('../../policies/app-registry');
  const sample = () => JSON.parse(JSON.stringify({ apps: load() })) as { apps: Record<string, unknown>[] };
  test('a list of environments is kept', () => {
    const doc = sample();
    doc.apps[0].environments = ['sandbox'];
    expect(parse(doc)[0].environments).toEqual(['sandbox']);
  });
  test.each([[[]], [['prod']], [['sandbox', 'sandbox']], ['sandbox']])('%j is refused', (value) => {
    const doc = sample();
    doc.apps[0].environments = value;
    expect(() => parse(doc)).toThrow(/environments/);
  });
});
