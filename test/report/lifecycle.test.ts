import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, CfnWaitConditionHandle, Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { API_VERSIONS_METADATA_KEY, ApiVersionsMetadata } from '../../lib/api-versions';
import { ENVIRONMENT_DIFFERENCES } from '../../lib/environment-profile';
import { buildComplianceReport } from '../../lib/report/build';
import { CloudAssemblyInput, readCloudAssembly } from '../../lib/report/cloud-assembly';
import { escapeHtml, escapeMarkdown } from '../../lib/report/escape';
import { renderHtml } from '../../lib/report/html';
import { appApiVersions, noticeMonths, registeredApiVersions } from '../../lib/report/lifecycle';
import { renderMarkdown } from '../../lib/report/markdown';
import { ComplianceReport } from '../../lib/report/model';
import * as registry from '../../policies/app-registry';
import { setDeploymentEnvironment } from '../../policies/compliance/environment';
import { testApp } from '../helpers/registry';

/**
 * Sections 8 and 9 of the reviewer's report: the API versions the gateways recorded (construct
 * metadata `zero-trust-fhir:api-versions`) and the apps that use them, and what differs between
 * environments with where each stack is bound. Built from two tiny apps synthesized once here.
 */
const OPTIONS = { today: new Date('2026-12-01T00:00:00Z'), generatedAt: new Date('2026-12-01T12:00:00Z') };
const HOSTILE_URL = 'https://docs.example.org/migrate?x=<script>alert(1)</script>';

const VERSIONS: ApiVersionsMetadata = {
  versions: [
    // Eight months' notice, retired: no stage.
    { version: 'v1', status: 'retired', deprecatedAt: '2025-01-01', sunsetAt: '2025-09-01', successor: 'v3', served: false, fhirBasePath: '/v1/r4' },
    // Four months' notice: short.
    { version: 'v2', status: 'deprecated', deprecatedAt: '2026-10-01', sunsetAt: '2027-02-01', successor: 'v3', migrationNotesUrl: HOSTILE_URL, served: true, fhirBasePath: '/v2/r4' },
    { version: 'v3', status: 'active', served: true, fhirBasePath: '/v3/r4' },
  ],
  current: 'v3',
};

/** Registry entries as a team writes them, two with the API versions they use. */
const APPS = [
  { ...testApp({ id: 'old-portal', name: 'Old <Portal>' }), apiVersions: ['v2', 'v3'] },
  { ...testApp({ id: 'new-portal', name: 'New Portal', identifier: { system: 'https://fhir.example.org/sid/smart-app', value: 'new-portal' } }), apiVersions: ['v3'] },
  testApp({ id: 'quiet-portal', name: 'Quiet Portal', identifier: { system: 'https://fhir.example.org/sid/smart-app', value: 'quiet-portal' } }),
];

const dirs: string[] = [];
const tmp = (): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ztf-lifecycle-'));
  dirs.push(dir);
  return dir;
};

/** A stack with one resource; a construct `Gateway` carrying the given metadata. */
function stack(app: App, id: string, env: 'sandbox' | 'staging' | 'production' | undefined, account?: string, metadata: Array<[string, unknown]> = []): Stack {
  const s = new Stack(app, id, account ? { env: { account, region: 'eu-west-1' } } : {});
  new CfnWaitConditionHandle(s, 'Handle');
  const gateway = new Construct(s, 'Gateway');
  for (const [type, data] of metadata) gateway.node.addMetadata(type, data);
  if (env) setDeploymentEnvironment(s, env);
  return s;
}

let versioned: CloudAssemblyInput;
let plain: CloudAssemblyInput;

beforeAll(() => {
  const one = tmp();
  const app = new App({ outdir: one, analyticsReporting: false });
  stack(app, 'Sandbox', 'sandbox', undefined, [
    [API_VERSIONS_METADATA_KEY, VERSIONS],
    [registry.BUNDLED_APP_REGISTRY_METADATA_KEY, { source: 'config/apps.json', document: { apps: APPS } }],
  ]);
  stack(app, 'Production', 'production', '111111111111');
  stack(app, 'Staging', 'staging');
  stack(app, 'Unmarked', undefined);
  app.synth();
  versioned = readCloudAssembly(one);

  const two = tmp();
  const bare = new App({ outdir: two, analyticsReporting: false });
  stack(bare, 'Sandbox', 'sandbox');
  bare.synth();
  plain = readCloudAssembly(two);
});

