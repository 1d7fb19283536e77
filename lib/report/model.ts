/**
 * The reviewer's compliance report as data: what `cdk.out/compliance-report.json` holds, and what
 * the HTML and Markdown renderings show. CI gates read `summary.verdict` and `summary.counts`.
 */
import type { LabelPolicy } from '../../policies/label-policy';

export const COMPLIANCE_REPORT_SCHEMA_VERSION = 1;

export type Severity = 'fatal' | 'error' | 'warning' | 'info';
export const SEVERITIES: readonly Severity[] = ['fatal', 'error', 'warning', 'info'];

/**
 * - `pass`: the compliance gate ran and every finding is acknowledged.
 * - `fail`: at least one plugin failed the gate (unacknowledged findings).
 * - `unchecked`: templates exist but no compliance plugin ran (no validation report).
 * - `no-assembly`: `cdk.out` holds no cloud assembly (the synth failed before writing one).
 */
export type Verdict = 'pass' | 'fail' | 'unchecked' | 'no-assembly';

/**
 * How a HIPAA citation, or one rule for it, stands:
 * - `violated`: a resource fails a rule and the finding is not (or may not be) acknowledged;
 * - `acknowledged`: every failing resource is acknowledged with a reason;
 * - `met`: the rules evaluated resources and all passed;
 * - `not-evaluated`: rules cite it but none applied to any resource of the app (a gap);
 * - `not-covered`: no rule of the packs cites it (a gap);
 * - `unknown`: no evidence was recorded, so only violations are known.
 */
export type ControlStatus = 'violated' | 'acknowledged' | 'met' | 'not-evaluated' | 'not-covered' | 'unknown';
export const CONTROL_STATUSES: readonly ControlStatus[] = ['violated', 'acknowledged', 'met', 'not-evaluated', 'not-covered', 'unknown'];

export type SeverityCounts = Record<Severity, number>;

export interface ResourceRef {
  /** Construct path. */
  readonly path: string;
  readonly stack?: string;
  readonly logicalId?: string;
  /** CloudFormation type, or the construct's fqn when it is not a resource. */
  readonly type?: string;
}

export interface StackSummary {
  readonly id: string;
  readonly displayName: string;
  readonly description?: string;
  /** `aws://account/region`. */
  readonly environment: string;
  /** The kit's deployment environment marker (`sandbox` | `staging` | `production`). */
  readonly deploymentEnvironment?: string;
  readonly resourceCount: number;
  readonly templateFile: string;
}

export interface PackSummary {
  /** Plugin (pack) name as in the validation report, e.g. `HIPAA.Security`, `CloudFormation-Validate`. */
  readonly pack: string;
  /** The plugin's gate conclusion (a plugin absent from the validation report passed); `not-reported` without a validation report. */
  readonly conclusion: 'success' | 'failure' | 'not-reported';
  /** Unacknowledged findings by severity (one per resource). */
  readonly violations: SeverityCounts;
  /** Findings acknowledged with a reason (one per resource). */
  readonly acknowledged: number;
  /** From the evidence: rules in the pack, rules that applied to a resource, compliant results. */
  readonly rules?: number;
  readonly rulesApplied?: number;
  readonly compliant?: number;
}

export interface Summary {
  readonly verdict: Verdict;
  /** One sentence saying why. */
  readonly verdictReason: string;
  readonly stacks: StackSummary[];
  /** Deployment environments of the stacks (deduplicated). */
  readonly environments: string[];
  readonly counts: {
    /** Unacknowledged findings by severity. */
    readonly violations: SeverityCounts;
    readonly acknowledged: number;
    readonly byPack: PackSummary[];
    /** HIPAA citations by status. */
    readonly controls: Record<ControlStatus, number>;
  };
}

export interface MatrixAcknowledged {
  readonly resource: string;
  readonly id: string;
  readonly reason: string;
  readonly acknowledgedAt: string;
}

export interface MatrixRule {
  readonly ruleId: string;
  readonly pack: string;
  readonly level: string;
  readonly status: ControlStatus;
  /** Resources the rule passed. */
  readonly met: string[];
  readonly acknowledged: MatrixAcknowledged[];
  /** Resources failing the rule without an accepted acknowledgement. */
  readonly violated: string[];
  /** Resources the rule did not apply to. */
  readonly notApplicable: number;
}

export interface MatrixRow {
  /** 45 CFR citation, e.g. `164.312(b)`. */
  readonly citation: string;
  readonly title: string;
  /** True when the citation is in `policies/citations.ts`. */
  readonly inCatalogue: boolean;
  readonly status: ControlStatus;
  readonly rules: MatrixRule[];
}

export interface Finding {
  readonly pack: string;
  /** The violation's rule id (granular `Rule[finding]` where the rule reports findings). */
  readonly ruleId: string;
  readonly severity: Severity;
  readonly resource: ResourceRef;
  readonly message: string;
  /** How to fix it. */
  readonly fix: string;
  /** How to acknowledge it instead, when that is allowed. */
  readonly acknowledge?: string;
  readonly citations: string[];
}

export interface AcknowledgementRow {
  readonly pack: string;
  /** The acknowledged rule id, without namespace. */
  readonly ruleId: string;
  /** The metadata key as recorded. */
  readonly key: string;
  /** The construct it is recorded on. */
  readonly resource: ResourceRef;
  readonly reason: string;
  /** Resources whose finding it suppressed in this synth. */
  readonly appliesTo: string[];
  /** True when it suppressed a finding in this synth; false when none matched; undefined when unknown. */
  readonly matched?: boolean;
  /** True when the gate refused it (non-waivable in production). */
  readonly refused: boolean;
  readonly rule?: { readonly message: string; readonly explanation?: string; readonly level?: string; readonly citations: string[] };
}

