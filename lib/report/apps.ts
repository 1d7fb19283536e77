/**
 * Section 5: the third-party apps of the app registry the synthesized app bundled into its FHIR
 * proxy (recorded by `FhirGateway` as construct metadata `zero-trust-fhir:bundled-app-registry`,
 * validated again here by `parseAppRegistry`) with their tier, scopes, client type, BAA, security
 * assessment (expired or not, on the report date: by default the synth date the gate used) and
 * throttle; and the label policy bundled with it (`zero-trust-fhir:bundled-label-policy`,
 * `parseLabelPolicy`). A registry or policy file given to the report explicitly is shown instead;
 * an app that bundles none shows none (never the kit's sample files). Each app's API versions
 * (the registry's optional `apiVersions`) are shown as the gateways record them (`lifecycle.ts`).
 */
import * as fs from 'fs';
import { assessmentExpired, BUNDLED_APP_REGISTRY_METADATA_KEY, loadAppRegistry, parseAppRegistry, RegisteredApp, TIER_DEFAULTS } from '../../policies/app-registry';
import { BUNDLED_LABEL_POLICY_METADATA_KEY, loadLabelPolicy, parseLabelPolicy } from '../../policies/label-policy';
import { APP_MONITORS_METADATA_KEY } from '../app-monitoring';
import { CloudAssemblyInput, metadataOfType } from './cloud-assembly';
import { appApiVersions, registeredApiVersions } from './lifecycle';
import { ApiVersionsSection, AppRow, AppsSection } from './model';

const DAY_MS = 24 * 60 * 60 * 1000;

/** A registry or label policy the synthesized app bundled, as its construct metadata records it. */
export interface BundledDocument {
  /** How the team supplied it (a file in its repository, or the name given to an object). */
  readonly source: string;
  readonly document: unknown;
  /** The construct that carries it (the FHIR proxy). */
  readonly at: string;
}

/** Where the section's registry or policy comes from: a file given to the report, or what the app bundled. */
export type DocumentSource = { readonly file: string } | { readonly bundled: BundledDocument };

export interface AppsOptions {
  /** The registry; absent when the app bundles none. */
  readonly registry?: DocumentSource;
  /** The label policy; absent when the app bundles none. */
  readonly labelPolicy?: DocumentSource;
  readonly today: Date;
  readonly appClientsInApp: number;
  /** How files are named in the report (relative to the repository). */
  readonly displayName: (file: string) => string;
  /** What watches each app, by app id ({@link recordedMonitors}); undefined when nothing is recorded. */
  readonly monitors?: ReadonlyMap<string, NonNullable<AppRow['watchedBy']>>;
  /** The API versions the gateways recorded (`recordedApiVersions`, lifecycle.ts); an app's versions are judged against them. @default - none recorded */
  readonly apiVersions?: ApiVersionsSection;
}

/**
 * What `AppMonitoring` records per app (construct metadata `zero-trust-fhir:app-monitors`), by app
 * id across the assembly's stacks; undefined when no stack records any (no per-app monitoring).
 */
export function recordedMonitors(input: CloudAssemblyInput): Map<string, NonNullable<AppRow['watchedBy']>> | undefined {
  let out: Map<string, NonNullable<AppRow['watchedBy']>> | undefined;
  for (const entry of metadataOfType(input, APP_MONITORS_METADATA_KEY)) {
    out ??= new Map();
    const apps = (entry.data as { apps?: unknown } | undefined)?.apps;
    for (const app of Array.isArray(apps) ? apps : []) {
      if (typeof app?.appId !== 'string') continue;
      const alarms = (Array.isArray(app.alarms) ? app.alarms : [])
        .filter((a: unknown): a is { kind: string; condition: string; path: string } => typeof (a as { kind?: unknown })?.kind === 'string')
        .map((a: { kind: string; condition: string; path: string }) => ({ kind: a.kind, condition: String(a.condition ?? ''), path: String(a.path ?? '') }));
      const monitors = (Array.isArray(app.monitors) ? app.monitors : []).filter((m: unknown): m is string => typeof m === 'string');
      const known = out.get(app.appId);
      out.set(app.appId, { alarms: [...(known?.alarms ?? []), ...alarms], monitors: [...(known?.monitors ?? []), ...monitors] });
    }
  }
  return out;
}

