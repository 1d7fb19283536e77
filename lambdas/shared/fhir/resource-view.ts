/**
 * One resource as the enforcement point sees it: its type, its compartment patients, its
 * resource-level labels, whether it carries conditional references, and the views of the
 * resources nested in it (`walk.ts`: `contained[]`, a Bundle's entries, a Parameters' resources).
 * Each fact is computed once, on first use, and shared by every check that needs it (the
 * compartment check, the label guard, Consent, the write checks, the audit).
 *
 * Pure and read-only: a view never changes its resource.
 */
import { isObject, type JsonObject } from '../json';
import { compartmentPatientIds, isCompartmentType } from './patient-compartment';
import { MAX_DEPTH, nestedResources, someElement, TooDeep, type NestedSlot } from './walk';

/** A reference written as a search (`Patient?identifier=…`): resolved by the server, not here. */
export function isConditionalReference(reference: unknown): boolean {
  return typeof reference === 'string' && reference.includes('?');
}

export interface NestedView {
  readonly slot: NestedSlot;
  readonly view: ResourceView;
}

export class ResourceView {
  private patientsMemo?: readonly string[];
  private nestedMemo?: readonly NestedView[];
  private conditionalMemo?: boolean;

  /**
   * `baseUrls`: the absolute bases under which a reference is local. `level`: how deep the
   * resource is nested (0: the body itself); past {@link MAX_DEPTH} the view cannot be built.
   */
  constructor(
    readonly resource: JsonObject & { readonly resourceType: string },
    private readonly baseUrls: readonly string[],
    readonly level = 0,
  ) {
    if (level > MAX_DEPTH) throw new TooDeep();
  }

  /** A view of `value` when it is a resource, else undefined. */
  static of(value: unknown, baseUrls: readonly string[]): ResourceView | undefined {
    return isObject(value) && typeof value.resourceType === 'string' ? new ResourceView(value as ResourceView['resource'], baseUrls) : undefined;
  }

  get type(): string {
    return this.resource.resourceType;
  }

  /** True when resources of this type can be in a Patient compartment. */
  get inCompartmentType(): boolean {
    return isCompartmentType(this.type);
  }

  /** The patients this resource's own compartment elements link to (not its nested resources'). */
  get patients(): readonly string[] {
    return (this.patientsMemo ??= this.inCompartmentType ? compartmentPatientIds(this.resource, { baseUrls: this.baseUrls }) : []);
  }

  /** `meta.security` as stored (read by the label index, which judges its shape). */
  get security(): unknown {
    return isObject(this.resource.meta) ? this.resource.meta.security : undefined;
  }

  /** The resources directly nested in this one, each with its own view. */
  get nested(): readonly NestedView[] {
    return (this.nestedMemo ??= nestedResources(this.resource).map((n) => ({
      slot: n.slot,
      view: new ResourceView(n.resource as ResourceView['resource'], this.baseUrls, this.level + 1),
    })));
  }

  /** True when any reference of this resource itself (not its nested ones) is a search. */
  get hasOwnConditionalReference(): boolean {
    return (this.conditionalMemo ??= hasConditional(this.resource));
  }

  /** True when this resource or any resource nested in it has a conditional reference. */
  get hasConditionalReference(): boolean {
    return this.hasOwnConditionalReference || this.nested.some((n) => n.view.hasConditionalReference);
  }

  /** The patients of this resource and of every resource nested in it, recursively. */
  allPatients(out: Set<string> = new Set()): Set<string> {
    for (const p of this.patients) out.add(p);
    for (const n of this.nested) n.view.allPatients(out);
    return out;
  }
}

/** True when an element of `resource` (nested resources excluded) holds a conditional `reference`. */
function hasConditional(resource: JsonObject): boolean {
  return someElement(resource, (_key, value) => isObject(value) && isConditionalReference(value.reference));
}
