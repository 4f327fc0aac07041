import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { call, startHarness, streamOf, WsClient, type Harness } from './harness.ts';

describe('persistence: stop and start again, nothing is lost', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'offload-persist-'));
  let harness: Harness | undefined;
  afterAll(async () => {
    await harness?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps finished tasks, their progress, queued messages and the dev key across a restart', async () => {
    // Prepare: one task runs to the end; a second is acknowledged while no worker polls.
    harness = await startHarness({ dir });
    const { httpApi, devTenant } = harness.runtime.endpoints;
    const apiKey = devTenant.apiKey;
    const { body: done } = await call(`${httpApi}/v1/tasks`, { apiKey, body: { type: 'completion', input: { prompt: 'before restart', maxTokens: 30, model: 'sim-fast' } } });
    const watcher = await WsClient.connect(`${harness.runtime.endpoints.webSocketApi}?token=${apiKey}`);
    watcher.send({ action: 'subscribe', taskId: done.taskId });
    await watcher.waitFor((message) => message.type === 'status');
    await watcher.close();
    const before = streamOf(watcher, done.taskId);
    await harness.stop();
    harness = await startHarness({ dir, eventSources: false });
    const { body: queued } = await call(`${harness.runtime.endpoints.httpApi}/v1/tasks`, {
      apiKey,
      body: { type: 'completion', input: { prompt: 'queued across a restart', maxTokens: 20, model: 'sim-fast' } },
    });
    await harness.runtime.eventBridge.idle();
    const queueUrl = [...harness.runtime.sqs.urlByArn.values()].find((url) => url.includes('InteractiveQueue'))!;
    const depth = await harness.runtime.sqs.client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
    await harness.stop();

    // Act
    harness = await startHarness({ dir });
    const endpoints = harness.runtime.endpoints;
    const client = await WsClient.connect(`${endpoints.webSocketApi}?token=${apiKey}`);
    client.send({ action: 'subscribe', taskId: done.taskId });
    client.send({ action: 'subscribe', taskId: queued.taskId });
    await client.waitFor((message) => message.type === 'status' && message.taskId === done.taskId);
    const queuedStatus = await client.waitFor((message) => message.type === 'status' && message.taskId === queued.taskId, 30_000);
    await client.close();

    // Assess
    expect(Number(depth.Attributes?.ApproximateNumberOfMessages)).toBe(1);
    expect(endpoints.devTenant.apiKey).toBe(apiKey);
    const after = streamOf(client, done.taskId);
    expect(after.seqs).toEqual(before.seqs);
    expect(after.text).toBe(before.text);
    expect(queuedStatus.status).toBe('succeeded');
    const read = await call(`${endpoints.httpApi}/v1/tasks/${done.taskId}`, { apiKey });
    expect(read.body.status).toBe('succeeded');
  });
});
