/**
 * The layout of `policies/` (policies/README.md): the platform's access policies (app registry,
 * label policy, profiles, their loaders) at the top, the compliance gate under
 * `policies/compliance/`. Imports run one way: `lib/ → policies/`, `policies/compliance/ →
 * policies/` (access); never `policies/** → lib/**`, never access → compliance.
 */
import { readdirSync, readFileSync } from 'fs';
import { dirname, join, relative, resolve, sep } from 'path';

const ROOT = resolve(__dirname, '..', '..');
const POLICIES = join(ROOT, 'policies');
const COMPLIANCE = join(POLICIES, 'compliance');
const LIB = join(ROOT, 'lib');

/** The stable entry points at the top of `policies/` that re-export the compliance side. */
const ENTRY_POINTS = ['index.ts', 'fhir-hipaa-checks.ts'].map((f) => join(POLICIES, f));

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    if (d.isDirectory()) return tsFiles(p);
    return d.name.endsWith('.ts') && !d.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Every module specifier of a TypeScript source: static and type imports, re-exports, `require`, `import()`. */
function importSpecifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const specs: string[] = [];
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/g,
    /\b(?:require|import)\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) for (const m of code.matchAll(pattern)) specs.push(m[1]);
  return specs;
}

/** The repository paths (absolute, without extension) a file imports by relative specifier. */
function importedPaths(file: string): string[] {
  return importSpecifiers(readFileSync(file, 'utf8'))
    .filter((s) => s.startsWith('.'))
    .map((s) => resolve(dirname(file), s));
}

const within = (path: string, dir: string) => path === dir || path.startsWith(dir + sep);
const show = (p: string) => relative(ROOT, p).split(sep).join('/');

describe('policies/ layout: imports run one way', () => {
  const files = tsFiles(POLICIES);
  const access = files.filter((f) => !within(f, COMPLIANCE) && !ENTRY_POINTS.includes(f));

  test('the scan sees both sides and their imports', () => {
    expect(access.map(show)).toEqual(expect.arrayContaining(['policies/app-registry.ts', 'policies/label-policy.ts', 'policies/schema-errors.ts']));
    expect(files.filter((f) => within(f, COMPLIANCE)).length).toBeGreaterThan(50);
    expect(importSpecifiers("import { a } from '../x';\nimport type { B } from \"./y\";\nexport * from './z';\nconst c = require('../w');\n// import { no } from '../commented';"))
      .toEqual(['../x', './y', './z', '../w']);
  });

  test('nothing under policies/ imports lib/', () => {
    const offending = files.flatMap((f) => importedPaths(f).filter((p) => within(p, LIB)).map((p) => `${show(f)} imports ${show(p)}`));
    expect(offending).toEqual([]);
  });

  test('the access policies (app registry, label policy, their loaders) never import policies/compliance/', () => {
    const offending = access.flatMap((f) => importedPaths(f).filter((p) => within(p, COMPLIANCE)).map((p) => `${show(f)} imports ${show(p)}`));
    expect(offending).toEqual([]);
  });

  test('the entry points at the top of policies/ only re-export policies/compliance/', () => {
    for (const f of ENTRY_POINTS) {
      expect(importedPaths(f).every((p) => within(p, COMPLIANCE))).toBe(true);
    }
  });
});
