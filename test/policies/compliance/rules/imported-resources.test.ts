/**
 * FHIR.HIPAA-ImportedResourceAttested, both ways: a resource carrying an import record (on itself,
 * or on the L2 whose default child it is) is a finding per kind, `[keys]`, `[vpc]`, `[user-pool]`,
 * naming the requirements to check, until acknowledged with a reason; anything else is not
 * applicable.
 */
import { CfnWaitConditionHandle, Stack } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledge, acknowledgementId } from '../../../../policies/compliance/acknowledge';
import { FHIR_HIPAA_RULE_IDS } from '../../../../policies/compliance/fhir-hipaa-checks';
import {
  IMPORT_ACKNOWLEDGEMENT_IDS, IMPORTED_RESOURCE_METADATA_KEY, IMPORTED_RESOURCE_RULE_ID, importRecordsOf, markImportedUse, recordImport, type ImportedResourceKind,
} from '../../../../policies/compliance/imported-resources';
import { findingsOf, granularFindings, newStack, validate, violatingPaths } from '../helpers';

const RULE = 'ImportedResourceAttested';
const REASON = 'Checked in the console on 2026-12-01 by the platform team (J. Doe): MFA required, Plus plan with threat protection enforced, deletion protection on.';

/** An import record on a plain construct, as FhirKeys.fromKeys, SegmentedNetwork.fromVpc and SmartIdentity write it. */
function imported(scope: Construct, id: string, kind: ImportedResourceKind, requirements = [`the ${kind} is as the kit requires;`]) {
  const c = new Construct(scope, id);
  recordImport(c, kind, { resources: [`arn:aws:example:us-east-1:111122223333:${kind}/x`], requirements, rulesThatCannotSee: ['FHIR.HIPAA-Example'] });
  return c;
}

function description(stack: Stack, finding: string): string[] {
  return validate(stack).violations.filter((v) => v.ruleName === `FHIR.HIPAA-${RULE}[${finding}]`).map((v) => v.description);
}

