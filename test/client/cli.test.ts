import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError, UnauthorizedError, type OffloadClient } from '../../client/sdk/index.ts';
import { startHarness, type Harness } from '../e2e/harness.ts';
import { runCli } from './cli-support.ts';
import { clientFor, collect, range, sleep } from './support.ts';

const COMMANDS = ['dev', 'submit', 'watch', 'get', 'ls', 'cancel', 'download', 'token', 'tenants create', 'keys ls', 'keys rotate', 'keys revoke', 'dlq ls', 'dlq redrive'];

describe('offload CLI against the local runtime', () => {
  let harness: Harness;
  let client: OffloadClient;
  /** Points the CLI at the harness runtime through its endpoints.json (dev tenant key included). */
  let env: Record<string, string>;

  beforeAll(async () => {
    // Revocation must show at once: no warm-cache answers in the HTTP authorizer.
    harness = await startHarness({ functionEnvironment: { API_KEY_CACHE_SECONDS: '0' } });
    client = clientFor(harness);
    env = { OFFLOAD_DIR: harness.dir };
  });
  afterAll(async () => harness?.stop());

  it('keeps the state holding keys private: the state directory 0700, endpoints.json and dev-tenant.json 0600', () => {
    // Act
    const modes = [harness.dir, path.join(harness.dir, 'endpoints.json'), path.join(harness.dir, 'dev-tenant.json')].map((file) => statSync(file).mode & 0o777);
    // Assess
    expect(modes).toEqual([0o700, 0o600, 0o600]);
  });

  it('answers --help for every command, and exit code 2 for usage errors', async () => {
    // Act
    const top = await runCli(['--help']);
    const helps = await Promise.all(COMMANDS.map((command) => runCli([...command.split(' '), '--help'])));
    const none = await runCli([]);
    const unknown = await runCli(['frobnicate']);
    const badOption = await runCli(['ls', '--colour']);
    const missing = await runCli(['get'], { env });
    const badInput = await runCli(['submit', 'completion', '--input', '{not json'], { env });
    const badGroup = await runCli(['keys', 'bend']);
    const badClass = await runCli(['dlq', 'ls', 'nightly'], { env });
    // Assess
    expect(top.code).toBe(0);
    for (const command of COMMANDS) expect(top.stdout).toContain(command);
    helps.forEach((help, i) => {
      expect(help.code, COMMANDS[i]).toBe(0);
      expect(help.stdout, COMMANDS[i]).toMatch(/Usage: offload /);
    });
    expect(helps[1]!.stdout).toContain('--idempotency-key');
    expect(helps[1]!.stdout).toContain('OFFLOAD_API_KEY');
    expect([none.code, unknown.code, badOption.code, missing.code, badInput.code, badGroup.code, badClass.code]).toEqual([2, 2, 2, 2, 2, 2, 2]);
    expect(unknown.stderr).toContain('Unknown command "frobnicate"');
    expect(badOption.stderr).toContain('--colour');
    expect(badInput.stderr).toContain('not valid JSON');
    expect(badGroup.stderr).toContain('keys rotate');
  });

  it('submit --watch --json streams one JSON line per progress entry, in order, then the status', async () => {
    // Act
    const run = await runCli(['submit', 'completion', '--input', JSON.stringify({ prompt: 'cli stream', maxTokens: 120, model: 'sim-1' }), '--watch', '--json'], { env });
    // Assess
    expect(run.code).toBe(0);
    const [submitted, ...events] = run.lines();
    expect(submitted).toMatchObject({ kind: 'submitted', task: { taskId: expect.stringMatching(/^tsk_/), status: 'queued' } });
    const progress = events.filter((event) => event.kind === 'progress');
    const status = events.at(-1);
    const task = await client.get<'completion'>(submitted.task.taskId);
    expect(progress.map((event) => event.seq)).toEqual(range(1, task.progress.seq));
    expect(progress.map((event) => event.data.text).join('')).toBe(task.result!.text);
    expect(status).toMatchObject({ kind: 'status', status: 'succeeded', result: { text: task.result!.text } });
  });

  it('submit --watch prints the streamed text live as it arrives, then the status on stderr', async () => {
    // Act
    const run = await runCli(['submit', 'completion', '--input', JSON.stringify({ prompt: 'cli live text', maxTokens: 200, model: 'sim-1' }), '--watch'], { env });
    // Assess
    expect(run.code).toBe(0);
    const taskId = /^(tsk_\w+)/.exec(run.stderr)![1]!;
    const task = await client.get<'completion'>(taskId);
    expect(run.stdout).toBe(`${task.result!.text}\n`);
    expect(run.stderr).toContain('[succeeded]');
    // Live: the text arrived in many pieces, the first well before the process ended.
    expect(run.chunks.length).toBeGreaterThan(3);
    expect(run.exitedAt - run.chunks[0]!.at).toBeGreaterThan(1_000);
  });

  it('watch exits 1 when the task is cancelled, and get, ls and cancel answer in JSON', async () => {
    // Prepare
    const long = await client.submit('completion', { prompt: 'cancel from the cli', maxTokens: 2000, model: 'sim-1' });
    const done = await client.submit('completion', { prompt: 'finished one', maxTokens: 5, model: 'sim-fast' });
    await collect(client.watch(done.taskId));
    // Act
    let cancelled: Promise<unknown> | undefined;
    const watching = runCli(['watch', long.taskId, '--json'], { env, onStdout: () => (cancelled ??= runCli(['cancel', long.taskId, '--json'], { env })) });
    const watched = await watching;
    const cancelRun = (await cancelled) as Awaited<ReturnType<typeof runCli>>;
    const got = await runCli(['get', done.taskId, '--json'], { env });
    const human = await runCli(['get', done.taskId], { env });
    const listed = await runCli(['ls', '--status', 'cancelled', '--limit', '5', '--json'], { env });
    const conflict = await runCli(['cancel', done.taskId], { env });
    const missing = await runCli(['get', 'tsk_00000000000000000000000000'], { env });
    const missingJson = await runCli(['get', 'tsk_00000000000000000000000000', '--json'], { env });
    // Assess
    expect(watched.code).toBe(1);
    expect(watched.lines().at(-1)).toMatchObject({ kind: 'status', status: 'cancelled' });
    expect(cancelRun.code).toBe(0);
    expect(cancelRun.json()).toMatchObject({ taskId: long.taskId, status: 'cancelled' });
    expect(got.code).toBe(0);
    expect(got.json()).toMatchObject({ taskId: done.taskId, status: 'succeeded', result: { text: expect.any(String) } });
    expect(human.stdout).toContain(`task      ${done.taskId}`);
    expect(human.stdout).toContain(got.json().result.text);
    expect(listed.code).toBe(0);
    expect(listed.json().items.map((task: { taskId: string }) => task.taskId)).toContain(long.taskId);
    expect(listed.json().items.every((task: { status: string }) => task.status === 'cancelled')).toBe(true);
    expect(conflict.code).toBe(3);
    expect(conflict.stderr).toContain('succeeded');
    expect(missing.code).toBe(4);
    expect(missingJson.code).toBe(4);
    expect(JSON.parse(missingJson.stderr)).toMatchObject({ exitCode: 4, error: { name: 'NotFoundError', status: 404, problem: { status: 404 } } });
  });

  it('takes the endpoint and credential from the flags, then the environment, then the local endpoints file, never mixing them', async () => {
    // Prepare
    const good = harness.runtime.endpoints.devTenant.apiKey;
    const bad = `ofk_${'0'.repeat(26)}_${'a'.repeat(43)}`;
    const endpoint = harness.runtime.endpoints.httpApi;
    // Act
    const fromFile = await runCli(['ls', '--limit', '1', '--json'], { env });
    const mixed = await runCli(['ls', '--limit', '1'], { env: { ...env, OFFLOAD_API_KEY: bad } });
    const envBeatsFile = await runCli(['ls', '--limit', '1'], { env: { ...env, OFFLOAD_API_KEY: bad, OFFLOAD_ENDPOINT: endpoint } });
    const flagBeatsEnv = await runCli(['ls', '--limit', '1', '--api-key', good, '--endpoint', endpoint], { env: { ...env, OFFLOAD_API_KEY: bad, OFFLOAD_ENDPOINT: endpoint } });
    const flagsOnly = await runCli(['ls', '--limit', '1', '--endpoint', harness.runtime.endpoints.httpApi, '--api-key', good, '--dir', '/nonexistent']);
    const nothing = await runCli(['ls'], { env: { OFFLOAD_DIR: '/nonexistent' } });
    const unreachable = await runCli(['ls', '--endpoint', 'http://127.0.0.1:9', '--api-key', good, '--dir', '/nonexistent']);
    // Assess
    expect(fromFile.code).toBe(0);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain('OFFLOAD_API_KEY');
    expect(envBeatsFile.code).toBe(5);
    expect(flagBeatsEnv.code).toBe(0);
    expect(flagsOnly.code).toBe(0);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain('No endpoint');
    expect(unreachable.code).toBe(6);
  });

  it('mints a client token scoped to the given tasks', async () => {
    // Prepare
    const mine = await client.submit('completion', { prompt: 'token scope', maxTokens: 3, model: 'sim-fast' });
    const other = await client.submit('completion', { prompt: 'not in scope', maxTokens: 3, model: 'sim-fast' });
    // Act
    const run = await runCli(['token', '--task', mine.taskId, '--ttl', '120', '--json'], { env });
    const human = await runCli(['token'], { env });
    const bad = await runCli(['token', '--ttl', '5'], { env });
    // Assess
    expect(run.code).toBe(0);
    const { token, expiresAt } = run.json();
    expect(token).toMatch(/^oft_/);
    expect(Date.parse(expiresAt)).toBeGreaterThan(Date.now());
    const browser = clientFor(harness, { credential: token });
    expect((await browser.get(mine.taskId)).taskId).toBe(mine.taskId);
    await expect(browser.get(other.taskId)).rejects.toBeInstanceOf(NotFoundError);
    expect(human.stdout).toMatch(/^oft_\S+\n$/);
    expect(bad.code).toBe(3);
  });

  it('creates tenants, rotates and revokes their keys; a revoked key is refused with 401', async () => {
    // Act
    const created = await runCli(['tenants', 'create', 'cli-acme', '--json'], { env });
    const { tenantId, apiKey: first, keyId: firstId } = created.json();
    const asFirst = clientFor(harness, { credential: first });
    const firstWorked = await asFirst.list();
    const rotated = await runCli(['keys', 'rotate', '--tenant', tenantId, '--json'], { env });
    const second = rotated.json();
    const secondWorked = await clientFor(harness, { credential: second.apiKey }).list();
    const rotatedOld = await runCli(['keys', 'rotate', '--tenant', tenantId, '--revoke-old', '--json'], { env });
    const third = rotatedOld.json();
    const listed = await runCli(['keys', 'ls', '--tenant', tenantId, '--json'], { env });
    const revoked = await runCli(['keys', 'revoke', third.keyId, '--tenant', tenantId, '--json'], { env });
    const unknownTenant = await runCli(['keys', 'rotate', '--tenant', 'ten_nobody'], { env });
    const human = await runCli(['tenants', 'create', 'cli-human'], { env });
    // Assess
    expect(created.code).toBe(0);
    expect(first).toMatch(/^ofk_/);
    expect(first).toContain(firstId);
    expect(firstWorked.items).toEqual([]);
    expect(rotated.code).toBe(0);
    expect(secondWorked).toEqual({ items: [] });
    expect(rotatedOld.code).toBe(0);
    expect(third.revokedKeyIds.sort()).toEqual([firstId, second.keyId].sort());
    expect(listed.json().items.map((key: { keyId: string; status: string }) => [key.keyId, key.status])).toEqual([
      [firstId, 'revoked'],
      [second.keyId, 'revoked'],
      [third.keyId, 'active'],
    ]);
    expect(JSON.stringify(listed.json())).not.toContain(first);
    expect(revoked.json()).toEqual({ tenantId, keyId: third.keyId, outcome: 'revoked', closedConnections: 0 });
    for (const key of [first, second.apiKey, third.apiKey]) await expect(clientFor(harness, { credential: key }).list()).rejects.toBeInstanceOf(UnauthorizedError);
    expect(unknownTenant.code).toBe(4);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/api key {2}ofk_/);
    expect(human.stderr).toContain('not shown again');
  });
});