export interface AppRow {
  readonly id: string;
  readonly name: string;
  readonly vendor: string;
  readonly tier: string;
  readonly clientType: string;
  readonly scopes: string[];
  readonly labels: string[];
  readonly baa?: { readonly reference: string; readonly signed?: string };
  readonly assessment: { readonly date: string; readonly reviewer: string; readonly expires: string; readonly expired: boolean; readonly daysToExpiry: number };
  readonly throttle: { readonly rateLimit: number; readonly burstLimit: number; readonly quotaPerDay: number };
  readonly tokenLifetimes: { readonly accessTokenMinutes: number; readonly idTokenMinutes: number; readonly refreshTokenDays: number };
}

export interface AppsSection {
  readonly registryFile: string;
  /** Why the registry could not be read; `apps` is then empty. */
  readonly error?: string;
  readonly apps: AppRow[];
  /** The date assessments are judged against (`YYYY-MM-DD`). */
  readonly asOf: string;
  /** `AWS::Cognito::UserPoolClient` resources in the synthesized app. */
  readonly appClientsInApp: number;
  readonly labelPolicy: {
    readonly file: string;
    readonly configured: boolean;
    readonly error?: string;
    /** The validated policy, when configured and valid (`error` is set otherwise). */
    readonly content?: LabelPolicy;
  };
}

export type FlowNodeId = 'client' | 'waf' | 'api' | 'authorizer' | 'proxy' | 'vpce' | 'healthlake'
  | 'identity' | 'audit-events' | 'access-logs' | 'waf-logs' | 'trail' | 'trail-storage' | 'flow-logs';

export interface FlowNode {
  readonly id: FlowNodeId;
  readonly label: string;
  readonly kind: 'external' | 'request' | 'audit' | 'identity';
  readonly present: boolean;
  readonly resources: ResourceRef[];
  /** What was looked for, shown when absent. */
  readonly lookedFor: string;
}

export interface FlowEdge {
  readonly from: FlowNodeId;
  readonly to: FlowNodeId;
  readonly kind: 'request' | 'audit' | 'identity';
  /** Both ends exist. */
  readonly present: boolean;
  /** The templates show the link itself (a reference, an association, a condition). */
  readonly verified: boolean;
  readonly label?: string;
}

export interface DataFlow {
  readonly nodes: FlowNode[];
  readonly edges: FlowEdge[];
}

export interface KeyRow {
  readonly resource: ResourceRef;
  readonly description?: string;
  readonly aliases: string[];
  /** `EnableKeyRotation`; undefined when not a literal. */
  readonly rotation?: boolean;
  readonly deletionPolicy?: string;
  /** Resources encrypted with it (they reference the key outside IAM). */
  readonly protects: Array<ResourceRef & { readonly properties: string[] }>;
  /** IAM policies that grant use of it. */
  readonly grantedBy: ResourceRef[];
}

export interface LogGroupRow {
  readonly resource: ResourceRef;
  readonly name?: string;
  /** Days; `null` when events never expire. */
  readonly retentionDays: number | null;
  /** At least six years (2192 days) or never expiring. */
  readonly meetsSixYears: boolean;
  /** The CMK's construct path, `undefined` when not encrypted with a CMK. */
  readonly kmsKey?: string;
  readonly deletionPolicy?: string;
  /** Resources that send to or read from it. */
  readonly usedBy: ResourceRef[];
  /** A function's implicit `/aws/lambda/…` group, not in the template (then `resource` is the function). */
  readonly implicit?: boolean;
}

export interface RouteRow {
  readonly kind: 'rest' | 'http' | 'function-url';
  /** The API (or function) construct path. */
  readonly api: string;
  readonly method: string;
  readonly path: string;
  readonly resource: ResourceRef;
  readonly authorization: string;
  /** The `markPublicRoute` reason. */
  readonly reason?: string;
  /** In `ALLOWED_PUBLIC_ROUTES`. */
  readonly allowed: boolean;
  readonly corsPreflight: boolean;
}

export interface Inventory {
  readonly kmsKeys: KeyRow[];
  readonly logGroups: LogGroupRow[];
  readonly publicRoutes: RouteRow[];
}

export interface ComplianceReport {
  readonly schemaVersion: number;
  readonly title: string;
  readonly generatedAt: string;
  readonly sources: {
    readonly cdkOut: string;
    readonly manifest: boolean;
    readonly validationReport: boolean;
    readonly evidence: boolean;
    readonly evidenceGeneratedAt?: string;
    readonly appRegistry: string;
    readonly labelPolicy: string;
  };
  /** Problems reading the inputs and disagreements between them. */
  readonly notices: string[];
  readonly summary: Summary;
  readonly hipaaMatrix: MatrixRow[];
  readonly findings: Finding[];
  readonly acknowledgements: AcknowledgementRow[];
  readonly apps: AppsSection;
  readonly dataFlow: DataFlow;
  readonly inventory: Inventory;
}

export function zeroCounts(): SeverityCounts {
  return { fatal: 0, error: 0, warning: 0, info: 0 };
}

export function normalizeSeverity(severity: string | undefined): Severity {
  const s = (severity ?? 'error').toLowerCase();
  return s === 'fatal' || s === 'error' || s === 'warning' || s === 'info' ? s : 'error';
}
