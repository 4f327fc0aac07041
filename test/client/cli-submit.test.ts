import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OffloadClient } from '../../client/sdk/index.ts';
import { startHarness, type Harness } from '../e2e/harness.ts';
import { runCli, type CliRun } from './cli-support.ts';
import { clientFor, collect } from './support.ts';

describe('offload submit options, and interrupted watches, through the real CLI', () => {
  let harness: Harness;
  let client: OffloadClient;
  let env: Record<string, string>;
  let dir: string;

  beforeAll(async () => {
    harness = await startHarness();
    client = clientFor(harness);
    env = { OFFLOAD_DIR: harness.dir };
    dir = mkdtempSync(path.join(tmpdir(), 'offload-cli-input-'));
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await harness?.stop();
  });

  /** A unique idempotency key. */
  const keyOf = (name: string) => `cli-${name}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const submitted = (run: CliRun) => run.json().task as { taskId: string; status: string; sessionId?: string; replayed: boolean };

  it('--input @file submits the file\u2019s JSON as the input (the same key inline replays it; another body is refused)', async () => {
    // Prepare
    const input = { prompt: 'input from a file', maxTokens: 4, model: 'sim-fast' };
    const file = path.join(dir, 'input.json');
    writeFileSync(file, JSON.stringify(input, null, 2) + '\n');
    const key = keyOf('file');
    // Act
    const fromFile = await runCli(['submit', 'completion', '--input', `@${file}`, '--idempotency-key', key, '--json'], { env });
    const inline = await runCli(['submit', 'completion', '--input', JSON.stringify(input), '--idempotency-key', key, '--json'], { env });
    const other = await runCli(['submit', 'completion', '--input', JSON.stringify({ ...input, prompt: 'not the file' }), '--idempotency-key', key], { env });
    const missing = await runCli(['submit', 'completion', '--input', `@${path.join(dir, 'nope.json')}`], { env });
    writeFileSync(path.join(dir, 'broken.json'), '{"prompt": ');
    const broken = await runCli(['submit', 'completion', '--input', `@${path.join(dir, 'broken.json')}`], { env });
    // Assess
    expect(fromFile.code).toBe(0);
    const task = submitted(fromFile);
    expect(task).toMatchObject({ taskId: expect.stringMatching(/^tsk_/), status: 'queued', replayed: false });
    expect(inline.code).toBe(0);
    expect(submitted(inline)).toMatchObject({ taskId: task.taskId, replayed: true });
    expect(other.code).toBe(3);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('Cannot read --input @');
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('not valid JSON');
    const events = await collect(client.watch<'completion'>(task.taskId));
    expect(events.at(-1)).toMatchObject({ kind: 'status', status: 'succeeded', result: { model: 'sim-fast' } });
  });

  it('--input @- reads the input from stdin', async () => {
    // Prepare
    const input = { prompt: 'input from stdin', maxTokens: 4, model: 'sim-fast' };
    const key = keyOf('stdin');
    // Act
    const fromStdin = await runCli(['submit', 'completion', '--input', '@-', '--idempotency-key', key, '--json'], { env, stdin: JSON.stringify(input) });
    const inline = await runCli(['submit', 'completion', '--input', JSON.stringify(input), '--idempotency-key', key, '--json'], { env });
    const watched = await runCli(['submit', 'completion', '--input', '@-', '--watch', '--json'], { env, stdin: `${JSON.stringify({ ...input, prompt: 'stdin and watch' })}\n` });
    const empty = await runCli(['submit', 'completion', '--input', '@-'], { env, stdin: '' });
    // Assess
    expect(fromStdin.code).toBe(0);
    const task = submitted(fromStdin);
    expect(task).toMatchObject({ taskId: expect.stringMatching(/^tsk_/), status: 'queued', replayed: false });
    expect(submitted(inline)).toMatchObject({ taskId: task.taskId, replayed: true });
    expect(watched.code).toBe(0);
    expect(watched.lines().at(-1)).toMatchObject({ kind: 'status', status: 'succeeded', result: { model: 'sim-fast' } });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('not valid JSON');
  });

  it('--session <id> submits into that session', async () => {
    // Prepare
    const session = `cli-session-${Date.now()}`;
    const input = JSON.stringify({ prompt: 'in a session', maxTokens: 3, model: 'sim-fast' });
    // Act
    const first = await runCli(['submit', 'completion', '--input', input, '--session', session, '--json'], { env });
    const second = await runCli(['submit', 'completion', '--input', input, '--session', session], { env });
    const none = await runCli(['submit', 'completion', '--input', input, '--json'], { env });
    // Assess
    expect(first.code).toBe(0);
    expect(submitted(first).sessionId).toBe(session);
    expect(second.code).toBe(0);
    const secondId = second.stdout.trim();
    expect(secondId).toMatch(/^tsk_\w+$/);
    expect((await client.get(submitted(first).taskId)).sessionId).toBe(session);
    expect((await client.get(secondId)).sessionId).toBe(session);
    expect(submitted(none).sessionId).toBeUndefined();
    const got = await runCli(['get', secondId], { env });
    expect(got.stdout).toMatch(new RegExp(`^session +${session}$`, 'm'));
  });

  it('--idempotency-key: the same key and body replay the same task, in JSON and for humans', async () => {
    // Prepare
    const key = keyOf('replay');
    const input = JSON.stringify({ prompt: 'exactly once', maxTokens: 3, model: 'sim-fast' });
    // Act
    const first = await runCli(['submit', 'completion', '--input', input, '--idempotency-key', key, '--json'], { env });
    const again = await runCli(['submit', 'completion', '--input', input, '--idempotency-key', key, '--json'], { env });
    const human = await runCli(['submit', 'completion', '--input', input, '--idempotency-key', key], { env });
    const unkeyed = await runCli(['submit', 'completion', '--input', input, '--json'], { env });
    const otherBody = await runCli(['submit', 'completion', '--input', JSON.stringify({ prompt: 'another body' }), '--idempotency-key', key, '--json'], { env });
    // Assess
    expect(first.code).toBe(0);
    const task = submitted(first);
    expect(task.replayed).toBe(false);
    expect(again.code).toBe(0);
    expect(submitted(again)).toMatchObject({ taskId: task.taskId, replayed: true });
    expect(human.code).toBe(0);
    expect(human.stdout.trim()).toBe(task.taskId);
    expect(human.stderr).toContain('replayed');
    expect(submitted(unkeyed).taskId).not.toBe(task.taskId);
    expect(otherBody.code).toBe(3);
    expect(JSON.parse(otherBody.stderr)).toMatchObject({ exitCode: 3, error: { name: 'IdempotencyMismatchError', status: 422 } });
    expect((await client.list({ limit: 100 })).items.filter((item) => item.taskId === task.taskId)).toHaveLength(1);
  });

  it('an interrupted watch (SIGINT) exits 130 and prints where to resume', async () => {
    // Prepare: a long task, interrupted once a few progress lines arrived
    const task = await client.submit('completion', { prompt: 'interrupt my watch', maxTokens: 2000, model: 'sim-1' });
    let lines = 0;
    let sent = false;
    let humanSent = false;
    // Act
    const run = await runCli(['watch', task.taskId, '--json'], {
      env,
      onStdout: (text, child) => {
        lines += text.split('\n').length - 1;
        if (lines >= 3 && !sent) sent = child.kill('SIGINT');
      },
    });
    const human = await runCli(['submit', 'completion', '--input', JSON.stringify({ prompt: 'interrupt submit --watch', maxTokens: 2000, model: 'sim-1' }), '--watch'], {
      env,
      // One SIGINT, once text streams: a second one after the CLI has restored the default handler
      // would kill it by signal instead of letting it exit 130.
      onStdout: (_text, child) => {
        if (!humanSent) humanSent = child.kill('SIGINT');
      },
    });
    const after = await client.get(task.taskId);
    await client.cancel(task.taskId);
    const humanTaskId = /^(tsk_\w+)/.exec(human.stderr)?.[1];
    if (humanTaskId) await client.cancel(humanTaskId).catch(() => undefined);
    // Assess
    expect(run.code).toBe(130);
    const progress = run.lines().filter((line) => line.kind === 'progress');
    expect(progress.length).toBeGreaterThanOrEqual(3);
    expect(run.lines().some((line) => line.kind === 'status')).toBe(false);
    expect(run.stderr).toContain(`[interrupted] resume with: offload watch ${task.taskId} --after ${progress.at(-1).seq}`);
    expect(after.status).toBe('running');
    expect(human.code).toBe(130);
    expect(humanTaskId).toMatch(/^tsk_/);
    expect(human.stderr).toMatch(new RegExp(`\\[interrupted\\] resume with: offload watch ${humanTaskId} --after [1-9]\\d*`));
  });
});
