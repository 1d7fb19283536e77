import { CfnResource } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { SKIP_ACKNOWLEDGEMENTS_CONTEXT, ZeroTrustFhirStack } from '../lib';
import { referenceStackAcknowledgements } from '../lib/private/acknowledgements';
import { createCompliancePacks } from '../policies';
import { createTestApp } from './helpers/app';

/**
 * Every acknowledgement of the reference stack must still be needed: built without them, the
 * stack must show exactly those findings, on those constructs. A stale acknowledgement (its
 * finding fixed) or a missing one (a new finding) fails here.
 */
const bare = new ZeroTrustFhirStack(createTestApp({ context: { [SKIP_ACKNOWLEDGEMENTS_CONTEXT]: true } }), 'Bare', { environment: 'sandbox' });
const findings = createCompliancePacks().flatMap((pack) =>
  pack.validateScope(bare).violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} @ ${r.constructPath}`)),
);
const acknowledgements = referenceStackAcknowledgements(bare);

const cfnPathOf = (c: IConstruct): string => (CfnResource.isCfnResource(c) ? c.node.path : (c.node.defaultChild ?? c).node.path);

describe('acknowledgements of the reference stack', () => {
  test.each(acknowledgements.map((a) => [a.id, a.construct.node.path, a]))('%s on %s is still needed', (_id, _path, ack) => {
    expect(findings).toContain(`${ack.id} @ ${cfnPathOf(ack.construct)}`);
  });

  test('without them, the findings are exactly the acknowledged ones', () => {
    expect(findings.sort()).toEqual(acknowledgements.map((a) => `${a.id} @ ${cfnPathOf(a.construct)}`).sort());
  });

  test.each(acknowledgements.map((a) => [a.id, a]))('%s gives a specific reason', (_id, ack) => {
    expect(ack.reason.length).toBeGreaterThan(80);
    expect(ack.id).toMatch(/^(HIPAA\.Security|AwsSolutions|FHIR\.HIPAA)-[A-Za-z0-9]+(\[.+\])?$/);
  });
});
