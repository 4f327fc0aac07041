/**
 * Secondary indexes of the tasks table and what they project. The task item carries up to 128 KB
 * of input and result; an index that projected ALL of it would be written in full (and billed by
 * item size) on every task update, including each progress write. So each index projects only
 * what its reader needs: the listing index the fields of a task summary, the reconciliation index
 * only keys (the reconciler reads the few due tasks themselves, consistently).
 */
export const TaskIndexes = {
  /** A tenant's tasks, newest first (`gsi1pk`/`gsi1sk`); read by `listByTenant`. */
  listing: {
    name: 'GSI1',
    /**
     * Non-key attributes projected: what `toTaskSummary` shows and the status filter reads. A
     * progress write changes `progressSeq` and `updatedAt`, so it still writes this small entry
     * (one write unit), never the task's input or result.
     */
    attributes: ['taskId', 'type', 'status', 'sessionId', 'progressSeq', 'error', 'attempts', 'createdAt', 'startedAt', 'finishedAt', 'updatedAt'],
  },
  /** Non-terminal tasks by the time they are due to progress (`gsi2pk`/`gsi2sk`, sparse); read by `listDue`. Keys only. */
  due: { name: 'GSI2' },
} as const;
