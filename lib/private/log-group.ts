import { RemovalPolicy } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { assertRetention } from '../config';

/** Options of {@link createAuditLogGroup}. */
export interface AuditLogGroupOptions {
  /** The CMK that encrypts the log group (`FhirKeys.logs`). */
  readonly encryptionKey: kms.IKey;
  /** Retention, at least six years (2192 days); `INFINITE` is accepted. */
  readonly retention: logs.RetentionDays;
  /** Explicit log group name (WAF requires the `aws-waf-logs-` prefix). */
  readonly logGroupName?: string;
  /** Name of the construct that owns it, for error messages. */
  readonly owner: string;
}

/**
 * The one way the kit creates a log group: CMK-encrypted, kept at least six years, and retained
 * when the stack is deleted (audit records outlive the infrastructure that produced them).
 */
export function createAuditLogGroup(scope: Construct, id: string, options: AuditLogGroupOptions): logs.LogGroup {
  assertRetention(options.owner, 'logRetention', options.retention);
  return new logs.LogGroup(scope, id, {
    encryptionKey: options.encryptionKey,
    retention: options.retention,
    logGroupName: options.logGroupName,
    removalPolicy: RemovalPolicy.RETAIN,
  });
}
