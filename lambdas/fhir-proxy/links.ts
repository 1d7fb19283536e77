/**
 * Keeps the HealthLake datastore endpoint out of everything the proxy returns.
 *
 * HealthLake writes its own base URL into responses: Bundle `link[].url` (paging),
 * `entry[].fullUrl`, `entry[].response.location`, `Location`/`Content-Location` headers, and
 * sometimes OperationOutcome diagnostics. {@link LinkRewriter.rewriteBody} and
 * {@link LinkRewriter.rewriteHeaders} rewrite every string of the response (not only the known
 * places, so a new place cannot leak), in three passes:
 *
 * 1. the datastore base URL (any scheme/host case, explicit default port) → the public base URL;
 * 2. any other occurrence of the datastore host → the public host;
 * 3. any other occurrence of the datastore base path (`[/]datastore/<id>/r4`) → the public base path;
 * 4. any other occurrence of the datastore id (a path segment of 16+ characters) → `redacted`.
 *
 * The reverse, {@link LinkRewriter.toDatastoreUrl}, maps a public URL (e.g. a paging link the
 * client follows) back to the datastore URL it came from; the query is carried unchanged, so a
 * next-page request reaches HealthLake as the same query.
 */

export interface LinkRewriterOptions {
  /** The datastore endpoint, e.g. `https://healthlake.us-east-1.amazonaws.com/datastore/<id>/r4/`. */
  readonly datastoreBaseUrl: string;
  /** The public FHIR base, e.g. `https://fhir.example.org/r4`. */
  readonly publicBaseUrl: string;
}

interface Base {
  /** `scheme://host[:port]/path` without trailing slash, scheme and host lower-cased. */
  readonly url: string;
  readonly host: string;
  readonly path: string;
}

