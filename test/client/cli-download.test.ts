import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OffloadClient } from '../../client/sdk/index.ts';
import { startHarness, type Harness } from '../e2e/harness.ts';
import { runCli } from './cli-support.ts';
import { clientFor, collect } from './support.ts';

describe('offload download: a finished export\u2019s NDJSON through the real CLI', () => {
  let harness: Harness;
  let client: OffloadClient;
  let env: Record<string, string>;
  let dir: string;
  /** A finished completion, and a succeeded export of the dev tenant's succeeded tasks. */
  let completionId: string;
  let exportId: string;

  beforeAll(async () => {
    harness = await startHarness();
    client = clientFor(harness);
    env = { OFFLOAD_DIR: harness.dir };
    dir = mkdtempSync(path.join(tmpdir(), 'offload-cli-download-'));
    const done = await client.submit('completion', { prompt: 'exported by the cli test', maxTokens: 3, model: 'sim-fast' });
    await collect(client.watch(done.taskId));
    const exported = await client.submit('tasks.export', { status: 'succeeded' });
    const events = await collect(client.watch(exported.taskId));
    if (events.at(-1)?.kind !== 'status' || (events.at(-1) as { status: string }).status !== 'succeeded') throw new Error('the export fixture did not succeed');
    completionId = done.taskId;
    exportId = exported.taskId;
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await harness?.stop();
  });

  it('writes the NDJSON to stdout, or to --output (reporting the bytes with --json)', async () => {
    // Prepare
    const file = path.join(dir, 'export.ndjson');
    // Act
    const toStdout = await runCli(['download', exportId], { env });
    const toFile = await runCli(['download', exportId, '--output', file, '--json'], { env });
    const human = await runCli(['download', exportId, '-o', path.join(dir, 'again.ndjson')], { env });
    // Assess
    expect(toStdout.code).toBe(0);
    const rows = toStdout.stdout.trim().split('\n').map((line) => JSON.parse(line) as { taskId: string; status: string });
    expect(rows.map((row) => row.taskId)).toContain(completionId);
    expect(rows.every((row) => row.status === 'succeeded')).toBe(true);
    expect(toFile.code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(toStdout.stdout);
    expect(toFile.json()).toEqual({ taskId: exportId, file, bytes: Buffer.byteLength(toStdout.stdout) });
    expect(human.code).toBe(0);
    expect(human.stdout).toBe('');
    expect(human.stderr).toContain(`${Buffer.byteLength(toStdout.stdout)} bytes written`);
    expect(readdirSync(dir).filter((name) => name.endsWith('.part'))).toEqual([]);
  });

  it('prints only the presigned URL with --url-only, which works without a credential until it expires', async () => {
    // Act
    const json = await runCli(['download', exportId, '--url-only', '--json'], { env });
    const human = await runCli(['download', exportId, '--url-only'], { env });
    const { url, expiresAt } = json.json() as { url: string; expiresAt: string };
    const fetched = await fetch(url);
    // Assess
    expect(json.code).toBe(0);
    expect(new URL(url).searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    expect(Date.parse(expiresAt)).toBeGreaterThan(Date.now());
    expect(fetched.status).toBe(200);
    expect(await fetched.text()).toContain(completionId);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^http\S+X-Amz-Signature=\S+\n$/);
    expect(human.stderr).toContain('expires ');
  });

  it('exits 4 for a task that is not an export, 3 for an unfinished export, 2 for bad options, and leaves no file behind', async () => {
    // Prepare: an export cancelled before it ran.
    let cancelled: string | undefined;
    for (let attempt = 0; attempt < 5 && !cancelled; attempt++) {
      const submitted = await client.submit('tasks.export', { limit: 1 });
      const task = await client.cancel(submitted.taskId).catch(() => undefined);
      if (task?.status === 'cancelled') cancelled = submitted.taskId;
    }
    const target = path.join(dir, 'never.ndjson');
    // Act
    const notExport = await runCli(['download', completionId, '--output', target], { env });
    const unfinished = await runCli(['download', cancelled!, '--output', target, '--json'], { env });
    const both = await runCli(['download', exportId, '--url-only', '--output', target], { env });
    const unwritable = await runCli(['download', exportId, '--output', path.join(dir, 'missing-dir', 'x.ndjson')], { env });
    // Assess
    expect(notExport.code).toBe(4);
    expect(notExport.stderr).toContain('only tasks.export tasks have a download');
    expect(cancelled).toBeDefined();
    expect(unfinished.code).toBe(3);
    expect(JSON.parse(unfinished.stderr)).toMatchObject({ exitCode: 3, error: { name: 'ConflictError', status: 409 } });
    expect(both.code).toBe(2);
    expect(unwritable.code).toBe(3);
    expect(unwritable.stderr).toContain('Cannot write');
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(dir).filter((name) => name.endsWith('.part'))).toEqual([]);
  });
});
