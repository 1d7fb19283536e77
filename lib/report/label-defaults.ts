/**
 * The label policy's rules in reviewer terms: for each security label, whether a grant is needed,
 * whether patients see their own labelled data, and what happens when the patient has no Consent
 * (opt-in = withheld until a Consent permits; opt-out = shared until a Consent denies).
 */
export interface LabelDefaultRow {
  readonly code: string;
  readonly kind: string;
  readonly description: string;
  readonly clearance: string;
  readonly selfAccess: string;
  readonly withoutConsent: string;
}

export interface LabelDefaults {
  readonly rows: LabelDefaultRow[];
  /** What unlabelled data does without a Consent. */
  readonly general: string;
  /** The delay before a Consent change takes effect (the proxy's cache TTL), in seconds. */
  readonly consentCacheSeconds?: number;
  readonly consentEnforced?: boolean;
}

const SELF_ACCESS: Record<string, string> = {
  none: 'no (needs the grant like anyone)',
  'cleared-apps': 'yes, through apps cleared for it',
  'any-app': 'yes, through any app',
};

const NO_CONSENT: Record<string, string> = {
  permit: 'shared (opt-out: a Consent must deny)',
  deny: 'withheld (opt-in: a Consent must permit)',
};

/** Reads the policy document as written in `policies/labels.json`; `undefined` when its shape is not that. */
export function labelDefaults(content: unknown): LabelDefaults | undefined {
  if (typeof content !== 'object' || content === null) return undefined;
  const doc = content as { labels?: unknown; general?: { noConsent?: unknown }; consent?: { cacheTtlSeconds?: unknown; enforce?: unknown } };
  if (!Array.isArray(doc.labels)) return undefined;
  const rows: LabelDefaultRow[] = doc.labels
    .filter((l): l is Record<string, unknown> => typeof l === 'object' && l !== null)
    .map((l) => ({
      code: String(l.code ?? ''),
      kind: String(l.kind ?? ''),
      description: String(l.description ?? ''),
      clearance: l.clearance === true ? 'yes' : 'no',
      selfAccess: SELF_ACCESS[String(l.selfAccess)] ?? String(l.selfAccess ?? ''),
      withoutConsent: NO_CONSENT[String(l.noConsent)] ?? String(l.noConsent ?? ''),
    }));
  return {
    rows,
    general: NO_CONSENT[String(doc.general?.noConsent)] ?? String(doc.general?.noConsent ?? 'not set'),
    consentCacheSeconds: typeof doc.consent?.cacheTtlSeconds === 'number' ? doc.consent.cacheTtlSeconds : undefined,
    consentEnforced: typeof doc.consent?.enforce === 'boolean' ? doc.consent.enforce : undefined,
  };
}
