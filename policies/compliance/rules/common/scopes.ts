/**
 * Reads Cognito `AllowedOAuthScopes` with the project's one SMART scope grammar
 * (`lambdas/shared/smart-scopes.ts`).
 */
import { ResourceGrant, isParsedGrant, parseScope } from '../../../../lambdas/shared/smart-scopes';

/**
 * The SMART resource grant a Cognito scope stands for, or `undefined` for a non-resource scope
 * (`openid`, `launch/patient`, a custom scope of another resource server, …). Cognito writes a
 * scope as `<resource server id>/<scope name>`; with the kit's resource servers (`patient`,
 * `user`, `system`) that is the SMART scope itself. A resource server id that is a URL
 * (`https://fhir.example.org/patient/Observation.rs`) is read from its last `context/` segment.
 */
export function smartGrantOf(scope: string): ResourceGrant | undefined {
  const direct = parseScope(scope);
  if (isParsedGrant(direct)) return direct;
  const m = /(?:^|\/)((?:patient|user|system)\/[^/]+)$/.exec(scope);
  if (m && m[1] !== scope) {
    const tail = parseScope(m[1]);
    if (isParsedGrant(tail)) return tail;
  }
  return undefined;
}

/**
 * The `patient/` and `user/` resource scopes among `scopes` (as SMART scopes, once each); values
 * that are not strings (an unresolved client scope) are skipped. An app holding any needs a BAA.
 */
export function patientOrUserScopes(scopes: Iterable<unknown>): string[] {
  const out = new Set<string>();
  for (const scope of scopes) {
    if (typeof scope !== 'string') continue;
    const grant = smartGrantOf(scope);
    if (grant && (grant.context === 'patient' || grant.context === 'user')) out.add(grant.scope);
  }
  return [...out];
}
