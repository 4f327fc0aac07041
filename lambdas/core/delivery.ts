import { UnauthorizedError } from './errors.ts';
import { isTerminal, type TaskRecord } from './model.ts';
import type { ConnectionStore, Pusher, ServerMessage, Subscription, TaskStore } from './ports.ts';
import { MAX_BATCH_BYTES, packProgress, type ProgressMessage } from './progress-batch.ts';

/**
 * Progress delivery to WebSocket subscribers: the wire rule, and the replay from a resume point.
 *
 * The wire rule (SPEC §WebSocket): on one connection the server may send an entry again, but never
 * skips one, never sends a higher `seq` before a lower one it has not yet sent there, and sends the
 * terminal status only after every entry. Clients drop `seq <= highest seen` (the SDK does).
 *
 * How it holds with no per-entry bookkeeping in the store: every sender to a connection (the
 * subscribe handler's replay, the running worker's live sender in `live-delivery.ts`, the cancel
 * handler) starts at the subscription's `after` and sends contiguously upwards, each through its
 * own ordered sequence of pushes. A sender that sends `s` has therefore already sent every entry
 * in `after+1..s-1` itself, so however the senders interleave, no `seq` reaches the connection
 * before all lower ones after `after` have; duplicates are the price, and are allowed. A sender
 * sends the status only once it has sent every entry up to the task's final `progressSeq`.
 * Entries above the `progressSeq` a sender read are never sent: they may not be committed yet.
 */

/** Dependencies of a replay. */
export interface DeliveryDeps {
  readonly tasks: Pick<TaskStore, 'get' | 'listProgress'>;
  readonly connections: Pick<ConnectionStore, 'listSubscriptions' | 'unsubscribe' | 'removeConnection'>;
  readonly pusher: Pusher;
}

/** Tunables of a replay. */
export interface DeliveryOptions {
  /** Entries read per page (one DynamoDB query answers up to 1 MB). */
  readonly pageSize: number;
  /** Serialized status messages above this size omit `result` (WebSocket messages max 128 KB). */
  readonly maxMessageBytes: number;
  /** Entries are packed into `progressBatch` messages of at most this size (see {@link packProgress}). */
  readonly maxBatchBytes: number;
  /**
   * Time one replay may spend. Once it is spent, and at least one message went out, the replay
   * stops before its next push and sends `replayPaused {nextAfter}`; the client's next `subscribe
   * {after: nextAfter}` continues (the SDK does so by itself). Half the subscribe function's 10 s
   * timeout by default, so a replay always ends in time.
   */
  readonly budgetMs: number;
  /** The clock `budgetMs` and credential expiry are measured on. @default Date.now */
  readonly now: () => number;
}

/** The parts of a task a replay reads. */
export type DeliveredTask = Pick<TaskRecord, 'taskId' | 'status' | 'progressSeq' | 'result' | 'error'>;

export const DELIVERY_DEFAULTS: DeliveryOptions = {
  pageSize: 1_000,
  maxMessageBytes: 100_000,
  maxBatchBytes: MAX_BATCH_BYTES,
  budgetMs: 5_000,
  now: () => Date.now(),
};

/** The terminal status message for a task, omitting a result too large for one WebSocket message. */
export const statusMessage = (task: Pick<TaskRecord, 'taskId' | 'status' | 'result' | 'error'>, maxBytes: number = DELIVERY_DEFAULTS.maxMessageBytes): ServerMessage => {
  const message: ServerMessage = {
    type: 'status',
    taskId: task.taskId,
    status: task.status,
    ...(task.result !== undefined ? { result: task.result } : {}),
    ...(task.error !== undefined ? { error: task.error } : {}),
  };
  if (Buffer.byteLength(JSON.stringify(message)) <= maxBytes) return message;
  return { type: 'status', taskId: task.taskId, status: task.status, resultOmitted: true };
};

/** The highest seq a progress message carries. */
export const lastSeqOf = (message: ProgressMessage): number => (message.type === 'progress' ? message.seq : message.entries.at(-1)!.seq);

/** Whether a subscription's credential has expired at `now` (then nothing may be pushed on it). */
export const credentialExpired = (subscription: Pick<Subscription, 'credentialExpiresAt'>, now: number): boolean =>
  subscription.credentialExpiresAt !== undefined && subscription.credentialExpiresAt <= now;

/** What a connection whose credential expired is told before it is closed (as the WebSocket routes do). */
export const expiredCredentialMessage = (): ServerMessage => {
  const error = new UnauthorizedError('The credential of this connection has expired; connect again with a fresh one.');
  return { type: 'error', status: error.status, title: error.title, detail: error.message };
};

/**
 * A subscription whose connection's credential expired: it is removed (nothing of the task is
 * pushed on it any more), and the connection is told and closed where the transport can, so that
 * an idle connection never outlives its credential.
 */
