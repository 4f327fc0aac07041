/** Task lifecycle states (the API's `status`). */
export const TaskStatus = {
  queued: 'queued',
  running: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  cancelled: 'cancelled',
} as const;
export type TaskStatus = (typeof TaskStatus)[keyof typeof TaskStatus];

/** States a task never leaves. */
export const TERMINAL_STATUSES = ['succeeded', 'failed', 'cancelled'] as const satisfies readonly TaskStatus[];
export type TerminalStatus = (typeof TERMINAL_STATUSES)[number];

/** Whether a status is terminal. */
export const isTerminalStatus = (status: string): status is TerminalStatus => (TERMINAL_STATUSES as readonly string[]).includes(status);

/** The shapes of one task type: what `submit` takes, what progress entries carry, what it returns. */
export interface TaskTypeShape {
  readonly input: unknown;
  readonly progress: unknown;
  readonly result: unknown;
}

/** A map from task type name to its shapes; see `OffloadTaskTypes` for the shipped types. */
export type TaskTypeMap = { readonly [type: string]: TaskTypeShape };

/** A task's failure. */
export interface TaskError {
  readonly code: string;
  readonly message: string;
}

/** Fields every task view has, whatever its type. */
export interface TaskFields {
  readonly taskId: string;
  readonly status: TaskStatus;
  readonly sessionId?: string;
  /** `seq` of the last progress entry written (0: none yet). */
  readonly progress: { readonly seq: number };
  readonly error?: TaskError;
  readonly attempts: number;
  /** ISO-8601 times. */
  readonly createdAt: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly updatedAt: string;
}

/** A task as `GET /v1/tasks/{id}` returns it, discriminated by `type`. */
export type Task<Types extends TaskTypeMap, K extends keyof Types & string = keyof Types & string> = {
  [P in K]: TaskFields & { readonly type: P; readonly result?: Types[P]['result'] };
}[K];

/** A task as listings return it (no `result`). */
export type TaskSummary<Types extends TaskTypeMap, K extends keyof Types & string = keyof Types & string> = {
  [P in K]: TaskFields & { readonly type: P };
}[K];

/** What `submit` returns: the acknowledged task, and whether it is a replay of an earlier submit with the same `Idempotency-Key`. */
export type SubmittedTask<Types extends TaskTypeMap, K extends keyof Types & string> = Task<Types, K> & { readonly replayed: boolean };

/** One progress log entry. */
export interface ProgressEntry<P = unknown> {
  readonly seq: number;
  readonly data: P;
  /** ISO-8601 time it was written. */
  readonly at: string;
}

/** A page of a task's progress log (`GET /v1/tasks/{id}/events`). */
export interface EventsPage<P = unknown> {
  readonly taskId: string;
  readonly items: readonly ProgressEntry<P>[];
  /** Pass as `after` for the next page; absent when this page reached the current end of the log. */
  readonly nextAfter?: number;
  /** True once the task is terminal and the page reached the end: the log will never grow. */
  readonly complete: boolean;
}

/** A page of the tenant's tasks, newest first (`GET /v1/tasks`). */
export interface TaskPage<Types extends TaskTypeMap> {
  readonly items: readonly TaskSummary<Types>[];
  /** Pass as `cursor` for the next page; absent on the last page. */
  readonly nextCursor?: string;
}

/** A short-lived client token (`POST /v1/tokens`). */
export interface ClientToken {
  readonly token: string;
  /** ISO-8601 expiry. */
  readonly expiresAt: string;
}

/** Where to fetch a finished `tasks.export`'s NDJSON (`GET /v1/tasks/{id}/download`). */
export interface TaskDownload {
  /** A presigned URL: fetch it with no credential (it is one; do not log or share it). */
  readonly url: string;
  /** ISO-8601 time the URL stops working (a few minutes after it was issued). */
  readonly expiresAt: string;
}

/** Workload classes, in the order `GET /v1/queues` reports them. */
export type WorkloadClassName = 'interactive' | 'batch' | 'integrations' | 'analytics';

/** Approximate message counts of one workload class's queue and dead-letter queue. */
export interface ClassQueueDepth {
  readonly class: WorkloadClassName;
  /** Messages waiting to be received. */
  readonly visible: number;
  /** Messages received by a worker and not yet deleted. */
  readonly inFlight: number;
  /** Messages in the class's dead-letter queue (failed for good). */
  readonly deadLetter: number;
}

/** Queue depths of every workload class (`GET /v1/queues`): deployment-wide aggregates. */
export interface QueueDepths {
  readonly items: readonly ClassQueueDepth[];
}
