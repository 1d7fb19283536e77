/**
 * The proxy's HTTP answers: FHIR JSON with the security headers and every datastore URL
 * rewritten to the public base; refusals and upstream errors as OperationOutcomes with constant
 * texts (HealthLake's own error texts are never passed on).
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import { FHIR_JSON, errorResponse, operationOutcome, SECURITY_HEADERS, type OperationOutcomeIssueInput } from '../shared/operation-outcome';
import type { Denial } from './access';
import { sanitizeOutcome } from './filter';
import type { HealthLakeResponse } from './healthlake-client';
import type { LinkRewriter } from './links';

const KEPT_HEADERS = ['etag', 'last-modified', 'location', 'content-location'];

/** Seconds a client waits before retrying after a Consent outage. */
export const CONSENT_RETRY_AFTER_SECONDS = '5';

export function json(status: number, body: unknown, rewriter: LinkRewriter, headers: Record<string, string> = {}): APIGatewayProxyResult {
  const out: Record<string, string> = { 'Content-Type': FHIR_JSON, ...SECURITY_HEADERS };
  for (const [name, value] of Object.entries(headers)) out[name] = rewriter.rewriteText(value);
  return { statusCode: status, headers: out, body: body === undefined ? '' : rewriter.rewriteText(JSON.stringify(body)) };
}

/** A response without a body (204, 304, a write whose result is withheld), headers rewritten. */
export function empty(status: number, rewriter: LinkRewriter, headers: Record<string, string> = {}): APIGatewayProxyResult {
  return { statusCode: status, headers: { ...SECURITY_HEADERS, ...rewriter.rewriteHeaders(headers) }, body: '' };
}

export function refusal(denial: Denial): APIGatewayProxyResult {
  return errorResponse(denial.status, denial.code, denial.message, denial.status === 401 ? { headers: { 'WWW-Authenticate': 'Bearer' } } : {});
}

export function invalid(issues: readonly OperationOutcomeIssueInput[]): APIGatewayProxyResult {
  return { statusCode: 422, headers: { 'Content-Type': FHIR_JSON, ...SECURITY_HEADERS }, body: JSON.stringify(operationOutcome(issues)) };
}

/** The constant texts of the consent-unknown answers. */
export const CONSENT_UNKNOWN = {
  outage: 'The patient consent service is unavailable; nothing of the patient was released',
  malformed: "The patient's consent could not be evaluated; nothing of the patient was released",
} as const;

/** Nothing of a patient whose consent state is unknown: 503 + `Retry-After` for an outage, 403 for a Consent that cannot be evaluated. */
export function consentUnknown(reason: 'outage' | 'malformed'): APIGatewayProxyResult {
  return reason === 'outage'
    ? errorResponse(503, 'transient', CONSENT_UNKNOWN.outage, { headers: { 'Retry-After': CONSENT_RETRY_AFTER_SECONDS } })
    : errorResponse(403, 'forbidden', CONSENT_UNKNOWN.malformed);
}

/** Status → constant text for errors passed on from HealthLake. */
export function upstreamMessage(status: number): { status: number; message: string } {
  if (status === 400) return { status, message: 'The FHIR server rejected the request' };
  if (status === 404) return { status, message: 'Resource not found' };
  if (status === 405) return { status, message: 'Method not allowed' };
  if (status === 409) return { status, message: 'Conflict' };
  if (status === 410) return { status, message: 'Resource deleted' };
  if (status === 412) return { status, message: 'Version conflict' };
  if (status === 422) return { status, message: 'The FHIR server could not process the resource' };
  if (status === 429) return { status, message: 'Too many requests' };
  if (status === 503 || status === 504) return { status, message: 'The FHIR server is unavailable' };
  if (status === 401 || status === 403) return { status: 502, message: 'The FHIR server refused the proxy' };
  if (status >= 400 && status < 500) return { status, message: 'The FHIR server rejected the request' };
  return { status: 502, message: 'The FHIR server failed' };
}

/** An upstream error answered with a constant text (a confined caller's 410 is a 404: no existence oracle). */
export function upstreamError(upstream: HealthLakeResponse, confined: boolean): { response: APIGatewayProxyResult; message: string } {
  const mapped = upstreamMessage(confined && upstream.status === 410 ? 404 : upstream.status);
  const headers: Record<string, string> = { ...SECURITY_HEADERS, 'Content-Type': FHIR_JSON };
  const retryAfter = upstream.headers['retry-after'];
  if (mapped.status === 429 && retryAfter && /^\d{1,6}$/.test(retryAfter.trim())) headers['Retry-After'] = retryAfter.trim();
  const body =
    mapped.status === 400 || mapped.status === 422
      ? sanitizeOutcome(upstream.body, mapped.message)
      : operationOutcome([{ severity: 'error', code: mapped.status === 404 ? 'not-found' : mapped.status >= 500 ? 'exception' : 'processing', diagnostics: mapped.message }]);
  return { response: { statusCode: mapped.status, headers, body: JSON.stringify(body) }, message: mapped.message };
}

/** The upstream headers passed on (`ETag`, `Last-Modified`, `Location`, `Content-Location`), bounded. */
export function keptHeaders(upstream: HealthLakeResponse): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of KEPT_HEADERS) {
    const value = upstream.headers[name];
    if (typeof value === 'string' && value.length <= 2048) out[name === 'etag' ? 'ETag' : name.replace(/(^|-)([a-z])/g, (_m, d: string, c: string) => d + c.toUpperCase())] = value;
  }
  return out;
}
