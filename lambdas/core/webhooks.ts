import { createHash, createHmac, randomBytes } from 'node:crypto';
import * as z from 'zod/mini';
import { NotFoundError, ValidationError } from './errors.ts';
import { ulid } from './ids.ts';
import { DELIVERY_TASK_TYPE, DetailType, type Principal, type TaskEventDetail, type TaskRecord } from './model.ts';
import { describeIssues } from './submit.ts';
import { lifecycleEvent } from './events.ts';
import type { EventPublisher, TaskStore } from './ports.ts';

/** Lifecycle events a webhook can receive. */
export const WEBHOOK_EVENTS = [DetailType.started, DetailType.succeeded, DetailType.failed, DetailType.cancelled] as const;

/** A tenant's registered endpoint (the secret only ever leaves the store to sign). */
export interface Webhook {
  readonly webhookId: string;
  readonly tenantId: string;
  readonly url: string;
  readonly events: readonly string[];
  /** `whsec_<base64>` (Standard Webhooks). */
  readonly secret: string;
  readonly createdAt: string;
}

/** Storage of webhooks. */
export interface WebhookStore {
  put(webhook: Webhook): Promise<void>;
  list(tenantId: string): Promise<Webhook[]>;
  remove(tenantId: string, webhookId: string): Promise<boolean>;
}

export const WebhookRequest = z.strictObject({
  url: z.string().check(z.maxLength(2048)),
  events: z.optional(z.array(z.enum(WEBHOOK_EVENTS)).check(z.minLength(1))),
});

/** At most this many endpoints per tenant. */
export const MAX_WEBHOOKS = 20;

/**
 * Validates a destination: HTTPS with a public host name. Plain HTTP and loopback hosts are only
 * accepted when `allowLoopback` (the local runtime sets it, so tests can run a receiver).
 */
export const validateWebhookUrl = (raw: string, allowLoopback: boolean): URL => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch (error) {
    throw new ValidationError('url must be an absolute URL.', { cause: error });
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.username || url.password) throw new ValidationError('url must not carry credentials.');
  if (allowLoopback && loopback && (url.protocol === 'http:' || url.protocol === 'https:')) return url;
  if (url.protocol !== 'https:') throw new ValidationError('url must use https.');
  if (loopback || /^(10|127|169\.254|192\.168)\.|^172\.(1[6-9]|2\d|3[01])\.|^\[|^0\./.test(url.hostname) || !url.hostname.includes('.')) {
    throw new ValidationError('url must name a public host.');
  }
  return url;
};

/** Registers an endpoint; the secret is returned once. */
export const registerWebhook = async (store: WebhookStore, principal: Principal, body: unknown, allowLoopback: boolean): Promise<Webhook> => {
  const parsed = WebhookRequest.safeParse(body);
  if (!parsed.success) throw new ValidationError(describeIssues(parsed.error));
  const url = validateWebhookUrl(parsed.data.url, allowLoopback);
  if ((await store.list(principal.tenantId)).length >= MAX_WEBHOOKS) throw new ValidationError(`At most ${MAX_WEBHOOKS} webhooks per tenant.`);
  const webhook: Webhook = {
    webhookId: `whk_${ulid()}`,
    tenantId: principal.tenantId,
    url: url.toString(),
    events: parsed.data.events ?? [...WEBHOOK_EVENTS],
    secret: `whsec_${randomBytes(32).toString('base64')}`,
    createdAt: new Date().toISOString(),
  };
  await store.put(webhook);
  return webhook;
};

export const deleteWebhook = async (store: WebhookStore, principal: Principal, webhookId: unknown): Promise<void> => {
  if (typeof webhookId !== 'string' || !/^whk_[0-9A-Z]{26}$/.test(webhookId) || !(await store.remove(principal.tenantId, webhookId))) throw new NotFoundError('No such webhook.');
};

