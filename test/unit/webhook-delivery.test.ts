import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeTask } from '../../lambdas/core/execute.ts';
import { isTerminal, type Principal, type TaskEventDetail, type TaskRecord } from '../../lambdas/core/model.ts';
import { settleTerminal } from '../../lambdas/core/settle.ts';
import { BACKLOG_FULL, deleteWebhook, fanOutWebhooks, MAX_WEBHOOKS, registerWebhook, type RegisteredWebhook, type Webhook } from '../../lambdas/core/webhooks.ts';
import { deliveryScope } from '../../lambdas/core/webhook-limits.ts';
import { DynamoAdmissionStore } from '../../lambdas/store/admission-store.ts';
import { TaskKeys } from '../../lambdas/store/keys.ts';
import { DynamoTaskStore } from '../../lambdas/store/task-store.ts';
import { DynamoWebhookStore } from '../../lambdas/store/webhook-store.ts';
import { KmsWebhookSecrets } from '../../lambdas/store/webhook-secrets.ts';
import { setWebhookDeliveryDeps, type WebhookDeliveryDeps } from '../../lambdas/tasks/webhook-delivery.ts';
import type { Resolver } from '../../lambdas/tasks/webhook-post.ts';
import { RecordingPublisher, silentLogger } from '../support/recording-publisher.ts';
import { startLocalDynamo, type LocalDynamo } from '../support/local-dynamo.ts';
import { startTestKms, type TestKms } from '../support/local-kms.ts';

interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** `/ok` answers 204; `/endless` answers 200 with a body that never ends. */
const startReceiver = async () => {
  const received: Received[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      received.push({ path: request.url ?? '', headers: request.headers, body });
      if (request.url !== '/endless') return void response.writeHead(204).end();
      response.writeHead(200);
      const chunk = Buffer.alloc(16 * 1024, 'x');
      const pump = () => {
        while (!response.destroyed && response.write(chunk));
        if (!response.destroyed) response.once('drain', pump);
      };
      pump();
    });
  });
  server.on('connection', (socket: Socket) => (sockets.add(socket), socket.on('close', () => sockets.delete(socket))));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    received,
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => (sockets.forEach((socket) => socket.destroy()), server.close(() => resolve()))),
  };
};

let sequence = 0;
const eventOf = (tenantId: string, detailType = 'Task Succeeded'): { detailType: string; detail: TaskEventDetail; time: string } => {
  sequence++;
  const id = String(sequence).padStart(26, '0');
  return { detailType, detail: { eventId: `evt_${id}`, taskId: `tsk_${id}`, tenantId, type: 'completion', class: 'interactive', status: 'succeeded' }, time: new Date().toISOString() };
};

