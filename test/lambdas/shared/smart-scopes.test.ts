import * as fc from 'fast-check';
import { FHIR_INTERACTIONS, FhirInteraction } from '../../../lambdas/shared/fhir-interactions';
import { FHIR_R4_RESOURCE_TYPES } from '../../../lambdas/shared/fhir-resource-types';
import {
  MAX_SCOPES,
  MAX_SCOPE_LENGTH,
  PERMISSIONS,
  Permission,
  ResourceGrant,
  ScopeSet,
  contextsOf,
  findGrants,
  fromCognitoScope,
  hasFhirScope,
  isCognitoScopeName,
  isWildcardEverything,
  isWildcardType,
  parseScope,
  parseScopes,
  permissionFor,
  permissionLetters,
  permissionRequirement,
  toCognitoScope,
  toV2Scope,
} from '../../../lambdas/shared/smart-scopes';

/** Parses one scope and insists it is a grant. */
function grantOf(scope: string): ResourceGrant {
  const parsed = parseScope(scope);
  if (parsed.kind !== 'grant') throw new Error(`expected a grant for ${scope}, got ${JSON.stringify(parsed)}`);
  return parsed;
}

function letters(grant: ResourceGrant): string {
  return permissionLetters(grant);
}

/** Every non-empty in-order subset of `cruds` (31 of them). */
const V2_SUBSETS: string[] = [];
for (let mask = 1; mask < 32; mask++) {
  V2_SUBSETS.push(PERMISSIONS.filter((_, i) => mask & (1 << (4 - i))).join(''));
}

describe('v1 scopes', () => {
  it.each([
    ['patient/Observation.read', 'patient', 'Observation', 'rs'],
    ['patient/Observation.write', 'patient', 'Observation', 'cud'],
    ['patient/Observation.*', 'patient', 'Observation', 'cruds'],
    ['user/Patient.read', 'user', 'Patient', 'rs'],
    ['user/Patient.write', 'user', 'Patient', 'cud'],
    ['user/Patient.*', 'user', 'Patient', 'cruds'],
    ['system/Encounter.read', 'system', 'Encounter', 'rs'],
    ['system/Encounter.write', 'system', 'Encounter', 'cud'],
    ['system/Encounter.*', 'system', 'Encounter', 'cruds'],
    ['patient/*.read', 'patient', '*', 'rs'],
    ['user/*.write', 'user', '*', 'cud'],
    ['system/*.*', 'system', '*', 'cruds'],
  ])('%s → %s %s .%s (v1)', (scope, context, type, perms) => {
    const g = grantOf(scope);
    expect(g).toMatchObject({ scope, context, resourceType: type, version: 1, restrictions: [] });
    expect(letters(g)).toBe(perms);
  });

  it('write never implies read or search', () => {
    const g = grantOf('patient/Observation.write');
    expect(g.permissions.has('r')).toBe(false);
    expect(g.permissions.has('s')).toBe(false);
  });
});

describe('v2 scopes', () => {
  it('there are 31 in-order subsets', () => expect(new Set(V2_SUBSETS).size).toBe(31));

  it.each(V2_SUBSETS)('patient/Observation.%s is accepted with exactly those letters', (perms) => {
    const g = grantOf(`patient/Observation.${perms}`);
    expect(g.version).toBe(2);
    expect(letters(g)).toBe(perms);
    expect(g.permissions.size).toBe(perms.length);
  });

  it.each(['user', 'system'])('%s context with v2 letters', (ctx) => {
    expect(grantOf(`${ctx}/*.cruds`)).toMatchObject({ context: ctx, resourceType: '*', version: 2 });
  });

  it.each([
    ['patient/Observation.sr', /out of order/],
    ['patient/Observation.rc', /out of order/],
    ['patient/Observation.dc', /out of order/],
    ['patient/Observation.src', /out of order/],
    ['patient/Observation.scrud', /out of order/],
    ['patient/Observation.rr', /out of order or repeated/],
    ['patient/Observation.rrs', /out of order or repeated/],
    ['patient/Observation.crudss', /out of order or repeated/],
    ['patient/Observation.cc', /out of order or repeated/],
    ['patient/Observation.x', /unknown permission/],
    ['patient/Observation.rx', /unknown permission/],
    ['patient/Observation.R', /unknown permission/],
    ['patient/Observation.RS', /unknown permission/],
    ['patient/Observation.READ', /unknown permission/],
    ['patient/Observation.Read', /unknown permission/],
    ['patient/Observation.reads', /unknown permission/],
    ['patient/Observation.**', /unknown permission/],
    ['patient/Observation.', /empty permissions/],
    ['patient/Observation', /missing "\."/],
    ['patient/Observation.r.s', /unknown permission/],
  ])('%s is rejected', (scope, reason) => {
    const parsed = parseScope(scope);
    expect(parsed.kind).toBe('rejected');
    if (parsed.kind === 'rejected') expect(parsed.reason).toMatch(reason);
  });
});