/**
 * Standard Webhooks signature: `v1,` + base64 HMAC-SHA256, keyed with the secret's base64 part,
 * over `${id}.${timestamp}.${body}`.
 */
export const signWebhook = (secret: string, id: string, timestamp: number, body: string): string =>
  `v1,${createHmac('sha256', Buffer.from(secret.replace(/^whsec_/, ''), 'base64')).update(`${id}.${timestamp}.${body}`).digest('base64')}`;

/** The input of one `webhook.delivery` task. */
export interface DeliveryInput {
  readonly url: string;
  readonly secret: string;
  /** `webhook-id`: stable across retries and duplicate fan-outs, so receivers can deduplicate. */
  readonly messageId: string;
  readonly payload: { readonly type: string; readonly timestamp: string; readonly data: Record<string, unknown> };
}

/** A task id that is the same for the same (event, endpoint): a repeated fan-out creates nothing new. */
export const deliveryTaskId = (eventId: string, webhookId: string): string => {
  const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  const digest = createHash('sha256').update(`${eventId}\0${webhookId}`).digest();
  return `tsk_${[...digest.subarray(0, 26)].map((byte) => alphabet[byte % 32]).join('')}`;
};

/**
 * The delivery tasks for one lifecycle event: one per endpoint of the tenant subscribed to it, so a
 * slow or failing endpoint only ever delays its own deliveries.
 */
export const webhookDeliveries = (webhooks: readonly Webhook[], detailType: string, detail: TaskEventDetail, time: string): { taskId: string; input: DeliveryInput }[] =>
  webhooks
    .filter((webhook) => webhook.events.includes(detailType))
    .map((webhook) => {
      const taskId = deliveryTaskId(detail.eventId, webhook.webhookId);
      return {
        taskId,
        input: {
          url: webhook.url,
          secret: webhook.secret,
          messageId: `msg_${taskId.slice(4)}`,
          payload: {
            type: `task.${detailType.replace(/^Task /, '').toLowerCase()}`,
            timestamp: time,
            data: { taskId: detail.taskId, type: detail.type, status: detail.status ?? null, ...(detail.sessionId ? { sessionId: detail.sessionId } : {}) },
          },
        },
      };
    });

/** A delivery task record, owned by the tenant, run by the integrations class. */
export const deliveryTask = (tenantId: string, delivery: { taskId: string; input: DeliveryInput }, now: string): TaskRecord => ({
  taskId: delivery.taskId,
  tenantId,
  type: DELIVERY_TASK_TYPE,
  class: 'integrations',
  status: 'queued',
  input: delivery.input,
  attempts: 0,
  progressSeq: 0,
  createdAt: now,
  updatedAt: now,
});

/** Dependencies of the fan-out. */
export interface FanOutDeps {
  readonly webhooks: WebhookStore;
  readonly tasks: TaskStore;
  readonly events: EventPublisher;
}

/**
 * Turns one lifecycle event into one `webhook.delivery` task per subscribed endpoint. Idempotent:
 * the delivery task ids derive from the event id, so a duplicate event creates nothing new (its
 * `Task Submitted` is re-emitted, which the lease makes harmless). Deliveries never fan out.
 */
export const fanOutWebhooks = async (deps: FanOutDeps, detailType: string, detail: TaskEventDetail, time: string): Promise<number> => {
  if (detail.type === DELIVERY_TASK_TYPE || !(WEBHOOK_EVENTS as readonly string[]).includes(detailType)) return 0;
  const deliveries = webhookDeliveries(await deps.webhooks.list(detail.tenantId), detailType, detail, time);
  for (const delivery of deliveries) {
    const existing = await deps.tasks.get(delivery.taskId);
    const task = existing ?? deliveryTask(detail.tenantId, delivery, new Date().toISOString());
    if (!existing) await deps.tasks.create(task);
    if (task.status === 'queued') await deps.events.publish(DetailType.submitted, lifecycleEvent(task, { status: 'queued' }));
  }
  return deliveries.length;
};
