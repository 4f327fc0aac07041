import { OffloadError } from './errors.ts';

/**
 * Most slots one scope may hold: slots are attributes of the scope's counter item (~50 bytes each),
 * and an item is at most 400 KB, so a limit above this could never be reached.
 */
export const MAX_SLOTS_PER_SCOPE = 5_000 as const;

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
 * What a scope's counter item holds after a slot write: the slots it counts and, for a tenant's
 * in-flight scope, how many webhook endpoints the tenant has (undefined = not known yet, see
 * `webhook-presence.ts`). Read back by the write itself, so it costs no extra call.
 */
export interface ScopeState {
  readonly count: number;
  readonly webhooks?: number;
  /**
   * For a running scope (fairness): how many tasks are parked waiting for one of its slots, as the
   * parking lot counts them (0 once known; undefined = not known, treat as some).
   */
  readonly parked?: number;
}

/**
 * Per-scope slot accounting (a tenant's in-flight tasks, its running tasks in a class, its webhook
 * endpoints, its outstanding deliveries). One item per scope holds the counter and one attribute
 * per slot (named after the task, valued with when it was taken), so admitting and releasing are
 * each a single conditional UpdateItem that changes the slot and the counter together: they never
 * drift apart, a retried submit or a duplicate delivery finds its slot and is admitted without
 * being counted twice, and a duplicate release frees nothing. A slot leaks only if its task dies
 * without releasing it (a crash between admission and the task record, or before the terminal
 * bookkeeping): when admission is refused, slots whose tasks are terminal or missing are dropped
 * and the counter reset. A recount reads one item (plus the tasks behind its slots), and a refusal
 * recounts at most once per tenant per interval ({@link AdmissionStore.claimRepair}), so a client
 * hammering a full tenant costs O(1) reads and writes per request.
 */
export interface AdmissionStore {
  /** Takes a slot if the counter is below `limit` (or the slot is held already); false when at the limit. */
  tryAdmit(tenantId: string, taskId: string, limit: number): Promise<ScopeState | false>;
  /** Frees a task's slot; idempotent. Returns the scope's state after it, or undefined if the slot was not held. */
  release(tenantId: string, taskId: string): Promise<ScopeState | undefined>;
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
 * Admits a task (returning its scope's state) or throws {@link TooManyInFlightError}. On refusal it repairs the count (if no
 * recount of this tenant ran within the store's interval) and tries again, so drift never turns
 * into a lasting false `429`.
 */
export const admit = async (
  store: AdmissionStore,
  tenantId: string,
  taskId: string,
  limit: number,
  isDone: (taskIds: readonly string[]) => Promise<ReadonlySet<string>>,
): Promise<ScopeState> => {
  const admitted = await store.tryAdmit(tenantId, taskId, limit);
  if (admitted) return admitted;
  if (await store.claimRepair(tenantId)) {
    await store.repair(tenantId, isDone);
    const retried = await store.tryAdmit(tenantId, taskId, limit);
    if (retried) return retried;
  }
  throw new TooManyInFlightError(limit, 2);
};
