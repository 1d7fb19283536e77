import { readFileSync } from 'fs';
import { join } from 'path';
import { NagMessageLevel } from 'cdk-nag';
import { HIPAA_CITATIONS } from '../../../policies/compliance/citations';
import { FHIR_HIPAA_RULES, fhirHipaaRuleId } from '../../../policies/compliance/fhir-hipaa-checks';

const markdown = readFileSync(join(__dirname, '../../../policies/compliance/RULES.md'), 'utf8');

/** The rows of the first markdown table after `heading`, as trimmed cells (header and separator dropped). */
function table(heading: string): string[][] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l.trim() === heading);
  expect(start).toBeGreaterThanOrEqual(0);
  const rows: string[][] = [];
  let inTable = false;
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith('|')) {
      inTable = true;
      rows.push(line.trim().replace(/^\||\|$/g, '').split('|').map((c) => c.trim()));
    } else if (inTable) break;
  }
  return rows.slice(2);
}

describe('policies/compliance/RULES.md', () => {
  test('the Rules table lists every rule with its level, cause, explanation and citations, and no more', () => {
    const rows = table('## Rules');
    const expected = FHIR_HIPAA_RULES.map((r) => [
      fhirHipaaRuleId(r),
      r.level === NagMessageLevel.ERROR ? 'Error' : 'Warning',
      r.cause,
      r.explanation,
      r.citations.join(', '),
    ]);
    expect(rows).toEqual(expected);
  });

  test('the citation catalogue table is policies/compliance/citations.ts, in its order, with its titles', () => {
    const rows = table('## HIPAA citation catalogue (`policies/compliance/citations.ts`)');
    expect(rows).toEqual(Object.entries(HIPAA_CITATIONS));
  });

  test('the per-rule notes cover every rule and mark the non-waivable ones', () => {
    const rows = table('## Per-rule notes');
    expect(rows.map((r) => r[0])).toEqual(FHIR_HIPAA_RULES.map(fhirHipaaRuleId));
    expect(rows.map((r) => r[3])).toEqual(FHIR_HIPAA_RULES.map((r) => (r.nonWaivableInProduction ? 'yes' : 'no')));
  });
});
