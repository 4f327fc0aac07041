import { submitTask } from '../../core/submit.ts';
import { admissionStore, eventPublisher, idempotencyStore, inflightLimit, sessionStore, taskStore } from '../runtime.ts';
import { json, jsonBody, principalOf } from './http.ts';
import { correlationOf, httpHandler } from './wrap.ts';
import { metrics, MetricUnit } from '../metrics.ts';

/**
 * `POST /v1/tasks`: validate, record, emit, answer `202` — nothing slow on this path. An
 * `Idempotency-Key` header makes retries safe (replays carry `Idempotent-Replayed: true`).
 */
export const handler = httpHandler(async (event) => {
  const started = Date.now();
  const principal = principalOf(event);
  const body = jsonBody(event);
  const { task, replayed } = await submitTask(
    { tasks: taskStore(), events: eventPublisher(), idempotency: idempotencyStore(), sessions: sessionStore(), admission: { store: admissionStore(), limit: inflightLimit() } },
    principal,
    body,
    event.headers['idempotency-key'],
    { correlationId: correlationOf(event) },
  );
  if (!replayed) metrics.addMetric('TasksSubmitted', MetricUnit.Count, 1);
  metrics.addMetric('AckLatency', MetricUnit.Milliseconds, Date.now() - started);
  metrics.publishStoredMetrics();
  return json(202, task, { location: `/v1/tasks/${task.taskId}`, ...(replayed ? { 'idempotent-replayed': 'true' } : {}) });
});
