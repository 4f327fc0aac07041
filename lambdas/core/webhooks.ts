import { createHash, createHmac } from 'node:crypto';
import { isIP } from 'node:net';
import * as z from 'zod/mini';
import type { AdmissionStore } from './admission.ts';
import { isLoopbackAddress, refusedRange } from './address-policy.ts';
import { NotFoundError, ValidationError } from './errors.ts';
import { endedAmong } from './fairness.ts';
import { ulid } from './ids.ts';
import { DELIVERY_TASK_TYPE, DetailType, type Principal, type TaskEventDetail, type TaskRecord } from './model.ts';
import { describeIssues } from './submit.ts';
import { lifecycleEvent } from './events.ts';
import type { EventPublisher, TaskStore } from './ports.ts';
import { deliveryScope, WEBHOOK_LIMITS, webhookScope } from './webhook-limits.ts';
import { newWebhookSecret, type WebhookSecretSealer } from './webhook-secrets.ts';
import type { WebhookPresence } from './webhook-presence.ts';

/** Lifecycle events a webhook can receive. */
export const WEBHOOK_EVENTS = [DetailType.started, DetailType.succeeded, DetailType.failed, DetailType.cancelled] as const;

/**
 * A tenant's registered endpoint, as stored. The signing secret lives only here (the webhook item),
 * and only sealed (KMS ciphertext bound to tenant and webhook): delivery tasks carry the webhook id,
 * and the delivering function opens the secret when it signs.
 */
export interface Webhook {
  readonly webhookId: string;
  readonly tenantId: string;
  readonly url: string;
  readonly events: readonly string[];
  /**
   * The `whsec_` secret sealed by {@link WebhookSecretSealer}. Undefined for an endpoint registered
   * before secrets were sealed (its plaintext is never read back): its deliveries are refused.
   */
  readonly sealedSecret: string | undefined;
  readonly createdAt: string;
}

/** A webhook just registered: the stored record plus its plaintext secret, shown to the tenant once. */
export interface RegisteredWebhook extends Webhook {
  /** `whsec_<base64>` (Standard Webhooks). Never stored, never logged. */
  readonly secret: string;
}

/** Storage of webhooks. */
export interface WebhookStore {
  put(webhook: Webhook): Promise<void>;
  /** One webhook of the tenant, or undefined once it was deleted. */
  get(tenantId: string, webhookId: string): Promise<Webhook | undefined>;
  list(tenantId: string): Promise<Webhook[]>;
  remove(tenantId: string, webhookId: string): Promise<boolean>;
}

export const WebhookRequest = z.strictObject({
  url: z.string().check(z.maxLength(2048)),
  events: z.optional(z.array(z.enum(WEBHOOK_EVENTS)).check(z.minLength(1))),
});

/** At most this many endpoints per tenant. */
export const MAX_WEBHOOKS = WEBHOOK_LIMITS.endpointsPerTenant;

/** `localhost`, `localhost.` and names under it (RFC 6761: always loopback). */
const isLocalhostName = (host: string): boolean => /(^|\.)localhost\.?$/i.test(host);

/**
 * Validates a destination: HTTPS to a host name, or to an IP literal that is globally reachable
 * (never loopback, private, link-local, CGNAT, unique-local, multicast, broadcast, unspecified,
 * reserved, nor an IPv4-mapped or NAT64 form of those; WHATWG URL parsing has already turned
 * `0x7f.1`, `2130706433`, `017700000001` and `127.1` into `127.0.0.1`). Host names are checked
 * again, resolved, at every delivery. Plain HTTP and loopback (`127.0.0.0/8`, `::1`, `localhost`)
 * are only accepted when `allowLoopback` (the local runtime sets it, so tests can run a receiver).
 */
export const validateWebhookUrl = (raw: string, allowLoopback: boolean): URL => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch (error) {
    throw new ValidationError('url must be an absolute URL.', { cause: error });
  }
  if (url.username || url.password) throw new ValidationError('url must not carry credentials.');
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ValidationError('url must use https.');
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const literal = isIP(host) !== 0;
  const loopback = literal ? isLoopbackAddress(host) : isLocalhostName(host);
  if (allowLoopback && loopback) return url;
  if (url.protocol !== 'https:') throw new ValidationError('url must use https.');
  if (literal) {
    const refused = refusedRange(host);
    if (refused) throw new ValidationError(`url must name a public host: ${host} is a ${refused.kind} address (${refused.range}).`);
    return url;
  }
  if (loopback || !host.replace(/\.$/, '').includes('.')) throw new ValidationError('url must name a public host.');
  return url;
};