describe('contexts, resource types, case and whitespace', () => {
  it.each([
    'Patient/Observation.read',
    'PATIENT/Observation.read',
    'User/Observation.rs',
    'System/*.cruds',
    'practitioner/Observation.read',
    'encounter/Observation.read',
    '*/*.*',
    '*/Observation.read',
    '/Observation.read',
    'patient//Observation.read',
  ])('bad context: %s', (scope) => {
    expect(parseScope(scope).kind).toBe('rejected');
  });

  it.each([
    'patient/observation.read',
    'patient/OBSERVATION.read',
    'patient/Observations.read',
    'patient/Foo.rs',
    'patient/Resource.read',
    'patient/DomainResource.read',
    'patient/Medplum.read',
    'patient/.read',
    'patient/**.read',
    'patient/Obs*.read',
    'patient/Observation/123.read',
  ])('unknown resource type: %s', (scope) => {
    const parsed = parseScope(scope);
    expect(parsed.kind).toBe('rejected');
  });

  it('accepts every R4 resource type', () => {
    for (const type of FHIR_R4_RESOURCE_TYPES) {
      expect(grantOf(`user/${type}.rs`).resourceType).toBe(type);
    }
    expect(FHIR_R4_RESOURCE_TYPES.length).toBeGreaterThanOrEqual(145);
  });

  it.each([
    ' patient/Observation.read',
    'patient/Observation.read ',
    'patient/ Observation.read',
    'patient/Observation.read\t',
    'patient/Observation.read\n',
    '\u00a0patient/Observation.read',
    'patient/Observation.read\u0000',
    'patient/Observátion.read',
  ])('single scope with whitespace, control or non-ASCII is rejected: %j', (scope) => {
    expect(parseScope(scope).kind).toBe('rejected');
  });

  it.each([
    ['patient/Observation.read patient/Patient.read', 2],
    ['  patient/Observation.read    patient/Patient.read  ', 2],
    ['patient/Observation.read\tpatient/Patient.read', 0],
    ['patient/Observation.read\npatient/Patient.read', 0],
    ['', 0],
    ['     ', 0],
  ])('scope string %j yields %i grants (only spaces separate)', (input, n) => {
    expect(parseScopes(input).grants).toHaveLength(n);
  });

  it('rejects a list item that contains a space rather than splitting it', () => {
    const set = parseScopes(['patient/Observation.read patient/Patient.read', 'openid']);
    expect(set.grants).toHaveLength(0);
    expect(set.openid).toBe(true);
    expect(set.rejected[0].reason).toMatch(/whitespace/);
  });
});

