import { cancelTask } from '../../core/cancel.ts';
import { notifySubscribers } from '../../core/delivery.ts';
import { admissionStore, parkingLotStore, sessionStore, connectionStore, connectionsPusher, eventPublisher, logger, taskStore } from '../runtime.ts';
import { json, principalOf } from './http.ts';
import { httpHandler } from './wrap.ts';

/**
 * `POST /v1/tasks/{id}/cancel`: cooperative cancel; subscribers see `cancelled`. A queued task has
 * no worker to tell them, so this handler does: each subscription gets a replay from its own `after`
 * and then the status (see `notifySubscribers`; duplicates of what the worker sent are allowed).
 */
export const handler = httpHandler(async (event) => {
  const principal = principalOf(event);
  const delivery = { tasks: taskStore(), connections: connectionStore(), pusher: connectionsPusher() };
  const { task, changed } = await cancelTask(
    {
      tasks: taskStore(),
      events: eventPublisher(),
      admission: admissionStore(),
      sessions: sessionStore(),
      fairness: { slots: admissionStore(), lot: parkingLotStore(), tasks: taskStore(), events: eventPublisher() },
      notify: (taskId) => notifySubscribers(delivery, taskId, (error, connectionId) => logger.warn('push failed', { connectionId, error: error as Error })),
    },
    principal,
    event.pathParameters?.id,
  );
  return json(changed ? 202 : 200, task);
});