describe('FHIR.HIPAA-ImportedResourceAttested', () => {
  test('the rule id and the acknowledgement ids are the pack\'s', () => {
    expect(FHIR_HIPAA_RULE_IDS).toContain(IMPORTED_RESOURCE_RULE_ID);
    expect(IMPORT_ACKNOWLEDGEMENT_IDS).toEqual({
      keys: 'FHIR.HIPAA-ImportedResourceAttested[keys]', vpc: 'FHIR.HIPAA-ImportedResourceAttested[vpc]', 'user-pool': 'FHIR.HIPAA-ImportedResourceAttested[user-pool]',
    });
    for (const id of Object.values(IMPORT_ACKNOWLEDGEMENT_IDS)) expect(acknowledgementId(id)).toBe(id);
  });

  test('Noncompliance 1: an L1 the kit marked with an imported user pool\'s record; the finding names what to check and how to acknowledge', () => {
    const stack = newStack('production');
    const pool = imported(stack, 'Identity', 'user-pool', ['the pool requires MFA (TOTP only);', 'it has deletion protection;']);
    const domain = new CfnWaitConditionHandle(stack, 'Domain');
    expect(markImportedUse(domain, pool)).toHaveLength(1);
    expect(granularFindings(stack, RULE)).toEqual(['user-pool']);
    expect(violatingPaths(stack, RULE)).toEqual(['Test/Domain']);
    const [text] = description(stack, 'user-pool');
    expect(text).toMatch(/^Imported user pool \(arn:aws:example:us-east-1:111122223333:user-pool\/x\): the kit cannot check at synth that the pool requires MFA \(TOTP only\); it has deletion protection; \(FHIR\.HIPAA-Example do not see imported resources\)\. Check them, then acknowledge .*acknowledge\(<this resource or its stack>, 'FHIR\.HIPAA-ImportedResourceAttested\[user-pool\]', '<reason>'\)\. /);
    expect(text).toContain('(Control IDs: 164.308(a)(1)(ii)(A), 164.308(a)(8))');
  });

  test('Noncompliance 2: the record on the L2 whose default child the L1 is (a log group encrypted with imported keys)', () => {
    const stack = newStack();
    const group = new logs.LogGroup(stack, 'FlowLogGroup');
    markImportedUse(group, imported(stack, 'Keys', 'keys'));
    expect(granularFindings(stack, RULE)).toEqual(['keys']);
    expect(violatingPaths(stack, RULE)).toEqual(['Test/FlowLogGroup/Resource']);
  });

  test('Noncompliance 3: two imports on one resource are two findings; the kind filter copies only its kind; a record is copied once', () => {
    const stack = newStack();
    const both = new Construct(stack, 'Both');
    for (const r of [...importRecordsOf(imported(stack, 'Keys', 'keys')), ...importRecordsOf(imported(stack, 'Vpc', 'vpc'))]) both.node.addMetadata(IMPORTED_RESOURCE_METADATA_KEY, r);
    const endpoint = new CfnWaitConditionHandle(stack, 'Endpoint');
    expect(markImportedUse(endpoint, both, 'vpc').map((r) => r.kind)).toEqual(['vpc']);
    expect(markImportedUse(endpoint, both, 'vpc')).toEqual([]);
    const trail = new CfnWaitConditionHandle(stack, 'Trail');
    markImportedUse(trail, both);
    expect(findingsOf(stack, RULE)).toEqual(['FHIR.HIPAA-ImportedResourceAttested[keys]', 'FHIR.HIPAA-ImportedResourceAttested[vpc]', 'FHIR.HIPAA-ImportedResourceAttested[vpc]']);
    expect(violatingPaths(stack, RULE)).toEqual(['Test/Endpoint', 'Test/Trail', 'Test/Trail']);
  });

  test('Compliance: acknowledged by its granular id with a reason (on the stack; waivable in production too), only that kind', () => {
    const stack = newStack('production');
    markImportedUse(new CfnWaitConditionHandle(stack, 'Domain'), imported(stack, 'Identity', 'user-pool'));
    markImportedUse(new CfnWaitConditionHandle(stack, 'Endpoint'), imported(stack, 'Network', 'vpc'));
    acknowledge(stack, IMPORT_ACKNOWLEDGEMENT_IDS['user-pool'], REASON);
    expect(granularFindings(stack, RULE)).toEqual(['vpc']);
    acknowledge(stack, IMPORT_ACKNOWLEDGEMENT_IDS.vpc, REASON);
    expect(findingsOf(stack, RULE)).toEqual([]);
    expect(validate(stack).violations.filter((v) => v.severity === 'fatal')).toEqual([]);
  });

  test('Not applicable: no record; a record only on the importing construct; an L2\'s children other than its default child; malformed records', () => {
    const stack = newStack();
    new CfnWaitConditionHandle(stack, 'Plain');
    new CfnWaitConditionHandle(imported(stack, 'Keys', 'keys'), 'NotTheDefaultChild');
    const group = new logs.LogGroup(stack, 'Group');
    new CfnWaitConditionHandle(group, 'Other');
    markImportedUse(group, imported(stack, 'Vpc', 'vpc'));
    const odd = new CfnWaitConditionHandle(stack, 'Odd');
    odd.node.addMetadata(IMPORTED_RESOURCE_METADATA_KEY, { kind: 'bucket', resources: [], requirements: [], rulesThatCannotSee: [] });
    odd.node.addMetadata(IMPORTED_RESOURCE_METADATA_KEY, { kind: 'keys', resources: 'not a list' });
    expect(markImportedUse(new CfnWaitConditionHandle(stack, 'FromNothing'), 'not a construct')).toEqual([]);
    expect(markImportedUse(new CfnWaitConditionHandle(stack, 'FromKitKeys'), new Construct(stack, 'KitKeys'))).toEqual([]);
    expect(violatingPaths(stack, RULE)).toEqual(['Test/Group/Resource']);
  });
});