describe('granular restrictions (v2)', () => {
  it.each([
    ['patient/Observation.rs?category=laboratory', [['category', 'laboratory']]],
    [
      'patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|vital-signs',
      [['category', 'http://terminology.hl7.org/CodeSystem/observation-category|vital-signs']],
    ],
    ['user/Condition.rs?category=problem-list-item&clinical-status=active', [['category', 'problem-list-item'], ['clinical-status', 'active']]],
    ['patient/Observation.s?code=http://loinc.org|1234-5', [['code', 'http://loinc.org|1234-5']]],
    ['patient/Observation.rs?_security=R', [['_security', 'R']]],
    ['patient/Observation.rs?category=laboratory&category=vital-signs', [['category', 'laboratory'], ['category', 'vital-signs']]],
    ['system/*.rs?_tag=test', [['_tag', 'test']]],
  ])('%s', (scope, pairs) => {
    const g = grantOf(scope);
    expect(g.version).toBe(2);
    expect(g.restrictions).toEqual(pairs.map(([name, value]) => ({ name, value })));
  });

  it.each([
    ['patient/Observation.read?category=laboratory', /only allowed on v2/],
    ['patient/Observation.write?category=laboratory', /only allowed on v2/],
    ['patient/Observation.*?category=laboratory', /only allowed on v2/],
    ['patient/Observation.rs?', /empty restriction/],
    ['patient/Observation.rs?category', /no "="/],
    ['patient/Observation.rs?=laboratory', /empty name/],
    ['patient/Observation.rs?category=', /empty value/],
    ['patient/Observation.rs?category=laboratory&', /stray "&"/],
    ['patient/Observation.rs?&category=laboratory', /stray "&"/],
    ['patient/Observation.rs?category=a&&code=b', /stray "&"/],
    ['patient/Observation.rs??category=laboratory', /more than one "\?"/],
    ['patient/Observation.rs?category=laboratory?code=x', /more than one "\?"/],
    ['patient/Observation.rs?category=a=b', /not "code" or "system\|code"/],
    ['patient/Observation.rs?category=|laboratory', /not "code" or "system\|code"/],
    ['patient/Observation.rs?category=http://x|', /not "code" or "system\|code"/],
    ['patient/Observation.rs?category=a|b|c', /not "code" or "system\|code"/],
    ['patient/Observation.rs?category=a,b', /not "code" or "system\|code"/],
    ['patient/Observation.rs?category=a"b', /not "code" or "system\|code"/],
    ['patient/Observation.rs?cat egory=a', /whitespace/],
    ['patient/Observation.rs?1cat=a', /not a search parameter name/],
    ['patient/Observation.rs?ca$t=a', /not a search parameter name/],
  ])('%s is rejected', (scope, reason) => {
    const parsed = parseScope(scope);
    expect(parsed.kind).toBe('rejected');
    if (parsed.kind === 'rejected') expect(parsed.reason).toMatch(reason);
  });

  it('toV2Scope round-trips restrictions and maps v1 letters', () => {
    expect(toV2Scope(grantOf('patient/Observation.rs?category=laboratory&code=x'))).toBe(
      'patient/Observation.rs?category=laboratory&code=x',
    );
    expect(toV2Scope(grantOf('user/Patient.read'))).toBe('user/Patient.rs');
    expect(toV2Scope(grantOf('system/*.*'))).toBe('system/*.cruds');
  });
});