function parseBase(value: string, label: string): Base {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new Error(`LinkRewriter: ${label} is not a URL`);
  }
  if ((u.protocol !== 'https:' && u.protocol !== 'http:') || u.search || u.hash || u.username || u.password) {
    throw new Error(`LinkRewriter: ${label} must be a plain http(s) base URL`);
  }
  const path = u.pathname.replace(/\/+$/, '');
  return { url: `${u.protocol}//${u.host}${path}`, host: u.host, path };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export class LinkRewriter {
  private readonly datastore: Base;
  private readonly public: Base;
  private readonly baseRegExp: RegExp;
  private readonly hostRegExp: RegExp;
  private readonly pathRegExp: RegExp | undefined;
  private readonly secretRegExp: RegExp | undefined;
  /**
   * One case-insensitive single-literal pattern per needle (host, base path, datastore id; a
   * needle containing another is dropped, the shorter one finds it): V8 scans a literal fast,
   * while an alternation of literals is several times slower on a large body with no match.
   */
  private readonly needleRegExps: RegExp[];
  /** Replacement strings with `$` escaped (a string replacement is much faster than a callback). */
  private readonly replacements: { readonly url: string; readonly host: string; readonly path: string };

  constructor(options: LinkRewriterOptions) {
    this.datastore = parseBase(options.datastoreBaseUrl, 'datastoreBaseUrl');
    this.public = parseBase(options.publicBaseUrl, 'publicBaseUrl');
    const u = new URL(options.datastoreBaseUrl);
    const defaultPort = u.protocol === 'https:' ? '443' : '80';
    const hostAndPort = u.port ? escapeRegExp(u.host) : `${escapeRegExp(u.hostname)}(?::${defaultPort})?`;
    // Either scheme: the datastore only speaks https, but an http form of its URL is the same leak.
    this.baseRegExp = new RegExp(`https?://${hostAndPort}${escapeRegExp(this.datastore.path)}(?![A-Za-z0-9_-])`, 'gi');
    this.hostRegExp = new RegExp(escapeRegExp(this.datastore.host), 'gi');
    this.pathRegExp =
      this.datastore.path.length > 1
        ? new RegExp(`/?${escapeRegExp(this.datastore.path.slice(1))}(?![A-Za-z0-9_-])`, 'gi')
        : undefined;
    // Long path segments (the datastore id) are identifying on their own.
    const secrets = this.datastore.path.split('/').filter((segment) => segment.length >= 16);
    this.secretRegExp = secrets.length > 0 ? new RegExp(secrets.map(escapeRegExp).join('|'), 'gi') : undefined;
    const needles = [this.datastore.host, this.datastore.path.slice(1), ...secrets].map((n) => n.toLowerCase()).filter((n) => n.length > 0);
    this.needleRegExps = needles
      .filter((n, i) => !needles.some((other, j) => j !== i && n.includes(other) && (n !== other || j < i)))
      .map((n) => new RegExp(escapeRegExp(n), 'i'));
    const literal = (text: string): string => text.replace(/\$/g, '$$$$');
    this.replacements = { url: literal(this.public.url), host: literal(this.public.host), path: literal(this.public.path) };
  }

  /** The public base URL, normalized (no trailing slash). */
  get publicBaseUrl(): string {
    return this.public.url;
  }

  /** The datastore base URL, normalized (no trailing slash). */
  get datastoreBaseUrl(): string {
    return this.datastore.url;
  }

  /** Rewrites every datastore URL, host or base path in `text` to its public counterpart. */
  rewriteText(text: string): string {
    if (!this.mayContainDatastore(text)) return text;
    let out = text.replace(this.baseRegExp, this.replacements.url);
    // Usually every occurrence was a whole base URL: one more scan instead of three replacements.
    if (!this.mayContainDatastore(out)) return out;
    out = out.replace(this.hostRegExp, this.replacements.host);
    if (this.pathRegExp) out = out.replace(this.pathRegExp, this.replacements.path);
    if (this.secretRegExp) out = out.replace(this.secretRegExp, 'redacted');
    return out;
  }

  /** A copy of a JSON value (a response body) with every string (values and keys) rewritten. */
  rewriteBody<T>(body: T): T {
    return this.rewriteValue(body) as T;
  }

  /** A copy of response headers with every value rewritten (`Location`, `Content-Location`, `Link`, …). */
  rewriteHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) out[name] = this.rewriteText(value);
    return out;
  }

  /** A datastore URL as the public URL (unchanged when it is not under the datastore base). */
  toPublicUrl(url: string): string {
    return this.rewriteText(url);
  }

  /**
   * The datastore URL for a public URL under the public base (e.g. a paging link coming back),
   * with path and query unchanged; undefined when `url` is not under the public base.
   */
  toDatastoreUrl(url: string): string | undefined {
    const rest = stripBase(url, this.public);
    return rest === undefined ? undefined : `${this.datastore.url}${rest}`;
  }

  /**
   * The part of a public URL after the public base, without the leading `/`: the FHIR path and
   * query (`Observation?patient=1&page=…`) as API Gateway will pass it to the proxy.
   */
  publicRelative(url: string): string | undefined {
    const rest = stripBase(url, this.public);
    return rest === undefined ? undefined : rest.replace(/^\//, '');
  }

  private mayContainDatastore(text: string): boolean {
    for (const needle of this.needleRegExps) if (needle.test(text)) return true;
    return false;
  }

  private rewriteValue(value: unknown): unknown {
    if (typeof value === 'string') return this.rewriteText(value);
    if (Array.isArray(value)) return value.map((v) => this.rewriteValue(v));
    if (typeof value === 'object' && value !== null) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        const key = this.rewriteText(k);
        Object.defineProperty(out, key, { value: this.rewriteValue(v), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    return value;
  }
}

/** `url` minus `base` (keeping the leading `/`, `?` or nothing), or undefined when not under it. */
function stripBase(url: string, base: Base): string | undefined {
  const m = /^(https?):\/\/([^/?#]+)(.*)$/i.exec(url);
  if (!m || m[2].includes('@')) return undefined;
  let parsedHost: string;
  try {
    parsedHost = new URL(`${m[1].toLowerCase()}://${m[2]}`).host;
  } catch {
    return undefined;
  }
  const prefix = `${m[1].toLowerCase()}://${parsedHost}`;
  const full = `${prefix}${m[3]}`;
  if (!full.startsWith(base.url)) return undefined;
  const rest = full.slice(base.url.length);
  if (rest !== '' && !rest.startsWith('/') && !rest.startsWith('?')) return undefined;
  return rest;
}
