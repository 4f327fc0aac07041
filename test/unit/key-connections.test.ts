import { describe, expect, it } from 'vitest';
import { closeKeyConnections, type ConnectionCloser } from '../../lambdas/core/key-connections.ts';

/** Connections by key id, as the connections table's ByKey index holds them. */
class MemoryConnections {
  public readonly removed: string[] = [];
  public constructor(private readonly byKey: Record<string, string[]>) {}
  public async listKeyConnections(keyId: string): Promise<string[]> {
    return [...(this.byKey[keyId] ?? [])];
  }
  public async removeConnection(connectionId: string): Promise<void> {
    this.removed.push(connectionId);
  }
}

/** Records what it closes; connections in `gone` no longer exist (410). */
class RecordingCloser implements ConnectionCloser {
  public readonly closed: string[] = [];
  public constructor(private readonly gone: readonly string[] = []) {}
  public async close(connectionId: string): Promise<'ok' | 'gone'> {
    if (this.gone.includes(connectionId)) return 'gone';
    this.closed.push(connectionId);
    return 'ok';
  }
}

describe('closeKeyConnections', () => {
  it('closes every connection of the revoked key and none of another key', async () => {
    // Prepare
    const connections = new MemoryConnections({ KEYA: ['c1', 'c2'], KEYB: ['c3'] });
    const closer = new RecordingCloser();
    // Act
    const outcome = await closeKeyConnections({ connections, closer }, 'KEYA');
    // Assess
    expect(outcome).toEqual({ closed: 2 });
    expect(closer.closed).toEqual(['c1', 'c2']);
    expect(connections.removed).toEqual([]);
  });

  it('removes the stale items of a connection that is already gone (no $disconnect will come)', async () => {
    // Prepare
    const connections = new MemoryConnections({ KEYA: ['c1', 'stale'] });
    const closer = new RecordingCloser(['stale']);
    // Act
    const outcome = await closeKeyConnections({ connections, closer }, 'KEYA');
    // Assess
    expect(outcome).toEqual({ closed: 1 });
    expect(connections.removed).toEqual(['stale']);
  });
});
