import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../../client/sdk/options.ts';
import { watchTask, type WatchBackend, type WatchEvent } from '../../client/sdk/watch.ts';

/**
 * The SDK's side of the at-least-once wire: the server may resend entries (the subscribe replay
 * and the worker both send from the client's `after`) and even a second status. The watch must
 * yield each entry once, in order, and one status, without reading the events endpoint to "fill"
 * anything and without an error.
 */

/** A scripted WebSocket: answers `subscribe` with `script`, frame by frame. */
const scriptedSocket = (script: readonly unknown[]) =>
  class ScriptedSocket extends EventTarget {
    public readyState = 0;
    public constructor(_url: string | URL) {
      super();
      setTimeout(() => {
        this.readyState = 1;
        this.dispatchEvent(new Event('open'));
      }, 0);
    }
    public send(text: string): void {
      if ((JSON.parse(text) as { action?: string }).action !== 'subscribe') return;
      script.forEach((message, i) => setTimeout(() => this.dispatchEvent(new MessageEvent('message', { data: JSON.stringify(message) })), i + 1));
    }
    public close(): void {
      this.readyState = 3;
    }
  } as unknown as typeof WebSocket;

describe('SDK watch over an at-least-once wire', () => {
  it('drops resent entries and a second status: each entry once, in order, one status, no fill reads', async () => {
    // Prepare: duplicates in single messages, in a batch, and after the status
    const taskId = 'tsk_01JDUPLICATES0000000000000';
    const script = [
      { type: 'subscribed', taskId, after: 0 },
      { type: 'progress', taskId, seq: 1, data: 'a' },
      { type: 'progressBatch', taskId, entries: [1, 2, 3].map((seq) => ({ seq, data: 'abc'[seq - 1] })) },
      { type: 'progress', taskId, seq: 2, data: 'b' },
      { type: 'progress', taskId, seq: 4, data: 'd' },
      { type: 'status', taskId, status: 'succeeded', result: 'abcd' },
      { type: 'progress', taskId, seq: 3, data: 'c' },
      { type: 'status', taskId, status: 'succeeded', result: 'abcd' },
    ];
    const options = resolveOptions({ endpoint: 'http://127.0.0.1:1', webSocketUrl: 'ws://127.0.0.1:1/live', credential: 'oft_scripted', WebSocket: scriptedSocket(script) });
    const reads: string[] = [];
    const backend: WatchBackend = {
      events: async () => (reads.push('events'), { taskId, items: [], complete: true }),
      get: async () => Promise.reject(new Error('not expected')),
      mintToken: async () => Promise.reject(new Error('not expected')),
    };
    // Act
    const events: WatchEvent<string, string>[] = [];
    for await (const event of watchTask<string, string>(options, backend, taskId)) events.push(event);
    // Assess
    expect(events).toEqual([
      { kind: 'progress', taskId, seq: 1, data: 'a' },
      { kind: 'progress', taskId, seq: 2, data: 'b' },
      { kind: 'progress', taskId, seq: 3, data: 'c' },
      { kind: 'progress', taskId, seq: 4, data: 'd' },
      { kind: 'status', taskId, status: 'succeeded', result: 'abcd' },
    ]);
    expect(reads).toEqual([]);
  });
});
