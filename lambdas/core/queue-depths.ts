import { ForbiddenError } from './errors.ts';
import { WorkloadClass, type Principal } from './model.ts';

/** Approximate message counts of one workload class's queue and its dead-letter queue. */
export interface ClassQueueDepth {
  readonly class: WorkloadClass;
  /** Messages waiting to be received (`ApproximateNumberOfMessages`). */
  readonly visible: number;
  /** Messages received by a worker and not yet deleted (`ApproximateNumberOfMessagesNotVisible`). */
  readonly inFlight: number;
  /** Messages in the class's dead-letter queue: what failed for good (`ApproximateNumberOfMessages` of the DLQ). */
  readonly deadLetter: number;
}

/** `GET /v1/queues`: every workload class, in a fixed order. */
export interface QueueDepths {
  readonly items: readonly ClassQueueDepth[];
}

/** Reads queue attributes. Implemented with SQS `GetQueueAttributes` in `lambdas/store/`. */
export interface QueueDepthReader {
  /** The depths of one class's queue and DLQ. */
  read(workloadClass: WorkloadClass): Promise<Omit<ClassQueueDepth, 'class'>>;
}

/** Environment variable names holding a class's queue URLs (set by the stack, read by the handler). */
export const queueUrlVariables = (workloadClass: WorkloadClass) => {
  const name = workloadClass.toUpperCase();
  return { queueUrl: `${name}_QUEUE_URL`, deadLetterQueueUrl: `${name}_DLQ_URL` } as const;
};

/** The classes reported, in display order. */
export const QUEUE_DEPTH_CLASSES = Object.values(WorkloadClass);

/**
 * Queue depths per workload class: deployment-wide aggregate counts (no message content, no task
 * ids, nothing per tenant), the same figures CloudWatch shows as `ApproximateNumberOf…`. Any
 * tenant-wide credential may read them; a task-scoped client token may not (its scope is its
 * tasks).
 *
 * @example
 * ```ts
 * const { items } = await readQueueDepths(reader, principal);
 * items.find((depth) => depth.class === 'interactive')?.visible;
 * ```
 */
export const readQueueDepths = async (reader: QueueDepthReader, principal: Principal): Promise<QueueDepths> => {
  if (principal.taskIds !== undefined) throw new ForbiddenError('A task-scoped client token reads only its tasks, not queue depths.');
  const items = await Promise.all(QUEUE_DEPTH_CLASSES.map(async (workloadClass) => ({ class: workloadClass, ...(await reader.read(workloadClass)) })));
  return { items };
};
