/**
 * The kit's constructs acknowledge findings with the kit's helper,
 * `acknowledge(scope, id, reason)` (policies/compliance/acknowledge.ts: a reason is required, the
 * id is read by the one normaliser the gate, the evidence and the report share), never with
 * `Validations.of(x).acknowledge(...)` directly. Reading acknowledgements
 * (`Validations.ACKNOWLEDGED_RULES_METADATA_KEY`) is fine.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

const ROOT = path.join(__dirname, '..', '..');
/** The one file allowed to call it: the helper itself. */
const HELPER = 'policies/compliance/acknowledge.ts';

function tsFiles(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return tsFiles(rel);
    return e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [rel] : [];
  });
}

/**
 * `line: text` of each direct acknowledgement in `source`: a call of `.acknowledge(...)` on
 * `Validations.of(...)` (also under an import alias, through a variable holding
 * `Validations.of(...)`, or as `Validations.of(x)['acknowledge'](...)`), however it is formatted.
 */
export function directAcknowledgements(fileName: string, source: string): string[] {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true);
  const names = new Set<string>(['Validations']);
  const holders = new Set<string>();
  const found: string[] = [];
  const isValidationsOf = (node: ts.Node): boolean => {
    const e = skip(node);
    if (ts.isIdentifier(e) && holders.has(e.text)) return true;
    if (!ts.isCallExpression(e)) return false;
    const callee = skip(e.expression);
    return (ts.isPropertyAccessExpression(callee) && callee.name.text === 'of' && ts.isIdentifier(skip(callee.expression)) && names.has((skip(callee.expression) as ts.Identifier).text))
      || (ts.isElementAccessExpression(callee) && ts.isStringLiteralLike(callee.argumentExpression) && callee.argumentExpression.text === 'of' && ts.isIdentifier(skip(callee.expression)) && names.has((skip(callee.expression) as ts.Identifier).text));
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportSpecifier(node) && (node.propertyName ?? node.name).text === 'Validations') names.add(node.name.text);
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer && isValidationsOf(node.initializer)) holders.add(node.name.text);
    if (ts.isCallExpression(node)) {
      const callee = skip(node.expression);
      const method = ts.isPropertyAccessExpression(callee) ? callee.name.text
        : ts.isElementAccessExpression(callee) && ts.isStringLiteralLike(callee.argumentExpression) ? callee.argumentExpression.text : undefined;
      if (method === 'acknowledge' && (ts.isPropertyAccessExpression(callee) || ts.isElementAccessExpression(callee)) && isValidationsOf(callee.expression)) {
        const { line } = file.getLineAndCharacterOfPosition(node.getStart(file));
        found.push(`${fileName}:${line + 1}: ${node.getText(file).split('\n')[0]}`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

function skip(node: ts.Node): ts.Node {
  let e = node;
  while (ts.isParenthesizedExpression(e) || ts.isNonNullExpression(e) || ts.isAsExpression(e)) e = e.expression;
  return e;
}

describe("the kit's constructs acknowledge with acknowledge()", () => {
  test('no file under lib/ calls Validations.of(...).acknowledge directly', () => {
    const files = tsFiles('lib').filter((f) => f !== HELPER);
    expect(files.length).toBeGreaterThan(20);
    const direct = files.flatMap((f) => directAcknowledgements(f, fs.readFileSync(path.join(ROOT, f), 'utf8')));
    expect(direct).toEqual([]);
  });

  test('the helper is the one place that does (the scan finds it there)', () => {
    expect(directAcknowledgements(HELPER, fs.readFileSync(path.join(ROOT, HELPER), 'utf8'))).toHaveLength(1);
  });

  test.each([
    ['on one line', "import { Validations } from 'aws-cdk-lib';\nValidations.of(fn).acknowledge({ id: 'X', reason: 'y' });"],
    ['over several lines', "import { Validations } from 'aws-cdk-lib';\nValidations\n  .of(this.guard.role.policy)\n  .acknowledge({\n    id: 'X',\n    reason: 'y',\n  });"],
    ['under an alias', "import { Validations as V } from 'aws-cdk-lib';\nV.of(fn).acknowledge({ id: 'X', reason: 'y' });"],
    ['through a variable', "import { Validations } from 'aws-cdk-lib';\nconst v = Validations.of(fn);\nv.acknowledge({ id: 'X', reason: 'y' });"],
    ['by element access', "import { Validations } from 'aws-cdk-lib';\nValidations.of(fn)['acknowledge']({ id: 'X', reason: 'y' });"],
  ])('finds a direct call %s', (_, source) => {
    expect(directAcknowledgements('lib/example.ts', source)).toHaveLength(1);
  });

  test('leaves alone a read of acknowledgements, the helper, and the words in a comment', () => {
    const source = [
      "import { Validations } from 'aws-cdk-lib';",
      "import { acknowledge } from '../policies/compliance/acknowledge';",
      '// Validations.of(x).acknowledge({ id, reason }) is what acknowledge() records',
      "acknowledge(fn, 'HIPAA.Security-LambdaDLQ', 'synchronous');",
      'const key = Validations.ACKNOWLEDGED_RULES_METADATA_KEY;',
      'Validations.of(app).addPlugins(plugin);',
    ].join('\n');
    expect(directAcknowledgements('lib/example.ts', source)).toEqual([]);
  });
});
