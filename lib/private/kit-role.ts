import { Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/** Properties of {@link KitRole}. */
export interface KitRoleProps {
  readonly assumedBy: iam.IPrincipal;
  readonly description: string;
}

/**
 * A role whose permissions all live in ONE customer-managed policy (`policy`): every grant made
 * to it (`addToPrincipalPolicy`, hence every `grantXxx(role)`) is added there. No inline policy
 * (HIPAA.Security-IAMNoInlinePolicy), and AWS-managed policies are refused (AwsSolutions-IAM4):
 * grant the exact permissions instead.
 */
export class KitRole extends iam.Role {
  public readonly policy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: KitRoleProps) {
    super(scope, id, { assumedBy: props.assumedBy, description: props.description });
    this.policy = new iam.ManagedPolicy(this, 'Policy', { description: `Permissions of: ${props.description}`, roles: [this] });
  }

  public override addToPrincipalPolicy(statement: iam.PolicyStatement): iam.AddToPrincipalPolicyResult {
    this.policy.addStatements(statement);
    return { statementAdded: true, policyDependable: this.policy };
  }

  public override addManagedPolicy(policy: iam.IManagedPolicy): void {
    if (policy === this.policy) return super.addManagedPolicy(policy);
    const arn = Token.isUnresolved(policy.managedPolicyArn) ? JSON.stringify(Stack.of(this).resolve(policy.managedPolicyArn)) : policy.managedPolicyArn;
    if (arn.includes(':iam::aws:policy/')) {
      throw new Error(`KitRole ${this.node.path}: AWS-managed policy ${arn} is not allowed; grant the exact permissions instead.`);
    }
    super.addManagedPolicy(policy);
  }
}
