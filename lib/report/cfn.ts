/**
 * Reading CloudFormation values the way the report needs them: which resources a value
 * references (`Ref`, `Fn::GetAtt`, `${X}` in `Fn::Sub`), and plain strings and numbers when the
 * value is a literal.
 */
import { ResourceInfo } from './cloud-assembly';

/** Logical ids referenced anywhere inside `value` (pseudo parameters `AWS::*` excluded). */
export function referencedLogicalIds(value: unknown, out: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) {
    for (const v of value) referencedLogicalIds(v, out);
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (k === 'Ref' && typeof v === 'string') {
        if (!v.startsWith('AWS::')) out.add(v);
      } else if (k === 'Fn::GetAtt') {
        if (Array.isArray(v) && typeof v[0] === 'string') out.add(v[0]);
        else if (typeof v === 'string') out.add(v.split('.')[0]);
      } else if (k === 'Fn::Sub') {
        const text = Array.isArray(v) ? v[0] : v;
        if (typeof text === 'string') {
          for (const m of text.matchAll(/\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}/g)) if (!m[1].startsWith('AWS')) out.add(m[1]);
        }
        if (Array.isArray(v) && v[1]) referencedLogicalIds(v[1], out);
      } else {
        referencedLogicalIds(v, out);
      }
    }
  }
  return out;
}

/** True when `value` references `logicalId`. */
export function references(value: unknown, logicalId: string): boolean {
  return referencedLogicalIds(value).has(logicalId);
}

/** The top-level property names of `resource` whose values reference `logicalId`. */
export function referencingProperties(resource: ResourceInfo, logicalId: string): string[] {
  return Object.entries(resource.properties)
    .filter(([, v]) => references(v, logicalId))
    .map(([k]) => k);
}

// The same literal readers the FHIR.HIPAA rules use.
export { asNumber, asString } from '../../policies/compliance/rules/common/cfn';

/** A short, readable rendering of a CloudFormation value (tokens as `Ref X` / `X.Arn`). */
export function describeValue(value: unknown): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    if (typeof obj.Ref === 'string') return `Ref ${obj.Ref}`;
    const att = obj['Fn::GetAtt'];
    if (Array.isArray(att)) return `${att.join('.')}`;
    const ids = [...referencedLogicalIds(value)];
    return ids.length > 0 ? `(computed from ${ids.join(', ')})` : '(computed)';
  }
  return '';
}

/** Code-unit order: the same on every machine, unlike `localeCompare`. */
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
