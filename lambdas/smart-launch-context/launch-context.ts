/**
 * Cognito pre-token-generation trigger (event version 2, and version 3 for client credentials):
 * puts the SMART launch context into the tokens and removes scopes the caller may not hold.
 *
 * User sign-ins (every V2 trigger source, and V3 sources other than client credentials):
 * - reads the user attributes `custom:patient` (a FHIR id) and `custom:fhirUser` (a relative
 *   reference `Patient/<id>`, `Practitioner/<id>`, `RelatedPerson/<id>` or `Person/<id>`); only
 *   administrators can set them (the user pool makes them read-only to every app client);
 * - adds `patient` and `fhirUser` to the access AND ID tokens, and `labels` (the space-separated
 *   security-label codes the user's Cognito groups clear them for) to the access token, where the
 *   SMART authorizer reads it;
 * - suppresses, in the access token: `patient/` scopes and `launch/patient` without a patient
 *   attribute; `user/` scopes without a fhirUser or for a patient user (fhirUser `Patient/…`);
 *   `system/` scopes always (they belong to client credentials); `launch/encounter` always (the
 *   kit has no encounter context to give); `aws.cognito.signin.user.admin` always (it would let
 *   the app call Cognito's user APIs with the access token).
 *
 * Client credentials (V3 `TokenGeneration_ClientCredentials`; Cognito does not call a V2 trigger
 * for that grant, so with V2 those tokens simply carry the client's registered `system/` scopes):
 * no user, so no claims are added and every non-`system/` resource scope and launch scope is
 * suppressed.
 *
 * Malformed attribute values, a patient user whose `custom:patient` does not match the id in
 * their fhirUser, and any other event version make the handler THROW: Cognito then refuses to
 * issue tokens (the sign-in fails) rather than passing on a value the proxy might trust.
 */
import type { PreTokenGenerationV2TriggerEvent, PreTokenGenerationV3TriggerEvent } from 'aws-lambda';
import { isObject } from '../shared/json';
import { parseScope } from '../shared/smart-scopes';

/** The events this trigger handles. */
export type LaunchContextEvent = PreTokenGenerationV2TriggerEvent | PreTokenGenerationV3TriggerEvent;

export type LaunchContextHandler = <E extends LaunchContextEvent>(event: E) => Promise<E>;

export interface LaunchContextOptions {
  /**
   * Cognito group name → security-label codes (DS4P, e.g. `R`, `V`, `PSY`) its members are
   * cleared for. A user's `labels` claim is the union over their groups.
   * @default - no group clears any label (no `labels` claim)
   */
  readonly groupLabels?: Readonly<Record<string, readonly string[]>>;
}

/** The user attribute holding the patient id (custom attributes carry the `custom:` prefix). */
export const PATIENT_ATTRIBUTE = 'custom:patient';
/** The user attribute holding the user's FHIR resource reference. */
export const FHIR_USER_ATTRIBUTE = 'custom:fhirUser';

/** FHIR `id` datatype. */
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
/** The resource types a SMART `fhirUser` may point to, as a relative reference. */
const FHIR_USER = /^(Patient|Practitioner|RelatedPerson|Person)\/([A-Za-z0-9\-.]{1,64})$/;
/** A security-label code (same bounds as the authorizer). */
const LABEL_CODE = /^[\x21-\x7e]{1,128}$/;
/** The authorizer accepts at most this many label codes. */
const MAX_LABELS = 100;

const CLIENT_CREDENTIALS = 'TokenGeneration_ClientCredentials';
const COGNITO_ADMIN_SCOPE = 'aws.cognito.signin.user.admin';

/** A sign-in refused by the trigger. The message is safe to log (never an attribute value). */
export class LaunchContextError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LaunchContextError';
  }
}

function validateGroupLabels(groupLabels: Readonly<Record<string, readonly string[]>>): Map<string, readonly string[]> {
  if (!isObject(groupLabels)) {
    throw new Error('groupLabels must be an object of group name → label codes');
  }
  const out = new Map<string, readonly string[]>();
  const all = new Set<string>();
  for (const [group, labels] of Object.entries(groupLabels)) {
    if (!Array.isArray(labels)) throw new Error(`groupLabels["${group}"] must be a list of label codes`);
    for (const label of labels) {
      if (typeof label !== 'string' || !LABEL_CODE.test(label)) {
        throw new Error(`groupLabels["${group}"] has an invalid label code (1–128 printable ASCII characters, no spaces)`);
      }
      all.add(label);
    }
    out.set(group, [...labels]);
  }
  if (all.size > MAX_LABELS) throw new Error(`groupLabels names more than ${MAX_LABELS} distinct label codes`);
  return out;
}