/** Dependencies of webhook registration. */
export interface RegistrationDeps {
  readonly webhooks: WebhookStore;
  /** Seals the new secret before it is stored (KMS Encrypt, bound to tenant and webhook). */
  readonly secrets: WebhookSecretSealer;
  /** Counts each tenant's endpoints (the admission counter, in {@link webhookScope}), so the cap holds under concurrent registrations. */
  readonly slots: AdmissionStore;
  /** Accept loopback destinations and plain HTTP to them (local runtime only). */
  readonly allowLoopback: boolean;
  /** Keeps the tenant's endpoint count that routes its lifecycle events to the fan-out (absent: not kept). */
  readonly presence?: WebhookPresence;
}

const tooManyWebhooks = () => new ValidationError(`At most ${MAX_WEBHOOKS} webhooks per tenant; delete one first.`);

/**
 * Registers an endpoint; the secret is returned once and stored only sealed. At most {@link MAX_WEBHOOKS} per tenant:
 * each endpoint holds a slot of the tenant's webhook counter (taken with a conditional write, so
 * concurrent registrations cannot exceed it; repaired from the stored webhooks on refusal).
 */
export const registerWebhook = async (deps: RegistrationDeps, principal: Principal, body: unknown): Promise<RegisteredWebhook> => {
  const parsed = WebhookRequest.safeParse(body);
  if (!parsed.success) throw new ValidationError(describeIssues(parsed.error));
  const url = validateWebhookUrl(parsed.data.url, deps.allowLoopback);
  const { tenantId } = principal;
  // Endpoints registered before the counter existed hold no slot: the list counts them too.
  const listed = (await deps.webhooks.list(tenantId)).length;
  if (listed >= MAX_WEBHOOKS) throw tooManyWebhooks();
  const webhookId = `whk_${ulid()}`;
  const secret = newWebhookSecret();
  const webhook: Webhook = {
    webhookId,
    tenantId,
    url: url.toString(),
    events: parsed.data.events ?? [...WEBHOOK_EVENTS],
    sealedSecret: await deps.secrets.seal(secret, { tenantId, webhookId }),
    createdAt: new Date().toISOString(),
  };
  const scope = webhookScope(tenantId);
  if (!(await deps.slots.tryAdmit(scope, webhook.webhookId, MAX_WEBHOOKS))) {
    await deps.slots.repair(scope, async (ids) => {
      const live = new Set((await deps.webhooks.list(tenantId)).map((existing) => existing.webhookId));
      return new Set(ids.filter((id) => !live.has(id)));
    });
    if (!(await deps.slots.tryAdmit(scope, webhook.webhookId, MAX_WEBHOOKS))) throw tooManyWebhooks();
  }
  try {
    await deps.webhooks.put(webhook);
  } catch (error) {
    await deps.slots.release(scope, webhook.webhookId).catch(() => undefined);
    throw error;
  }
  await deps.presence?.webhookRegistered(tenantId, listed);
  return { ...webhook, secret };
};

/** Deletes an endpoint and frees its slot. Deliveries still queued for it are dropped when they run. */
export const deleteWebhook = async (deps: Omit<RegistrationDeps, 'allowLoopback' | 'secrets'>, principal: Principal, webhookId: unknown): Promise<void> => {
  if (typeof webhookId !== 'string' || !/^whk_[0-9A-Z]{26}$/.test(webhookId) || !(await deps.webhooks.remove(principal.tenantId, webhookId))) throw new NotFoundError('No such webhook.');
  await deps.presence?.webhookRemoved(principal.tenantId);
  await deps.slots.release(webhookScope(principal.tenantId), webhookId);
};

/**
 * Standard Webhooks signature: `v1,` + base64 HMAC-SHA256, keyed with the secret's base64 part,
 * over `${id}.${timestamp}.${body}`.
 */
export const signWebhook = (secret: string, id: string, timestamp: number, body: string): string =>
  `v1,${createHmac('sha256', Buffer.from(secret.replace(/^whsec_/, ''), 'base64')).update(`${id}.${timestamp}.${body}`).digest('base64')}`;

/**
 * The input of one `webhook.delivery` task: a reference to the endpoint, never its URL's secret.
 * The delivering function reads the webhook (URL and secret) when it signs; a webhook deleted
 * meanwhile drops the delivery.
 */
