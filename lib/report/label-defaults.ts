/**
 * The label policy's rules in reviewer terms: for each security label, whether a grant is needed,
 * whether patients see their own labelled data, and what happens when the patient has no Consent
 * (opt-in = withheld until a Consent permits; opt-out = shared until a Consent denies).
 */
import type { LabelPolicy } from '../../policies/label-policy';

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

/** The validated policy (`loadLabelPolicy`) in reviewer terms. */
export function labelDefaults(policy: LabelPolicy): LabelDefaults {
  return {
    rows: policy.labels.map((l) => ({
      code: l.code,
      kind: l.kind,
      description: l.description ?? '',
      clearance: l.clearance ? 'yes' : 'no',
      selfAccess: SELF_ACCESS[l.selfAccess] ?? l.selfAccess,
      withoutConsent: NO_CONSENT[l.noConsent] ?? l.noConsent,
    })),
    general: NO_CONSENT[policy.general.noConsent] ?? policy.general.noConsent,
    consentCacheSeconds: policy.consent.cacheTtlSeconds,
    consentEnforced: policy.consent.enforce,
  };
}
