/**
 * Reads the 45 CFR citations out of a rule message. cdk-nag's HIPAA pack ends its messages with
 * `(Control IDs: 164.312(a)(2)(iv), 164.312(e)(2)(ii)).` or `(Control ID: 164.312(b)).`; the kit's
 * `FHIR.HIPAA` pack with `(Control IDs: …)` (see `policies/citations.ts`). Citations contain
 * parentheses themselves, so the list ends at the bracket that closes the opening one.
 *
 * @returns the citations in order, or `[]` when the message cites none
 */
export function extractControlIds(message: string): string[] {
  const re = /\(Control IDs?:\s*/g;
  let start = -1;
  for (let m = re.exec(message); m; m = re.exec(message)) start = m.index + m[0].length;
  if (start < 0) return [];
  let depth = 1;
  let end = start;
  for (; end < message.length && depth > 0; end++) {
    if (message[end] === '(') depth++;
    else if (message[end] === ')') depth--;
  }
  if (depth !== 0) return [];
  return message
    .slice(start, end - 1)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
