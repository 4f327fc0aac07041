import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTaskId } from '../../lambdas/core/ids.ts';
import { asyncApiDocument } from '../../lambdas/contract/asyncapi.ts';
import { call, entriesIn, isProgress, startHarness, WsClient, type Harness } from '../e2e/harness.ts';
import { AsyncApiContract } from './asyncapi-contract.ts';

/**
 * Contract tests of the WebSocket API: every client message is checked against the AsyncAPI
 * document the runtime serves before it is sent, every frame the server sends is validated
 * against it, and the last test fails if a documented message was never exercised or a frame
 * matched no documented message. Replays here are bounded tightly (a zero time budget, batches of
 * 512 bytes), so that a replay of even a short task pauses and every replay message is exercised.
 */

const completion = (prompt: string, maxTokens = 5, model = 'sim-fast') => ({ type: 'completion', input: { prompt, maxTokens, model } });

describe('WebSocket API contract: every documented message, validated against /v1/asyncapi.json', { timeout: 120_000 }, () => {
  let harness: Harness;
  let http: string;
  let ws: string;
  let apiKey: string;
  let contract: AsyncApiContract;
  const clients: WsClient[] = [];

  /** Opens a connection whose every received frame is validated at the end of the test that opened it. */
  const connect = async (token: string) => {
    const client = await WsClient.connect(`${ws}?token=${token}`);
    clients.push(client);
    return client;
  };
  /** Sends a client message after checking it against the document. */
  const send = (client: WsClient, name: string, message: Record<string, unknown>) => {
    contract.checkClientMessage(name, message);
    client.send(message);
  };
  const validateFrames = async () => {
    for (const client of clients.splice(0)) {
      await client.close();
      for (const frame of client.messages) contract.checkServerFrame(frame);
    }
  };

  beforeAll(async () => {
    harness = await startHarness({ functionEnvironment: { REPLAY_BUDGET_MS: '0', REPLAY_BATCH_BYTES: '512' } });
    ({ httpApi: http, webSocketApi: ws } = harness.runtime.endpoints);
    apiKey = harness.runtime.endpoints.devTenant.apiKey;
    const served = await call(`${http}/v1/asyncapi.json`);
    expect(served.body).toEqual(JSON.parse(JSON.stringify(asyncApiDocument())));
    contract = new AsyncApiContract(served.body);
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await harness?.stop();
  });

  it('subscribe: subscribed, the progress entries, then the terminal status', async () => {
    // Prepare
    const { body: task } = await call(`${http}/v1/tasks`, { apiKey, body: completion('stream me', 30, 'sim-1') });
    const client = await connect(apiKey);
    // Act
    send(client, 'subscribe', { action: 'subscribe', taskId: task.taskId, after: 0 });
    const status = await client.waitFor((message) => message.type === 'status');
    await validateFrames();
    // Assess
    expect(client.messages[0]).toEqual({ type: 'subscribed', taskId: task.taskId, after: 0 });
    expect(client.messages.filter(isProgress).length).toBeGreaterThan(0);
    expect(status).toMatchObject({ taskId: task.taskId, status: 'succeeded' });
  });

  it('subscribe to a finished task: the replay in progressBatch messages, replayPaused, and a new subscribe continuing it', async () => {
    // Prepare: a finished task with a few dozen short entries (sim-1 writes a few tokens per entry)
    const { body: task } = await call(`${http}/v1/tasks`, { apiKey, body: completion('replay me in batches', 60, 'sim-1') });
    const watcher = await connect(apiKey);
    send(watcher, 'subscribe', { action: 'subscribe', taskId: task.taskId });
    const done = await watcher.waitFor((message) => message.type === 'status');
    const client = await connect(apiKey);
    // Act: the client answers every replayPaused with a subscribe after nextAfter (WsClient does)
    send(client, 'subscribe', { action: 'subscribe', taskId: task.taskId, after: 0 });
    const status = await client.waitFor((message) => message.type === 'status');
    const pauses = client.messages.filter((message) => message.type === 'replayPaused');
    for (const pause of pauses) contract.checkClientMessage('subscribe', { action: 'subscribe', taskId: task.taskId, after: pause.nextAfter });
    await validateFrames();
    // Assess
    const seqs = client.messages.flatMap(entriesIn).map((entry) => entry.seq);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    expect(client.messages.flatMap(entriesIn).map((entry) => entry.data.text).join('')).toBe(done.result.text);
    expect(client.messages.some((message) => message.type === 'progressBatch')).toBe(true);
    expect(pauses.length).toBeGreaterThan(0);
    expect(client.messages.filter((message) => message.type === 'subscribed').map((message) => message.after)).toEqual([0, ...pauses.map((pause) => pause.nextAfter)]);
    expect(status).toEqual(done);
  });

  it('submit: ack with the requestId; an invalid submit is refused by the document and answered with error', async () => {
    // Prepare
    const client = await connect(apiKey);
    const invalid = { action: 'submit', type: 'completion', input: { prompt: 7 }, requestId: 'r-bad' };
    // Act
    send(client, 'submit', { action: 'submit', ...completion('over the socket'), requestId: 'r-1', idempotencyKey: 'ws-contract-1', sessionId: 'ws:contract' });
    const ack = await client.waitFor((message) => message.type === 'ack');
    contract.checkClientMessage('submit', invalid, false);
    client.send(invalid);
    const refused = await client.waitFor((message) => message.type === 'error' && message.requestId === 'r-bad');
    await validateFrames();
    // Assess
    expect(ack).toEqual({ type: 'ack', requestId: 'r-1', taskId: expect.stringMatching(/^tsk_/) });
    expect(refused).toMatchObject({ status: 400, title: 'Invalid request' });
  });

  it('ping: pong; unsubscribe: accepted silently; a cancelled task: status cancelled', async () => {
    // Prepare
    const { body: task } = await call(`${http}/v1/tasks`, { apiKey, body: completion('cancel me', 2000, 'sim-1') });
    const client = await connect(apiKey);
    send(client, 'subscribe', { action: 'subscribe', taskId: task.taskId });
    await client.waitFor(isProgress);
    // Act
    send(client, 'ping', { action: 'ping' });
    const pong = await client.waitFor((message) => message.type === 'pong');
    await call(`${http}/v1/tasks/${task.taskId}/cancel`, { apiKey, method: 'POST' });
    const status = await client.waitFor((message) => message.type === 'status');
    send(client, 'unsubscribe', { action: 'unsubscribe', taskId: task.taskId });
    send(client, 'ping', { action: 'ping' });
    await client.waitFor((message) => message.type === 'pong' && message !== pong);
    await validateFrames();
    // Assess
    expect(pong).toEqual({ type: 'pong' });
    expect(status).toMatchObject({ taskId: task.taskId, status: 'cancelled' });
  });

  it('error: unknown action, unknown task, malformed message, and a read-only client token submitting', async () => {
    // Prepare
    const { body: task } = await call(`${http}/v1/tasks`, { apiKey, body: completion('scoped') });
    const { body: token } = await call(`${http}/v1/tokens`, { apiKey, body: { taskIds: [task.taskId] } });
    const client = await connect(apiKey);
    const scoped = await connect(token.token);
    // Act
    client.send({ action: 'dance' });
    const unknownAction = await client.waitFor((message) => message.type === 'error' && /Unknown action/.test(message.detail));
    send(client, 'subscribe', { action: 'subscribe', taskId: newTaskId() });
    const unknownTask = await client.waitFor((message) => message.type === 'error' && message.status === 404);
    const malformed = { action: 'subscribe', taskId: task.taskId, after: -1 };
    contract.checkClientMessage('subscribe', malformed, false);
    client.send(malformed);
    const invalid = await client.waitFor((message) => message.type === 'error' && message.status === 400 && /after/.test(message.detail));
    send(scoped, 'submit', { action: 'submit', ...completion('not allowed'), requestId: 'r-scoped' });
    const forbidden = await scoped.waitFor((message) => message.type === 'error' && message.requestId === 'r-scoped');
    await validateFrames();
    // Assess
    expect(unknownAction.status).toBe(400);
    expect(unknownTask.title).toBe('Not found');
    expect(invalid.title).toBe('Invalid request');
    expect(forbidden.status).toBe(403);
  });

  it('refuses the handshake without a token (401) and with an unknown one (403), as documented', async () => {
    // Act / Assess
    await expect(WsClient.connect(ws)).rejects.toMatchObject({ statusCode: 401 });
    await expect(WsClient.connect(`${ws}?token=ofk_unknown`)).rejects.toMatchObject({ statusCode: 403 });
    expect(asyncApiDocument().info.description).toMatch(/`401`[^]*`403`/);
  });

  it('exercised every documented message, and every frame matched one', () => {
    // Assess: runs last (tests in a file run in order).
    expect(contract.undocumentedFrames).toEqual([]);
    expect(contract.unexercised).toEqual([]);
    expect(contract.clientMessages.sort()).toEqual(['ping', 'submit', 'subscribe', 'unsubscribe']);
    expect(contract.serverMessages.sort()).toEqual(['ack', 'error', 'pong', 'progress', 'progressBatch', 'replayPaused', 'status', 'subscribed']);
  });
});
