/**
 * One interaction, the same way for a single request and for each batch/transaction entry:
 *
 *   authorize (authorize.ts) → {@link prepare}: validate the written resources, read and check
 *   the write target and pin the write to it (targets.ts), check a JSON Patch's result →
 *   forward (the caller: one request, or one Bundle for every entry) → {@link release}: decide
 *   on every resource of the answer, whole (access.ts `see`, nested resources included), then
 *   project what is released (`_elements`/`_summary`, projection.ts).
 *
 * Each step returns a tagged outcome; `proxy.ts` maps them to an HTTP response and `batch.ts`
 * to a Bundle entry, so the sequence is written once.
 */
import type { OperationOutcomeIssueInput } from '../shared/operation-outcome';
import { isObject } from '../shared/json';
import { see, type Access, type Denial } from './access';
import type { Plan } from './authorize';
import type { ProxyContext } from './context';
import { filterBundle, filterOperationResult, sanitizeOutcome, type PatientCollector } from './filter';
import type { HealthLakeResponse } from './healthlake-client';
import { projectBody } from './projection';
import { encodeParams } from './request';
import { checkTarget, gatedWrite, isDenial, targetCheck } from './targets';
import type { Trace } from './trace';

/** A plan ready to forward, with the version its write is pinned to. */
export interface Ready {
  readonly kind: 'ready';
  readonly plan: Plan;
  readonly ifMatch?: string;
}

/** Why an interaction stopped before it was forwarded. */
export type Stop =
  | { readonly kind: 'refused'; readonly denial: Denial }
  | { readonly kind: 'invalid'; readonly issues: readonly OperationOutcomeIssueInput[] }
  | { readonly kind: 'upstream-error'; readonly response: HealthLakeResponse };

/** What may be returned of an answer. */
export type Released = { readonly kind: 'released'; readonly body: unknown } | { readonly kind: 'withheld' };

const WRITES: ReadonlySet<string> = new Set(['create', 'update', 'patch', 'delete']);

/** True for the interactions that change stored data. */
export function isWrite(plan: Plan): boolean {
  return WRITES.has(plan.request.interaction);
}

/** Validation issues of the resources a plan writes (none when validation is off). */
export function validationIssues(ctx: ProxyContext, targets: Plan['validate']): OperationOutcomeIssueInput[] {
  if (!ctx.validator) return [];
  const issues: OperationOutcomeIssueInput[] = [];
  for (const t of targets) issues.push(...ctx.validator.validate(t.resource, t.prefix));
  return issues;
}

/**
 * Everything before forwarding an authorized plan. `prefix`: where a batch entry's resource is
 * (`Bundle.entry[3].resource`), for validation issues.
 */
export async function prepare(ctx: ProxyContext, access: Access, plan: Plan, trace: Trace, prefix?: string): Promise<Ready | Stop> {
  trace.patients.addIds(plan.patientIds);
  const issues = validationIssues(ctx, prefix ? plan.validate.map((v) => ({ ...v, prefix })) : plan.validate);
  if (issues.length > 0) return { kind: 'invalid', issues };
  const check = targetCheck(ctx.strictLabels, plan);
  if (isDenial(check)) return { kind: 'refused', denial: check };
  const target = check ? await checkTarget(ctx, access, trace, check, plan.request.forwardHeaders['If-Match']) : undefined;
  if (isDenial(target)) return { kind: 'refused', denial: target };
  if (target && 'status' in target) return { kind: 'upstream-error', response: target };
  const write = gatedWrite(ctx, access, plan, target, trace, (t) => validationIssues(ctx, t), prefix);
  if (isDenial(write)) return { kind: 'refused', denial: write };
  if (write) return { kind: 'invalid', issues: write };
  return { kind: 'ready', plan, ...(target?.ifMatch ? { ifMatch: target.ifMatch } : {}) };
}

/** Forwards a single plan to HealthLake (signed), pinned to `ifMatch` when given. */
export function send(ctx: ProxyContext, plan: Plan, ifMatch: string | undefined, params = plan.forward.params): Promise<HealthLakeResponse> {
  const f = plan.forward;
  const headers: Record<string, string> = { ...f.headers };
  if (ifMatch) headers['If-Match'] = ifMatch;
  if (f.form) headers['Content-Type'] = 'application/x-www-form-urlencoded';
  return ctx.client.request({
    method: f.method,
    path: f.path,
    query: f.form ? [] : params,
    body: f.form ? encodeParams(params) : f.body,
    headers,
    idempotent: f.idempotent,
  });
}

/**
 * What may be returned of a successful answer, per the plan's check: every resource in it decided
 * whole (`see`: nested resources, labels, Consent), then projected. The Consents of every patient
 * in the answer must have been loaded (`guard.loadFor`).
 */
export function release(access: Access, plan: Plan, body: unknown, patients: PatientCollector): Released {
  const decided = decide(access, plan, body, patients);
  if (decided.kind === 'withheld' || plan.projection === undefined || plan.projection.kind === 'count') return decided;
  return { kind: 'released', body: projectBody(decided.body, plan.projection) };
}

function decide(access: Access, plan: Plan, body: unknown, patients: PatientCollector): Released {
  const check = plan.check;
  switch (check.kind) {
    case 'passthrough':
      return { kind: 'released', body: isObject(body) && body.resourceType === 'OperationOutcome' ? sanitizeOutcome(body, 'Operation outcome') : body };
    case 'resource': {
      if (body === undefined) return { kind: 'released', body: undefined };
      if (isObject(body) && body.resourceType === 'OperationOutcome') return { kind: 'released', body: sanitizeOutcome(body, 'Operation outcome') };
      const type = 'resourceType' in plan.request ? plan.request.resourceType : undefined;
      const sight = isObject(body) && body.resourceType === type ? see(access, body, check.perms) : undefined;
      if (sight) patients.addIds(sight.patients);
      else patients.add(body);
      if (!sight?.visible) return { kind: 'withheld' };
      return { kind: 'released', body: sight.resource ?? body };
    }
    case 'bundle': {
      const checks = access.patientId !== undefined || check.exactTotal === false;
      const out = filterBundle(access, body, { perms: check.perms, exactTotal: check.exactTotal, keepEmptyEntries: !checks }, patients);
      return out === undefined ? { kind: 'withheld' } : { kind: 'released', body: out };
    }
    case 'operation': {
      const out = filterOperationResult(access, body, check.perms, patients);
      return out === undefined ? { kind: 'withheld' } : { kind: 'released', body: out };
    }
  }
}
