/** `policies/labels.json`: valid against its schema and the cross-field rules; errors name the file and the field. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LabelIndex } from '../../lambdas/fhir-proxy/labels';
import { loadLabelPolicy, parseLabelPolicy, LabelPolicyError } from '../../policies/label-policy';

const raw = () => JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'policies', 'labels.json'), 'utf8'));

test('the shipped policy loads, compiles, and keeps the consent delay within 60 s', () => {
  const policy = loadLabelPolicy();
  expect(() => new LabelIndex(policy)).not.toThrow();
  expect(policy.consent.cacheTtlSeconds).toBeLessThanOrEqual(60);
  expect(policy.labels.find((l) => l.code === 'SUD')).toMatchObject({ noConsent: 'deny', selfAccess: 'cleared-apps' });
});

test.each([
  ['unknown field', (j: any) => (j.labels[0].colour = 'red'), /policies\/labels\.json: field "labels\[0\]\.colour": unknown field/],
  ['bad enum', (j: any) => (j.labels[1].selfAccess = 'sometimes'), /field "labels\[1\]\.selfAccess": must be one of none, cleared-apps, any-app/],
  ['ttl above 60', (j: any) => (j.consent.cacheTtlSeconds = 61), /field "consent\.cacheTtlSeconds"/],
  ['duplicate label', (j: any) => j.labels.push({ ...j.labels[6] }), /field "labels\[16\]\.code": duplicate label \(also labels\[6\]\)/],
  ['grant of an unlisted code', (j: any) => (j.grants['behavioral-health'] = ['PSYCH']), /field "grants\.behavioral-health\[0\]": "PSYCH" is not a listed label/],
  ['default needing clearance', (j: any) => (j.defaultConfidentiality = 'R'), /field "defaultConfidentiality": must name a label that needs no clearance/],
  ['confidentiality code', (j: any) => j.labels.push({ code: 'X', kind: 'confidentiality', clearance: true, selfAccess: 'none', noConsent: 'deny' }), /a confidentiality label must be one of/],
  ['missing section', (j: any) => delete j.consent, /field "consent": is required/],
])('%s', (_name, mutate, message) => {
  const json = raw();
  mutate(json);
  expect(() => parseLabelPolicy(json)).toThrow(LabelPolicyError);
  expect(() => parseLabelPolicy(json)).toThrow(message);
});

test('unreadable and non-JSON files name the file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'labels-'));
  const file = path.join(dir, 'labels.json');
  expect(() => loadLabelPolicy(file)).toThrow(/labels\.json: cannot be read \(ENOENT\)/);
  fs.writeFileSync(file, '{');
  expect(() => loadLabelPolicy(file)).toThrow(/labels\.json: is not valid JSON/);
});
