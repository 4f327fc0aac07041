import {
  eventToken,
  flattenEvent,
  mergeMemberships,
  type ArrayMembership,
  type EventFields,
  type FieldOccurrence,
  type FieldReading,
} from './event-fields.ts';
import type { JsonNode } from './json-tree.ts';
import { OccurrenceIndex } from './occurrence-index.ts';
import type { CompiledBranch, CompiledField, CompiledPattern } from './pattern-compile.ts';
import { acceptsToken } from './value-matchers.ts';

/**
 * Matching, after EventBridge's array-consistent rule finder: a branch matches if each of its fields
 * (taken in path order) can be given one event value that one of its tests accepts, with all chosen
 * values coming from the same element of any array they share. A field whose tests include
 * `exists: false` also matches when the event has no value for it in the elements chosen so far.
 */
export const matchPattern = (pattern: CompiledPattern, event: JsonNode): boolean => {
  if (event.kind !== 'object') return false;
  const fields = flattenEvent(event);
  return pattern.branches.some((branch) => new BranchSearch(branch, fields, pattern.readings).matches());
};

const NO_MEMBERSHIP: ArrayMembership = new Map();

/** What the search needs to know about one field of a branch, for one event. */
interface FieldPlan {
  readonly field: CompiledField;
  readonly canBeAbsent: boolean;
  /** Every occurrence of the field (for `exists: false`). */
  readonly present: OccurrenceIndex;
  /** The occurrences one of the field's tests accepts. */
  readonly accepted: OccurrenceIndex;
}

/** A depth-first search for one consistent choice of values, remembering the states that failed. */
class BranchSearch {
  private readonly plans: readonly FieldPlan[];
  /** For each field position, the arrays that fields from there on can be constrained by. */
  private readonly relevantArrays: readonly ReadonlySet<number>[];
  private readonly failed = new Set<string>();

  constructor(branch: CompiledBranch, fields: EventFields, readings: ReadonlyMap<string, FieldReading>) {
    this.plans = branch.fields.map((field) => planField(field, fields.get(field.path) ?? [], readings.get(field.path)));
    this.relevantArrays = relevantArraysFrom(this.plans);
  }

  matches(): boolean {
    if (this.plans.some((plan) => !plan.canBeAbsent && plan.accepted.all.length === 0)) return false;
    return this.matchFrom(0, NO_MEMBERSHIP);
  }

  private matchFrom(position: number, membership: ArrayMembership): boolean {
    const plan = this.plans[position];
    if (!plan) return true;
    const key = this.stateKey(position, membership);
    if (this.failed.has(key)) return false;
    const found = this.absentThenContinue(plan, position, membership) || this.valueThenContinue(plan, position, membership);
    if (!found) this.failed.add(key);
    return found;
  }

  private absentThenContinue(plan: FieldPlan, position: number, membership: ArrayMembership): boolean {
    if (!plan.canBeAbsent) return false;
    const present = plan.present.candidates(membership).some((occurrence) => mergeMemberships(membership, occurrence.membership) !== undefined);
    return !present && this.matchFrom(position + 1, membership);
  }

  private valueThenContinue(plan: FieldPlan, position: number, membership: ArrayMembership): boolean {
    for (const occurrence of plan.accepted.candidates(membership)) {
      const merged = mergeMemberships(membership, occurrence.membership);
      if (merged && this.matchFrom(position + 1, merged)) return true;
    }
    return false;
  }

  /** The search state: the position and the chosen elements of the arrays that still matter. */
  private stateKey(position: number, membership: ArrayMembership): string {
    const relevant = this.relevantArrays[position];
    const parts = [...membership].filter(([arrayId]) => relevant?.has(arrayId)).map(([arrayId, index]) => `${arrayId}:${index}`);
    return `${position}|${parts.sort().join(',')}`;
  }
}

const planField = (field: CompiledField, occurrences: readonly FieldOccurrence[], reading: FieldReading | undefined): FieldPlan => {
  const accepted = occurrences.filter((occurrence) => {
    const token = eventToken(occurrence.value, reading);
    return field.matchers.some((matcher) => acceptsToken(matcher, token));
  });
  return {
    field,
    canBeAbsent: field.matchers.some((matcher) => matcher.type === 'absent'),
    present: new OccurrenceIndex(occurrences),
    accepted: new OccurrenceIndex(accepted),
  };
};

const relevantArraysFrom = (plans: readonly FieldPlan[]): ReadonlySet<number>[] => {
  const result: ReadonlySet<number>[] = [];
  let later = new Set<number>();
  for (let position = plans.length - 1; position >= 0; position--) {
    later = new Set([...later, ...(plans[position]?.present.arrayIds ?? [])]);
    result[position] = later;
  }
  return result;
};
