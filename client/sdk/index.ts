export { OffloadClient, type SubmitOptions, type ListOptions, type EventsOptions, type ClientTokenOptions } from './client.ts';
export {
  OffloadError,
  ValidationError,
  UnauthorizedError,
  ForbiddenError,
  NotFoundError,
  ConflictError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  IdempotencyMismatchError,
  RateLimitedError,
  ServerError,
  NetworkError,
  ConnectionLostError,
  InsecureEndpointError,
  errorFromProblem,
  type Problem,
  type ApiErrorOptions,
} from './errors.ts';
export { DEFAULT_RETRY, DEFAULT_WATCH, type OffloadClientOptions, type RetryOptions, type WatchOptions, type Credential, type WebSocketConstructor } from './options.ts';
export type { OffloadTaskTypes, TaskTypesOf } from './task-types.ts';
export {
  TaskStatus,
  TERMINAL_STATUSES,
  isTerminalStatus,
  type TerminalStatus,
  type Task,
  type TaskSummary,
  type SubmittedTask,
  type TaskFields,
  type TaskError,
  type TaskTypeShape,
  type TaskTypeMap,
  type ProgressEntry,
  type EventsPage,
  type TaskPage,
  type ClientToken,
  type TaskDownload,
  type WorkloadClassName,
  type ClassQueueDepth,
  type QueueDepths,
} from './types.ts';
export type { WatchEvent, WatchProgress, WatchGap, WatchStatus, WatchCallOptions, ConnectionEvent } from './watch.ts';
