import type { ConnectionStore } from './ports.ts';

/** Closes WebSocket connections (`@connections` DELETE); `gone` when one no longer exists. */
export interface ConnectionCloser {
  close(connectionId: string): Promise<'ok' | 'gone'>;
}

/**
 * Closes every open WebSocket connection opened with an API key or with a client token it minted:
 * called once the key is revoked, so a revoked key keeps no socket open. Reads only that key's
 * connections (the connections table's `ByKey` index). A connection already gone has its stale
 * items removed here (its `$disconnect` will not come).
 *
 * @example
 * ```ts
 * await revokeApiKey(tenants, tenantId, keyId);
 * const { closed } = await closeKeyConnections({ connections, closer }, keyId);
 * ```
 */
export const closeKeyConnections = async (
  deps: { readonly connections: Pick<ConnectionStore, 'listKeyConnections' | 'removeConnection'>; readonly closer: ConnectionCloser },
  keyId: string,
): Promise<{ closed: number }> => {
  let closed = 0;
  for (const connectionId of await deps.connections.listKeyConnections(keyId)) {
    if ((await deps.closer.close(connectionId)) === 'ok') closed++;
    else await deps.connections.removeConnection(connectionId);
  }
  return { closed };
};
