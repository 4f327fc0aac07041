import { createHmac } from 'node:crypto';

/** How sensitive fields leave the perimeter. */
export type MaskMode = 'hash' | 'drop';

/** A per-tenant key: one tenant's hashes can never be joined with another's. */
export const tenantMaskKey = (masterKey: string, tenantId: string): string => createHmac('sha256', masterKey).update(`mask:${tenantId}`).digest('hex');

/** Keyed hash of a value (stable for equal values under one key), prefixed so it reads as masked. */
export const keyedHash = (key: string, value: unknown): string => `hmac-sha256:${createHmac('sha256', key).update(JSON.stringify(value)).digest('hex')}`;

/**
 * Copies `record` with every `path` (dot-separated, e.g. `input.prompt`) keyed-hashed or dropped.
 * Paths that do not exist are ignored; nothing else is touched.
 *
 * @example
 * ```ts
 * maskFields({ input: { prompt: 'secret' } }, ['input.prompt'], 'hash', key);
 * // { input: { prompt: 'hmac-sha256:…' } }
 * ```
 */
export const maskFields = <T extends Record<string, unknown>>(record: T, paths: readonly string[], mode: MaskMode, key: string): T => {
  const copy = structuredClone(record);
  for (const path of paths) {
    const parts = path.split('.');
    let parent: Record<string, unknown> | undefined = copy;
    for (const part of parts.slice(0, -1)) {
      const next: unknown = parent?.[part];
      parent = next !== null && typeof next === 'object' ? (next as Record<string, unknown>) : undefined;
    }
    const leaf = parts.at(-1)!;
    if (!parent || !Object.hasOwn(parent, leaf)) continue;
    if (mode === 'drop') delete parent[leaf];
    else parent[leaf] = keyedHash(key, parent[leaf]);
  }
  return copy;
};
