import { eventComparable } from './comparable-number.ts';
import { ipToHexIfPossible } from './ip-address.ts';
import type { JsonNode } from './json-tree.ts';
import { quote } from './value-matchers.ts';

/**
 * An event flattened the way EventBridge flattens it: every leaf value under its dot-joined path
 * (`{"detail":{"state":"x"}}` and `{"detail.state":"x"}` both give `detail.state`), and for values
 * inside arrays of objects or arrays, which element of which array they came from, so that one
 * pattern cannot pick its fields from different elements of the same array.
 *
 * Empty arrays and empty objects leave no field at all; `null` is a value like any other.
 */

/** Which element of each enclosing array (by array id) a value sits in. */
export type ArrayMembership = ReadonlyMap<number, number>;

/** A leaf value: a string, or the JSON text of a number, `true`, `false` or `null`. */
export type LeafValue = { readonly kind: 'string'; readonly text: string } | { readonly kind: 'number' | 'literal'; readonly raw: string };

/** One leaf occurrence of a path. */
export interface FieldOccurrence {
  readonly value: LeafValue;
  readonly membership: ArrayMembership;
}

/** Every leaf occurrence of every path in an event. */
export type EventFields = ReadonlyMap<string, readonly FieldOccurrence[]>;

interface Walk {
  readonly fields: Map<string, FieldOccurrence[]>;
  readonly path: string[];
  readonly membership: Map<number, number>;
  arrayCount: number;
}

/** Flattens an event object (any other JSON value has no fields). */
export const flattenEvent = (event: JsonNode): EventFields => {
  const walk: Walk = { fields: new Map(), path: [], membership: new Map(), arrayCount: 0 };
  if (event.kind === 'object') walkObject(walk, event);
  return walk.fields;
};

const walkObject = (walk: Walk, node: Extract<JsonNode, { kind: 'object' }>): void => {
  for (const [name, value] of node.members) {
    walk.path.push(name);
    walkValue(walk, value);
    walk.path.pop();
  }
};

const walkArray = (walk: Walk, node: Extract<JsonNode, { kind: 'array' }>): void => {
  const arrayId = walk.arrayCount++;
  node.items.forEach((item, index) => {
    if (item.kind !== 'object' && item.kind !== 'array') {
      walkValue(walk, item);
      return;
    }
    walk.membership.set(arrayId, index);
    walkValue(walk, item);
    walk.membership.delete(arrayId);
  });
};

const walkValue = (walk: Walk, node: JsonNode): void => {
  switch (node.kind) {
    case 'object':
      return walkObject(walk, node);
    case 'array':
      return walkArray(walk, node);
    case 'string':
      return record(walk, { kind: 'string', text: node.text });
    default:
      return record(walk, { kind: node.kind, raw: node.raw });
  }
};

const record = (walk: Walk, value: LeafValue): void => {
  const path = walk.path.join('.');
  const occurrences = walk.fields.get(path) ?? [];
  occurrences.push({ value, membership: new Map(walk.membership) });
  walk.fields.set(path, occurrences);
};

/**
 * Merges two memberships, or returns `undefined` if they place the same array at different elements
 * (the values then come from different elements and cannot be matched together).
 */
export const mergeMemberships = (left: ArrayMembership, right: ArrayMembership): ArrayMembership | undefined => {
  if (right.size === 0) return left;
  if (left.size === 0) return right;
  const merged = new Map(left);
  for (const [arrayId, index] of right) {
    const existing = merged.get(arrayId);
    if (existing !== undefined && existing !== index) return undefined;
    merged.set(arrayId, index);
  }
  return merged;
};

/** How a field's values are to be read, from the tests the pattern puts on that field. */
export interface FieldReading {
  /** The field has numeric tests: numbers are compared in comparable form. */
  readonly numeric: boolean;
  /** The field has IP tests (and no numeric ones): IP-address strings are compared in hex form. */
  readonly ip: boolean;
}

/** The token a pattern's tests see for `value` on a field read as `reading`. */
export const eventToken = (value: LeafValue, reading: FieldReading | undefined): string => {
  if (value.kind === 'string') {
    const hex = reading?.ip && !reading.numeric ? ipToHexIfPossible(value.text) : undefined;
    return hex ?? quote(value.text);
  }
  if (reading?.numeric && value.kind === 'number') return eventComparable(value.raw) ?? value.raw;
  return value.raw;
};
