import * as fs from 'fs';
import * as path from 'path';
import { ENVIRONMENT_DIFFERENCES, environmentDifferencesMarkdown } from '../../lib/environment-profile';

describe('what differs between environments', () => {
  test('the README table is the one lib/environment-profile.ts renders', () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
    const m = /<!-- environment-differences:start -->\n([\s\S]*?)\n<!-- environment-differences:end -->/.exec(readme);
    expect(m?.[1]).toBe(environmentDifferencesMarkdown());
  });

  test('every row names what enforces it and a value per environment', () => {
    for (const row of ENVIRONMENT_DIFFERENCES) {
      expect(row.enforcedBy.length).toBeGreaterThan(10);
      expect(Object.keys(row.values).sort()).toEqual(['production', 'sandbox', 'staging']);
    }
  });

  test('every FHIR.HIPAA rule the table names exists', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { FHIR_HIPAA_RULE_IDS } = require('../../policies/compliance/fhir-hipaa-checks') as { FHIR_HIPAA_RULE_IDS: readonly string[] };
    const named = ENVIRONMENT_DIFFERENCES.flatMap((r) => [...r.enforcedBy.matchAll(/FHIR\.HIPAA-([A-Za-z]+)/g)].map((x) => `FHIR.HIPAA-${x[1]}`));
    expect(named.length).toBeGreaterThan(3);
    for (const id of named) expect(FHIR_HIPAA_RULE_IDS.map((r) => (r.startsWith('FHIR.HIPAA-') ? r : `FHIR.HIPAA-${r}`))).toContain(id);
  });

  test('a table cell with a pipe is escaped', () => {
    expect(environmentDifferencesMarkdown([{ setting: 'a|b', values: { sandbox: 's', staging: 't', production: 'p' }, enforcedBy: 'x' }])).toContain('a\\|b');
  });
});
