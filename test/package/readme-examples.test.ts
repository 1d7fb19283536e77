import * as fs from 'fs';
import * as path from 'path';

/**
 * The README's "Use it in your own stack" examples are the files under `examples/`, copied
 * verbatim without their header comment; `install.test.ts` compiles and synthesizes those files
 * from an installed tarball. This test keeps the README from drifting from them.
 */
const ROOT = path.join(__dirname, '..', '..');
const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const examples = fs
  .readdirSync(path.join(ROOT, 'examples'))
  .map((d) => `examples/${d}/app.ts`)
  .filter((f) => fs.existsSync(path.join(ROOT, f)))
  .sort();

/** The file without its leading `/** … *\/` header. */
function body(file: string): string {
  return fs.readFileSync(path.join(ROOT, file), 'utf8').replace(/^\/\*\*[\s\S]*?\*\/\n/, '');
}

describe('the README examples are the example files', () => {
  test('there are examples', () => {
    expect(examples).toEqual(['examples/platform/app.ts', 'examples/team-stack/app.ts']);
  });

  test.each(examples)('%s: named by a link and shown verbatim in the README', (file) => {
    expect(readme).toContain(`](${file})`);
    expect(readme).toContain(`\`\`\`ts\n${body(file)}\`\`\``);
  });

  test('the README shows no other TypeScript block importing the package', () => {
    const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]).filter((b) => /from 'zero-trust-fhir/.test(b));
    expect(blocks.sort()).toEqual(examples.map(body).sort());
  });
});