describe('webhook secrets, deliveries and fan-out limits', () => {
  let dynamo: LocalDynamo;
  let tasks: DynamoTaskStore;
  let webhooks: DynamoWebhookStore;
  let kms: TestKms;
  let secrets: KmsWebhookSecrets;
  let slots: DynamoAdmissionStore;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const events = new RecordingPublisher();
  const principal = (tenantId: string): Principal => ({ tenantId, via: 'apiKey' });
  const register = (tenantId: string, url: string) => registerWebhook({ webhooks, secrets, slots, allowLoopback: true }, principal(tenantId), { url, events: ['Task Succeeded'] });
  const fanOut = (event: ReturnType<typeof eventOf>, outstandingLimit?: number) =>
    fanOutWebhooks({ webhooks, tasks, events, slots, ...(outstandingLimit ? { outstandingLimit } : {}) }, event.detailType, event.detail, event.time);
  /** The tenant's delivery tasks, as full records (the listing index may project fewer attributes). */
  const deliveriesOf = async (tenantId: string): Promise<TaskRecord[]> =>
    Promise.all((await tasks.listByTenant(tenantId, { limit: 1000 })).items.filter((task) => task.type === 'webhook.delivery').map(async (task) => (await tasks.get(task.taskId)) ?? task));
  const rawItem = async (taskId: string) => (await dynamo.docClient.send(new GetCommand({ TableName: dynamo.tasksTable, Key: TaskKeys.task(taskId) }))).Item!;
  const useDeliveryDeps = (extra: Partial<WebhookDeliveryDeps> = {}) => setWebhookDeliveryDeps(() => ({ webhooks, secrets, allowLoopback: true, timeoutMs: 3_000, ...extra }));
  const run = (taskId: string) => executeTask({ tasks, events, logger: silentLogger, admission: slots }, taskId, { owner: `w-${taskId}`, remainingMs: () => 60_000, safetyMarginMs: 1_000, progressIntervalMs: 5 });

  beforeAll(async () => {
    dynamo = await startLocalDynamo();
    tasks = new DynamoTaskStore(dynamo.tasksTable, dynamo.docClient);
    webhooks = new DynamoWebhookStore(dynamo.tasksTable, dynamo.docClient);
    kms = await startTestKms();
    secrets = new KmsWebhookSecrets(kms.keyArn, { kms: kms.client() });
    slots = new DynamoAdmissionStore(dynamo.tasksTable, dynamo.docClient, { slotGraceMs: 0 });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
    await dynamo?.stop();
    await kms?.stop();
  });

  describe('secrets', () => {
    it('a delivery task record carries the webhook id, never the secret or the URL', async () => {
      // Prepare
      const webhook = await register('ten_secret', `${receiver.base}/ok`);
      const event = eventOf('ten_secret');
      // Act
      await fanOut(event);
      const [delivery] = await deliveriesOf('ten_secret');
      const stored = JSON.stringify(await rawItem(delivery!.taskId));
      // Assess
      expect(delivery!.input).toEqual({ webhookId: webhook.webhookId, messageId: expect.stringMatching(/^msg_/), payload: expect.objectContaining({ type: 'task.succeeded' }) });
      expect(stored).not.toContain(webhook.secret);
      expect(stored).not.toContain(webhook.secret.slice('whsec_'.length));
      expect(stored).not.toContain('whsec_');
      expect(stored).not.toContain(receiver.base);
    });

    it('the delivering function reads the secret when it signs, and the signature verifies', async () => {
      // Prepare
      useDeliveryDeps();
      const webhook = await register('ten_sign', `${receiver.base}/ok`);
      await fanOut(eventOf('ten_sign'));
      const [delivery] = await deliveriesOf('ten_sign');
      // Act
      const outcome = await run(delivery!.taskId);
      const got = receiver.received.find((entry) => entry.headers['webhook-id'] === (delivery!.input as { messageId: string }).messageId)!;
      // Assess
      expect(outcome).toMatchObject({ kind: 'done', result: 'succeeded' });
      const signed = `${got.headers['webhook-id']}.${got.headers['webhook-timestamp']}.${got.body}`;
      expect(got.headers['webhook-signature']).toBe(`v1,${createHmac('sha256', Buffer.from(webhook.secret.slice(6), 'base64')).update(signed).digest('base64')}`);
    });

    it('stores the webhook with its secret sealed: the item holds neither the secret nor its key material', async () => {
      // Prepare
      const webhook = await register('ten_sealed', `${receiver.base}/ok`);
      // Act
      const { Item } = await dynamo.docClient.send(new GetCommand({ TableName: dynamo.tasksTable, Key: TaskKeys.webhook('ten_sealed', webhook.webhookId) }));
      const stored = JSON.stringify(Item);
      // Assess
      expect(Object.keys(Item!).sort()).toEqual(['createdAt', 'entity', 'events', 'pk', 'sealedSecret', 'sk', 'tenantId', 'url', 'webhookId']);
      expect(stored).not.toContain('whsec_');
      expect(stored).not.toContain(webhook.secret.slice('whsec_'.length));
      expect(await secrets.open(Item!.sealedSecret as string, { tenantId: 'ten_sealed', webhookId: webhook.webhookId })).toBe(webhook.secret);
    });

    it('never signs with a sealed secret copied onto another webhook: the delivery fails for good', async () => {
      // Prepare: webhook B's record carries A's ciphertext (a tampered or mis-copied item).
      useDeliveryDeps();
      const a = await register('ten_swap', `${receiver.base}/ok`);
      const b = await register('ten_swap', `${receiver.base}/ok`);
      await webhooks.put({ ...b, sealedSecret: a.sealedSecret });
      await fanOut(eventOf('ten_swap'));
      const delivery = (await deliveriesOf('ten_swap')).find((task) => (task.input as { webhookId: string }).webhookId === b.webhookId)!;
      const before = receiver.received.length;
      // Act
      const outcome = await run(delivery.taskId);
      // Assess
      expect(outcome).toMatchObject({ kind: 'done', result: 'failed' });
      expect(await tasks.get(delivery.taskId)).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'WebhookSecretRefusedError', message: `Could not open the signing secret of webhook ${b.webhookId}: InvalidCiphertextException` } });
      expect(receiver.received.length).toBe(before);
    });

    it('refuses, for good, a webhook stored before secrets were sealed, and never reads its plaintext', async () => {
      // Prepare: a record as the previous version wrote it (plaintext secret, no sealedSecret).
      useDeliveryDeps();
      const legacy = { webhookId: 'whk_01J0000000000000000000LEGA', tenantId: 'ten_legacy', url: `${receiver.base}/ok`, events: ['Task Succeeded'], secret: 'whsec_bGVnYWN5', createdAt: new Date().toISOString() };
      await dynamo.docClient.send(new PutCommand({ TableName: dynamo.tasksTable, Item: { ...TaskKeys.webhook(legacy.tenantId, legacy.webhookId), entity: 'webhook', ...legacy } }));
      await fanOut(eventOf('ten_legacy'));
      const [delivery] = await deliveriesOf('ten_legacy');
      const before = receiver.received.length;
      // Act
      const read = await webhooks.get(legacy.tenantId, legacy.webhookId);
      const outcome = await run(delivery!.taskId);
      // Assess
      expect(read).toEqual({ webhookId: legacy.webhookId, tenantId: legacy.tenantId, url: legacy.url, events: legacy.events, createdAt: legacy.createdAt, sealedSecret: undefined });
      expect(outcome).toMatchObject({ kind: 'done', result: 'failed' });
      expect(await tasks.get(delivery!.taskId)).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'WebhookSecretNotSealedError' } });
      expect(receiver.received.length).toBe(before);
    });

    it('drops a delivery whose webhook was deleted after the event, for good', async () => {
      // Prepare
      useDeliveryDeps();
      const webhook = await register('ten_gone', `${receiver.base}/ok`);
      await fanOut(eventOf('ten_gone'));
      const [delivery] = await deliveriesOf('ten_gone');
      await deleteWebhook({ webhooks, slots }, principal('ten_gone'), webhook.webhookId);
      const before = receiver.received.length;
      // Act
      const outcome = await run(delivery!.taskId);
      // Assess
      expect(outcome).toMatchObject({ kind: 'done', result: 'failed' });
      expect(await tasks.get(delivery!.taskId)).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'WebhookGoneError' } });
      expect(receiver.received.length).toBe(before);
    });
  });

  describe('delivery', () => {
    it('fails a delivery whose host resolves to a refused address at once, with the reason, and sends nothing', async () => {
      // Prepare: a host name that passed registration, and now resolves to the metadata address.
      const resolve: Resolver = async () => [{ address: '169.254.169.254', family: 4 }];
      useDeliveryDeps({ resolve, allowLoopback: false });
      const ids = { webhookId: 'whk_01J00000000000000000000000', tenantId: 'ten_ssrf' };
      const webhook: Webhook = { ...ids, url: 'https://hooks.rebound.example/x', events: ['Task Succeeded'], sealedSecret: await secrets.seal('whsec_AAAA', ids), createdAt: new Date().toISOString() };
      await webhooks.put(webhook);
      await fanOut(eventOf('ten_ssrf'));
      const [delivery] = await deliveriesOf('ten_ssrf');
      // Act
      const outcome = await run(delivery!.taskId);
      // Assess
      expect(outcome).toMatchObject({ kind: 'done', result: 'failed' }); // not 'retry'
      expect(await tasks.get(delivery!.taskId)).toMatchObject({
        status: 'failed',
        attempts: 1,
        error: { code: 'WebhookDestinationRefusedError', message: 'Delivery refused: hooks.rebound.example resolves to 169.254.169.254, a link-local address (169.254.0.0/16).' },
      });
    });

    it('an endless response body neither holds the delivery nor grows memory: it succeeds on its first attempt', async () => {
      // Prepare
      useDeliveryDeps({ timeoutMs: 5_000 });
      await register('ten_endless', `${receiver.base}/endless`);
      await fanOut(eventOf('ten_endless'));
      const [delivery] = await deliveriesOf('ten_endless');
      const startedAt = Date.now();
      // Act
      const outcome = await run(delivery!.taskId);
      // Assess
      expect(outcome).toMatchObject({ kind: 'done', result: 'succeeded', attempt: 1 });
      expect(Date.now() - startedAt).toBeLessThan(3_000);
      expect((await tasks.get(delivery!.taskId))?.result).toEqual({ status: 200, attempts: 1 });
    });
  });

  describe('limits', () => {
    it(`caps endpoints at ${MAX_WEBHOOKS} per tenant, also under concurrent registrations, and frees a slot on delete`, async () => {
      // Act: 15 registrations at once on an empty tenant, then one more, then one after a delete.
      const results = await Promise.allSettled(Array.from({ length: 15 }, (_, i) => register('ten_cap', `https://hooks.example.com/${i}`)));
      const registered = results.filter((result): result is PromiseFulfilledResult<RegisteredWebhook> => result.status === 'fulfilled').map((result) => result.value);
      const overCap = await register('ten_cap', 'https://hooks.example.com/late').catch((error: unknown) => error);
      await deleteWebhook({ webhooks, slots }, principal('ten_cap'), registered[0]!.webhookId);
      const afterDelete = await register('ten_cap', 'https://hooks.example.com/again');
      // Assess
      expect(registered).toHaveLength(MAX_WEBHOOKS);
      expect(results.filter((result) => result.status === 'rejected').map((result) => (result as PromiseRejectedResult).reason.status)).toEqual([400, 400, 400, 400, 400]);
      expect(overCap).toMatchObject({ status: 400, message: `At most ${MAX_WEBHOOKS} webhooks per tenant; delete one first.` });
      expect(afterDelete.webhookId).toMatch(/^whk_/);
      expect(await webhooks.list('ten_cap')).toHaveLength(MAX_WEBHOOKS);
    });

    it('a flood of events to dead endpoints keeps the tenant\u2019s outstanding deliveries at the cap; the rest are recorded as skipped', async () => {
      // Prepare: 10 endpoints (dead: nothing delivers them here), a cap of 25, 6 events at once = 60 deliveries.
      for (let i = 0; i < 10; i++) await register('ten_flood', `http://127.0.0.1:9/dead-${i}`);
      const flood = Array.from({ length: 6 }, () => eventOf('ten_flood'));
      // Act
      const outcomes = await Promise.all(flood.map((event) => fanOut(event, 25)));
      const deliveries = await deliveriesOf('ten_flood');
      const outstanding = deliveries.filter((task) => !isTerminal(task.status));
      const skipped = deliveries.filter((task) => task.error?.code === BACKLOG_FULL);
      const skippedItem = await rawItem(skipped[0]!.taskId);
      // Assess
      expect(deliveries).toHaveLength(60);
      expect(outstanding).toHaveLength(25);
      expect(skipped).toHaveLength(35);
      expect(outcomes.reduce((sum, outcome) => sum + outcome.skipped, 0)).toBe(35);
      expect(skipped[0]).toMatchObject({ status: 'failed', attempts: 0, error: { message: expect.stringContaining('already has 25 webhook deliveries outstanding') } });
      expect(skippedItem.gsi2pk).toBeUndefined(); // settled: the reconciler never parks it in the DLQ
      expect(events.submitted.filter((taskId) => skipped.some((task) => task.taskId === taskId))).toEqual([]);
    });

    it('a delivery that ends frees its slot for the next event', async () => {
      // Prepare: the flooded tenant, at its cap.
      const [first] = (await deliveriesOf('ten_flood')).filter((task) => task.status === 'queued');
      // Act
      const cancelled = await tasks.cancel(first!.taskId, new Date().toISOString());
      await settleTerminal({ tasks, events, admission: slots }, cancelled!);
      const next = await fanOut(eventOf('ten_flood'), 25);
      // Assess
      expect(next).toEqual({ queued: 1, skipped: 9 });
      expect((await deliveriesOf('ten_flood')).filter((task) => !isTerminal(task.status))).toHaveLength(25);
    });

    it('counts deliveries apart from the tenant\u2019s in-flight tasks', async () => {
      // Act
      const counter = await dynamo.docClient.send(new GetCommand({ TableName: dynamo.tasksTable, Key: TaskKeys.inflight(deliveryScope('ten_flood')), ConsistentRead: true }));
      const inflight = await dynamo.docClient.send(new GetCommand({ TableName: dynamo.tasksTable, Key: TaskKeys.inflight('ten_flood'), ConsistentRead: true }));
      // Assess
      expect(counter.Item?.count).toBe(25);
      expect(inflight.Item).toBeUndefined();
    });
  });
});
