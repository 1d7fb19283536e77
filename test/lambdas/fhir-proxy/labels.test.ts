/** Labels: reading `meta.security`, clearance, inline redaction; property: no labelled element reaches a caller without the grant. */
import fc from 'fast-check';
import { ACT_CODE_SYSTEM, clearanceGap, CONFIDENTIALITY_SYSTEM, INLINE_LABEL_EXTENSION, LabelIndex, redactInline, RESTRICTIVE_LABEL_POLICY } from '../../../lambdas/fhir-proxy/labels';
import { loadLabelPolicy } from '../../../policies/label-policy';

const index = new LabelIndex(loadLabelPolicy());
const act = (code: string) => ({ system: ACT_CODE_SYSTEM, code });
const conf = (code: string) => ({ system: CONFIDENTIALITY_SYSTEM, code });

describe('reading meta.security', () => {
  test.each([
    ['absent: default N, not labelled', undefined, { codes: ['N'], unknown: false, labelled: false }],
    ['R and PSY', [conf('R'), act('PSY')], { codes: ['R', 'PSY'], unknown: false, labelled: true }],
    ['highest confidentiality wins', [conf('R'), conf('V'), conf('N')], { codes: ['V'], unknown: false, labelled: true }],
    ['unknown code', [act('XYZ')], { codes: ['N'], unknown: true, labelled: true }],
    ['known code, wrong system', [{ system: 'urn:x', code: 'PSY' }], { codes: ['N'], unknown: true, labelled: true }],
    ['malformed coding', ['PSY'], { codes: ['N'], unknown: true, labelled: true }],
    ['not an array', { code: 'PSY' }, { codes: ['N'], unknown: true, labelled: true }],
    ['markers are not labels', [act('PROCESSINLINELABEL'), { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'REDACTED' }], { codes: ['N'], unknown: false, labelled: false }],
  ])('%s', (_n, security, want) => {
    const set = index.read(security);
    expect(set.rules.map((r) => r.code)).toEqual(want.codes);
    expect(set.unknown).toBe(want.unknown);
    expect(set.labelled).toBe(want.labelled);
  });

  test('the built-in policy knows no sensitivity label', () => {
    expect(new LabelIndex(RESTRICTIVE_LABEL_POLICY).read([act('PSY')]).unknown).toBe(true);
  });
});

describe('clearance', () => {
  const rule = (code: string) => index.read([code.length === 1 ? conf(code) : act(code)]).rules.find((r) => r.code === code)!;
  test.each([
    ['V clears R (hierarchy)', 'R', { app: ['V'], user: ['V'] }, false, undefined],
    ['R does not clear V', 'V', { app: ['V'], user: ['R'] }, false, 'user'],
    ['grant name expands', 'PSY', { app: ['behavioral-health'], user: ['behavioral-health'] }, false, undefined],
    ['app not cleared', 'PSY', { app: ['N'], user: ['PSY'] }, false, 'app'],
    ['system token: app only', 'PSY', { app: ['PSY'] }, false, undefined],
    ['self, cleared-apps: user waived', 'SUD', { app: ['SUD'], user: [] }, true, undefined],
    ['self, cleared-apps: app still needed', 'SUD', { app: [], user: [] }, true, 'app'],
    ['self, any-app', 'HIV', { app: [], user: [] }, true, undefined],
  ] as Array<[string, string, { app: string[]; user?: string[] }, boolean, string | undefined]>)('%s', (_n, code, grants, self, gap) => {
    const clearance = { app: index.expand(grants.app), ...(grants.user ? { user: index.expand(grants.user) } : {}) };
    expect(clearanceGap(rule(code), clearance, self)).toBe(gap);
  });
});

describe('inline labels', () => {
  const labelled = (text: string, code: string) => ({ text, extension: [{ url: INLINE_LABEL_EXTENSION, valueCoding: act(code) }] });

  test('refused elements are removed and the copy is marked REDACTED; the input is not changed', () => {
    const resource = { resourceType: 'Observation', id: 'o', note: [{ text: 'a' }, labelled('b', 'PSY')], valueString: 'v', _valueString: { extension: [{ url: INLINE_LABEL_EXTENSION, valueCoding: act('HIV') }] } };
    const before = JSON.stringify(resource);
    const out = redactInline(resource, (codings) => !codings.some((c: any) => c.code === 'PSY' || c.code === 'HIV'))!;
    expect(out.removed).toBe(2);
    expect(out.resource.note).toEqual([{ text: 'a' }]);
    expect(out.resource.valueString).toBeUndefined();
    expect((out.resource.meta as any).security).toEqual([expect.objectContaining({ code: 'REDACTED' })]);
    expect(JSON.stringify(resource)).toBe(before);
  });

  test('property: no element labelled with a code the caller lacks survives', () => {
    const codes = ['PSY', 'HIV', 'SUD', 'ETH', 'XYZ'];
    const leaf = fc.record({ text: fc.constantFrom('t1', 't2'), code: fc.option(fc.constantFrom(...codes), { nil: undefined }) });
    const node: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        leaf.map((l) => (l.code ? labelled(l.text, l.code) : { text: l.text })),
        fc.array(tie('node'), { maxLength: 3 }),
        fc.dictionary(fc.constantFrom('a', 'b', 'c'), tie('node'), { maxKeys: 3 }).map((d) => ({ ...d })),
      ),
    })).node;
    fc.assert(
      fc.property(node, fc.subarray(codes), (body, granted) => {
        const out = redactInline({ resourceType: 'Basic', body } as any, (codings) => codings.every((c: any) => c && granted.includes(c.code)));
        const text = JSON.stringify(out?.resource ?? {});
        for (const c of codes) if (!granted.includes(c)) expect(text).not.toContain(`"code":"${c}"`);
      }),
      { numRuns: 200 },
    );
  });
});
