/** JSON Patch application for the PATCH re-check: copies, never mutates, refuses what does not apply. */
import { applyJsonPatch } from '../../../lambdas/fhir-proxy/patch';
import type { JsonPatchOperation } from '../../../lambdas/fhir-proxy/request';

const resource = () => ({ resourceType: 'Observation', id: 'o1', status: 'final', note: [{ text: 'a' }] });
const ops = (...o: unknown[]) => o as JsonPatchOperation[];

describe('applyJsonPatch', () => {
  test('applies to a copy: neither the resource nor the operations are changed', () => {
    const r = resource();
    const value = { text: 'b' };
    const patch = ops({ op: 'add', path: '/note/-', value }, { op: 'replace', path: '/status', value: 'amended' });
    const out = applyJsonPatch(r, patch);
    expect(out).toEqual({ resourceType: 'Observation', id: 'o1', status: 'amended', note: [{ text: 'a' }, { text: 'b' }] });
    expect(r).toEqual(resource());
    (out?.note as Array<{ text: string }>)[1].text = 'changed';
    expect(value.text).toBe('b');
  });

  test.each([
    ['failed test', ops({ op: 'test', path: '/status', value: 'draft' })],
    ['unresolvable path', ops({ op: 'add', path: '/code/coding/0', value: {} })],
    ['index out of bounds', ops({ op: 'add', path: '/note/5', value: {} })],
    ['leading-zero index', ops({ op: 'replace', path: '/note/00', value: {} })],
    ['remove of a missing element', ops({ op: 'remove', path: '/performer' })],
    ['prototype pollution', ops({ op: 'add', path: '/__proto__/polluted', value: true })],
    ['root replaced by a non-object', ops({ op: 'replace', path: '', value: [1] })],
    ['add without a value', ops({ op: 'add', path: '/x' })],
  ])('%s: undefined', (_n, patch) => {
    expect(applyJsonPatch(resource(), patch)).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
