/**
 * `npm run bench`: runs every `bench/*.bench.ts` module in name order and prints its figures.
 * Each module exports `run(): Promise<void>` that measures in this process and prints its own
 * table. Nothing here is a pass/fail test; targets are printed next to the measurements.
 */
import * as fs from 'fs';
import * as path from 'path';

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const files = fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.ts'))
    .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
    .sort();
  if (files.length === 0) {
    console.log('No benchmarks matched.');
    return;
  }
  for (const file of files) {
    console.log(`\n## ${file}`);
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const mod = require(path.join(__dirname, file)) as { run: () => Promise<void> };
    await mod.run();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
