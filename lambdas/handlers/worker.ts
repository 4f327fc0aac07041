import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { LiveDelivery } from '../core/live-delivery.ts';
import { executeTask } from '../core/execute.ts';
import { backoffSeconds } from '../core/backoff.ts';
import type { TaskEventDetail, TaskRecord } from '../core/model.ts';
import type { TaskLogger } from '../tasks/definition.ts';
import { metrics, MetricUnit } from './metrics.ts';
import { setModelApiKeyLoader } from '../tasks/models/providers.ts';
import { secretValue } from '../store/secret-value.ts';
import { fanOutWebhooks } from '../core/webhooks.ts';
import { WEBHOOK_LIMITS } from '../core/webhook-limits.ts';
import { setWebhookDeliveryDeps } from '../tasks/webhook-delivery.ts';
import { exportLifecycleEvents, type LifecycleEvent } from '../core/analytics.ts';
import { S3Sink } from '../store/s3-sink.ts';
import { setExportDeps } from '../tasks/task-export.ts';
import { deadLetterPublisher, delayRedelivery } from '../store/queue.ts';
import { admissionStore, webhookSecrets, webhookStore, sessionStore, connectionStore, connectionsPusher, eventPublisher, logger, parkingLotStore, runningLimit, taskStore } from './runtime.ts';

const processor = new BatchProcessor(EventType.SQS);
const exportsBucket = process.env.EXPORTS_BUCKET;
if (exportsBucket) setExportDeps(() => ({ tasks: taskStore(), sink: new S3Sink(exportsBucket), bucket: exportsBucket }));
// Deliveries read the webhook (URL, sealed secret) and open the secret when they run (only the
// integrations worker may decrypt). Loopback receivers only in the local runtime.
setWebhookDeliveryDeps(() => ({ webhooks: webhookStore(), secrets: webhookSecrets(), allowLoopback: process.env.WEBHOOK_ALLOW_LOOPBACK === 'true' }));
/** Outstanding webhook deliveries per tenant (a positive integer; tests lower it). */
const outstandingDeliveries = (): number => {
  const configured = Number(process.env.WEBHOOK_OUTSTANDING_LIMIT);
  return Number.isInteger(configured) && configured > 0 ? configured : WEBHOOK_LIMITS.outstandingDeliveries;
};
setModelApiKeyLoader(async () => (process.env.OPENAI_API_KEY_SECRET_ARN ? secretValue(process.env.OPENAI_API_KEY_SECRET_ARN) : undefined));
type WorkerLogger = typeof logger;

/**
 * The logger for one message: every line carries the task, its tenant and the correlation id of
 * the request that submitted it (records of a batch run concurrently, so each gets its own child
 * instead of shared appended keys).
 */
const recordLogger = (detail: TaskEventDetail): WorkerLogger =>
  logger.createChild({
    persistentKeys: { taskId: detail.taskId, tenantId: detail.tenantId, correlationId: detail.correlationId ?? detail.taskId, taskType: detail.type },
  });

const taskLoggerOf = (log: WorkerLogger): TaskLogger => ({
  debug: (message, extra) => log.debug(message, extra ?? {}),
  info: (message, extra) => log.info(message, extra ?? {}),
  warn: (message, extra) => log.warn(message, extra ?? {}),
  error: (message, extra) => log.error(message, extra ?? {}),
});
const SAFETY_MARGIN_MS = 3_000;
const PROGRESS_INTERVAL_MS = Number(process.env.PROGRESS_INTERVAL_MS ?? 200);
/** Least time between two subscriber queries of a running task (see `LiveDelivery`); `SUBSCRIBER_REFRESH_MS` overrides. */
const SUBSCRIBER_REFRESH_MS = ((value) => (Number.isFinite(value) && value >= 0 ? value : 1_000))(Number(process.env.SUBSCRIBER_REFRESH_MS ?? 1_000));

/** A message left for redelivery (retry with SQS backoff, then the DLQ). */
class RetryLaterError extends Error {
  public constructor(reason: string) {
    super(reason);
    this.name = 'RetryLaterError';
  }
}


const eventOf = (record: SQSRecord): { detailType: string; detail: TaskEventDetail; time: string } => {
  const event = JSON.parse(record.body) as { 'detail-type'?: string; detail?: TaskEventDetail; time?: string };
  if (!event.detail?.taskId) throw new Error('message carries no task id');
  return { detailType: event['detail-type'] ?? 'Task Submitted', detail: event.detail, time: event.time ?? new Date().toISOString() };
};

let deadLetterFn: ((task: TaskRecord) => Promise<void>) | undefined;
/** Failed tasks go to this class's DLQ (as part of settling them, so the reconciler can redo it). */
const deadLetter = () => (deadLetterFn ??= deadLetterPublisher({ [process.env.WORKLOAD_CLASS ?? 'interactive']: process.env.DLQ_URL }));

