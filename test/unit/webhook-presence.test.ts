import { describe, expect, it } from 'vitest';
import type { AdmissionStore } from '../../lambdas/core/admission.ts';
import { lifecycleEvent } from '../../lambdas/core/events.ts';
import type { TaskStore } from '../../lambdas/core/ports.ts';
import { routesWebhooks } from '../../lambdas/core/webhook-presence.ts';
import { fanOutWebhooks, type Webhook, type WebhookStore } from '../../lambdas/core/webhooks.ts';
import { RecordingPublisher } from '../support/recording-publisher.ts';
import { taskRecord } from '../support/tasks.ts';

/** A webhook store holding the given endpoints (only `list` is used by the fan-out). */
const storeWith = (webhooks: Webhook[]): WebhookStore => ({
  put: async () => undefined,
  get: async () => undefined,
  list: async () => webhooks,
  remove: async () => false,
});
const noTasks = { get: async () => undefined, create: async () => undefined } as unknown as TaskStore;
const openSlots = { tryAdmit: async () => ({ count: 1 }), release: async () => undefined, repair: async () => 0, claimRepair: async () => false } satisfies AdmissionStore;

describe('webhook presence: events route to the fan-out only for tenants that may have endpoints', () => {
  it('routes a tenant not known to be without endpoints, and none known to have none', () => {
    // Act / Assess
    expect([routesWebhooks(undefined), routesWebhooks(0), routesWebhooks(2)]).toEqual([true, false, true]);
  });

  it('carries the task\u2019s answer into its lifecycle events (absent when not known)', () => {
    // Act
    const known = lifecycleEvent(taskRecord({ webhooks: false }), { status: 'running' });
    const unknown = lifecycleEvent(taskRecord(), { status: 'running' });
    // Assess
    expect(known.webhooks).toBe(false);
    expect(unknown).not.toHaveProperty('webhooks');
  });

  it('tells the presence when a fan-out finds no endpoints, and not when it finds some', async () => {
    // Prepare
    const told: string[] = [];
    const presence = { noWebhooksFound: async (tenantId: string) => void told.push(tenantId) };
    const endpoint: Webhook = { webhookId: 'whk_01KAQ8Z4J6W2M3N5P7R9S1T3V5', tenantId: 'ten_some', url: 'https://hooks.example.com/x', events: ['Task Succeeded'], sealedSecret: 'sealed', createdAt: new Date().toISOString() };
    const event = (tenantId: string) => lifecycleEvent(taskRecord({ tenantId }), { status: 'succeeded' });
    // Act
    await fanOutWebhooks({ webhooks: storeWith([]), tasks: noTasks, events: new RecordingPublisher(), slots: openSlots, presence }, 'Task Succeeded', event('ten_none'), new Date().toISOString());
    const some = new RecordingPublisher();
    await fanOutWebhooks({ webhooks: storeWith([endpoint]), tasks: noTasks, events: some, slots: openSlots, presence }, 'Task Succeeded', event('ten_some'), new Date().toISOString());
    // Assess
    expect(told).toEqual(['ten_none']);
    expect(some.submitted).toHaveLength(1);
  });
});