/** The attribute's value, `undefined` when absent or empty; throws when present but malformed. */
function attribute(attributes: Record<string, unknown>, name: string, pattern: RegExp): string | undefined {
  if (!Object.prototype.hasOwnProperty.call(attributes, name)) return undefined;
  const value = attributes[name];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' || !pattern.test(value)) throw new LaunchContextError(`malformed ${name} attribute`);
  return value;
}

function requestedScopes(event: LaunchContextEvent): string[] {
  const scopes = event.request?.scopes;
  if (scopes === undefined || scopes === null) return [];
  if (!Array.isArray(scopes)) throw new LaunchContextError('malformed scopes in the event');
  return scopes.filter((s): s is string => typeof s === 'string');
}

interface Caller {
  readonly patient?: string;
  readonly fhirUser?: string;
  readonly isPatientUser: boolean;
}

/** True when the scope must be removed from a user sign-in's access token. */
function suppressForUser(scope: string, caller: Caller): boolean {
  if (scope === COGNITO_ADMIN_SCOPE) return true;
  const parsed = parseScope(scope);
  if (parsed.kind === 'special') {
    if (parsed.special === 'launch/patient') return caller.patient === undefined;
    if (parsed.special === 'launch/encounter') return true;
    return false;
  }
  if (parsed.kind === 'rejected') return false; // not a SMART scope (e.g. `email`): grants nothing here
  switch (parsed.context) {
    case 'patient':
      return caller.patient === undefined;
    case 'user':
      return caller.fhirUser === undefined || caller.isPatientUser;
    case 'system':
      return true;
  }
}

/** True when the scope must be removed from a client-credentials access token. */
function suppressForClient(scope: string): boolean {
  if (scope === COGNITO_ADMIN_SCOPE) return true;
  const parsed = parseScope(scope);
  if (parsed.kind === 'grant') return parsed.context !== 'system';
  if (parsed.kind === 'special') return parsed.special.startsWith('launch');
  return false;
}

/**
 * Creates the pre-token-generation handler. Create it once per container.
 *
 * @throws Error at creation when `groupLabels` is invalid (a deployment error)
 */
export function createLaunchContextHandler(options: LaunchContextOptions = {}): LaunchContextHandler {
  const groupLabels = validateGroupLabels(options.groupLabels ?? {});

  function labelsFor(groups: unknown): string | undefined {
    if (groups === undefined || groups === null) return undefined;
    if (!Array.isArray(groups)) throw new LaunchContextError('malformed groupsToOverride in the event');
    const labels = new Set<string>();
    for (const group of groups) {
      if (typeof group !== 'string') continue;
      for (const label of groupLabels.get(group) ?? []) labels.add(label);
    }
    return labels.size === 0 ? undefined : [...labels].sort().join(' ');
  }

  return async <E extends LaunchContextEvent>(event: E): Promise<E> => {
    if (event === null || typeof event !== 'object' || event.request === null || typeof event.request !== 'object') {
      throw new LaunchContextError('malformed event');
    }
    // A V1 response shape would be ignored by Cognito for the access token: refuse to run as V1.
    if (event.version !== '2' && event.version !== '3') throw new LaunchContextError('unsupported trigger event version');
    const scopes = requestedScopes(event);

    if (event.triggerSource === CLIENT_CREDENTIALS) {
      event.response = {
        claimsAndScopeOverrideDetails: {
          accessTokenGeneration: { scopesToSuppress: scopes.filter(suppressForClient) },
        },
      };
      return event;
    }

    const attributes = (event.request.userAttributes ?? {}) as Record<string, unknown>;
    const patient = attribute(attributes, PATIENT_ATTRIBUTE, FHIR_ID);
    const fhirUser = attribute(attributes, FHIR_USER_ATTRIBUTE, FHIR_USER);
    const userMatch = fhirUser === undefined ? undefined : FHIR_USER.exec(fhirUser);
    const isPatientUser = userMatch?.[1] === 'Patient';
    if (isPatientUser && patient !== userMatch?.[2]) {
      throw new LaunchContextError(`a Patient fhirUser must have a matching ${PATIENT_ATTRIBUTE} attribute`);
    }
    const labels = labelsFor(event.request.groupConfiguration?.groupsToOverride);

    const context: Record<string, string> = {};
    if (patient !== undefined) context.patient = patient;
    if (fhirUser !== undefined) context.fhirUser = fhirUser;

    event.response = {
      claimsAndScopeOverrideDetails: {
        idTokenGeneration: { claimsToAddOrOverride: { ...context } },
        accessTokenGeneration: {
          claimsToAddOrOverride: { ...context, ...(labels !== undefined ? { labels } : {}) },
          scopesToSuppress: scopes.filter((s) => suppressForUser(s, { patient, fhirUser, isPatientUser })),
        },
      },
    };
    return event;
  };
}
