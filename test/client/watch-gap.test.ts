import { DeleteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OffloadClient, type WatchEvent } from '../../client/sdk/index.ts';
import { TaskKeys } from '../../lambdas/store/keys.ts';
import { startHarness, type Harness } from '../e2e/harness.ts';
import { runCli } from './cli-support.ts';
import { clientFor, collect, range, resourceName } from './support.ts';

const seqsOf = (events: readonly WatchEvent[]) => events.flatMap((event) => (event.kind === 'progress' ? [event.seq] : []));
const gapsOf = (events: readonly WatchEvent[]) => events.filter((event) => event.kind === 'gap');

/**
 * Continuity lost for real: entries removed from the task's progress log (as expiry would), so
 * neither the WebSocket replay nor the events endpoint can deliver them.
 */
describe('client SDK watch: reports a gap when the log no longer holds entries', () => {
  let harness: Harness;
  let client: OffloadClient;
  let env: Record<string, string>;
  /** Deletes progress entries of a task from the tasks table. */
  let forget: (taskId: string, seqs: readonly number[]) => Promise<void>;

  beforeAll(async () => {
    harness = await startHarness();
    client = clientFor(harness);
    env = { OFFLOAD_DIR: harness.dir };
    const table = resourceName(harness, 'AWS::DynamoDB::Table', 'StorageTasks');
    const ddb = DynamoDBDocumentClient.from(harness.runtime.dynamo.client);
    forget = async (taskId, seqs) => {
      for (const seq of seqs) await ddb.send(new DeleteCommand({ TableName: table, Key: TaskKeys.progress(taskId, seq) }));
    };
  });
  afterAll(async () => harness?.stop());

  /** A finished completion task with at least `min` progress entries; returns it and its full text. */
  const finishedTask = async (prompt: string, min = 6) => {
    const task = await client.submit('completion', { prompt, maxTokens: 400, model: 'sim-fast' });
    await collect(client.watch(task.taskId));
    const done = await client.get<'completion'>(task.taskId);
    expect(done.status).toBe('succeeded');
    expect(done.progress.seq).toBeGreaterThanOrEqual(min);
    return done;
  };

  it('over the WebSocket: yields a gap for the missing entries, then the rest, then the complete result', async () => {
    // Prepare: entries 2 and 3 are gone from the log
    const done = await finishedTask('gap over the socket');
    const total = done.progress.seq;
    await forget(done.taskId, [2, 3]);
    const page = await client.events<'completion'>(done.taskId, { after: 1, limit: 2 });
    // Act
    const events = await collect(client.watch<'completion'>(done.taskId));
    // Assess
    expect(page.items.map((entry) => entry.seq)).toEqual([4, 5]);
    expect(gapsOf(events)).toEqual([{ kind: 'gap', taskId: done.taskId, after: 1, before: 4 }]);
    expect(events.map((event) => (event.kind === 'progress' ? event.seq : event.kind))).toEqual([1, 'gap', ...range(4, total), 'status']);
    expect(events.at(-1)).toMatchObject({ kind: 'status', status: 'succeeded', result: { text: done.result!.text } });
  });

  it('over HTTP alone (no WebSocket, task finished): the gap covers only the missing entries', async () => {
    // Prepare: entries 3 and 4 are gone; the WebSocket API cannot be reached
    const done = await finishedTask('gap over http');
    const total = done.progress.seq;
    await forget(done.taskId, [3, 4]);
    const offline = clientFor(harness, { webSocketUrl: 'ws://127.0.0.1:9/live', watch: { fillPageSize: 2 } });
    // Act
    const events = await collect(offline.watch<'completion'>(done.taskId));
    // Assess
    expect(gapsOf(events)).toEqual([{ kind: 'gap', taskId: done.taskId, after: 2, before: 5 }]);
    expect(seqsOf(events)).toEqual([1, 2, ...range(5, total)]);
    expect(events.at(-1)).toMatchObject({ kind: 'status', status: 'succeeded', result: { text: done.result!.text } });
  });

  it('a gap at the start of a resumed watch, and several gaps, each reported once', async () => {
    // Prepare: entries 1..2 and 5 are gone
    const done = await finishedTask('several gaps');
    const total = done.progress.seq;
    await forget(done.taskId, [1, 2, 5]);
    // Act
    const events = await collect(client.watch<'completion'>(done.taskId));
    // Assess
    expect(gapsOf(events)).toEqual([
      { kind: 'gap', taskId: done.taskId, after: 0, before: 3 },
      { kind: 'gap', taskId: done.taskId, after: 4, before: 6 },
    ]);
    expect(seqsOf(events)).toEqual([3, 4, ...range(6, total)]);
    expect(events.at(-1)).toMatchObject({ kind: 'status', status: 'succeeded' });
  });

  it('the CLI reports the gap: a note on stderr, a gap line with --json, exit code 0', async () => {
    // Prepare
    const done = await finishedTask('gap in the cli');
    await forget(done.taskId, [2, 3]);
    // Act
    const human = await runCli(['watch', done.taskId], { env });
    const json = await runCli(['watch', done.taskId, '--json'], { env });
    // Assess
    expect(human.code).toBe(0);
    expect(human.stderr).toContain('[entries 2..3 could not be retrieved]');
    expect(human.stderr).toContain('[succeeded]');
    expect(json.code).toBe(0);
    const lines = json.lines();
    expect(lines.filter((line) => line.kind === 'gap')).toEqual([{ kind: 'gap', taskId: done.taskId, after: 1, before: 4 }]);
    expect(lines.map((line) => line.kind)).toEqual(['progress', 'gap', ...range(4, done.progress.seq).map(() => 'progress'), 'status']);
  });
});
