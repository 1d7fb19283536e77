/**
 * A small SigV4-signing FHIR client for the AWS HealthLake datastore endpoint
 * (`https://healthlake.<region>.amazonaws.com/datastore/<id>/r4/`).
 *
 * - Every attempt is signed afresh with `@smithy/signature-v4` (service `healthlake`), with the
 *   Lambda role's credentials from `@aws-sdk/credential-provider-node`'s `defaultProvider` unless
 *   credentials are given.
 * - Connections are reused: Node's global `fetch` (undici) keeps connections alive in its global
 *   dispatcher pool by default, so consecutive invocations of a warm Lambda reuse the TLS session
 *   to the VPC endpoint. Nothing to configure.
 * - Each attempt has its own timeout (AbortController), covering the response body too.
 * - Retries (full jitter, bounded) only where repeating cannot change the outcome: GET, HEAD and
 *   DELETE (idempotent by HTTP and FHIR), and PUT only when the caller marks the request
 *   `idempotent` (a plain FHIR update is, a conditional update or create-on-update may not be).
 *   POST (create, batch/transaction, operations, `_search`) and PATCH are never retried. Retried
 *   on 429, 500, 502, 503, 504 and network errors/timeouts; `Retry-After` is honoured when it is
 *   within `maxRetryDelayMs`, otherwise the response is returned as is.
 * - It never logs, and errors it throws carry no URL, header or body.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, Provider } from '@smithy/types';

export interface HealthLakeClientOptions {
  /** The datastore endpoint, e.g. `https://healthlake.us-east-1.amazonaws.com/datastore/<id>/r4/`. */
  readonly baseUrl: string;
  readonly region: string;
  /** @default - `defaultProvider()` from `@aws-sdk/credential-provider-node` (the Lambda role) */
  readonly credentials?: AwsCredentialIdentity | Provider<AwsCredentialIdentity>;
  /** @default - the global `fetch` */
  readonly fetch?: typeof fetch;
  /** Per-attempt timeout, including reading the body. @default 10000 */
  readonly timeoutMs?: number;
  /** Retries after the first attempt, for retryable requests only. @default 2 */
  readonly maxRetries?: number;
  /** Base of the exponential backoff (full jitter). @default 100 */
  readonly retryBaseDelayMs?: number;
  /** Cap on any single wait, backoff or `Retry-After`. @default 2000 */
  readonly maxRetryDelayMs?: number;
}

export type HealthLakeMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface HealthLakeRequest {
  readonly method: HealthLakeMethod;
  /** Path relative to the datastore base, e.g. `Patient/1`, `Observation/_search`, `` (system). */
  readonly path: string;
  /** Query parameters in order; repeated names are repeated entries. */
  readonly query?: ReadonlyArray<{ readonly name: string; readonly value: string }>;
  /**
   * A string is sent as is (set `Content-Type`, e.g. for a form body); anything else is sent as
   * JSON with `Content-Type: application/fhir+json` unless the caller sets another.
   */
  readonly body?: unknown;
  /**
   * Extra request headers (e.g. `If-Match`, `Prefer`, `Content-Type`). `Host`, `Authorization`,
   * `Content-Length`, `Connection` and `X-Amz-*` are ignored: the signer and fetch set them.
   */
  readonly headers?: Readonly<Record<string, string>>;
  /** Allow retries of a PUT: set only for a plain update of a known id. */
  readonly idempotent?: boolean;
}

export interface HealthLakeResponse {
  readonly status: number;
  /** Response headers, names lower-cased. */
  readonly headers: Readonly<Record<string, string>>;
  /** The parsed JSON body, or undefined when empty or not JSON. */
  readonly body: unknown;
  /**
   * False only when the body text cannot contain a DS4P inline security label: it has neither
   * `inline-sec-label` (the extension URL's tail) nor any `\u` escape that could spell it.
   * Lets the label guard skip walking every element of a large unlabelled Bundle.
   */
  readonly mayHaveInlineLabels: boolean;
}

/** Thrown when no response was obtained. The message is constant; nothing of the request is in it. */
export class HealthLakeError extends Error {
  constructor(
    readonly kind: 'timeout' | 'network',
    readonly attempts: number,
  ) {
    super(kind === 'timeout' ? 'HealthLake request timed out' : 'HealthLake request failed');
    this.name = 'HealthLakeError';
  }
}

const RETRY_STATUSES = new Set([429, 500, 502, 503, 504]);
const SAFE_PATH = /^[A-Za-z0-9\-._$/]*$/;

export class HealthLakeClient {
  private readonly base: URL;
  private readonly signer: SignatureV4;
  private readonly fetchFn: typeof fetch;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly retryBaseDelayMs: number;
  private readonly maxRetryDelayMs: number;

