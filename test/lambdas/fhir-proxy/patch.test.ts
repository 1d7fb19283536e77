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
    // Tokens naming Object.prototype members reach `Object` or built-ins, not the resource.
    ['replace of /constructor', ops({ op: 'replace', path: '/constructor', value: 1 })],
    ['add under /constructor', ops({ op: 'add', path: '/constructor/polluted', value: true })],
    ['add of /code/toString', ops({ op: 'add', path: '/code/toString', value: 1 })],
    ['copy from /constructor', ops({ op: 'copy', from: '/constructor', path: '/x' })],
    ['move from /note/0/valueOf', ops({ op: 'move', from: '/note/0/valueOf', path: '/x' })],
    ['remove of /hasOwnProperty', ops({ op: 'remove', path: '/hasOwnProperty' })],
    ['test of /__defineGetter__', ops({ op: 'test', path: '/__defineGetter__', value: {} })],
    ['__proto__ below the root', ops({ op: 'add', path: '/note/0/__proto__', value: 1 })],
    ['a value with a reserved property', JSON.parse('[{"op":"add","path":"/code","value":{"__proto__":{"polluted":true}}}]') as JsonPatchOperation[]],
    ['a path that is not a JSON Pointer', ops({ op: 'replace', path: 'status', value: 'amended' })],
  ])('%s: undefined', (_n, patch) => {
    expect(applyJsonPatch(resource(), patch)).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object as unknown as Record<string, unknown>).polluted).toBeUndefined();
    expect(typeof Object.prototype.toString).toBe('function');
  });

  test('names that only contain a reserved word, and escaped tokens, still apply', () => {
    const out = applyJsonPatch(resource(), ops({ op: 'add', path: '/note/0/a~1constructor', value: 'x' }, { op: 'add', path: '/note/-', value: { text: 'toString' } }));
    expect(out).toEqual({ resourceType: 'Observation', id: 'o1', status: 'final', note: [{ text: 'a', 'a/constructor': 'x' }, { text: 'toString' }] });
  });
});
