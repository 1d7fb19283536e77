/** `npm run synth` (bin/synth.ts) fails when the report's verdict is not PASS, even if cdk synth exited 0. */
import { synthExitStatus } from '../bin/synth';

test.each([
  [0, 'pass', 0],
  [0, 'fail', 1],
  [0, 'unchecked', 1],
  [0, 'no-assembly', 1],
  [1, 'pass', 1],
  [2, 'fail', 2],
])('cdk status %i with verdict %s exits %i', (status, verdict, exit) => {
  expect(synthExitStatus(status, verdict)).toBe(exit);
});
