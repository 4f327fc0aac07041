import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ProgressEntry } from '../../lambdas/core/model.ts';
import { ProgressWriter } from '../../lambdas/core/progress-writer.ts';

type Text = { text: string };
const merge = (pending: Text, next: Text): Text => ({ text: pending.text + next.text });

/** A writer whose writes are recorded; `fail` makes the next write reject. */
const recordingWriter = (startSeq: number, intervalMs: number) => {
  const writes: ProgressEntry[] = [];
  const control = { fail: undefined as Error | undefined };
  const writer = new ProgressWriter<Text>(
    startSeq,
    async (entry) => {
      if (control.fail) throw control.fail;
      writes.push(entry);
    },
    merge,
    { intervalMs },
  );
  return { writer, writes, control };
};

describe('ProgressWriter', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: Date.parse('2026-01-01T00:00:00Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('coalesces many reports within one interval into one write with merged data', async () => {
    // Prepare
    const { writer, writes } = recordingWriter(0, 100);
    // Act
    for (const text of ['a', 'b', 'c', 'd', 'e']) await writer.report({ text });
    await vi.advanceTimersByTimeAsync(0);
    // Assess
    expect(writes).toHaveLength(1);
    expect(writes[0]).toMatchObject({ seq: 1, data: { text: 'abcde' } });
  });

  it('writes at most once per interval however fast reports arrive', async () => {
    // Prepare
    const { writer, writes } = recordingWriter(0, 100);
    await writer.report({ text: 'first ' });
    await vi.advanceTimersByTimeAsync(0);
    // Act: one report every 10 ms for 95 ms after the first write
    for (let i = 0; i < 10; i++) {
      await writer.report({ text: String(i) });
      await vi.advanceTimersByTimeAsync(9);
    }
    const writesWithinInterval = writes.length;
    await vi.advanceTimersByTimeAsync(100);
    // Assess
    expect(writesWithinInterval).toBe(1);
    expect(writes.map((entry) => entry.data)).toEqual([{ text: 'first ' }, { text: '0123456789' }]);
  });

  it('numbers entries contiguously from startSeq + 1', async () => {
    // Prepare
    const { writer, writes } = recordingWriter(41, 50);
    // Act
    for (let i = 0; i < 4; i++) {
      await writer.report({ text: `t${i}` });
      await vi.advanceTimersByTimeAsync(50);
    }
    // Assess
    expect(writes.map((entry) => entry.seq)).toEqual([42, 43, 44, 45]);
    expect(writer.lastSeq).toBe(45);
  });

  it('flush writes what is pending at once and waits for it', async () => {
    // Prepare
    const { writer, writes } = recordingWriter(7, 60_000);
    await writer.report({ text: 'x' });
    await vi.advanceTimersByTimeAsync(0);
    await writer.report({ text: 'y' });
    await writer.report({ text: 'z' });
    // Act
    await writer.flush();
    // Assess
    expect(writes.map((entry) => [entry.seq, entry.data])).toEqual([
      [8, { text: 'x' }],
      [9, { text: 'yz' }],
    ]);
  });

  it('flush with nothing pending writes nothing', async () => {
    // Prepare
    const { writer, writes } = recordingWriter(0, 100);
    // Act
    await writer.flush();
    // Assess
    expect(writes).toEqual([]);
    expect(writer.lastSeq).toBe(0);
  });

  it('discard drops pending data', async () => {
    // Prepare
    const { writer, writes } = recordingWriter(0, 100);
    await writer.report({ text: 'dropped' });
    // Act
    writer.discard();
    await vi.advanceTimersByTimeAsync(500);
    await writer.flush();
    // Assess
    expect(writes).toEqual([]);
  });

  it('makes later reports and flushes reject once a write failed', async () => {
    // Prepare
    const { writer, writes, control } = recordingWriter(0, 100);
    const lost = new Error('lease lost');
    control.fail = lost;
    await writer.report({ text: 'a' });
    await vi.advanceTimersByTimeAsync(0);
    // Act
    const report = writer.report({ text: 'b' });
    // Assess
    await expect(report).rejects.toBe(lost);
    await expect(writer.flush()).rejects.toBe(lost);
    expect(writes).toEqual([]);
  });
});
