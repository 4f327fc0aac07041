/** Task lifecycle states. */
export const TaskStatus = {
  queued: 'queued',
  running: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  cancelled: 'cancelled',
} as const;
export type TaskStatus = (typeof TaskStatus)[keyof typeof TaskStatus];

/** States a task never leaves. */
export const TERMINAL_STATUSES: readonly TaskStatus[] = ['succeeded', 'failed', 'cancelled'];
export const isTerminal = (status: TaskStatus): boolean => TERMINAL_STATUSES.includes(status);

/** Workload classes: each has its own queue, DLQ, worker, memory, timeout and concurrency cap. */
export const WorkloadClass = {
  interactive: 'interactive',
  batch: 'batch',
  integrations: 'integrations',
  analytics: 'analytics',
} as const;
export type WorkloadClass = (typeof WorkloadClass)[keyof typeof WorkloadClass];

/** A task's failure, as stored and returned. */
export interface TaskError {
  readonly code: string;
  readonly message: string;
}

/** The task record as stored (one item per task). */
export interface TaskRecord {
  readonly taskId: string;
  readonly tenantId: string;
  readonly type: string;
  readonly class: WorkloadClass;
  readonly status: TaskStatus;
  readonly input: unknown;
  readonly sessionId?: string;
  /** Position in the session's order (tasks of types with `ordering: 'session'`). */
  readonly sessionSeq?: number;
  readonly result?: unknown;
  readonly error?: TaskError;
  readonly attempts: number;
  /** Sequence number of the last progress entry written (0 = none). */
  readonly progressSeq: number;
  readonly createdAt: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly updatedAt: string;
  /** Current worker lease, while running. */
  readonly leaseOwner?: string;
  readonly leaseUntil?: number;
  /** How often the reconciler re-dispatched it. */
  readonly redispatches?: number;
  /** Correlation id of the request that submitted it (see correlation.ts); carried into every lifecycle event and worker log line. */
  readonly correlationId?: string;
  /**
   * Whether the tenant had webhook endpoints when the task was submitted (see webhook-presence.ts);
   * carried into its lifecycle events so only those route to the webhook fan-out. Undefined = not
   * known (the events route).
   */
  readonly webhooks?: boolean;
}

/** One progress log entry. */
export interface ProgressEntry {
  readonly seq: number;
  readonly data: unknown;
  readonly at: string;
}

/** The public view of a task (`GET /v1/tasks/{id}`). */
export interface TaskView {
  readonly taskId: string;
  readonly type: string;
  readonly status: TaskStatus;
  readonly sessionId?: string;
  readonly progress: { readonly seq: number };
  readonly result?: unknown;
  readonly error?: TaskError;
  readonly attempts: number;
  readonly createdAt: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly updatedAt: string;
}

/** A task as listed (`GET /v1/tasks`, `tasks.export`): its view without the result. */
export type TaskSummary = Omit<TaskView, 'result'>;

/** Projects a stored record to its listed form: {@link toTaskView} without the result. */
export const toTaskSummary = (task: TaskRecord): TaskSummary => {
  const { result: _result, ...summary } = toTaskView(task);
  return summary;
};

/** Projects a stored record to its public view (drops tenant, input and lease internals). */
export const toTaskView = (task: TaskRecord): TaskView => ({
  taskId: task.taskId,
  type: task.type,
  status: task.status,
  ...(task.sessionId !== undefined ? { sessionId: task.sessionId } : {}),
  progress: { seq: task.progressSeq },
  ...(task.result !== undefined ? { result: task.result } : {}),
  ...(task.error !== undefined ? { error: task.error } : {}),
  attempts: task.attempts,
  createdAt: task.createdAt,
  ...(task.startedAt !== undefined ? { startedAt: task.startedAt } : {}),
  ...(task.finishedAt !== undefined ? { finishedAt: task.finishedAt } : {}),
  updatedAt: task.updatedAt,
});

/** The authenticated caller, as resolved by the authorizers. */
export interface Principal {
  readonly tenantId: string;
  /** Task ids a client token is scoped to; undefined = all of the tenant's tasks. */
  readonly taskIds?: readonly string[];
  /** The credential presented: a tenant API key, or a client token minted from one. @default 'apiKey' */
  readonly via?: 'apiKey' | 'clientToken';
  /** Id of the API key presented, or of the key that minted the client token presented. */
  readonly keyId?: string;
}

/** Bus event detail types. */
export const DetailType = {
  submitted: 'Task Submitted',
  started: 'Task Started',
  succeeded: 'Task Succeeded',
  failed: 'Task Failed',
  cancelled: 'Task Cancelled',
} as const;
export type DetailType = (typeof DetailType)[keyof typeof DetailType];

/** The source of every Offload bus event. */
export const EVENT_SOURCE = 'offload' as const;

/** The detail of every lifecycle event: small, one fact, with a stable id for deduplication. */
export interface TaskEventDetail {
  readonly eventId: string;
  readonly taskId: string;
  readonly tenantId: string;
  readonly type: string;
  readonly class: WorkloadClass;
  readonly sessionId?: string;
  readonly status?: TaskStatus;
  /** Correlation id of the submitting request, when the task has one. */
  readonly correlationId?: string;
  /** Whether the tenant had webhook endpoints when the task was submitted; absent = not known. The webhook fan-out rule skips `false`. */
  readonly webhooks?: boolean;
}

/**
 * The task type of one webhook delivery. Deliveries are created by the fan-out, never submitted,
 * so they hold no admission (in-flight) slot.
 */
export const DELIVERY_TASK_TYPE = 'webhook.delivery' as const;
