import { reconcile } from '../core/reconcile.ts';
import { admissionStore, eventPublisher, logger, parkingLotStore, sessionStore, taskStore } from './runtime.ts';

/**
 * Scheduled (every minute): re-dispatches overdue tasks so no acknowledged task is lost, and
 * finishes the bookkeeping of terminal tasks whose worker died before settling them.
 */
export const handler = async (): Promise<{ examined: number; redispatched: number; settled: number }> => {
  const report = await reconcile({
    tasks: taskStore(),
    events: eventPublisher(),
    admission: admissionStore(),
    sessions: sessionStore(),
    fairness: { slots: admissionStore(), lot: parkingLotStore(), tasks: taskStore(), events: eventPublisher() },
  });
  if (report.redispatched.length) logger.warn('re-dispatched overdue tasks', { taskIds: report.redispatched });
  if (report.settled.length) logger.warn('settled terminal tasks left unsettled', { taskIds: report.settled });
  return { examined: report.examined, redispatched: report.redispatched.length, settled: report.settled.length };
};