export interface DeliveryInput {
  readonly webhookId: string;
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
          webhookId: webhook.webhookId,
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

/** Error code of a delivery skipped because its tenant had too many outstanding. */
export const BACKLOG_FULL = 'WebhookBacklogFull' as const;

/** Dependencies of the fan-out. */
export interface FanOutDeps {
  readonly webhooks: WebhookStore;
  readonly tasks: TaskStore;
  readonly events: EventPublisher;
  /**
   * Counts each tenant's outstanding deliveries (the admission counter, in {@link deliveryScope});
   * a delivery's slot is freed when it becomes terminal (see settleTerminal).
   */
  readonly slots: AdmissionStore;
  /** Outstanding deliveries a tenant may have. @default WEBHOOK_LIMITS.outstandingDeliveries */
  readonly outstandingLimit?: number;
  /** Told when a tenant turns out to have no endpoints, so its later events stop routing here. */
  readonly presence?: Pick<WebhookPresence, 'noWebhooksFound'>;
}

/** What a fan-out did. */
export interface FanOutOutcome {
  /** Deliveries queued (or found queued already, and dispatched again). */
  readonly queued: number;
  /** Deliveries recorded as failed with {@link BACKLOG_FULL} instead of queued. */
  readonly skipped: number;
}

/**
 * Turns one lifecycle event into one `webhook.delivery` task per subscribed endpoint. Idempotent:
 * the delivery task ids derive from the event id, so a duplicate event creates nothing new (its
 * `Task Submitted` is re-emitted, which the lease makes harmless). Deliveries never fan out.
 *
 * Deliveries are outside the tenant's task admission, so they are bounded on their own: each
 * holds a slot of the tenant's outstanding-deliveries counter until it ends. When the tenant is at
 * its limit (its endpoints are dead and every delivery is retrying), the new deliveries are not
 * queued: they are recorded as failed with {@link BACKLOG_FULL}, so one tenant can never fill the
 * integrations class.
 */
export const fanOutWebhooks = async (deps: FanOutDeps, detailType: string, detail: TaskEventDetail, time: string): Promise<FanOutOutcome> => {
  if (detail.type === DELIVERY_TASK_TYPE || !(WEBHOOK_EVENTS as readonly string[]).includes(detailType)) return { queued: 0, skipped: 0 };
  const limit = deps.outstandingLimit ?? WEBHOOK_LIMITS.outstandingDeliveries;
  const scope = deliveryScope(detail.tenantId);
  const endpoints = await deps.webhooks.list(detail.tenantId);
  if (endpoints.length === 0) await deps.presence?.noWebhooksFound(detail.tenantId);
  const deliveries = webhookDeliveries(endpoints, detailType, detail, time);
  let full = false;
  let queued = 0;
  let skipped = 0;
  for (const delivery of deliveries) {
    const existing = await deps.tasks.get(delivery.taskId);
    if (existing) {
      if (existing.status === 'queued') {
        await deps.events.publish(DetailType.submitted, lifecycleEvent(existing, { status: 'queued' }));
        queued++;
      }
      continue;
    }
    const now = new Date().toISOString();
    // At the limit once in this event: repair once, then skip the rest without asking again.
    full ||= !(await deps.slots.tryAdmit(scope, delivery.taskId, limit)) && !(await repairAndRetry(deps, scope, delivery.taskId, limit));
    if (full) {
      await recordSkipped(deps.tasks, deliveryTask(detail.tenantId, delivery, now), limit, now);
      skipped++;
      continue;
    }
    const task = deliveryTask(detail.tenantId, delivery, now);
    await deps.tasks.create(task);
    await deps.events.publish(DetailType.submitted, lifecycleEvent(task, { status: 'queued' }));
    queued++;
  }
  return { queued, skipped };
};

const repairAndRetry = async (deps: FanOutDeps, scope: string, taskId: string, limit: number): Promise<boolean> => {
  await deps.slots.repair(scope, (taskIds) => endedAmong(deps.tasks, taskIds));
  return (await deps.slots.tryAdmit(scope, taskId, limit)) !== false;
};

/** A skipped delivery: a terminal record the tenant can list, with the reason; never queued, never parked in the DLQ. */
const recordSkipped = async (tasks: TaskStore, task: TaskRecord, limit: number, now: string): Promise<void> => {
  await tasks.create({
    ...task,
    status: 'failed',
    error: { code: BACKLOG_FULL, message: `Skipped: the tenant already has ${limit} webhook deliveries outstanding (its endpoints are failing or slow).` },
    finishedAt: now,
  });
  await tasks.settle(task.taskId);
};
