/**
 * Ties a Cognito app client to the entry of the app registry (`policies/apps.json`) it was
 * created for, so that `FHIR.HIPAA-CognitoClientAppAssessment` can report, on that client, an app
 * whose security assessment has expired or that holds `patient/` or `user/` scopes without a
 * business associate agreement.
 *
 * `SmartAppRegistry` calls {@link markRegisteredApp} on every client it creates. The marker is
 * construct metadata `zero-trust-fhir:registered-app` on the `AWS::Cognito::UserPoolClient`
 * resource, holding the registry fields the rule reads ({@link RegisteredAppMarker}); it is also
 * written to the cloud assembly, where the reviewer's report can show it.
 *
 * "Today" for the expiry check is the synth date: the context value `zeroTrustFhir:today`
 * (`YYYY-MM-DD`, e.g. `cdk synth -c zeroTrustFhir:today=2027-11-01`, or `new App({ context })` in
 * tests; `"today"` inside the `zeroTrustFhir` object works too, the colon form wins) when set,
 * otherwise the current UTC date ({@link synthDate}).
 */
import { CfnResource, Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { kitContextValue } from './kit-config';
import { isCalendarDate, type RegisteredApp, type RiskTier } from '../app-registry';

/** Construct metadata type of the registered-app marker. */
export const REGISTERED_APP_METADATA_KEY = 'zero-trust-fhir:registered-app';

/** Context key that fixes the synth date (`YYYY-MM-DD`) for the assessment-expiry check. */
export const TODAY_CONTEXT_KEY = 'zeroTrustFhir:today';

const CLIENT_TYPE = 'AWS::Cognito::UserPoolClient';
const TIERS: readonly RiskTier[] = ['low', 'medium', 'high'];
const CLIENT_TYPES: ReadonlyArray<RegisteredApp['clientType']> = ['public', 'confidential'];

/** What the marker records of a registered app: the fields the registry rule needs. */
export interface RegisteredAppMarker {
  /** The app's registry id. */
  readonly id: string;
  readonly tier: RiskTier;
  readonly clientType: RegisteredApp['clientType'];
  /** SMART scopes as registered. */
  readonly scopes: readonly string[];
  /** `baa.reference`; absent when the registry entry has none. */
  readonly baaReference?: string;
  /** `securityAssessment.date` (`YYYY-MM-DD`). */
  readonly assessmentDate: string;
  /** `securityAssessment.expires` (`YYYY-MM-DD`): the last day the assessment is valid. */
  readonly assessmentExpires: string;
}

/**
 * The `AWS::Cognito::UserPoolClient` resource of `client`: `client` itself (a
 * `CfnUserPoolClient` or a generic `CfnResource` of that type) or the default child of an L2
 * `UserPoolClient`; `undefined` otherwise.
 */
function clientResource(client: IConstruct): CfnResource | undefined {
  if (CfnResource.isCfnResource(client)) return client.cfnResourceType === CLIENT_TYPE ? client : undefined;
  const child = client.node.defaultChild;
  return child && CfnResource.isCfnResource(child) && child.cfnResourceType === CLIENT_TYPE ? child : undefined;
}

/**
 * Marks a Cognito app client (the L2 `UserPoolClient` or its `CfnUserPoolClient`) as the client
 * of the registered `app`. Marking the same client again with the same app is a no-op.
 *
 * @throws Error when `client` is not a user pool client, the app's fields are not what the
 *   registry allows (id, tier, client type, scopes, assessment dates, BAA reference), or the
 *   client is already marked for another app or with other values.
 */
export function markRegisteredApp(client: IConstruct, app: RegisteredApp): void {
  const resource = clientResource(client);
  const where = `markRegisteredApp: ${client.node.path}`;
  if (!resource) throw new Error(`${where} is not a Cognito user pool client (an L2 UserPoolClient or a CfnUserPoolClient)`);
  const marker = toMarker(app, where);
  const existing = ownMarker(resource);
  if (existing !== undefined) {
    if (JSON.stringify(existing) === JSON.stringify(marker)) return;
    throw new Error(`${where} is already marked as the client of app "${existing.id}"; a client belongs to one registry entry`);
  }
  resource.node.addMetadata(REGISTERED_APP_METADATA_KEY, marker);
}

/**
 * The registered-app marker of a user pool client: on `construct` itself or, for an L2
 * `UserPoolClient`, on its `CfnUserPoolClient`; `undefined` when it is not marked.
 * @throws Error when the metadata is there but malformed (not written by {@link markRegisteredApp})
 */
export function registeredAppOf(construct: IConstruct): RegisteredAppMarker | undefined {
  const own = ownMarker(construct);
  if (own !== undefined || CfnResource.isCfnResource(construct)) return own;
  const resource = clientResource(construct);
  return resource ? ownMarker(resource) : undefined;
}

/**
 * The synth date `YYYY-MM-DD` as seen from `scope`: the context value `zeroTrustFhir:today` (or
 * the `today` field of the `zeroTrustFhir` object) when set (not `null`), otherwise the current
 * UTC date.
 * @throws Error when the context value is set but is not a `YYYY-MM-DD` calendar date
 */
export function synthDate(scope: IConstruct): string {
  const value: unknown = kitContextValue(scope, 'today');
  if (value === undefined || value === null) return new Date().toISOString().slice(0, 10);
  if (!isCalendarDate(value)) {
    throw new Error(`context "${TODAY_CONTEXT_KEY}" must be a YYYY-MM-DD date, got ${JSON.stringify(value).slice(0, 40)}`);
  }
  return value;
}

function toMarker(app: RegisteredApp, where: string): RegisteredAppMarker {
  if (app === null || typeof app !== 'object') throw new Error(`${where}: the app must be a registry entry`);
  const id: unknown = app.id;
  if (typeof id !== 'string' || id.trim() === '' || Token.isUnresolved(id)) throw new Error(`${where}: the app needs an id`);
  const bad = (field: string, what: string): Error => new Error(`${where}: app "${id}": ${field} ${what}`);
  if (!TIERS.includes(app.tier)) throw bad('tier', `must be one of ${TIERS.join(', ')}`);
  if (!CLIENT_TYPES.includes(app.clientType)) throw bad('clientType', `must be one of ${CLIENT_TYPES.join(', ')}`);
  if (!Array.isArray(app.scopes) || app.scopes.some((s) => typeof s !== 'string' || Token.isUnresolved(s))) {
    throw bad('scopes', 'must be a list of scope strings');
  }
  const assessment = app.securityAssessment;
  if (!isCalendarDate(assessment?.date)) throw bad('securityAssessment.date', 'must be a YYYY-MM-DD date');
  if (!isCalendarDate(assessment?.expires)) throw bad('securityAssessment.expires', 'must be a YYYY-MM-DD date');
  const reference: unknown = app.baa?.reference;
  if (reference !== undefined && (typeof reference !== 'string' || Token.isUnresolved(reference))) {
    throw bad('baa.reference', 'must be a string');
  }
  const baaReference = typeof reference === 'string' && reference.trim() !== '' ? reference : undefined;
  return {
    id,
    tier: app.tier,
    clientType: app.clientType,
    scopes: [...app.scopes],
    ...(baaReference !== undefined ? { baaReference } : {}),
    assessmentDate: assessment.date,
    assessmentExpires: assessment.expires,
  };
}

/** The construct's own marker; throws on a malformed one (the rule then reports rather than skips). */
function ownMarker(construct: IConstruct): RegisteredAppMarker | undefined {
  for (const entry of construct.node.metadata) {
    if (entry.type !== REGISTERED_APP_METADATA_KEY) continue;
    const data = entry.data as Partial<RegisteredAppMarker> | null | undefined;
    if (
      data
      && typeof data === 'object'
      && typeof data.id === 'string'
      && TIERS.includes(data.tier as RiskTier)
      && CLIENT_TYPES.includes(data.clientType as RegisteredApp['clientType'])
      && Array.isArray(data.scopes) && data.scopes.every((s) => typeof s === 'string')
      && (data.baaReference === undefined || typeof data.baaReference === 'string')
      && isCalendarDate(data.assessmentDate)
      && isCalendarDate(data.assessmentExpires)
    ) {
      return {
        id: data.id,
        tier: data.tier as RiskTier,
        clientType: data.clientType as RegisteredApp['clientType'],
        scopes: [...data.scopes],
        ...(data.baaReference !== undefined ? { baaReference: data.baaReference } : {}),
        assessmentDate: data.assessmentDate,
        assessmentExpires: data.assessmentExpires,
      };
    }
    throw new Error(`${construct.node.path} carries a malformed ${REGISTERED_APP_METADATA_KEY} marker: mark the client with markRegisteredApp`);
  }
  return undefined;
}
