import { findTaskDefinition } from '../tasks/registry.ts';
import type { TaskLogger } from '../tasks/definition.ts';
import { DetailType, type ProgressEntry, type TaskError, type TaskEventDetail, type TaskRecord } from './model.ts';
import type { EventPublisher, TaskStore } from './ports.ts';
import { ProgressWriter } from './progress-writer.ts';
import type { DeliveredTask } from './delivery.ts';
import type { AdmissionStore } from './admission.ts';
import { factEventId, lifecycleEvent } from './events.ts';
import { settleTerminal } from './settle.ts';
import { mustWait, type SessionStore } from './session.ts';
import { enterRunning, leaveRunning, type FairnessDeps } from './fairness.ts';

/** Dependencies of task execution. */
export interface ExecuteDeps {
  readonly tasks: TaskStore;
  readonly events: EventPublisher;
  readonly logger: TaskLogger;
  /**
   * Opens the attempt's live sender of progress to WebSocket subscribers (see `LiveDelivery`),
   * given the task's committed `progressSeq` at the claim and the entries earlier attempts wrote.
   * Absent: no live delivery (subscribers still get everything by replay).
   */
  readonly live?: (taskId: string, committed: number, earlier: readonly ProgressEntry[]) => LiveSender;
  /** Frees the task's admission slot once it is terminal. */
  readonly admission?: AdmissionStore;
  /** Orders tasks of a session; absent = no session ordering. */
  readonly sessions?: SessionStore;
  /** Caps how many tasks of one tenant run at once in the class; absent = no cap. */
  readonly fairness?: FairnessDeps;
  /** Parks a task that failed for good in the class's DLQ (see settleTerminal). */
  readonly deadLetter?: (task: TaskRecord) => Promise<void>;
  /** Called when an attempt has claimed the task and is about to run it (metrics). */
  readonly onAttemptStarted?: (task: TaskRecord) => void;
}

/** What execution needs of the live sender (`LiveDelivery`); failures never fail the task. */
export interface LiveSender {
  /** An entry was committed. */
  progress(entry: ProgressEntry): void;
  /** The task is terminal, every entry up to `task.progressSeq` committed. */
  finish(task: DeliveredTask): Promise<void>;
  /** The attempt ends without a terminal state. */
  close(): Promise<void>;
}

/** Tunables of execution. */
export interface ExecuteOptions {
  /** Identifies this attempt's lease. */
  readonly owner: string;
  /** Time left in the invocation; the task is aborted `safetyMarginMs` before it runs out. */
  readonly remainingMs: () => number;
  readonly safetyMarginMs: number;
  readonly progressIntervalMs: number;
  /**
   * Lease length: the lease is renewed every third of it while the task runs, so a worker that
   * dies is taken over (through the reconciler) this long after its last renewal. @default 30000
   */
  readonly leaseMs?: number;
}

const DEFAULT_LEASE_MS = 30_000;

/** What the worker should do with the message that carried the task. */
export type ExecuteOutcome =
  /** Delete the message. `result` says what happened, for metrics. */
  | {
      readonly kind: 'done';
      readonly result: 'succeeded' | 'failed' | 'cancelled' | 'skipped' | 'waiting' | 'parked';
      readonly attempt?: number;
      readonly durationMs?: number;
      /** Why a task failed for good (its message belongs in the DLQ). */
      readonly error?: TaskError;
    }
  /** Leave the message for redelivery (a retry with SQS backoff). */
  | { readonly kind: 'retry'; readonly reason: string; readonly attempt: number };

/** The task was cancelled or its lease was lost while running. */
export class LeaseLostError extends Error {
  public constructor(taskId: string) {
    super(`Lease on ${taskId} lost (cancelled or taken over).`);
    this.name = 'LeaseLostError';
  }
}

/** Timeout of one attempt. */
export class TaskTimeoutError extends Error {
  public constructor(seconds: number) {
    super(`Task exceeded its timeout of ${seconds}s.`);
    this.name = 'TaskTimeoutError';
  }
}