describe('offload CLI: dead-letter queues', () => {
  let harness: Harness;
  let env: Record<string, string>;

  beforeAll(async () => {
    // No workers poll: a redriven message stays observable in its source queue.
    harness = await startHarness({ eventSources: false });
    env = { OFFLOAD_DIR: harness.dir };
  });
  afterAll(async () => harness?.stop());

  it('lists a dead-letter queue and redrives its messages to the source queue', async () => {
    // Prepare
    const { url, deadLetterUrl } = harness.runtime.endpoints.resources.queues.batch;
    const sqs = harness.runtime.sqs.client;
    const body = JSON.stringify({ source: 'offload', 'detail-type': 'Task Submitted', detail: { taskId: 'tsk_01JAAAAAAAAAAAAAAAAAAAAAAA', type: 'completion' } });
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: deadLetterUrl,
        MessageBody: body,
        MessageAttributes: { errorCode: { DataType: 'String', StringValue: 'Boom' }, errorMessage: { DataType: 'String', StringValue: 'it failed for good' } },
      }),
    );
    /** Peeked messages come back after a second: wait for that, not for a fixed time. */
    const visibleAgain = async () => {
      for (let i = 0; i < 100; i++) {
        const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: deadLetterUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
        if (Attributes.ApproximateNumberOfMessages === '1') return;
        await sleep(100);
      }
    };
    // Act
    const listed = await runCli(['dlq', 'ls', 'batch', '--json'], { env });
    await visibleAgain();
    const human = await runCli(['dlq', 'ls', 'batch'], { env });
    const redriven = await runCli(['dlq', 'redrive', 'batch', '--json'], { env });
    const after = await runCli(['dlq', 'ls', 'batch', '--json'], { env });
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ['All'] }));
    // Assess
    expect(listed.code).toBe(0);
    expect(listed.json()).toMatchObject({ class: 'batch', approximateCount: 1 });
    expect(listed.json().messages).toEqual([
      expect.objectContaining({ taskId: 'tsk_01JAAAAAAAAAAAAAAAAAAAAAAA', type: 'completion', errorCode: 'Boom', errorMessage: 'it failed for good', body }),
    ]);
    expect(human.stdout).toContain('Boom: it failed for good');
    expect(redriven.json()).toEqual({ class: 'batch', moved: 1 });
    expect(after.json()).toMatchObject({ approximateCount: 0, messages: [] });
    expect(Messages.map((message) => message.Body)).toEqual([body]);
    expect(Messages[0]!.MessageAttributes?.errorCode?.StringValue).toBe('Boom');
  });
});
