import { IConstruct } from 'constructs';
import { acknowledge } from '../../policies/compliance/acknowledge';
import type { ZeroTrustFhirStack } from '../zero-trust-fhir-stack';

/** One acknowledged finding of the reference stack. */
export interface StackAcknowledgement {
  /** The narrowest construct the finding is on. */
  readonly construct: IConstruct;
  /** The exact rule id (granular `Rule[finding]` form for granular rules), without plugin prefix. */
  readonly id: string;
  /** How the control is met another way, or why it does not apply. */
  readonly reason: string;
}

/**
 * The reference stack's acknowledged findings: each names the exact rule id, sits on the
 * narrowest construct, and says how the control is met another way or why it does not apply.
 * `test/acknowledgements.test.ts` proves each one is still needed (without it the finding
 * comes back).
 */
export function referenceStackAcknowledgements(stack: ZeroTrustFhirStack): StackAcknowledgement[] {
  const audit = stack.audit;
  return [
    {
      construct: audit.accessLogsBucket,
      id: 'HIPAA.Security-S3DefaultEncryptionKMS',
      reason:
        'S3 server access log delivery only supports SSE-S3 on the target bucket, so this log bucket is encrypted with SSE-S3 (AES-256). It holds S3 access records of the trail bucket, not PHI; public access is blocked and TLS is enforced.',
    },
    {
      construct: audit.accessLogsBucket,
      id: 'HIPAA.Security-S3BucketReplicationEnabled',
      reason:
        'Cross-region replication needs a destination bucket in a second region that this single-region, env-agnostic stack does not own. The bucket is versioned and retained on stack deletion; deployers who need a second copy add replication to a bucket of their DR account.',
    },
    {
      construct: audit.trailBucket,
      id: 'HIPAA.Security-S3BucketReplicationEnabled',
      reason:
        'Cross-region replication needs a destination bucket in a second region that this single-region stack does not own. The trail is multi-region, the bucket is versioned with object lock (COMPLIANCE in production) for at least 2192 days, and every event is also delivered to the CMK-encrypted CloudWatch log group kept six years, so no single deletion loses the audit record.',
    },
  ];
}

/** Records each acknowledgement on its construct with the kit's `acknowledge`. */
export function applyAcknowledgements(acks: readonly StackAcknowledgement[]): void {
  for (const ack of acks) {
    acknowledge(ack.construct, ack.id, ack.reason);
  }
}
