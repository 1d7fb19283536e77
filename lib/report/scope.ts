/**
 * What the compliance packs can and cannot establish, stated in the report so that no reader
 * takes a configuration check for a safeguard it cannot show, and the sign-off block.
 */
import { ScopeStatement, SignOff } from './model';
import { sectionNumber } from './text';

export const SCOPE: ScopeStatement = {
  establishes: [
    'The technical safeguards of 45 CFR 164.312 as the templates configure them: access control (who may call what, with which keys and through which network path), audit controls (what is logged, where, encrypted and for how long), integrity, person or entity authentication, and transmission security.',
    'The technical part of administrative safeguards of 164.308: that the configuration a safeguard relies on exists (access authorization, log-in monitoring through threat protection, activity records and alarms, backups and retention, protection from malicious requests). The matrix marks these "technical evidence", not "met".',
    `That every resource of every stack was evaluated by the packs, or is listed as evaluated by none (section ${sectionNumber('coverage')}); a function, role, policy, bucket, table, log group, key or datastore that the rules for its type did not evaluate is itself a finding.`,
  ],
  organisationEvidences: [
    { citation: '164.308(a)(1)(i)', title: 'Security management process', why: 'the risk analysis and risk management plan themselves, and the sanction policy' },
    { citation: '164.308(a)(2)', title: 'Assigned security responsibility', why: 'who the security official is' },
    { citation: '164.308(a)(3)', title: 'Workforce security', why: 'authorization, supervision and clearance of people, and termination procedures' },
    { citation: '164.308(a)(5)(i)', title: 'Security awareness and training', why: 'the training programme and its records; log-in monitoring as a procedure someone follows' },
    { citation: '164.308(a)(6)(i)', title: 'Security incident procedures', why: 'the written response procedures and their records (the kit only raises the alarms)' },
    { citation: '164.308(a)(7)(ii)(D)', title: 'Contingency plan: testing and revision', why: 'that backups and recovery were tested' },
    { citation: '164.308(a)(8)', title: 'Evaluation', why: 'the periodic technical and non-technical evaluation (this report is one input to it)' },
    { citation: '164.308(b)(1), 164.314(a)(1)', title: 'Business associate contracts', why: 'the signed agreements, with AWS and with each app vendor (the app registry records only a reference)' },
    { citation: '164.310(a)(1)', title: 'Physical safeguards: facility access controls', why: 'AWS\'s for its data centres (its HIPAA attestations, under the BAA with AWS); the organisation\'s for its own sites' },
    { citation: '164.310(b), 164.310(c)', title: 'Physical safeguards: workstation use and security', why: 'the workstations and devices from which the workforce reaches the platform and the AWS console' },
    { citation: '164.310(d)(1)', title: 'Physical safeguards: device and media controls', why: 'disposal and re-use of media outside AWS, and the accountability for it' },
    { citation: '164.316(a), 164.316(b)(1)', title: 'Policies and procedures, documentation', why: 'the written policies and procedures, and keeping them six years' },
  ],
  limits: [
    'The packs read the synthesized templates, not the deployed account: drift, manual changes and runtime behaviour are outside this report (the handlers\' behaviour is tested by the kit\'s own tests).',
    'An acknowledged finding is a decision someone made and gave a reason for; the reviewer judges the reason.',
    'A rule that found nothing to evaluate in this app ("not evaluated") says nothing about the safeguard.',
  ],
};

export const SIGN_OFF: SignOff = {
  fields: ['Reviewer', 'Role', 'Date', 'Decision', 'Notes'],
  decisions: ['Approved', 'Approved with conditions', 'Not approved'],
  statement: 'I reviewed this report for the templates, versions and environments listed under "What was reviewed", and the decision below covers exactly those.',
};
