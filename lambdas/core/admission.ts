import { OffloadError } from './errors.ts';

/** The tenant has as many tasks in flight as it may (`429`). */
export class TooManyInFlightError extends OffloadError {
  public constructor(limit: number, retryAfterSeconds: number) {
    super(429, 'too-many-in-flight', 'Too many tasks in flight', `At most ${limit} tasks may be queued or running at once; retry later.`, {
      headers: { 'Retry-After': String(retryAfterSeconds) },
    });
    this.name = 'TooManyInFlightError';
  }
}

/**
 * Per-tenant in-flight accounting. Each admitted task holds a slot (an item named after the task)
 * and a counter makes admission a single conditional write. The slot is written first and only if
 * the task holds none, so a retried submit or a duplicate delivery is admitted without being
 * counted twice. Releasing deletes the slot and, only if it existed, decrements the counter, so
 * duplicate releases are harmless. A crash between two writes can leave the counter off by one;
 * when admission is refused, the counter is recomputed from the slots, after dropping slots whose
 * tasks are already terminal, so a leaked slot or a stale count never keeps a tenant locked out.
 * A recount reads every slot (up to the limit, plus the tasks behind them), so a refusal recounts
 * at most once per tenant per interval ({@link AdmissionStore.claimRepair}): a client hammering a
 * full tenant costs O(1) reads and writes per request.
 */
export interface AdmissionStore {
  /** Takes a slot if the counter is below `limit`; false when at the limit. */
  tryAdmit(tenantId: string, taskId: string, limit: number): Promise<boolean>;
  /** Frees a task's slot; idempotent. */
  release(tenantId: string, taskId: string): Promise<void>;
  /**
   * Recounts the tenant's slots, releasing those for which `isDone(taskId)` holds, and resets the
   * counter to the true number. Returns it.
   */
  repair(tenantId: string, isDone: (taskIds: readonly string[]) => Promise<ReadonlySet<string>>): Promise<number>;
  /**
   * Claims the tenant's next recount: true at most once per interval per tenant, across every
   * instance (a conditional write on the counter), false while a recent recount still stands.
   */
  claimRepair(tenantId: string): Promise<boolean>;
}

/**
 * Admits a task or throws {@link TooManyInFlightError}. On refusal it repairs the count (if no
 * recount of this tenant ran within the store's interval) and tries again, so drift never turns
 * into a lasting false `429`.
 */
export const admit = async (
  store: AdmissionStore,
  tenantId: string,
  taskId: string,
  limit: number,
  isDone: (taskIds: readonly string[]) => Promise<ReadonlySet<string>>,
): Promise<void> => {
  if (await store.tryAdmit(tenantId, taskId, limit)) return;
  if (await store.claimRepair(tenantId)) {
    await store.repair(tenantId, isDone);
    if (await store.tryAdmit(tenantId, taskId, limit)) return;
  }
  throw new TooManyInFlightError(limit, 2);
};