const buildRecordHandler = (context: Context) => async (record: SQSRecord): Promise<void> => {
  let parsed: ReturnType<typeof eventOf>;
  try {
    parsed = eventOf(record);
  } catch (error) {
    logger.error('malformed message dropped', { messageId: record.messageId, error: error as Error });
    return;
  }
  const { detailType, detail } = parsed;
  const log = recordLogger(detail);
  if (detailType !== 'Task Submitted') {
    const limit = outstandingDeliveries();
    const { queued, skipped } = await fanOutWebhooks(
      { webhooks: webhookStore(), tasks: taskStore(), events: eventPublisher(), slots: admissionStore(), presence: admissionStore(), outstandingLimit: limit },
      detailType,
      detail,
      parsed.time,
    );
    if (queued) metrics.addMetric('WebhookDeliveriesCreated', MetricUnit.Count, queued);
    if (skipped) {
      metrics.addMetric('WebhookDeliveriesSkipped', MetricUnit.Count, skipped);
      log.warn('webhook deliveries skipped: the tenant has too many outstanding', { skipped, limit, eventType: detailType });
    }
    return;
  }
  const deliveryDeps = {
    tasks: taskStore(),
    connections: connectionStore(),
    pusher: connectionsPusher(),
    onError: (error: unknown, connectionId: string) => log.warn('push failed', { connectionId, error: error as Error }),
  };
  const outcome = await executeTask(
    {
      tasks: taskStore(),
      events: eventPublisher(),
      logger: taskLoggerOf(log),
      onAttemptStarted: (task) => {
        metrics.addMetric('TaskAttempts', MetricUnit.Count, 1);
        if (task.attempts === 1) metrics.addMetric('TasksStarted', MetricUnit.Count, 1);
      },
      admission: admissionStore(),
      sessions: sessionStore(),
      deadLetter: deadLetter(),
      ...(runningLimit() > 0 ? { fairness: { slots: admissionStore(), lot: parkingLotStore(), tasks: taskStore(), events: eventPublisher(), limit: runningLimit() } } : {}),
      live: (taskId, committed, earlier) => new LiveDelivery(deliveryDeps, taskId, committed, earlier, { refreshMs: SUBSCRIBER_REFRESH_MS }),
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
    if (process.env.QUEUE_URL) {
      await delayRedelivery(process.env.QUEUE_URL, record.receiptHandle, backoffSeconds(outcome.attempt)).catch((error: unknown) =>
        log.warn('could not set retry backoff; the visibility timeout applies', { error: error as Error }),
      );
    }
    throw new RetryLaterError(outcome.reason);
  }
  if (outcome.result === 'parked') metrics.addMetric('TasksParked', MetricUnit.Count, 1);
  if (outcome.result === 'succeeded' || outcome.result === 'failed') {
    metrics.addMetric(outcome.result === 'succeeded' ? 'TasksSucceeded' : 'TasksFailed', MetricUnit.Count, 1);
    if (outcome.durationMs !== undefined) metrics.addMetric('TaskDuration', MetricUnit.Milliseconds, outcome.durationMs);
  }
};

let analyticsSink: S3Sink | undefined;

/**
 * The analytics class: the whole batch becomes one masked NDJSON object (a failure retries the
 * batch; its object key is stable, so a retry overwrites rather than duplicates).
 */
const exportBatch = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const events: LifecycleEvent[] = [];
  for (const record of event.Records) {
    try {
      const parsed = JSON.parse(record.body) as { id?: string; 'detail-type'?: string; time?: string; detail?: TaskEventDetail };
      if (parsed.detail?.taskId && parsed['detail-type']) events.push({ id: parsed.id ?? record.messageId, detailType: parsed['detail-type'], time: parsed.time ?? new Date().toISOString(), detail: parsed.detail });
    } catch (error) {
      logger.error('malformed analytics message dropped', { messageId: record.messageId, error: error as Error });
    }
  }
  const key = await exportLifecycleEvents(
    {
      tasks: taskStore(),
      sink: (analyticsSink ??= new S3Sink(process.env.ANALYTICS_BUCKET!)),
      masterKey: () => secretValue(process.env.ANALYTICS_KEY_SECRET_ARN!),
      mode: process.env.MASK_MODE === 'drop' ? 'drop' : 'hash',
    },
    events,
  );
  metrics.addMetric('AnalyticsEventsExported', MetricUnit.Count, events.length);
  metrics.publishStoredMetrics();
  if (key) logger.info('analytics batch written', { key, events: events.length });
  return { batchItemFailures: [] };
};

/**
 * Worker of a workload class: SQS batch of "Task Submitted" events, each run through
 * {@link executeTask}; failures are reported per item (ReportBatchItemFailures).
 */
export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  logger.addContext(context);
  if (process.env.ANALYTICS_BUCKET) return exportBatch(event);
  try {
    return await processPartialResponse(event, buildRecordHandler(context), processor, { context });
  } finally {
    metrics.publishStoredMetrics();
  }
};
