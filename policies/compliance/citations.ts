/**
 * The one catalogue of the HIPAA Security Rule citations (45 CFR Part 164, Subpart C) that the
 * kit's compliance rules cite, and those cdk-nag's HIPAA.Security pack cites, with the title each
 * carries in the regulation (the reviewer's report names every citation from here).
 *
 * A rule names its citations by id (type-checked against this catalogue) and formats them with
 * {@link controlIds}, so every `FHIR.HIPAA` finding ends the way cdk-nag's own HIPAA pack does:
 * `(Control IDs: 164.312(b), 164.312(e)(1))`.
 *
 * @see https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C
 */
export const HIPAA_CITATIONS = {
  '164.308(a)(1)(ii)(A)': 'Security management process: risk analysis',
  '164.308(a)(1)(ii)(B)': 'Security management process: risk management',
  '164.308(a)(1)(ii)(D)': 'Security management process: information system activity review',
  '164.308(a)(3)(i)': 'Workforce security',
  '164.308(a)(3)(ii)(A)': 'Workforce security: authorization and/or supervision',
  '164.308(a)(3)(ii)(B)': 'Workforce security: workforce clearance procedure',
  '164.308(a)(4)(i)': 'Information access management',
  '164.308(a)(4)(ii)(A)': 'Information access management: isolating health care clearinghouse functions',
  '164.308(a)(4)(ii)(B)': 'Information access management: access authorization',
  '164.308(a)(4)(ii)(C)': 'Information access management: access establishment and modification',
  '164.308(a)(5)(ii)(A)': 'Security awareness and training: security reminders',
  '164.308(a)(5)(ii)(B)': 'Security awareness and training: protection from malicious software',
  '164.308(a)(5)(ii)(C)': 'Security awareness and training: log-in monitoring',
  '164.308(a)(5)(ii)(D)': 'Security awareness and training: password management',
  '164.308(a)(6)(ii)': 'Security incident procedures: response and reporting',
  '164.308(a)(7)(i)': 'Contingency plan',
  '164.308(a)(7)(ii)(A)': 'Contingency plan: data backup plan',
  '164.308(a)(7)(ii)(B)': 'Contingency plan: disaster recovery plan',
  '164.308(a)(7)(ii)(C)': 'Contingency plan: emergency mode operation plan',
  '164.308(a)(8)': 'Evaluation',
  '164.308(b)(1)': 'Business associate contracts and other arrangements',
  '164.312(a)(1)': 'Access control',
  '164.312(a)(2)(i)': 'Access control: unique user identification',
  '164.312(a)(2)(iii)': 'Access control: automatic logoff',
  '164.312(a)(2)(iv)': 'Access control: encryption and decryption',
  '164.312(b)': 'Audit controls',
  '164.312(c)(1)': 'Integrity',
  '164.312(c)(2)': 'Integrity: mechanism to authenticate electronic protected health information',
  '164.312(d)': 'Person or entity authentication',
  '164.312(e)(1)': 'Transmission security',
  '164.312(e)(2)(i)': 'Transmission security: integrity controls',
  '164.312(e)(2)(ii)': 'Transmission security: encryption',
  '164.314(a)(1)': 'Organizational requirements: business associate contracts or other arrangements',
  '164.316(b)(2)(i)': 'Documentation: time limit (retain for six years)',
} as const;

/** A citation id of the catalogue, e.g. `164.312(b)`. */
export type HipaaCitationId = keyof typeof HIPAA_CITATIONS;

/** Every catalogued citation id, in the regulation's order. */
export const HIPAA_CITATION_IDS: readonly HipaaCitationId[] = Object.keys(HIPAA_CITATIONS) as HipaaCitationId[];

/** True when `id` is in the catalogue. */
export function isHipaaCitation(id: string): id is HipaaCitationId {
  return Object.prototype.hasOwnProperty.call(HIPAA_CITATIONS, id);
}

/** The title of a catalogued citation. */
export function citationTitle(id: HipaaCitationId): string {
  return HIPAA_CITATIONS[id];
}

/**
 * Formats citations the way rule messages end: `(Control IDs: 164.312(b), 164.312(e)(1))`.
 * Throws on an empty list or an id outside the catalogue (a rule must cite something real).
 */
export function controlIds(citations: readonly HipaaCitationId[]): string {
  if (citations.length === 0) throw new Error('controlIds: a rule must cite at least one HIPAA control');
  for (const id of citations) {
    if (!isHipaaCitation(id)) throw new Error(`controlIds: "${String(id)}" is not in the HIPAA citation catalogue (policies/compliance/citations.ts)`);
  }
  return `(Control IDs: ${citations.join(', ')})`;
}

/** Appends {@link controlIds} to a rule's cause: `"<cause> (Control IDs: …)"`. */
export function withCitations(cause: string, citations: readonly HipaaCitationId[]): string {
  return `${cause.trim()} ${controlIds(citations)}`;
}

/**
 * Reads the 45 CFR citations out of a rule message. cdk-nag's HIPAA pack ends its messages with
 * `(Control IDs: 164.312(a)(2)(iv), 164.312(e)(2)(ii)).` or `(Control ID: 164.312(b)).`; the kit's
 * `FHIR.HIPAA` pack with `(Control IDs: …)` (see `policies/compliance/citations.ts`). Citations contain
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
