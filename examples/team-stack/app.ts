/**
 * A team's own stack built from the kit's data-tier constructs, behind the kit's compliance gate.
 * This file is the README's "Use it in your own stack" example: `test/package/install.test.ts`
 * packs the kit, installs the tarball into a new CDK project and synthesizes it, so the README
 * cannot drift from the code.
 */
import { App, CfnOutput, Stack } from 'aws-cdk-lib';
import { AuditTrail, FhirDatastore, FhirKeys, SegmentedNetwork } from 'zero-trust-fhir';
import { acknowledge, applyCompliancePacks } from 'zero-trust-fhir/policies';

const app = new App();
applyCompliancePacks(app, { environment: 'production' }); // the reference app's gate; this app deploys to production
const stack = new Stack(app, 'MyFhir');
const keys = new FhirKeys(stack, 'Keys');
const network = new SegmentedNetwork(stack, 'Network', { keys, maxAzs: 3 });
const datastore = new FhirDatastore(stack, 'Datastore', { keys, network });
const audit = new AuditTrail(stack, 'Audit', { keys, environment: 'production', alarmEmail: 'soc@example.org' });
new CfnOutput(stack, 'FhirEndpoint', { value: datastore.fhirBaseUrl });

// Your function, in the isolated subnets, may read FHIR data through the endpoint only:
// datastore.grantFhirAccess(myFunction, { readOnly: true });

// The gate fails the synth on every finding nobody acknowledged. These three are the audit
// buckets' (the reference stack acknowledges them too); each reason is shown in the reviewer's report.
acknowledge(audit.accessLogsBucket, 'HIPAA.Security-S3DefaultEncryptionKMS',
  'S3 server access log delivery supports only SSE-S3 targets; the bucket holds access records, not PHI.');
for (const bucket of [audit.accessLogsBucket, audit.trailBucket]) {
  acknowledge(bucket, 'HIPAA.Security-S3BucketReplicationEnabled',
    'Our DR account replicates the audit buckets; this single-region stack does not own the destination.');
}
