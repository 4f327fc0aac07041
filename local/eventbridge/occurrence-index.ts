import type { ArrayMembership, FieldOccurrence } from './event-fields.ts';

/**
 * The occurrences of one field, indexed by the array elements they sit in, so that the ones that can
 * go with an already chosen set of elements are found without scanning them all.
 */
export class OccurrenceIndex {
  /** Every occurrence. */
  readonly all: readonly FieldOccurrence[];
  /** The arrays any occurrence sits in. */
  readonly arrayIds: ReadonlySet<number>;
  /** For arrays that every occurrence sits in: array id → element index → occurrences. */
  private readonly byElement = new Map<number, Map<number, FieldOccurrence[]>>();

  constructor(occurrences: readonly FieldOccurrence[]) {
    this.all = occurrences;
    this.arrayIds = new Set(occurrences.flatMap((occurrence) => [...occurrence.membership.keys()]));
    for (const arrayId of this.arrayIds) {
      if (occurrences.every((occurrence) => occurrence.membership.has(arrayId))) this.byElement.set(arrayId, groupByElement(occurrences, arrayId));
    }
  }

  /** A subset of the occurrences that still holds every one that may be consistent with `membership`. */
  candidates(membership: ArrayMembership): readonly FieldOccurrence[] {
    let best = this.all;
    for (const [arrayId, index] of membership) {
      const narrowed = this.byElement.get(arrayId)?.get(index);
      if (this.byElement.has(arrayId) && (narrowed?.length ?? 0) < best.length) best = narrowed ?? [];
    }
    return best;
  }
}

const groupByElement = (occurrences: readonly FieldOccurrence[], arrayId: number): Map<number, FieldOccurrence[]> => {
  const groups = new Map<number, FieldOccurrence[]>();
  for (const occurrence of occurrences) {
    const index = occurrence.membership.get(arrayId) ?? -1;
    const group = groups.get(index) ?? [];
    group.push(occurrence);
    groups.set(index, group);
  }
  return groups;
};