afterAll(() => {
  jest.restoreAllMocks();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const build = (input: CloudAssemblyInput): ComplianceReport => buildComplianceReport(input, OPTIONS);

/** The rows of the HTML table with the given class. */
function htmlRows(html: string, cls: string): string[] {
  const start = html.indexOf(`<table class="${cls}">`);
  expect(start).toBeGreaterThan(0);
  const body = html.slice(html.indexOf('<tbody>', start), html.indexOf('</table>', start));
  return body.split('<tr>').slice(1);
}

describe('API versions (section 8)', () => {
  test('one row per recorded version, in configuration order, with its stage, base path, dates, successor and which is current', () => {
    const r = build(versioned);
    expect(r.apiVersions.problems).toEqual([]);
    expect(r.apiVersions.gateways).toEqual([expect.objectContaining({ gateway: 'Sandbox/Gateway', stack: 'Sandbox', current: 'v3' })]);
    const rows = r.apiVersions.gateways[0].versions;
    expect(rows.map((v) => [v.version, v.status, v.served, v.fhirBasePath, v.current])).toEqual([
      ['v1', 'retired', false, '/v1/r4', false],
      ['v2', 'deprecated', true, '/v2/r4', false],
      ['v3', 'active', true, '/v3/r4', true],
    ]);
    expect(rows[1]).toMatchObject({ deprecatedAt: '2026-10-01', sunsetAt: '2027-02-01', successor: 'v3', migrationNotesUrl: HOSTILE_URL });
    const html = renderHtml(r);
    const tr = htmlRows(html, 'versions');
    expect(tr).toHaveLength(3);
    expect(tr[2]).toContain('<code>v3</code> <span class="badge b-current">current</span>');
    expect(renderMarkdown(r)).toMatch(/\| `v3` \*\*current\*\* \| active \| served \| `\/v3\/r4` \|/);
  });

  test('a notice under six months is flagged; six or more is not', () => {
    const r = build(versioned);
    const [v1, v2, v3] = r.apiVersions.gateways[0].versions;
    expect([v1.noticeMonths, v1.shortNotice]).toEqual([8, false]);
    expect([v2.noticeMonths, v2.shortNotice]).toEqual([4, true]);
    expect([v3.noticeMonths, v3.shortNotice]).toEqual([undefined, false]);
    const tr = htmlRows(renderHtml(r), 'versions');
    expect(tr[1]).toContain('4 months <span class="badge b-violated">under 6 months</span>');
    expect(tr[0]).toContain('8 months');
    expect(tr[0]).not.toContain('under 6 months');
    expect(renderMarkdown(r)).toContain('4 months ❌ **under 6 months**');
    // Calendar months, as the rule counts them: one day short of six months is short.
    expect(noticeMonths('2026-01-31', '2026-07-30')).toBe(5);
    expect(noticeMonths('2026-01-01', '2026-07-01')).toBe(6);
  });

  test('a retired version is shown as not served', () => {
    const r = build(versioned);
    const tr = htmlRows(renderHtml(r), 'versions');
    expect(tr[0]).toContain('<span class="badge b-not-covered">retired</span>');
    expect(tr[0]).toContain('<span class="badge b-none">not served</span>');
    expect(renderMarkdown(r)).toMatch(/\| `v1` \| retired \| not served \| `\/v1\/r4` \|/);
  });

  test('no stack records API versions: the report says so, and it is not an error', () => {
    const r = build(plain);
    expect(r.apiVersions).toEqual({ gateways: [], problems: [] });
    expect(r.notices.filter((n) => /API versions/.test(n))).toEqual([]);
    const section = renderHtml(r).split('<section id="api-versions"')[1].split('</section>')[0];
    expect(section).toMatch(/No API versions recorded/);
    expect(renderMarkdown(r)).toMatch(/No API versions recorded/);
  });

  test('metadata not in the form the gateway writes is left out with a notice, never thrown', () => {
    const stacks = plain.stacks.map((s) => ({ ...s, metadata: new Map([...s.metadata, ['Sandbox/Gateway', [{ type: API_VERSIONS_METADATA_KEY, data: { versions: 'v1' } }]]]) }));
    const r = build({ ...plain, stacks });
    expect(r.apiVersions.gateways).toEqual([]);
    expect(r.notices).toEqual(expect.arrayContaining([expect.stringMatching(/API versions recorded on Sandbox\/Gateway .* not in the form FhirGateway writes/)]));
  });

  test('HTML and Markdown escape a hostile migration URL (and make no link of it)', () => {
    const r = build(versioned);
    const html = renderHtml(r);
    expect(html).not.toContain('<script>alert');
    expect(html).toContain(escapeHtml('<script>alert(1)</script>'));
    expect(html).not.toMatch(/href="https:\/\/docs\.example\.org/);
    const md = renderMarkdown(r);
    expect(md).not.toContain('<script>');
    expect(md).toContain(escapeMarkdown(HOSTILE_URL));
  });
});

describe("the apps' API versions (section 7)", () => {
  test("each app's versions as the gateways record them; an app the registry names none for shows none", () => {
    const r = build(versioned);
    const byId = new Map(r.apps.apps.map((a) => [a.id, a]));
    expect(r.apps.error).toBeUndefined();
    expect(byId.get('old-portal')?.apiVersions).toEqual([
      { version: 'v2', status: 'deprecated', sunsetAt: '2027-02-01', successor: 'v3' },
      { version: 'v3', status: 'active' },
    ]);
    expect(byId.get('new-portal')?.apiVersions).toEqual([{ version: 'v3', status: 'active' }]);
    expect(byId.get('quiet-portal')?.apiVersions).toBeUndefined();
    // Section 8 names the apps on each version.
    expect(r.apiVersions.gateways[0].versions.map((v) => v.usedBy)).toEqual([[], ['old-portal'], ['old-portal', 'new-portal']]);
  });

  test('an app on a deprecated version is called out with its sunset date', () => {
    const r = build(versioned);
    const html = renderHtml(r);
    const apps = html.split('<section id="apps"')[1].split('</section>')[0];
    const notice = apps.slice(apps.indexOf('<div class="notice bad"'), apps.indexOf('</div>', apps.indexOf('<div class="notice bad"')));
    expect(notice).toContain('1 app on an API version that is deprecated');
    expect(notice).toContain('<strong>Old &lt;Portal&gt;</strong>');
    expect(notice).toContain('<code>v2</code>, deprecated, sunset <strong>2027-02-01</strong> (successor <code>v3</code>)');
    expect(notice).not.toContain('New Portal');
    const md = renderMarkdown(r);
    expect(md).toContain('- ❌ Old &lt;Portal&gt; (`old-portal`) uses `v2`, deprecated, sunset **2027-02-01** (successor `v3`)');
  });

  test('a version no gateway records is unknown, the worst status across gateways wins', () => {
    const section = build(versioned).apiVersions;
    expect(appApiVersions(['v9', 'v1'], section)).toEqual([{ version: 'v9', status: 'unknown' }, { version: 'v1', status: 'retired', sunsetAt: '2025-09-01', successor: 'v3' }]);
    const two = { ...section, gateways: [...section.gateways, { ...section.gateways[0], gateway: 'Other/Gateway', versions: section.gateways[0].versions.map((v) => ({ ...v, status: 'active' as const })) }] };
    expect(appApiVersions(['v2'], two)[0].status).toBe('deprecated');
  });

  test('the registry field is read defensively: only a list, only its strings', () => {
    expect(registeredApiVersions({ apiVersions: ['v1', 2, 'v2'] })).toEqual(['v1', 'v2']);
    expect(registeredApiVersions({ apiVersions: 'v1' })).toBeUndefined();
    expect(registeredApiVersions({})).toBeUndefined();
    expect(registeredApiVersions(null)).toBeUndefined();
  });
});

describe('what differs between environments (section 9)', () => {
  test('the table is ENVIRONMENT_DIFFERENCES, row for row, in HTML and Markdown', () => {
    const r = build(versioned);
    expect(r.environments.differences).toBe(ENVIRONMENT_DIFFERENCES);
    const tr = htmlRows(renderHtml(r), 'envs');
    expect(tr).toHaveLength(ENVIRONMENT_DIFFERENCES.length);
    ENVIRONMENT_DIFFERENCES.forEach((d, i) => expect(tr[i]).toContain(`<strong>${escapeHtml(d.setting)}</strong>`));
    const md = renderMarkdown(r);
    for (const d of ENVIRONMENT_DIFFERENCES) expect(md).toContain(`| **${escapeMarkdown(d.setting)}** |`);
  });

  test('names the environments the stacks were marked and the accounts they are bound to', () => {
    const r = build(versioned);
    expect(r.environments.marked).toEqual(r.summary.environments);
    expect(r.environments.marked).toEqual(['sandbox', 'production', 'staging']);
    expect(r.environments.stacks).toEqual([
      { stack: 'Sandbox', deploymentEnvironment: 'sandbox', assumed: false, envAgnostic: true, accountAllowed: true },
      { stack: 'Production', deploymentEnvironment: 'production', assumed: false, account: '111111111111', region: 'eu-west-1', envAgnostic: false, accountAllowed: true },
      { stack: 'Staging', deploymentEnvironment: 'staging', assumed: false, envAgnostic: true, accountAllowed: false },
      { stack: 'Unmarked', assumed: false, envAgnostic: true, accountAllowed: false },
    ]);
    const html = renderHtml(r);
    expect(html).toContain('The synthesized stacks were marked <strong>sandbox, production, staging</strong>.');
    expect(html).toContain('<th scope="col">production (this synth)</th>');
  });

  test('an env-agnostic stack: allowed for sandbox only, and named when it is not sandbox', () => {
    const r = build(versioned);
    const html = renderHtml(r);
    expect(html).toContain('3 stacks are env-agnostic (no account bound): allowed for sandbox only, and Staging, Unmarked are not sandbox.');
    expect(htmlRows(html, 'envs').length).toBeGreaterThan(0);
    expect(renderMarkdown(r)).toContain('3 stacks are env-agnostic (no account bound): allowed for sandbox only, and ❌ Staging, Unmarked are not sandbox.');
    const sandbox = build(plain);
    expect(renderHtml(sandbox)).toContain('1 stack is env-agnostic (no account bound): allowed for sandbox only.');
    expect(renderMarkdown(sandbox)).toContain('1 stack is env-agnostic (no account bound): allowed for sandbox only.');
  });
});
