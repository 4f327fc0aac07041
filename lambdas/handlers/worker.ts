import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { notifySubscribers } from '../core/delivery.ts';
import { executeTask } from '../core/execute.ts';
import type { TaskEventDetail } from '../core/model.ts';
import type { TaskLogger } from '../tasks/definition.ts';
import { metrics, MetricUnit } from './metrics.ts';
import { setModelApiKeyLoader } from '../tasks/models/providers.ts';
import { secretValue } from '../store/secret-value.ts';
import { admissionStore, sessionStore, connectionStore, connectionsPusher, eventPublisher, logger, taskStore } from './runtime.ts';

const processor = new BatchProcessor(EventType.SQS);
setModelApiKeyLoader(async () => (process.env.OPENAI_API_KEY_SECRET_ARN ? secretValue(process.env.OPENAI_API_KEY_SECRET_ARN) : undefined));
const taskLogger: TaskLogger = {
  debug: (message, extra) => logger.debug(message, extra ?? {}),
  info: (message, extra) => logger.info(message, extra ?? {}),
  warn: (message, extra) => logger.warn(message, extra ?? {}),
  error: (message, extra) => logger.error(message, extra ?? {}),
};
const SAFETY_MARGIN_MS = 3_000;
const PROGRESS_INTERVAL_MS = Number(process.env.PROGRESS_INTERVAL_MS ?? 200);

/** A message left for redelivery (retry with SQS backoff, then the DLQ). */
class RetryLaterError extends Error {
  public constructor(reason: string) {
    super(reason);
    this.name = 'RetryLaterError';
  }
}

const detailOf = (record: SQSRecord): TaskEventDetail => {
  const event = JSON.parse(record.body) as { detail?: TaskEventDetail };
  if (!event.detail?.taskId) throw new Error('message carries no task id');
  return event.detail;
};

const buildRecordHandler = (context: Context) => async (record: SQSRecord): Promise<void> => {
  let detail: TaskEventDetail;
  try {
    detail = detailOf(record);
  } catch (error) {
    logger.error('malformed message dropped', { messageId: record.messageId, error: error as Error });
    return;
  }
  const deliveryDeps = { tasks: taskStore(), connections: connectionStore(), pusher: connectionsPusher() };
  const outcome = await executeTask(
    {
      tasks: taskStore(),
      events: eventPublisher(),
      logger: taskLogger,
      admission: admissionStore(),
      sessions: sessionStore(),
      notify: (taskId) =>
        notifySubscribers(deliveryDeps, taskId, (error, connectionId) => logger.warn('push failed', { connectionId, error: error as Error })),
    },
    detail.taskId,
    {
      owner: `${context.awsRequestId}:${randomUUID()}`,
      remainingMs: () => context.getRemainingTimeInMillis(),
      safetyMarginMs: SAFETY_MARGIN_MS,
      progressIntervalMs: PROGRESS_INTERVAL_MS,
    },
  );
  const sentAt = Number(record.attributes.SentTimestamp);
  if (Number.isFinite(sentAt)) metrics.addMetric('QueueAge', MetricUnit.Milliseconds, Date.now() - sentAt);
  if (outcome.kind === 'retry') {
    metrics.addMetric('TaskRetries', MetricUnit.Count, 1);
    throw new RetryLaterError(outcome.reason);
  }
  if (outcome.result === 'succeeded' || outcome.result === 'failed') {
    metrics.addMetric(outcome.result === 'succeeded' ? 'TasksSucceeded' : 'TasksFailed', MetricUnit.Count, 1);
    if (outcome.durationMs !== undefined) metrics.addMetric('TaskDuration', MetricUnit.Milliseconds, outcome.durationMs);
  }
};

/**
 * Worker of a workload class: SQS batch of "Task Submitted" events, each run through
 * {@link executeTask}; failures are reported per item (ReportBatchItemFailures).
 */
export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  logger.addContext(context);
  try {
    return await processPartialResponse(event, buildRecordHandler(context), processor, { context });
  } finally {
    metrics.publishStoredMetrics();
  }
};