/**
 * Strips what a tenant must never read from an error message another service wrote: ARNs (role and
 * account names), 12-digit AWS account ids and access key ids. Provider errors already carry a
 * fixed safe message (see `tasks/models/provider-error.ts`); this guards every other error.
 */
export const redactInternals = (message: string): string =>
  message
    .replace(/arn:aws[a-z-]*:[^\s"'`,;)]*/g, '[redacted]')
    .replace(/\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g, '[redacted]')
    .replace(/(?<!\d)\d{12}(?!\d)/g, '[redacted]');

/** The provider's raw text an error holds for the logs (`internalDetail`), if any. */
const internalDetailOf = (error: unknown): string | undefined => {
  const detail = (error as { internalDetail?: unknown } | null)?.internalDetail;
  return typeof detail === 'string' ? detail : undefined;
};

/** The task's `error`, which the tenant reads: never a provider's raw text (that is logged). */
export const toTaskError = (error: unknown): TaskError => {
  if (error instanceof TaskTimeoutError) return { code: 'Timeout', message: error.message };
  if (error instanceof Error) return { code: error.name || 'Error', message: redactInternals(error.message.slice(0, 1000)) };
  return { code: 'Error', message: 'Task failed.' };
};

const isRetryable = (error: unknown): boolean =>
  !(error instanceof Error && 'retryable' in error && (error as { retryable?: unknown }).retryable === false);

/**
 * Runs one delivery of a task: claim the lease, run the type's code with coalesced progress and a
 * signal that aborts on cancel or imminent timeout, then record the outcome and emit the event.
 * Duplicate deliveries of a task that is terminal, or running under a live lease, do nothing.
 */
export const executeTask = async (deps: ExecuteDeps, taskId: string, options: ExecuteOptions): Promise<ExecuteOutcome> => {
  const current = await deps.tasks.get(taskId);
  if (!current) {
    deps.logger.warn('task not found; dropping message', { taskId });
    return { kind: 'done', result: 'skipped' };
  }
  const definition = findTaskDefinition(current.type);
  if (!definition) {
    await deps.tasks.claim(taskId, options.owner, Date.now() + 60_000, new Date().toISOString());
    const error = { code: 'UnknownType', message: `Unknown task type ${current.type}` };
    if (await deps.tasks.finish(taskId, options.owner, { status: 'failed', error }, new Date().toISOString())) await afterTerminal(deps, { ...current, status: 'failed', error });
    return { kind: 'done', result: 'failed' };
  }
  // Session order: an earlier task of the session is still in flight. Drop this delivery; that
  // task wakes this one when it ends (and the reconciler does if the wake-up is lost).
  if (deps.sessions && current.status === 'queued' && (await mustWait(deps.sessions, deps.tasks, current))) {
    deps.logger.info('waiting for an earlier task of the session', { taskId, sessionId: current.sessionId });
    return { kind: 'done', result: 'waiting' };
  }
  // Fairness: the tenant may run only so many tasks of this class at once; over that, the task is
  // parked (this message is dropped) and woken when one of the tenant's tasks ends.
  let tookSlot = false;
  if (deps.fairness && current.status === 'queued') {
    tookSlot = await enterRunning(deps.fairness, current);
    if (!tookSlot) {
      deps.logger.info('tenant at its running limit; task parked', { taskId, tenantId: current.tenantId, class: current.class });
      return { kind: 'done', result: 'parked' };
    }
  }
  const budgetMs = Math.min(definition.timeoutSeconds * 1000, options.remainingMs() - options.safetyMarginMs);
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const attemptEnds = Date.now() + budgetMs + options.safetyMarginMs;
  const claimed = await deps.tasks.claim(taskId, options.owner, Math.min(attemptEnds, Date.now() + leaseMs), new Date().toISOString());
  // Not claimable: terminal, cancelled, or running under another worker's live lease. Drop this
  // duplicate delivery; if that worker dies, its lease expires and the reconciler re-dispatches.
  if (!claimed) {
    if (tookSlot) await giveBackSlot(deps, current);
    return { kind: 'done', result: 'skipped' };
  }
  const started = Date.now();
  deps.logger.info('attempt started', { taskId, owner: options.owner, attempt: claimed.attempts });
  deps.onAttemptStarted?.(claimed);
  if (claimed.attempts === 1) await deps.events.publish(DetailType.started, lifecycleEvent(claimed, { status: 'running', eventId: factEventId(taskId, 'started') }));

  const earlier = claimed.progressSeq > 0 ? await loadProgress(deps.tasks, taskId, claimed.progressSeq) : [];
  const previous = earlier.map((entry) => entry.data);
  const live = openLive(deps, taskId, claimed.progressSeq, earlier);
  let committedSeq = claimed.progressSeq;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new TaskTimeoutError(definition.timeoutSeconds)), budgetMs);
  const heartbeat = keepLease(deps, taskId, options.owner, { leaseMs, attemptEnds, heldUntil: Math.min(attemptEnds, started + leaseMs) }, controller);
  const writer = new ProgressWriter<unknown>(
    claimed.progressSeq,
    async (entry) => {
      const stored = await deps.tasks.appendProgress(taskId, options.owner, entry);
      if (stored === 'lease-lost') {
        controller.abort(new LeaseLostError(taskId));
        throw new LeaseLostError(taskId);
      }
      committedSeq = entry.seq;
      live.progress(entry);
    },
    definition.mergeProgress ?? ((_pending, next) => next),
    { intervalMs: options.progressIntervalMs },
  );

  try {
    const parsed = definition.input.parse(claimed.input);
    const result = await definition.run(parsed, {
      taskId,
      tenantId: claimed.tenantId,
      attempt: claimed.attempts,
      signal: controller.signal,
      logger: deps.logger,
      previous,
      progress: (data) => writer.report(data),
    });
    if (controller.signal.aborted) throw controller.signal.reason;
    await writer.flush();
    const now = new Date().toISOString();
    if (!(await deps.tasks.finish(taskId, options.owner, { status: 'succeeded', result }, now))) return settleLostLease(deps, taskId, live);
    await afterTerminal(deps, { ...claimed, status: 'succeeded' });
    await live.finish({ taskId, status: 'succeeded', progressSeq: writer.lastSeq, result });
    return { kind: 'done', result: 'succeeded', attempt: claimed.attempts, durationMs: Date.now() - started };
  } catch (thrown) {
    const error = controller.signal.aborted ? controller.signal.reason : thrown;
    if (error instanceof LeaseLostError) {
      writer.discard();
      return settleLostLease(deps, taskId, live);
    }
    await writer.flush().catch(() => undefined);
    const taskError = toTaskError(error);
    const internalDetail = internalDetailOf(error);
    deps.logger.warn('task attempt failed', { taskId, attempt: claimed.attempts, error: taskError, ...(internalDetail ? { internalDetail } : {}) });
    if (isRetryable(error) && claimed.attempts < definition.retry.maxAttempts) {
      await deps.tasks.release(taskId, options.owner, taskError, new Date().toISOString());
      await leaveClass(deps, claimed);
      return { kind: 'retry', reason: taskError.message, attempt: claimed.attempts };
    }
    if (await deps.tasks.finish(taskId, options.owner, { status: 'failed', error: taskError }, new Date().toISOString())) {
      await afterTerminal(deps, { ...claimed, status: 'failed', error: taskError });
      // The last progress write may have failed after committing: read what was committed.
      const failed = await deps.tasks.get(taskId).catch(() => undefined);
      await live.finish({ taskId, status: 'failed', error: taskError, progressSeq: failed?.progressSeq ?? committedSeq });
    }
    return { kind: 'done', result: 'failed', attempt: claimed.attempts, durationMs: Date.now() - started, error: taskError };
  } finally {
    clearTimeout(timer);
    clearInterval(heartbeat);
    await live.close(); // a no-op after finish; else offers the last entries to new subscribers
    deps.logger.info('attempt ended', { taskId, owner: options.owner, attempt: claimed.attempts });
  }
};

