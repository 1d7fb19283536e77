/**
 * The reviewer's compliance report as data: what `cdk.out/compliance-report.json` holds, and what
 * the HTML and Markdown renderings show. CI gates read `summary.verdict` and `summary.counts`.
 *
 * One model, one verdict: every rule result on every resource is reconciled once into an outcome
 * (`lib/report/outcomes.ts`); the verdict, the matrix, the findings, the acknowledgements, the
 * coverage, the inventory's marks and every count are derived from those outcomes, never from a
 * source of their own, so they cannot disagree.
 */
import type { ApiVersionStatus } from '../../lambdas/shared/api-lifecycle';
import type { LabelPolicy } from '../../policies/label-policy';
import type { EnvironmentDifference } from '../environment-profile';

export const COMPLIANCE_REPORT_SCHEMA_VERSION = 2;

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
 * - `met`: the rules evaluated resources and all passed (a technical safeguard of 164.312);
 * - `technical-evidence`: as `met`, for a safeguard configuration can support only in part (the
 *   administrative safeguards of 164.308, 164.314 and 164.316 are policies, procedures, people
 *   and contracts; the rules show only their technical part);
 * - `not-evaluated`: rules cite it but none applied to any resource of the app (a gap);
 * - `not-covered`: no rule of the packs cites it (a gap);
 * - `unknown`: no evidence was recorded, so only violations are known.
 */
export type ControlStatus = 'violated' | 'acknowledged' | 'met' | 'technical-evidence' | 'not-evaluated' | 'not-covered' | 'unknown';
export const CONTROL_STATUSES: readonly ControlStatus[] = ['violated', 'acknowledged', 'met', 'technical-evidence', 'not-evaluated', 'not-covered', 'unknown'];

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
  /** The plugin's version, when the validation report or the evidence names it. */
  readonly version?: string;
  /** Why the pack did not run (an optional cross-check that was off or not installed). */
  readonly notRun?: string;
}

/** Acknowledgements recorded in the app, by what became of them; the parts add up to `total`. */
export interface AcknowledgementCounts {
  readonly total: number;
  /** Each covers at least one finding (their findings are `Summary.counts.acknowledged`). */
  readonly inUse: number;
  /** Refused by the gate (no reason, or non-waivable in production): their findings count as violations. */
  readonly refused: number;
  /** Their pack reported everything it found, and they matched nothing: stale, or on the wrong construct. */
  readonly unused: number;
  /** Their plugin reported nothing to this synth, so whether they matched is not known. */
  readonly notChecked: number;
  /** For rule sets the gate does not run (the Guard Rules Registry): written to `Metadata.guard` for outside checkers. */
  readonly outside: number;
}

