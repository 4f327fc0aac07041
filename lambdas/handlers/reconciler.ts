import { reconcile } from '../core/reconcile.ts';
import { eventPublisher, logger, taskStore } from './runtime.ts';

/** Scheduled (every minute): re-dispatches overdue tasks so no acknowledged task is lost. */
export const handler = async (): Promise<{ examined: number; redispatched: number }> => {
  const report = await reconcile({ tasks: taskStore(), events: eventPublisher() });
  if (report.redispatched.length) logger.warn('re-dispatched overdue tasks', { taskIds: report.redispatched });
  return { examined: report.examined, redispatched: report.redispatched.length };
};