/** Once terminal: the task's event, session, slots (see settleTerminal); what fails is finished by the reconciler. */
const afterTerminal = async (deps: ExecuteDeps, task: TaskRecord): Promise<void> => {
  await settleTerminal(deps, task, (step, error) =>
    deps.logger.warn('settling a terminal task failed; the reconciler will finish it', { taskId: task.taskId, step, error: String(error) }),
  );
};

/** Frees the task's running slot and wakes a parked task of the tenant (a leaked slot is repaired at the limit). */
const leaveClass = async (deps: ExecuteDeps, task: TaskRecord): Promise<void> => {
  if (!deps.fairness) return;
  await leaveRunning(deps.fairness, task).catch((error: unknown) =>
    deps.logger.warn('running slot release failed; it is repaired at the limit and the reconciler wakes parked tasks', { taskId: task.taskId, error: String(error) }),
  );
};

/** A slot taken for a claim that failed: give it back unless the task is running under another worker. */
const giveBackSlot = async (deps: ExecuteDeps, task: TaskRecord): Promise<void> => {
  const latest = await deps.tasks.get(task.taskId);
  if (latest?.status !== 'running') await leaveClass(deps, task);
};


/**
 * Renews the lease every third of its length. If the task was cancelled or taken over, or the
 * lease could not be renewed before it ran out (the store unreachable), the attempt is aborted:
 * past its lease another worker may claim the task, and two must never run it at once.
 */