describe('scope parts named like Object.prototype members', () => {
  const NAMES = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '__defineGetter__', 'valueOf'];

  // The parser looks contexts, types, permissions and special scopes up in Sets and Maps, so these
  // names are just unknown: rejected, never a grant, never a change to a built-in.
  it.each(NAMES.flatMap((n) => [n, `${n}/Patient.rs`, `patient/${n}.rs`, `patient/Patient.${n}`, `launch/${n}`]))('%s is rejected', (scope) => {
    expect(parseScope(scope).kind).toBe('rejected');
    const set = parseScopes(`${scope} patient/Patient.rs`);
    expect(set.grants.map((g) => g.scope)).toEqual(['patient/Patient.rs']);
    expect(set.rejected).toHaveLength(1);
    expect(({} as Record<string, unknown>).rs).toBeUndefined();
  });

  it.each(NAMES.filter((n) => /^[A-Za-z_]/.test(n)))('a restriction named %s is kept as plain data (checked downstream)', (n) => {
    const g = grantOf(`patient/Observation.rs?${n}=polluted`);
    expect(g.restrictions).toEqual([{ name: n, value: 'polluted' }]);
    expect(Object.keys(g.restrictions[0])).toEqual(['name', 'value']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('special scopes', () => {
  const flags: Array<[string, keyof ScopeSet]> = [
    ['launch', 'launch'],
    ['launch/patient', 'launchPatient'],
    ['launch/encounter', 'launchEncounter'],
    ['openid', 'openid'],
    ['fhirUser', 'fhirUser'],
    ['profile', 'profile'],
    ['offline_access', 'offlineAccess'],
    ['online_access', 'onlineAccess'],
  ];

  it.each(flags)('%s sets %s and nothing else', (scope, flag) => {
    expect(parseScope(scope)).toEqual({ kind: 'special', scope, special: scope });
    const set = parseScopes(scope);
    for (const [, other] of flags) expect(set[other]).toBe(other === flag);
    expect(set.grants).toHaveLength(0);
    expect(set.rejected).toHaveLength(0);
    expect(hasFhirScope(set)).toBe(false);
  });

  it.each([
    'Launch',
    'launch/Patient',
    'launch/location',
    'launch/patient/123',
    'launch/',
    'OPENID',
    'fhiruser',
    'FhirUser',
    'offline-access',
    'Offline_access',
    'email',
    'aws.cognito.signin.user.admin',
    'openid2',
  ])('%s is not a special scope', (scope) => {
    expect(parseScope(scope).kind).toBe('rejected');
  });
});

describe('parseScopes', () => {
  it('collects grants, flags and rejections in one pass', () => {
    const set = parseScopes(
      'launch/patient openid fhirUser offline_access patient/Observation.rs patient/Patient.read patient/Observation.sr user/Foo.read',
    );
    expect(set.grants.map((g) => g.scope)).toEqual(['patient/Observation.rs', 'patient/Patient.read']);
    expect(set).toMatchObject({ launchPatient: true, openid: true, fhirUser: true, offlineAccess: true, launch: false });
    expect(set.rejected.map((r) => r.scope)).toEqual(['patient/Observation.sr', 'user/Foo.read']);
    expect(hasFhirScope(set)).toBe(true);
  });

  it('keeps a duplicated grant once', () => {
    expect(parseScopes('patient/Observation.rs patient/Observation.rs').grants).toHaveLength(1);
  });

  it('accepts a list', () => {
    const set = parseScopes(['patient/Observation.rs', 'openid']);
    expect(set.grants).toHaveLength(1);
    expect(set.openid).toBe(true);
  });

  it.each([
    [MAX_SCOPE_LENGTH, 'grant'],
    [MAX_SCOPE_LENGTH + 1, 'rejected'],
  ])('a %i-character scope is a %s', (length, kind) => {
    const prefix = 'patient/Observation.rs?code=';
    const scope = prefix + 'x'.repeat(length - prefix.length);
    expect(scope).toHaveLength(length);
    expect(parseScope(scope).kind).toBe(kind);
  });

  it('echoes at most 256 characters of a rejected scope', () => {
    const set = parseScopes('x'.repeat(10_000));
    expect(set.rejected).toHaveLength(1);
    expect(set.rejected[0].scope.length).toBeLessThanOrEqual(MAX_SCOPE_LENGTH + 1);
  });

  it(`reads at most ${MAX_SCOPES} scopes from a string and reports the overflow`, () => {
    const types = FHIR_R4_RESOURCE_TYPES.slice(0, 140);
    const scopes = [...types.map((t) => `patient/${t}.r`), ...types.map((t) => `patient/${t}.s`)];
    const set = parseScopes(scopes.join(' '));
    expect(set.grants).toHaveLength(MAX_SCOPES);
    expect(set.rejected).toEqual([expect.objectContaining({ reason: expect.stringMatching(/more than 200/) })]);
    expect(parseScopes(scopes.slice(0, MAX_SCOPES).join(' ')).rejected).toHaveLength(0);
  });

  it(`reads at most ${MAX_SCOPES} scopes from a list`, () => {
    const set = parseScopes(Array.from({ length: 1000 }, () => 'openid').concat('patient/Observation.rs'));
    expect(set.grants).toHaveLength(0);
    expect(set.openid).toBe(true);
    expect(set.rejected).toHaveLength(1);
  });

  it('is fast on a huge input', () => {
    const t0 = Date.now();
    parseScopes('patient/Observation.rs?code=a&'.repeat(100_000));
    parseScopes(' '.repeat(1_000_000) + 'openid');
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('never throws on non-string items', () => {
    const set = parseScopes([1, null, {}, 'openid'] as unknown as string[]);
    expect(set.openid).toBe(true);
    expect(set.rejected).toHaveLength(3);
    expect(parseScopes(undefined as unknown as string).grants).toHaveLength(0);
  });

  it('returns frozen results', () => {
    const set = parseScopes('patient/Observation.rs?category=laboratory');
    expect(Object.isFrozen(set)).toBe(true);
    expect(Object.isFrozen(set.grants)).toBe(true);
    expect(Object.isFrozen(set.grants[0])).toBe(true);
    expect(Object.isFrozen(set.grants[0].restrictions)).toBe(true);
  });
});

describe('interaction → permission', () => {
  const table: Array<[FhirInteraction, Permission | undefined, string]> = [
    ['read', 'r', 'permission'],
    ['vread', 'r', 'permission'],
    ['history-instance', 'r', 'permission'],
    ['search-type', 's', 'permission'],
    ['search-system', 's', 'permission'],
    ['history-type', 's', 'permission'],
    ['history-system', 's', 'permission'],
    ['create', 'c', 'permission'],
    ['update', 'u', 'permission'],
    ['patch', 'u', 'permission'],
    ['delete', 'd', 'permission'],
    ['capabilities', undefined, 'none'],
    ['batch', undefined, 'per-entry'],
    ['transaction', undefined, 'per-entry'],
    ['operation', undefined, 'per-entry'],
  ];

  it('covers every FhirInteraction', () => {
    expect(table.map(([i]) => i).sort()).toEqual([...FHIR_INTERACTIONS].sort());
  });

  it.each(table)('%s → %s (%s)', (interaction, permission, kind) => {
    expect(permissionFor(interaction)).toBe(permission);
    expect(permissionRequirement(interaction).kind).toBe(kind);
  });
});

describe('findGrants and set queries', () => {
  const set = parseScopes(
    'patient/Observation.rs?category=laboratory patient/*.r user/Patient.cud system/Encounter.write patient/Condition.read',
  );

  it.each<[string, Permission, string | undefined, string[]]>([
    ['Observation', 'r', undefined, ['patient/Observation.rs?category=laboratory', 'patient/*.r']],
    ['Observation', 's', undefined, ['patient/Observation.rs?category=laboratory']],
    ['Observation', 'c', undefined, []],
    ['Immunization', 'r', undefined, ['patient/*.r']],
    ['Immunization', 's', undefined, []],
    ['Patient', 'r', undefined, ['patient/*.r']],
    ['Patient', 'c', undefined, ['user/Patient.cud']],
    ['Patient', 'c', 'patient', []],
    ['Patient', 'u', 'user', ['user/Patient.cud']],
    ['Encounter', 'd', 'system', ['system/Encounter.write']],
    ['Encounter', 'r', 'system', []],
    ['Condition', 's', 'patient', ['patient/Condition.read']],
    ['*', 'r', undefined, ['patient/*.r']],
    ['*', 's', undefined, []],
  ])('%s %s in %s', (resourceType, permission, context, expected) => {
    const found = findGrants(set, {
      resourceType,
      permission,
      ...(context ? { context: context as 'patient' | 'user' | 'system' } : {}),
    });
    expect(found.map((g) => g.scope)).toEqual(expected);
  });

  it('takes a list of grants, and several permissions: any of them, or every one with all', () => {
    const scopes = (found: readonly { scope: string }[]) => found.map((g) => g.scope);
    expect(scopes(findGrants(set.grants, { resourceType: 'Observation', permission: 's' }))).toEqual(['patient/Observation.rs?category=laboratory']);
    expect(scopes(findGrants(set, { resourceType: 'Patient', permission: ['r', 'c'] }))).toEqual(['patient/*.r', 'user/Patient.cud']);
    expect(scopes(findGrants(set, { resourceType: 'Observation', permission: ['r', 's'], all: true }))).toEqual(['patient/Observation.rs?category=laboratory']);
    expect(scopes(findGrants(set, { resourceType: 'Patient', permission: ['c', 'u', 'd'], all: true, context: 'user' }))).toEqual(['user/Patient.cud']);
    expect(findGrants(set, { resourceType: 'Patient', permission: [] })).toEqual([]);
  });

  it('contextsOf', () => {
    expect([...contextsOf(set)].sort()).toEqual(['patient', 'system', 'user']);
    expect(contextsOf(parseScopes('openid')).size).toBe(0);
  });

  it.each([
    ['user/*.cruds', true, true],
    ['system/*.*', true, true],
    ['patient/*.*', true, true],
    ['patient/*.rs', false, true],
    ['patient/*.read', false, true],
    ['user/*.write', false, true],
    ['user/*.crud', false, true],
    ['user/Observation.cruds', false, false],
  ])('%s: everything=%s, wildcard type=%s', (scope, everything, wildcardType) => {
    const g = grantOf(scope);
    expect(isWildcardEverything(g)).toBe(everything);
    expect(isWildcardType(g)).toBe(wildcardType);
  });
});

describe('Cognito representation', () => {
  it.each([
    ['Observation.rs', true],
    ['Observation.rs?category=laboratory&code=a|b', true],
    ['*.cruds', true],
    ['a', true],
    ['x'.repeat(256), true],
    ['x'.repeat(257), false],
    ['', false],
    ['Observation.rs?category=http://x|y', false],
    ['a b', false],
    ['a"b', false],
    ['a\\b', false],
    ['é', false],
    ['a\tb', false],
  ])('isCognitoScopeName(%j) = %s', (name, ok) => {
    expect(isCognitoScopeName(name)).toBe(ok);
  });

  it.each([
    ['patient/Observation.rs', { resourceServer: 'patient', scopeName: 'Observation.rs' }],
    ['user/*.cruds', { resourceServer: 'user', scopeName: '*.cruds' }],
    ['system/Patient.read', { resourceServer: 'system', scopeName: 'Patient.read' }],
    ['launch/patient', { resourceServer: 'launch', scopeName: 'patient' }],
    ['patient/Observation.rs?category=laboratory', { resourceServer: 'patient', scopeName: 'Observation.rs?category=laboratory' }],
    ['patient/Observation.rs?category=http://x|laboratory', undefined],
    ['openid', undefined],
    ['launch', undefined],
    ['patient/Observation.sr', undefined],
  ])('toCognitoScope(%s)', (scope, expected) => {
    expect(toCognitoScope(scope)).toEqual(expected);
    if (expected) expect(fromCognitoScope(expected.resourceServer as 'patient', expected.scopeName)).toBe(scope);
  });
});

describe('properties', () => {
  /** What the scope text literally says, read independently of the parser. */
  function literalPermissions(text: string): Set<string> {
    const afterDot = text.slice(text.indexOf('.') + 1);
    const perms = afterDot.split('?')[0];
    if (perms === 'read') return new Set(['r', 's']);
    if (perms === 'write') return new Set(['c', 'u', 'd']);
    if (perms === '*') return new Set(PERMISSIONS);
    return new Set(perms.split(''));
  }

  const piece = fc.constantFrom(
    'patient', 'user', 'system', 'Patient', 'launch', '/', '.', '?', '&', '=', '|', '*', ' ', '\t',
    'Observation', 'Patient', 'observation', 'read', 'write', 'c', 'r', 'u', 'd', 's', 'cruds', 'sr',
    'rs', 'category', 'laboratory', 'http://loinc.org', 'openid', 'fhirUser', 'x', '',
  );
  const scopeLike = fc.array(piece, { maxLength: 12 }).map((p) => p.join(''));
  const input = fc.oneof(
    fc.string({ maxLength: 300 }),
    fc.string({ unit: 'binary', maxLength: 100 }),
    scopeLike,
    fc.array(scopeLike, { maxLength: 10 }).map((a) => a.join(' ')),
  );

  it('parseScopes never throws and no grant is broader than its text', () => {
    fc.assert(
      fc.property(input, (text) => {
        const set = parseScopes(text);
        const tokens = new Set(text.split(' '));
        for (const g of set.grants) {
          expect(tokens.has(g.scope)).toBe(true);
          const literal = literalPermissions(g.scope);
          for (const p of g.permissions) expect(literal.has(p)).toBe(true);
          expect(g.scope.startsWith(`${g.context}/${g.resourceType}.`)).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('a list input behaves the same and never throws', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(scopeLike, fc.string()), { maxLength: 20 }), (items) => {
        const set = parseScopes(items);
        for (const g of set.grants) {
          expect(items).toContain(g.scope);
          const literal = literalPermissions(g.scope);
          for (const p of g.permissions) expect(literal.has(p)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });
});