  constructor(options: HealthLakeClientOptions) {
    const base = new URL(options.baseUrl);
    const loopback = base.hostname === '127.0.0.1' || base.hostname === 'localhost' || base.hostname === '[::1]';
    if (base.protocol !== 'https:' && !(base.protocol === 'http:' && loopback)) {
      throw new Error('HealthLakeClient: baseUrl must be https');
    }
    if (base.search || base.hash || base.username || base.password) {
      throw new Error('HealthLakeClient: baseUrl must not carry a query, fragment or credentials');
    }
    if (!base.pathname.endsWith('/')) base.pathname = `${base.pathname}/`;
    this.base = base;
    this.signer = new SignatureV4({
      service: 'healthlake',
      region: options.region,
      credentials: options.credentials ?? defaultProvider(),
      sha256: Sha256,
    });
    this.fetchFn = options.fetch ?? globalThis.fetch;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.maxRetries = Math.max(0, Math.floor(options.maxRetries ?? 2));
    this.retryBaseDelayMs = options.retryBaseDelayMs ?? 100;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 2_000;
  }

  /** The datastore base URL (with a trailing slash). */
  get baseUrl(): string {
    return this.base.toString();
  }

  async request(request: HealthLakeRequest): Promise<HealthLakeResponse> {
    const path = request.path.replace(/^\/+/, '');
    if (!SAFE_PATH.test(path) || path.split('/').some((s) => s === '.' || s === '..')) {
      throw new Error('HealthLakeClient: unsafe request path');
    }
    const retryable =
      request.method === 'GET' ||
      request.method === 'HEAD' ||
      request.method === 'DELETE' ||
      (request.method === 'PUT' && request.idempotent === true);

    for (let attempt = 0; ; attempt++) {
      const canRetry = retryable && attempt < this.maxRetries;
      let response: HealthLakeResponse;
      try {
        response = await this.attempt(request, path);
      } catch (e) {
        const kind = isAbort(e) ? 'timeout' : 'network';
        if (!canRetry) throw new HealthLakeError(kind, attempt + 1);
        await sleep(this.backoff(attempt));
        continue;
      }
      if (!canRetry || !RETRY_STATUSES.has(response.status)) return response;
      const retryAfter = retryAfterMs(response.headers['retry-after']);
      if (retryAfter !== undefined && retryAfter > this.maxRetryDelayMs) return response;
      await sleep(retryAfter ?? this.backoff(attempt));
    }
  }

  private backoff(attempt: number): number {
    return Math.random() * Math.min(this.maxRetryDelayMs, this.retryBaseDelayMs * 2 ** attempt);
  }

  private async attempt(request: HealthLakeRequest, path: string): Promise<HealthLakeResponse> {
    const headers: Record<string, string> = { host: this.base.host, accept: 'application/fhir+json' };
    for (const [name, value] of Object.entries(request.headers ?? {})) {
      const key = name.toLowerCase();
      // The signer and fetch own these; a caller cannot set them.
      if (key === 'host' || key === 'authorization' || key === 'content-length' || key === 'connection' || key.startsWith('x-amz-')) {
        continue;
      }
      headers[key] = value;
    }
    let body: string | undefined;
    if (request.body !== undefined) {
      body = typeof request.body === 'string' ? request.body : JSON.stringify(request.body);
      headers['content-type'] ??= 'application/fhir+json';
    }
    // Null-prototype: a parameter named `__proto__` or `constructor` is signed like any other.
    const query = Object.create(null) as Record<string, string | string[]>;
    for (const { name, value } of request.query ?? []) {
      const existing = query[name];
      if (existing === undefined) query[name] = value;
      else query[name] = Array.isArray(existing) ? [...existing, value] : [existing, value];
    }
    const fullPath = `${this.base.pathname}${path}`;
    const signed = await this.signer.sign({
      method: request.method,
      protocol: this.base.protocol,
      hostname: this.base.hostname,
      port: this.base.port ? Number(this.base.port) : undefined,
      path: fullPath,
      query,
      headers,
      body,
    });

    const search = (request.query ?? []).map((p) => `${escapeUri(p.name)}=${escapeUri(p.value)}`).join('&');
    const url = `${this.base.protocol}//${this.base.host}${fullPath}${search ? `?${search}` : ''}`;
    const sendHeaders: Record<string, string> = {};
    for (const [name, value] of Object.entries(signed.headers)) {
      if (name.toLowerCase() !== 'host') sendHeaders[name] = value;
    }

    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    try {
      const res = await this.fetchFn(url, {
        method: request.method,
        headers: sendHeaders,
        body,
        signal: controller.signal,
        redirect: 'manual',
      });
      const text = request.method === 'HEAD' ? '' : await res.text();
      const responseHeaders = Object.create(null) as Record<string, string>;
      res.headers.forEach((value, name) => {
        responseHeaders[name.toLowerCase()] = value;
      });
      return { status: res.status, headers: responseHeaders, body: parseJson(text), mayHaveInlineLabels: text.includes('inline-sec-label') || text.includes('\\u') };
    } finally {
      clearTimeout(timer);
    }
  }
}

/** RFC 3986 encoding as SigV4 canonicalizes it (so the wire form and the signed form agree). */
export function escapeUri(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** `Retry-After` (delta-seconds or HTTP-date) in milliseconds; undefined when absent or invalid. */
export function retryAfterMs(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d{1,10}$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

function parseJson(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isAbort(e: unknown): boolean {
  return typeof e === 'object' && e !== null && ((e as Error).name === 'AbortError' || (e as Error).name === 'TimeoutError');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
