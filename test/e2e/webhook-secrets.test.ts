import { createHmac } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startHarness, type Harness } from './harness.ts';
import { scanTable, tableNames } from '../support/runtime-state.ts';
import { mutatedCdkOut } from './mutated-assembly.ts';

/**
 * Webhook signing secrets through the local runtime: sealed by the local KMS when registered (the
 * webhooks function may only encrypt), opened by the integrations worker when it signs (it may
 * only decrypt), never in the tasks table as plaintext; and a stack whose worker lacks
 * kms:Decrypt delivers nothing, refused as AWS refuses it.
 */

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

const startReceiver = async () => {
  const received: Received[] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    received,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
};

/** Standard Webhooks verification, as a receiver does it. */
const verifies = (secret: string, entry: Received): boolean =>
  entry.headers['webhook-signature'] ===
  `v1,${createHmac('sha256', Buffer.from(secret.replace(/^whsec_/, ''), 'base64')).update(`${entry.headers['webhook-id']}.${entry.headers['webhook-timestamp']}.${entry.body}`).digest('base64')}`;

const runtimeLog = (harness: Harness) => readFileSync(path.join(harness.dir, 'runtime.log'), 'utf8');
const eventually = async <T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> => {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
};

/** Registers a webhook for `Task Succeeded` and runs one task, so one delivery is made. */
const registerAndRun = async (harness: Harness, url: string, name: string) => {
  const { httpApi } = harness.runtime.endpoints;
  const tenant = await harness.newTenant(name);
  const registered = await call(`${httpApi}/v1/webhooks`, { apiKey: tenant.apiKey, body: { url, events: ['Task Succeeded'] } });
  const submitted = await call(`${httpApi}/v1/tasks`, { apiKey: tenant.apiKey, body: { type: 'completion', input: { prompt: `sealed ${name}`, maxTokens: 3, model: 'sim-fast' } } });
  return { tenant, registered, submitted };
};

/** The tenant's delivery task once it ended. */
const endedDelivery = (harness: Harness, apiKey: string) =>
  eventually(async () => {
    const { body } = await call(`${harness.runtime.endpoints.httpApi}/v1/tasks?limit=20`, { apiKey });
    return (body.items as { type: string; status: string; taskId: string }[]).find((task) => task.type === 'webhook.delivery' && ['succeeded', 'failed'].includes(task.status));
  });

describe('webhook secrets: sealed by KMS at registration, opened only to sign', () => {
  let harness: Harness;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  beforeAll(async () => {
    harness = await startHarness();
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await harness?.stop();
    await receiver?.close();
  });

  it('delivers an event signed with the secret shown once at registration', async () => {
    // Act
    const { tenant, registered, submitted } = await registerAndRun(harness, receiver.url, 'sealed-ok');
    const delivery = await endedDelivery(harness, tenant.apiKey);
    // Assess
    expect(registered.status).toBe(201);
    expect(registered.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(submitted.status).toBe(202);
    expect(delivery.status).toBe('succeeded');
    expect(receiver.received).toHaveLength(1);
    expect(verifies(registered.body.secret, receiver.received[0]!)).toBe(true);
    expect(JSON.parse(receiver.received[0]!.body)).toMatchObject({ type: 'task.succeeded', data: { taskId: submitted.body.taskId } });
  });

  it('keeps no plaintext secret in the tasks table: the webhook item holds KMS ciphertext only', async () => {
    // Prepare
    const { tenant, registered } = await registerAndRun(harness, receiver.url, 'sealed-scan');
    await endedDelivery(harness, tenant.apiKey);
    const secretPart = (registered.body.secret as string).slice('whsec_'.length);
    // Act
    const items = await scanTable(harness.runtime, tableNames(harness.runtime).tasks);
    const webhookItem = JSON.parse(items.get(`TENANT#${tenant.tenantId}/WEBHOOK#${registered.body.webhookId}`)!) as Record<string, { S?: string }>;
    const everything = [...items.values()].join('\n');
    // Assess
    expect(webhookItem.sealedSecret?.S).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(webhookItem).not.toHaveProperty('secret');
    expect(everything).not.toContain('whsec_');
    expect(everything).not.toContain(secretPart);
    expect(runtimeLog(harness)).not.toContain(secretPart);
    expect(runtimeLog(harness)).not.toMatch(/AccessDenied/);
    expect(harness.runtime.counter.snapshot()).toMatchObject({ 'kms:Encrypt': expect.any(Number), 'kms:Decrypt': expect.any(Number) });
  });
});

describe('webhook secrets: a stack whose integrations worker may not decrypt', () => {
  let harness: Harness;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let cdkOut: string;
  beforeAll(async () => {
    cdkOut = mutatedCdkOut('webhook-secrets', (resources) => {
      // The one statement granting kms:Decrypt (the integrations worker's) is removed.
      const holders = Object.values(resources).filter(
        (resource) => resource.Type === 'AWS::IAM::Policy' && (resource.Properties.PolicyDocument.Statement as { Action: unknown }[]).some((statement) => statement.Action === 'kms:Decrypt'),
      );
      if (holders.length !== 1) throw new Error(`expected one policy granting kms:Decrypt, found ${holders.length}`);
      const document = holders[0]!.Properties.PolicyDocument as { Statement: { Action: unknown }[] };
      document.Statement = document.Statement.filter((statement) => statement.Action !== 'kms:Decrypt');
    });
    harness = await startHarness({ cdkOut });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await harness?.stop();
    await receiver?.close();
    rmSync(cdkOut, { recursive: true, force: true });
  });

  it('still registers webhooks, but fails each delivery for good with AccessDenied and sends nothing', async () => {
    // Act
    const { tenant, registered } = await registerAndRun(harness, receiver.url, 'no-decrypt');
    const delivery = await endedDelivery(harness, tenant.apiKey);
    const read = await call(`${harness.runtime.endpoints.httpApi}/v1/tasks/${delivery.taskId}`, { apiKey: tenant.apiKey });
    // Assess
    expect(registered.status).toBe(201);
    expect(read.body).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'WebhookSecretRefusedError', message: `Could not open the signing secret of webhook ${registered.body.webhookId}: AccessDeniedException` } });
    expect(receiver.received).toHaveLength(0);
    expect(runtimeLog(harness)).toMatch(/denied: AccessDenied: User: arn:aws:sts::000000000000:assumed-role\/\S*Integrations\S*\/\S+ is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:us-east-1:000000000000:key\/\S+ because no identity-based policy allows the kms:Decrypt action/);
  });
});
