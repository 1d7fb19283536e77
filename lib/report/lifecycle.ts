/**
 * The API versions section: what each `FhirGateway` recorded about the versions it was
 * configured with (construct metadata `zero-trust-fhir:api-versions`, {@link ApiVersionsMetadata}):
 * status, whether the version has a stage, its public FHIR base path, the notice and sunset dates
 * with the notice period in calendar months (under six is flagged, as the rule
 * `FHIR.HIPAA-LambdaApiVersionLifecycle` flags it), successor, migration notes, and which version
 * is current; and, per registered app, the versions the registry says it uses (`apiVersions`,
 * read defensively: a registry without the field shows nothing), so that an app on a deprecated
 * or retired version stands out.
 *
 * The metadata is read with type guards: an entry that is not what the gateway writes is skipped
 * and named in the report's notices, never thrown.
 */
import { isObject } from '../../lambdas/shared/json';
import type { ApiVersionStatus } from '../../lambdas/shared/api-lifecycle';
import { MIN_DEPRECATION_NOTICE_MONTHS } from '../../policies/compliance/rules/lambda/LambdaApiVersionLifecycle';
import { API_VERSIONS_METADATA_KEY } from '../api-versions';
import { CloudAssemblyInput, metadataOfType } from './cloud-assembly';
import { ApiVersionRow, ApiVersionsSection, AppApiVersion, AppRow } from './model';

export { MIN_DEPRECATION_NOTICE_MONTHS };

const STATUSES: readonly ApiVersionStatus[] = ['active', 'deprecated', 'retired'];
/** How bad a status is for an app that uses the version (the worst across gateways wins). */
const RANK: Record<AppApiVersion['status'], number> = { active: 0, deprecated: 1, unknown: 2, retired: 3 };

const optionalString = (v: unknown): v is string | undefined => v === undefined || typeof v === 'string';

/** `t` plus `n` calendar months (UTC), as the lifecycle rule counts them. */
function addMonths(t: number, n: number): number {
  const d = new Date(t);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + n, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds());
}

/** Whole calendar months from `from` to `to` (ISO dates); undefined when either does not parse. */
export function noticeMonths(from: string | undefined, to: string | undefined): number | undefined {
  const a = from !== undefined ? Date.parse(from) : NaN;
  const b = to !== undefined ? Date.parse(to) : NaN;
  if (Number.isNaN(a) || Number.isNaN(b)) return undefined;
  let months = 0;
  while (months < 1200 && addMonths(a, months + 1) <= b) months++;
  return months;
}

/** One recorded version, or undefined when it is not what the gateway writes. */
function versionRow(v: unknown, current: string): ApiVersionRow | undefined {
  if (!isObject(v)) return undefined;
  const { version, status, served, fhirBasePath, deprecatedAt, sunsetAt, successor, migrationNotesUrl } = v;
  if (typeof version !== 'string' || !STATUSES.includes(status as ApiVersionStatus) || typeof served !== 'boolean' || typeof fhirBasePath !== 'string') return undefined;
  if (![deprecatedAt, sunsetAt, successor, migrationNotesUrl].every(optionalString)) return undefined;
  const months = noticeMonths(deprecatedAt as string | undefined, sunsetAt as string | undefined);
  return {
    version,
    status: status as ApiVersionStatus,
    served,
    fhirBasePath,
    ...(deprecatedAt !== undefined ? { deprecatedAt: deprecatedAt as string } : {}),
    ...(sunsetAt !== undefined ? { sunsetAt: sunsetAt as string } : {}),
    ...(months !== undefined ? { noticeMonths: months } : {}),
    shortNotice: months !== undefined && months < MIN_DEPRECATION_NOTICE_MONTHS,
    ...(successor !== undefined ? { successor: successor as string } : {}),
    ...(migrationNotesUrl !== undefined ? { migrationNotesUrl: migrationNotesUrl as string } : {}),
    current: version === current,
    usedBy: [],
  };
}

/**
 * The API versions every gateway of the assembly recorded, in stack order; `gateways` is empty
 * when no stack records any (then the report says "no API versions recorded"). Malformed entries
 * are skipped and named in `problems`.
 */
export function recordedApiVersions(input: CloudAssemblyInput): ApiVersionsSection {
  const gateways: ApiVersionsSection['gateways'] = [];
  const problems: string[] = [];
  for (const { stack, at, data } of metadataOfType(input, API_VERSIONS_METADATA_KEY)) {
    const current = isObject(data) && typeof data.current === 'string' ? data.current : undefined;
    const list = isObject(data) && Array.isArray(data.versions) ? data.versions : undefined;
    const versions = current !== undefined && list !== undefined ? list.map((v) => versionRow(v, current)) : [];
    if (current === undefined || list === undefined || versions.some((v) => v === undefined)) {
      problems.push(`The API versions recorded on ${at} (${API_VERSIONS_METADATA_KEY}) are not in the form FhirGateway writes; ${versions.length > 0 ? 'the malformed versions are left out' : 'they are left out'}.`);
    }
    const rows = versions.filter((v): v is ApiVersionRow => v !== undefined);
    if (rows.length > 0 && current !== undefined) gateways.push({ gateway: at, stack, current, versions: rows });
  }
  return { gateways, problems };
}

/** The API versions a registry entry says the app uses (`apiVersions`), when it says so. */
export function registeredApiVersions(app: unknown): string[] | undefined {
  if (!isObject(app) || !Array.isArray(app.apiVersions)) return undefined;
  return app.apiVersions.filter((v): v is string => typeof v === 'string');
}

/**
 * How the versions an app uses stand across the recorded gateways: the worst status wins (a
 * version deprecated by one gateway is deprecated for the app), with the earliest sunset; a
 * version no gateway records is `unknown`.
 */
export function appApiVersions(versions: readonly string[], section: ApiVersionsSection): AppApiVersion[] {
  return [...new Set(versions)].map((version) => {
    const recorded = section.gateways.flatMap((g) => g.versions.filter((v) => v.version === version));
    if (recorded.length === 0) return { version, status: 'unknown' as const };
    const worst = recorded.reduce((a, b) => (RANK[b.status] > RANK[a.status] || (b.status === a.status && (b.sunsetAt ?? '\uffff') < (a.sunsetAt ?? '\uffff')) ? b : a));
    return {
      version,
      status: worst.status,
      ...(worst.sunsetAt !== undefined ? { sunsetAt: worst.sunsetAt } : {}),
      ...(worst.successor !== undefined ? { successor: worst.successor } : {}),
    };
  });
}

/** The section with each version's `usedBy` filled from the apps that name it. */
export function withUsage(section: ApiVersionsSection, apps: readonly AppRow[]): ApiVersionsSection {
  return {
    ...section,
    gateways: section.gateways.map((g) => ({
      ...g,
      versions: g.versions.map((v) => ({ ...v, usedBy: apps.filter((a) => a.apiVersions?.some((u) => u.version === v.version)).map((a) => a.id) })),
    })),
  };
}

/** The apps a reviewer must chase: those on a version that is deprecated, retired or recorded by no gateway. */
export function appsToChase(apps: readonly AppRow[]): Array<{ readonly app: AppRow; readonly versions: AppApiVersion[] }> {
  return apps
    .map((app) => ({ app, versions: (app.apiVersions ?? []).filter((v) => v.status !== 'active') }))
    .filter((x) => x.versions.length > 0);
}