export interface Summary {
  readonly verdict: Verdict;
  /** One sentence saying why. */
  readonly verdictReason: string;
  readonly stacks: StackSummary[];
  /** Deployment environments of the stacks (deduplicated). */
  readonly environments: string[];
  readonly counts: {
    /** Unacknowledged findings by severity (= `findings`). */
    readonly violations: SeverityCounts;
    /** Findings acknowledged with a reason, one per rule and resource (= the `covers` of the acknowledgements in use). */
    readonly acknowledged: number;
    /** The acknowledgements recorded in the app (= `acknowledgements`). */
    readonly acknowledgements: AcknowledgementCounts;
    readonly byPack: PackSummary[];
    /** HIPAA citations by status. */
    readonly controls: Record<ControlStatus, number>;
    /** Resources of the templates, and those no rule evaluated (= `coverage`). */
    readonly resources: { readonly total: number; readonly evaluated: number; readonly evaluatedByNone: number };
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
  /** True when the citation is in `policies/compliance/citations.ts`. */
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
  /** An AWS Control Tower control's id (`CT.KMS.PR.3`). */
  readonly controlId?: string;
  /** Shown by the evidence but not by the validation report (the two disagree; the report keeps the worse). */
  readonly onlyInEvidence?: boolean;
}

/** What became of an acknowledgement in this synth. */
export type AcknowledgementStatus = 'in-use' | 'refused' | 'unused' | 'not-checked' | 'outside';

export interface AcknowledgementRow {
  readonly pack: string;
  /** The acknowledged rule id, without namespace. */
  readonly ruleId: string;
  /** The metadata key as recorded. */
  readonly key: string;
  /** The construct it is recorded on. */
  readonly resource: ResourceRef;
  /** The reason as recorded; empty when none was given (then the gate refuses it). */
  readonly reason: string;
  readonly status: AcknowledgementStatus;
  /** Resources whose finding it acknowledged in this synth (empty unless `in-use`). */
  readonly appliesTo: string[];
  /** Findings (rule × resource) it acknowledged in this synth; over all acknowledgements they add up to `Summary.counts.acknowledged`. */
  readonly covers: number;
  /** True when it acknowledged a finding in this synth; false when none matched; undefined when unknown. */
  readonly matched?: boolean;
  /** True when the gate refused it (no reason, or non-waivable in production). */
  readonly refused: boolean;
  /** Why the gate refused it. */
  readonly refusal?: string;
  /** Recorded by the gate, not the team: the same decision passed on to an equivalent rule, or a known limitation of an AWS-authored rule. */
  readonly derived?: { readonly from?: { readonly rule: string; readonly at: string }; readonly limitation?: string };
  readonly rule?: { readonly message: string; readonly explanation?: string; readonly level?: string; readonly citations: string[] };
}

/** Every resource of every stack, and which rules evaluated it. */
export interface Coverage {
  /** False without compliance evidence: then nothing is known about what passed. */
  readonly known: boolean;
  readonly resources: number;
  readonly evaluated: number;
  /** Resources no rule of any pack evaluated, with path and type. */
  readonly evaluatedByNone: ResourceRef[];
  /** By CloudFormation type: resources, and how many some rule evaluated. */
  readonly byType: Array<{ readonly type: string; readonly resources: number; readonly evaluated: number; readonly canHoldPhiOrRunCode: boolean }>;
  /**
   * Resources of a type that can carry PHI or run code that the gate's baseline rules for their
   * type did not evaluate (`FHIR.HIPAA-ResourceEvaluated`), with how that finding stands.
   */
  readonly baselineGaps: Array<{ readonly resource: ResourceRef; readonly status: 'violated' | 'acknowledged'; readonly reason?: string; readonly detail?: string }>;
}

/** A file the report was built from, with its SHA-256. */
export interface ReviewedFile {
  /** Relative to the cloud assembly. */
  readonly file: string;
  readonly sha256: string;
  readonly bytes: number;
  /** The stack whose template it is. */
  readonly stack?: string;
}

/** What was reviewed: enough to tie a signature to exactly these templates and tools. */
export interface ReviewScope {
  readonly kit: { readonly name: string; readonly version: string; readonly commit?: string; readonly dirty?: boolean };
  /** aws-cdk-lib, cdk-nag, the cross-check and cfn-guard, Node.js: as the synth used them (from the evidence), else as found now. */
  readonly tools: Record<string, string>;
  /** Every template, with its SHA-256 (and the evidence and validation report). */
  readonly files: ReviewedFile[];
  /** Deployment environments of the stacks. */
  readonly environments: string[];
  /** When the synth recorded the evidence, and the synth date the rules judged dates by. */
  readonly synthesizedAt?: string;
  readonly synthDate?: string;
  readonly generatedAt: string;
}

/** What the packs can and cannot establish. */
export interface ScopeStatement {
  readonly establishes: string[];
  /** Safeguards configuration cannot show, each the organisation's to evidence. */
  readonly organisationEvidences: Array<{ readonly citation: string; readonly title: string; readonly why: string }>;
  readonly limits: string[];
}

/** The sign-off block at the end of the report. */
export interface SignOff {
  readonly fields: string[];
  readonly decisions: string[];
  /** What the signature covers. */
  readonly statement: string;
}

/** How the gate decided one rule on one resource (a mark of the inventory). */
export interface CheckMark {
  readonly rule: string;
  readonly status: 'compliant' | 'violated' | 'acknowledged';
  readonly reason?: string;
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
  /**
   * What watches the app (`AppMonitoring`'s construct metadata): its alarms and monitors.
   * Absent when the synthesized app records no per-app monitoring at all.
   */
  readonly watchedBy?: {
    readonly alarms: ReadonlyArray<{ readonly kind: string; readonly condition: string; readonly path: string }>;
    readonly monitors: readonly string[];
  };
  /**
   * The API versions the registry says the app uses (its `apiVersions`), each as the gateways
   * record it. Absent when the registry records none for the app.
   */
  readonly apiVersions?: AppApiVersion[];
}

/** An API version a registered app uses, as the gateways record it. */
export interface AppApiVersion {
  readonly version: string;
  /** The worst status any gateway records for it; `unknown` when no gateway records the version. */
  readonly status: ApiVersionStatus | 'unknown';
  readonly sunsetAt?: string;
  readonly successor?: string;
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

/** One API version as a gateway recorded it (construct metadata `zero-trust-fhir:api-versions`). */
export interface ApiVersionRow {
  readonly version: string;
  readonly status: ApiVersionStatus;
  /** Whether the version has a stage (and routes): false for a retired version. */
  readonly served: boolean;
  /** The public FHIR base path, e.g. `/v2/r4`. */
  readonly fhirBasePath: string;
  /** The deprecation notice date, as configured (ISO 8601). */
  readonly deprecatedAt?: string;
  /** The date the version stops answering (ISO 8601). */
  readonly sunsetAt?: string;
  /** Whole calendar months from the notice to the sunset, when both dates are given. */
  readonly noticeMonths?: number;
  /** Less than six months' notice (the rule FHIR.HIPAA-LambdaApiVersionLifecycle flags it too). */
  readonly shortNotice: boolean;
  readonly successor?: string;
  readonly migrationNotesUrl?: string;
  /** The version new apps should use. */
  readonly current: boolean;
  /** Ids of the registered apps whose `apiVersions` name it. */
  readonly usedBy: string[];
}

export interface ApiVersionsSection {
  /** One entry per gateway that recorded its versions, in stack order; empty: no API versions recorded. */
  readonly gateways: Array<{
    /** The construct that recorded them (the `FhirGateway`). */
    readonly gateway: string;
    readonly stack: string;
    /** The version new apps should use. */
    readonly current: string;
    /** In configuration order. */
    readonly versions: ApiVersionRow[];
  }>;
  /** Recorded entries that could not be read (also in the report's notices). */
  readonly problems: string[];
}

/** A stack's deployment environment and the AWS account it is bound to. */
export interface StackEnvironmentRow {
  readonly stack: string;
  /** The environment the stack was marked; absent when unmarked (the gate judges it as production). */
  readonly deploymentEnvironment?: string;
  /** The compliance gate marked it from its default: nobody stated the stack's environment. */
  readonly assumed: boolean;
  /** The account it is bound to (the manifest's `environment`); absent when env-agnostic. */
  readonly account?: string;
  readonly region?: string;
  /** No account bound (`aws://unknown-account/…`): allowed for sandbox only. */
  readonly envAgnostic: boolean;
  /** False for an env-agnostic stack outside sandbox (an unmarked one counts as production). */
  readonly accountAllowed: boolean;
}

export interface EnvironmentsSection {
  /** The deployment environments the stacks were marked (= `summary.environments`). */
  readonly marked: string[];
  readonly stacks: StackEnvironmentRow[];
  /** What differs between the environments: `ENVIRONMENT_DIFFERENCES` (lib/environment-profile.ts). */
  readonly differences: readonly EnvironmentDifference[];
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
  /** The gate's results for the key's rotation, retention and grant control. */
  readonly checks: { readonly rotation?: CheckMark; readonly retained?: CheckMark; readonly grants?: CheckMark };
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
  /** The gate's results: retention and encryption (an implicit group: `FHIR.HIPAA-LambdaLogGroupDeclared` on its function). */
  readonly checks: { readonly retention?: CheckMark; readonly encryption?: CheckMark; readonly declared?: CheckMark };
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
  /** The gate's result for the route (`FHIR.HIPAA-APIGWMethodAuthorization`). */
  readonly check?: CheckMark;
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
  /** What was reviewed (kit, tools, templates and their hashes). */
  readonly review: ReviewScope;
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
  /** What the packs can and cannot establish. */
  readonly scope: ScopeStatement;
  readonly hipaaMatrix: MatrixRow[];
  readonly findings: Finding[];
  readonly acknowledgements: AcknowledgementRow[];
  /** Every resource accounted for. */
  readonly coverage: Coverage;
  readonly apps: AppsSection;
  /** The API versions the gateways serve or retired, and their lifecycle. */
  readonly apiVersions: ApiVersionsSection;
  /** What differs between environments, and where the stacks are bound. */
  readonly environments: EnvironmentsSection;
  readonly dataFlow: DataFlow;
  readonly inventory: Inventory;
  readonly signOff: SignOff;
}

export function zeroCounts(): SeverityCounts {
  return { fatal: 0, error: 0, warning: 0, info: 0 };
}

export function normalizeSeverity(severity: string | undefined): Severity {
  const s = (severity ?? 'error').toLowerCase();
  return s === 'fatal' || s === 'error' || s === 'warning' || s === 'info' ? s : 'error';
}