export const dropExpired = async (deps: Pick<DeliveryDeps, 'connections' | 'pusher'>, subscription: Pick<Subscription, 'taskId' | 'connectionId'>): Promise<void> => {
  await deps.connections.unsubscribe(subscription.taskId, subscription.connectionId);
  if (!deps.pusher.close) return;
  if ((await deps.pusher.post(subscription.connectionId, expiredCredentialMessage())) === 'gone') return;
  await deps.pusher.close(subscription.connectionId);
};

/**
 * Replays a task to one connection from the client's resume point: the committed entries with
 * `seq > after`, in order and packed into `progressBatch` messages, then the terminal status if the
 * task is terminal. Reads and writes no delivery bookkeeping. Safe to run while the worker pushes
 * to the same connection (see the module comment: every sender starts at the client's `after`).
 *
 * `known` is the task as the caller read it; when it is not terminal, the task is read once more
 * after the replay. The caller must have written the subscription before that read: then either the
 * worker's subscriber query after its terminal write finds the subscription, or this read sees the
 * task terminal, and the status is never lost. With no `known`, the task is read first.
 *
 * @returns `gone` if the connection disappeared (it is then removed), `paused` if the budget ran
 *   out first (the client was sent `replayPaused`), else `done`.
 */
export const replayTask = async (
  deps: DeliveryDeps,
  target: { readonly taskId: string; readonly connectionId: string; readonly after: number },
  options: Partial<DeliveryOptions> = {},
  known?: DeliveredTask,
): Promise<'done' | 'gone' | 'paused'> => {
  const { pageSize, maxMessageBytes, maxBatchBytes, budgetMs, now } = { ...DELIVERY_DEFAULTS, ...options };
  const { taskId, connectionId } = target;
  const started = now();
  let pushes = 0;
  // Spent only once something went out, so every replay moves the client forward.
  const spent = () => pushes > 0 && now() - started >= budgetMs;
  let cursor = target.after;
  let task = known ?? (await deps.tasks.get(taskId));
  let reread = known === undefined;
  for (;;) {
    if (!task) return 'done';
    while (cursor < task.progressSeq) {
      if (spent()) return pause(deps, taskId, connectionId, cursor);
      const upTo = task.progressSeq;
      const entries = (await deps.tasks.listProgress(taskId, cursor, pageSize)).filter((entry) => entry.seq <= upTo);
      if (entries.length === 0) break; // the log lacks them (never expected): nothing to send
      for (const message of packProgress(taskId, entries, maxBatchBytes)) {
        if (spent()) return pause(deps, taskId, connectionId, cursor);
        if ((await deps.pusher.post(connectionId, message)) === 'gone') return gone(deps, connectionId);
        pushes++;
        cursor = lastSeqOf(message);
      }
    }
    if (isTerminal(task.status)) {
      if (cursor < task.progressSeq) return 'done'; // entries missing from the log: no status after a hole
      if ((await deps.pusher.post(connectionId, statusMessage(task, maxMessageBytes))) === 'gone') return gone(deps, connectionId);
      return 'done';
    }
    if (reread) return 'done'; // still running: the worker sends what follows
    reread = true;
    task = await deps.tasks.get(taskId);
  }
};

const gone = async (deps: Pick<DeliveryDeps, 'connections'>, connectionId: string): Promise<'gone'> => {
  await deps.connections.removeConnection(connectionId);
  return 'gone';
};

/** Stops a replay whose budget is spent and tells the client where to continue. */
const pause = async (deps: DeliveryDeps, taskId: string, connectionId: string, cursor: number): Promise<'gone' | 'paused'> => {
  if ((await deps.pusher.post(connectionId, { type: 'replayPaused', taskId, nextAfter: cursor })) === 'gone') return gone(deps, connectionId);
  return 'paused';
};

/**
 * Delivers a task to every subscription from its own `after`, then the status (the cancel path:
 * a queued task has no worker to tell its subscribers). The subscriptions are read first and the
 * task after them (both strongly consistent), so a subscription written later finds the task
 * terminal in its own replay. A subscription whose credential expired is removed instead. A `410`
 * for one connection, or any other delivery failure, never fails the caller: subscribers can always
 * resume with `subscribe {after}`.
 */
export const notifySubscribers = async (
  deps: DeliveryDeps,
  taskId: string,
  onError: (error: unknown, connectionId: string) => void,
  options: Partial<DeliveryOptions> = {},
): Promise<void> => {
  const now = options.now ?? DELIVERY_DEFAULTS.now;
  let subscriptions: Subscription[];
  let task: DeliveredTask | undefined;
  try {
    subscriptions = await deps.connections.listSubscriptions(taskId);
    if (subscriptions.length === 0) return;
    task = await deps.tasks.get(taskId);
  } catch (error) {
    onError(error, '*');
    return;
  }
  if (!task) return;
  const known = task;
  await Promise.all(
    subscriptions.map((subscription) =>
      (credentialExpired(subscription, now()) ? dropExpired(deps, subscription) : replayTask(deps, subscription, options, known)).catch((error: unknown) =>
        onError(error, subscription.connectionId),
      ),
    ),
  );
};