/**
 * The documents of a metadata type bundled in the assembly, in stack order, one per construct
 * (entries whose data is not `{ source, document }` are skipped).
 */
export function bundledDocuments(input: CloudAssemblyInput, type: string): BundledDocument[] {
  const out: BundledDocument[] = [];
  for (const { at, data: recorded } of metadataOfType(input, type)) {
    const data = recorded as { source?: unknown; document?: unknown } | undefined;
    if (data && typeof data === 'object' && typeof data.source === 'string' && data.document !== undefined) {
      out.push({ source: data.source, document: data.document, at: at.replace(/^\//, '') });
    }
  }
  return out;
}

/** The bundled registries and label policies of the assembly. */
export function bundledPolicies(input: CloudAssemblyInput): { registries: BundledDocument[]; labelPolicies: BundledDocument[] } {
  return { registries: bundledDocuments(input, BUNDLED_APP_REGISTRY_METADATA_KEY), labelPolicies: bundledDocuments(input, BUNDLED_LABEL_POLICY_METADATA_KEY) };
}

/** How the report names a source. */
export function sourceName(source: DocumentSource | undefined, displayName: (file: string) => string, what: string): string {
  if (source === undefined) return `none: the synthesized app bundles no ${what}`;
  return 'file' in source ? displayName(source.file) : `${source.bundled.source} (bundled in ${source.bundled.at})`;
}

function daysBetween(fromIso: string, toIso: string): number {
  return Math.round((Date.parse(`${toIso}T00:00:00Z`) - Date.parse(`${fromIso}T00:00:00Z`)) / DAY_MS);
}

function appRow(app: RegisteredApp, options: AppsOptions, asOf: string): AppRow {
  const tier = TIER_DEFAULTS[app.tier];
  const versions = registeredApiVersions(app);
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
    ...(versions !== undefined ? { apiVersions: appApiVersions(versions, options.apiVersions ?? { gateways: [], problems: [] }) } : {}),
  };
}

export function buildAppsSection(options: AppsOptions): AppsSection {
  const asOf = options.today.toISOString().slice(0, 10);
  let apps: AppRow[] = [];
  let error: string | undefined;
  const registry = options.registry;
  if (registry !== undefined) {
    try {
      const parsed = 'file' in registry ? loadAppRegistry(registry.file) : parseAppRegistry(registry.bundled.document, registry.bundled.source);
      apps = parsed.map((app) => {
        const row = appRow(app, options, asOf);
        // With per-app monitoring recorded, an app nothing watches shows an empty list (flagged).
        return options.monitors ? { ...row, watchedBy: options.monitors.get(app.id) ?? { alarms: [], monitors: [] } } : row;
      });
    } catch (err) {
      error = (err as Error).message;
    }
  }

  const policy = options.labelPolicy;
  const file = sourceName(policy, options.displayName, 'label policy');
  let labelPolicy: AppsSection['labelPolicy'] = { file, configured: false };
  if (policy !== undefined && ('bundled' in policy || fs.existsSync(policy.file))) {
    try {
      labelPolicy = { file, configured: true, content: 'file' in policy ? loadLabelPolicy(policy.file) : parseLabelPolicy(policy.bundled.document, policy.bundled.source) };
    } catch (err) {
      // A LabelPolicyError names the file and every field at fault; the report shows it, not throws it.
      labelPolicy = { file, configured: true, error: (err as Error).message };
    }
  }

  return {
    registryFile: sourceName(registry, options.displayName, 'app registry'),
    ...(error !== undefined ? { error } : {}),
    apps,
    asOf,
    appClientsInApp: options.appClientsInApp,
    labelPolicy,
  };
}
