/**
 * Section 5: the third-party apps of `policies/apps.json` (validated by `loadAppRegistry`) with
 * their tier, scopes, client type, BAA, security assessment (expired or not, on the report date:
 * by default the synth date the gate used)
 * and throttle; and the label policy (validated by `loadLabelPolicy`), when one is configured.
 */
import * as fs from 'fs';
import { assessmentExpired, DEFAULT_APP_REGISTRY_FILE, loadAppRegistry, TIER_DEFAULTS } from '../../policies/app-registry';
import { loadLabelPolicy } from '../../policies/label-policy';
import { AppRow, AppsSection } from './model';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface AppsOptions {
  readonly registryFile?: string;
  /** The label policy file (resolved by the caller); absent means no label policy is configured. */
  readonly labelPolicyFile: string;
  readonly today: Date;
  readonly appClientsInApp: number;
  /** How files are named in the report (relative to the repository). */
  readonly displayName: (file: string) => string;
}

function daysBetween(fromIso: string, toIso: string): number {
  return Math.round((Date.parse(`${toIso}T00:00:00Z`) - Date.parse(`${fromIso}T00:00:00Z`)) / DAY_MS);
}

export function buildAppsSection(options: AppsOptions): AppsSection {
  const registryFile = options.registryFile ?? DEFAULT_APP_REGISTRY_FILE;
  const asOf = options.today.toISOString().slice(0, 10);
  let apps: AppRow[] = [];
  let error: string | undefined;
  try {
    apps = loadAppRegistry(registryFile).map((app) => {
      const tier = TIER_DEFAULTS[app.tier];
      return {
        id: app.id,
        name: app.name,
        vendor: app.vendor,
        tier: app.tier,
        clientType: app.clientType,
        scopes: [...app.scopes],
        labels: [...app.labels],
        ...(app.baa ? { baa: { reference: app.baa.reference, ...(app.baa.signed ? { signed: app.baa.signed } : {}) } } : {}),
        assessment: {
          date: app.securityAssessment.date,
          reviewer: app.securityAssessment.reviewer,
          expires: app.securityAssessment.expires,
          expired: assessmentExpired(app, options.today),
          daysToExpiry: daysBetween(asOf, app.securityAssessment.expires),
        },
        throttle: { ...app.throttle },
        tokenLifetimes: { accessTokenMinutes: tier.accessTokenMinutes, idTokenMinutes: tier.idTokenMinutes, refreshTokenDays: tier.refreshTokenDays },
      };
    });
  } catch (err) {
    error = (err as Error).message;
  }

  const labelFile = options.labelPolicyFile;
  let labelPolicy: AppsSection['labelPolicy'] = { file: options.displayName(labelFile), configured: false };
  if (fs.existsSync(labelFile)) {
    try {
      labelPolicy = { file: options.displayName(labelFile), configured: true, content: loadLabelPolicy(labelFile) };
    } catch (err) {
      // A LabelPolicyError names the file and every field at fault; the report shows it, not throws it.
      labelPolicy = { file: options.displayName(labelFile), configured: true, error: (err as Error).message };
    }
  }

  return {
    registryFile: options.displayName(registryFile),
    ...(error !== undefined ? { error } : {}),
    apps,
    asOf,
    appClientsInApp: options.appClientsInApp,
    labelPolicy,
  };
}
