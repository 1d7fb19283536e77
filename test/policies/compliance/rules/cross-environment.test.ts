/**
 * FHIR.HIPAA-NoCrossEnvironmentReference, both ways: another environment's account (from
 * `zeroTrustFhir.accounts`) or an export of another environment's stack is a finding.
 */
import { App, CfnOutput, Fn, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { setDeploymentEnvironment } from '../../../../policies/compliance/environment';
import { findingsOf, granularFindings } from '../helpers';

const ACCOUNTS = { sandbox: { account: '111111111111', region: 'us-east-1' }, production: { account: '333333333333', region: 'us-east-1' } };

function sandboxStack(context: Record<string, unknown> = { zeroTrustFhir: { accounts: ACCOUNTS } }) {
  const app = new App({ context });
  const sandbox = new Stack(app, 'Sandbox');
  setDeploymentEnvironment(sandbox, 'sandbox');
  return { app, sandbox };
}

describe('FHIR.HIPAA-NoCrossEnvironmentReference', () => {
  test('Noncompliance 1: a sandbox role trusting the production account', () => {
    const { sandbox } = sandboxStack();
    new iam.Role(sandbox, 'Role', { assumedBy: new iam.AccountPrincipal('333333333333') });
    expect(granularFindings(sandbox, 'NoCrossEnvironmentReference')).toEqual(['Account::production']);
  });

  test('Noncompliance 2: a sandbox policy naming a production bucket ARN (the colon form of the context too)', () => {
    const { sandbox } = sandboxStack({ 'zeroTrustFhir:accounts': JSON.stringify(ACCOUNTS) });
    new iam.ManagedPolicy(sandbox, 'Policy', { statements: [new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::phi-333333333333/*'] })] });
    expect(granularFindings(sandbox, 'NoCrossEnvironmentReference')).toEqual(['Account::production']);
  });

  test('Noncompliance 3: a production stack importing a sandbox export', () => {
    const { app, sandbox } = sandboxStack();
    new CfnOutput(sandbox, 'Out', { value: 'x', exportName: 'SandboxBucketArn' });
    const prod = new Stack(app, 'Prod');
    setDeploymentEnvironment(prod, 'production');
    new s3.CfnBucket(prod, 'Bucket', { bucketName: Fn.importValue('SandboxBucketArn') });
    expect(granularFindings(prod, 'NoCrossEnvironmentReference')).toEqual(['Import::sandbox']);
  });

  test('Compliance: the stack\'s own account, and numbers that only contain the digits', () => {
    const { sandbox } = sandboxStack();
    new iam.Role(sandbox, 'Role', { assumedBy: new iam.AccountPrincipal('111111111111') });
    new iam.ManagedPolicy(sandbox, 'Policy', { statements: [new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::bucket-93333333333312/*'] })] });
    expect(findingsOf(sandbox, 'NoCrossEnvironmentReference')).toEqual([]);
  });

  test('Not applicable: no accounts configured and no other environment in the app', () => {
    const { sandbox } = sandboxStack({});
    new iam.Role(sandbox, 'Role', { assumedBy: new iam.AccountPrincipal('333333333333') });
    expect(findingsOf(sandbox, 'NoCrossEnvironmentReference')).toEqual([]);
  });
});
