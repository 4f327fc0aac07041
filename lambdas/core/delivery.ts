import { randomUUID } from 'node:crypto';
import { isTerminal, type ProgressEntry, type TaskRecord } from './model.ts';
import type { ConnectionStore, Pusher, ServerMessage, SubscriptionState, TaskStore } from './ports.ts';
import { MAX_BATCH_BYTES, packProgress, type ProgressMessage } from './progress-batch.ts';

/** Dependencies of progress delivery. */
export interface DeliveryDeps {
  readonly tasks: TaskStore;
  readonly connections: ConnectionStore;
  readonly pusher: Pusher;
}

/** Tunables of the delivery protocol. */
export interface DeliveryOptions {
  /** How long a drainer may hold a subscription before others may take over. */
  readonly leaseMs: number;
  /** Entries read per page while catching up (one DynamoDB query answers up to 1 MB). */
  readonly pageSize: number;
  /** Upper bound on drain rounds per call, so a call always ends. */
  readonly maxRounds: number;
  /** Serialized status messages above this size omit `result` (WebSocket messages max 128 KB). */
  readonly maxMessageBytes: number;
  /** Pending entries are packed into `progressBatch` messages of at most this size (see {@link packProgress}). */
  readonly maxBatchBytes: number;
  /**
   * Time one call may spend delivering. Once it is spent, and at least one message went out, the
   * call stops before its next push: it records the cursor, lets the subscription go and sends
   * `replayPaused {nextAfter}`; the client's next `subscribe {after: nextAfter}` continues (the
   * SDK does so by itself). Half the subscribe function's 10 s timeout by default, so a replay
   * always ends in time and never leaves the client with a partial replay and no word.
   */
  readonly budgetMs: number;
  /** The clock `budgetMs` is measured on. @default Date.now */
  readonly now: () => number;
}

/**
 * What the caller already knows was committed when it asks for delivery: the worker right after
 * storing an entry (the entry, and `progressSeq` = its seq) or a terminal state. It spares the
 * first round of a drain its reads (the task and the entries); later rounds read afresh.
 */
export interface KnownState {
  readonly task: Pick<TaskRecord, 'taskId' | 'status' | 'progressSeq' | 'result' | 'error'>;
  /** The entry with seq `task.progressSeq`, if the caller just wrote it. */
  readonly latest?: ProgressEntry;
}

const defaults: DeliveryOptions = {
  leaseMs: 10_000,
  pageSize: 1_000,
  maxRounds: 20,
  maxMessageBytes: 100_000,
  maxBatchBytes: MAX_BATCH_BYTES,
  budgetMs: 5_000,
  now: () => Date.now(),
};