const keepLease = (
  deps: ExecuteDeps,
  taskId: string,
  owner: string,
  lease: { leaseMs: number; attemptEnds: number; heldUntil: number },
  controller: AbortController,
): NodeJS.Timeout => {
  let heldUntil = lease.heldUntil;
  let renewing = false;
  const interval = setInterval(() => {
    if (controller.signal.aborted) return clearInterval(interval);
    if (Date.now() > heldUntil - Math.min(2_000, lease.leaseMs / 10)) {
      controller.abort(new LeaseLostError(taskId));
      return clearInterval(interval);
    }
    if (renewing || heldUntil >= lease.attemptEnds) return;
    renewing = true;
    const until = Math.min(lease.attemptEnds, Date.now() + lease.leaseMs);
    deps.tasks
      .renewLease(taskId, owner, until)
      .then((held) => {
        if (held) heldUntil = until;
        else controller.abort(new LeaseLostError(taskId));
      })
      .catch((error: unknown) => deps.logger.warn('lease renewal failed; retrying', { taskId, error: String(error) }))
      .finally(() => (renewing = false));
  }, Math.max(50, Math.floor(lease.leaseMs / 3)));
  return interval;
};

/** Every committed progress entry (seq 1..upTo), oldest first. */
const loadProgress = async (tasks: TaskStore, taskId: string, upTo: number): Promise<ProgressEntry[]> => {
  const entries: ProgressEntry[] = [];
  let after = 0;
  while (after < upTo) {
    const page = (await tasks.listProgress(taskId, after, 500)).filter((entry) => entry.seq <= upTo);
    if (page.length === 0) break;
    entries.push(...page);
    after = page.at(-1)!.seq;
  }
  return entries;
};

/** The live sender, or one that does nothing; its failures are logged, never thrown. */
const openLive = (deps: ExecuteDeps, taskId: string, committed: number, earlier: readonly ProgressEntry[]): LiveSender => {
  const sender = deps.live?.(taskId, committed, earlier);
  const warn = (error: unknown) => deps.logger.warn('delivery failed; subscribers can resume', { taskId, error: String(error) });
  return {
    progress: (entry) => {
      try {
        sender?.progress(entry);
      } catch (error) {
        warn(error);
      }
    },
    finish: async (task) => sender?.finish(task).catch(warn),
    close: async () => sender?.close().catch(warn),
  };
};

/**
 * The lease was lost: if the task was cancelled, tell subscribers (the cancel handler did too: a
 * second sender is harmless, see `delivery.ts`); otherwise another worker owns it.
 */
const settleLostLease = async (deps: ExecuteDeps, taskId: string, live: LiveSender): Promise<ExecuteOutcome> => {
  const latest = await deps.tasks.get(taskId);
  if (latest?.status === 'cancelled') await live.finish(latest);
  return { kind: 'done', result: latest?.status === 'cancelled' ? 'cancelled' : 'skipped' };
};
