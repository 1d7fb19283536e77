/**
 * The one FHIR error builder of the kit: every error a function returns is an R4
 * OperationOutcome built here, with the same security headers.
 *
 * Callers pass CONSTANT messages (string literals chosen at the call site, e.g. "Invalid id"),
 * never request data, tokens, resource content or upstream error text: an OperationOutcome goes
 * back to the caller and into logs, so anything echoed could be PHI or help an attacker.
 * This module cannot tell a constant from a value, so it enforces what it can: diagnostics and
 * expressions must be short, single-line, printable ASCII (see {@link isSafeText}); anything else
 * is replaced by a generic text rather than sent.
 *
 * @see https://hl7.org/fhir/R4/operationoutcome.html
 * @see https://hl7.org/fhir/R4/http.html#Status-Codes
 */
import type { APIGatewayProxyResult } from 'aws-lambda';

/** R4 `IssueSeverity`. */
export type IssueSeverity = 'fatal' | 'error' | 'warning' | 'information';

/** R4 `IssueType` (http://hl7.org/fhir/issue-type). */
export type IssueType =
  | 'invalid'
  | 'structure'
  | 'required'
  | 'value'
  | 'invariant'
  | 'security'
  | 'login'
  | 'unknown'
  | 'expired'
  | 'forbidden'
  | 'suppressed'
  | 'processing'
  | 'not-supported'
  | 'duplicate'
  | 'multiple-matches'
  | 'not-found'
  | 'deleted'
  | 'too-long'
  | 'code-invalid'
  | 'extension'
  | 'too-costly'
  | 'business-rule'
  | 'conflict'
  | 'transient'
  | 'lock-error'
  | 'no-store'
  | 'exception'
  | 'timeout'
  | 'incomplete'
  | 'throttled'
  | 'informational';

export interface OperationOutcomeIssueInput {
  readonly severity: IssueSeverity;
  readonly code: IssueType;
  /** A constant, human-readable text. Never request data. */
  readonly diagnostics?: string;
  /** Constant FHIRPath expressions naming the element at fault, e.g. `Observation.subject`. */
  readonly expression?: readonly string[];
}

export interface OperationOutcomeIssue {
  severity: IssueSeverity;
  code: IssueType;
  diagnostics?: string;
  expression?: string[];
}

export interface OperationOutcome {
  resourceType: 'OperationOutcome';
  issue: OperationOutcomeIssue[];
}

/** Longest diagnostics text sent. */
export const MAX_DIAGNOSTICS_LENGTH = 200;
/** Most issues in one OperationOutcome. */
export const MAX_ISSUES = 20;
/** Sent instead of a diagnostics text that fails {@link isSafeText}. */
export const GENERIC_DIAGNOSTICS = 'The request could not be processed';

const MAX_EXPRESSION_LENGTH = 200;
const MAX_EXPRESSIONS = 10;

/** Sent on every FHIR error (and reused by the proxy on success responses). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'Strict-Transport-Security': 'max-age=63072000; includeSubDomains',
};

export const FHIR_JSON = 'application/fhir+json';

/** Single-line printable ASCII of bounded length: what a constant message looks like. */
export function isSafeText(text: unknown, maxLength: number = MAX_DIAGNOSTICS_LENGTH): text is string {
  return typeof text === 'string' && text.length > 0 && text.length <= maxLength && /^[\x20-\x7e]+$/.test(text);
}

/** Builds an R4 OperationOutcome. Unsafe diagnostics are replaced, unsafe expressions dropped. */
export function operationOutcome(issues: readonly OperationOutcomeIssueInput[]): OperationOutcome {
  const list = issues.length > 0 ? issues.slice(0, MAX_ISSUES) : [{ severity: 'error', code: 'exception' } as const];
  return {
    resourceType: 'OperationOutcome',
    issue: list.map((input) => {
      const issue: OperationOutcomeIssue = { severity: input.severity, code: input.code };
      if (input.diagnostics !== undefined) {
        issue.diagnostics = isSafeText(input.diagnostics) ? input.diagnostics : GENERIC_DIAGNOSTICS;
      }
      const expression = (input.expression ?? [])
        .slice(0, MAX_EXPRESSIONS)
        .filter((e) => isSafeText(e, MAX_EXPRESSION_LENGTH));
      if (expression.length > 0) issue.expression = expression;
      return issue;
    }),
  };
}

export interface ErrorResponseExtra {
  /** @default 'error' */
  readonly severity?: IssueSeverity;
  /** Constant FHIRPath expressions of the element at fault. */
  readonly expression?: readonly string[];
  /**
   * Additional response headers (e.g. `Allow` on 405, `Retry-After` on 429). They cannot
   * replace `Content-Type` or the security headers.
   */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * An API Gateway response carrying an OperationOutcome with one issue.
 * `message` must be a constant chosen by the caller (see the module comment).
 */
export function errorResponse(
  status: number,
  code: IssueType,
  message: string,
  extra: ErrorResponseExtra = {},
): APIGatewayProxyResult {
  const statusCode = Number.isInteger(status) && status >= 400 && status <= 599 ? status : 500;
  const outcome = operationOutcome([
    { severity: extra.severity ?? 'error', code, diagnostics: message, expression: extra.expression },
  ]);
  return {
    statusCode,
    headers: { ...withoutReserved(extra.headers), 'Content-Type': FHIR_JSON, ...SECURITY_HEADERS },
    body: JSON.stringify(outcome),
  };
}

const RESERVED_HEADERS = new Set(['content-type', ...Object.keys(SECURITY_HEADERS).map((h) => h.toLowerCase())]);

function withoutReserved(headers: Readonly<Record<string, string>> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!RESERVED_HEADERS.has(name.toLowerCase())) out[name] = value;
  }
  return out;
}