/** The terminal status message for a task, omitting a result too large for one WebSocket message. */
export const statusMessage = (task: Pick<TaskRecord, 'taskId' | 'status' | 'result' | 'error'>, maxBytes: number = defaults.maxMessageBytes): ServerMessage => {
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

/**
 * Delivers everything a connection has not yet received for a task: progress entries after its
 * cursor, in order, then the terminal status once. Safe to call from any number of places at once
 * (the worker after each write, the subscribe handler for the replay): a lease on the subscription
 * lets one drainer push at a time, and a dirty flag makes the holder look again before it lets go,
 * so nothing written meanwhile is missed and nothing is pushed twice by concurrent drainers.
 * Several pending entries travel in one `progressBatch` message (a replay of thousands of entries
 * is a handful of pushes), and a call that runs out of `budgetMs` pauses (see
 * {@link DeliveryOptions.budgetMs}).
 *
 * @returns `gone` if the connection disappeared (it is then removed), `paused` if the budget ran
 *   out before everything was delivered (the client was sent `replayPaused`), else `done`.
 */
export const drainSubscription = async (
  deps: DeliveryDeps,
  taskId: string,
  connectionId: string,
  options: Partial<DeliveryOptions> = {},
  known?: KnownState,
): Promise<'done' | 'gone' | 'paused'> => {
  const { leaseMs, pageSize, maxRounds, maxMessageBytes, maxBatchBytes, budgetMs, now } = { ...defaults, ...options };
  const started = now();
  let pushes = 0;
  // Spent only once something went out, so every call moves the client forward.
  const spent = () => pushes > 0 && now() - started >= budgetMs;
  const owner = randomUUID();
  let acquired = await deps.connections.acquire(taskId, connectionId, owner, leaseMs);
  if (acquired === 'held') {
    // Raise the flag first, then try again: either the holder sees the flag before releasing, or
    // it has released and our second attempt wins.
    await deps.connections.markDirty(taskId, connectionId);
    acquired = await deps.connections.acquire(taskId, connectionId, owner, leaseMs);
  }
  if (acquired === 'held' || acquired === 'missing') return 'done';

  let state: SubscriptionState = acquired;
  for (let round = 0; round < maxRounds; round++) {
    // Only entries at or below the task's high-water mark are committed; read it first (in the
    // first round, the caller may already know it).
    const task = round === 0 && known ? known.task : await deps.tasks.get(taskId);
    if (!task) break;
    while (state.cursor < task.progressSeq) {
      if (spent()) return pause(deps, taskId, connectionId, owner, state);
      const latest = round === 0 ? known?.latest : undefined;
      const entries =
        latest && latest.seq === task.progressSeq && state.cursor === latest.seq - 1
          ? [latest] // exactly the one entry this subscriber lacks: no read needed
          : (await deps.tasks.listProgress(taskId, state.cursor, pageSize)).filter((entry) => entry.seq <= task.progressSeq);
      for (const message of packProgress(taskId, entries, maxBatchBytes)) {
        if (spent()) return pause(deps, taskId, connectionId, owner, state);
        const pushed = await deps.pusher.post(connectionId, message);
        if (pushed === 'gone') return gone(deps, connectionId);
        pushes++;
        state = { ...state, cursor: lastSeq(message) };
      }
      if (entries.length === 0) break;
      // A long catch-up records its cursor page by page; the last page's is written by the release.
      if (state.cursor < task.progressSeq && !(await deps.connections.advance(taskId, connectionId, owner, state))) return 'done';
    }
    if (!state.statusSent && isTerminal(task.status) && state.cursor >= task.progressSeq) {
      const pushed = await deps.pusher.post(connectionId, statusMessage(task, maxMessageBytes));
      if (pushed === 'gone') return gone(deps, connectionId);
      state = { ...state, statusSent: true };
    }
    const released = await deps.connections.release(taskId, connectionId, owner, state, { leaseMs });
    if (released !== 'dirty') return 'done';
  }
  // Out of rounds: let go anyway, so the next notification (not a lease expiry) delivers the rest.
  await deps.connections.release(taskId, connectionId, owner, state, { force: true });
  return 'done';
};

const gone = async (deps: DeliveryDeps, connectionId: string): Promise<'gone'> => {
  await deps.connections.removeConnection(connectionId);
  return 'gone';
};

const lastSeq = (message: ProgressMessage): number => (message.type === 'progress' ? message.seq : message.entries.at(-1)!.seq);

/**
 * Stops a drain whose budget is spent: records the cursor and lets the subscription go first (so
 * the client's next `subscribe`, or the worker's next write, can take it at once), then tells the
 * client where to continue. A lease lost meanwhile means someone else (a new `subscribe`) took
 * over: that one delivers the rest, and the client needs no pause message.
 */
const pause = async (deps: DeliveryDeps, taskId: string, connectionId: string, owner: string, state: SubscriptionState): Promise<'done' | 'gone' | 'paused'> => {
  if ((await deps.connections.release(taskId, connectionId, owner, state, { force: true })) === 'lost') return 'done';
  if ((await deps.pusher.post(connectionId, { type: 'replayPaused', taskId, nextAfter: state.cursor })) === 'gone') return gone(deps, connectionId);
  return 'paused';
};

/**
 * Drains every subscription of a task. A `410` for one connection never fails the task, and no
 * other delivery failure does either: subscribers can always resume with `subscribe {after}`.
 */
export const notifySubscribers = async (
  deps: DeliveryDeps,
  taskId: string,
  onError: (error: unknown, connectionId: string) => void,
  options: Partial<DeliveryOptions> = {},
  known?: KnownState,
): Promise<void> => {
  let subscribers: string[];
  try {
    subscribers = await deps.connections.listSubscribers(taskId);
  } catch (error) {
    onError(error, '*');
    return;
  }
  await Promise.all(
    subscribers.map((connectionId) =>
      drainSubscription(deps, taskId, connectionId, options, known).catch((error: unknown) => onError(error, connectionId)),
    ),
  );
};
