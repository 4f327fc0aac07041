import { Duration } from 'aws-cdk-lib';

/** Sizing of one workload class: its worker, queue and concurrency cap. */
export interface WorkloadClassSizing {
  /** Construct id (a contract: renaming it replaces the queue). */
  readonly id: string;
  /** Longest attempt of any task type in the class, plus margin. */
  readonly timeout: Duration;
  readonly memorySize: number;
  /** Event source maximum concurrency: the class's share of the account. */
  readonly maxConcurrency: number;
  readonly batchSize: number;
  readonly maxReceiveCount: number;
  /** How long the event source gathers messages before invoking (seconds); absent = invoke at once. */
  readonly maxBatchingWindowSeconds?: number;
}

/**
 * The workload classes and how each is sized. Each gets its own queue, DLQ, worker and cap, so a
 * flood of batch work or a slow external system never delays interactive streaming.
 */
export const WORKLOAD_CLASS_SIZING = {
  interactive: { id: 'Interactive', timeout: Duration.minutes(3), memorySize: 512, maxConcurrency: 50, batchSize: 1, maxReceiveCount: 5 },
  batch: { id: 'Batch', timeout: Duration.minutes(15), memorySize: 1024, maxConcurrency: 10, batchSize: 1, maxReceiveCount: 3 },
  integrations: { id: 'Integrations', timeout: Duration.minutes(1), memorySize: 256, maxConcurrency: 20, batchSize: 10, maxReceiveCount: 8 },
  // Analytics exports in hourly partitions: gathering events for up to 10 s makes one invocation
  // (and one object) of many tasks' terminal events instead of one per task.
  analytics: { id: 'Analytics', timeout: Duration.minutes(1), memorySize: 256, maxConcurrency: 5, batchSize: 100, maxReceiveCount: 5, maxBatchingWindowSeconds: 10 },
} as const satisfies Record<string, WorkloadClassSizing>;
