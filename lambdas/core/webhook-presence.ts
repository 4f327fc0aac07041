/**
 * Whether a tenant has webhook endpoints, known to the producers of lifecycle events without a
 * read: a `webhooks` count on the tenant's in-flight counter item, which admission reads back with
 * the write that admits a task. The task records the answer (`TaskRecord.webhooks`) and every
 * lifecycle event of the task carries it (`detail.webhooks`), so the webhook fan-out rule only
 * routes events that something consumes.
 *
 * Staleness, bounded and documented: a task remembers the answer from its submission, so an
 * endpoint registered while a task is queued or running does not hear that task's later events
 * (tasks submitted after the registration are delivered). The count only ever errs high (a crash
 * between an endpoint's write and the count's leaves it one too high: events route and the fan-out
 * finds nothing to deliver), except across a registration racing a deletion. A tenant whose count
 * is not known yet (stored before new tenants started with a count of 0) is treated as having
 * endpoints until a fan-out finds none ({@link WebhookPresence.noWebhooksFound}).
 */
export interface WebhookPresence {
  /** An endpoint was stored; `listedBefore` is how many the tenant had (used if the count is not known yet). */
  webhookRegistered(tenantId: string, listedBefore: number): Promise<void>;
  /** An endpoint was deleted (only by the one caller that deleted it). */
  webhookRemoved(tenantId: string): Promise<void>;
  /** A fan-out found no endpoints: if the count is not known yet, it is now known to be zero. */
  noWebhooksFound(tenantId: string): Promise<void>;
}

/** Whether a tenant with this many endpoints (undefined = not known) gets its events routed to the fan-out. */
export const routesWebhooks = (count: number | undefined): boolean => count === undefined || count > 0;
