import { WorkloadClass } from '../core/model.ts';
import { reconcile } from '../core/reconcile.ts';
import { deadLetterPublisher } from '../store/queue.ts';
import { admissionStore, eventPublisher, logger, parkingLotStore, sessionStore, taskStore } from './runtime.ts';

/** Each class's DLQ, for failed tasks whose worker died before parking them there. */
const deadLetter = deadLetterPublisher(
  Object.fromEntries(Object.values(WorkloadClass).map((name) => [name, process.env[`DLQ_URL_${name.toUpperCase()}`]])),
);

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
    deadLetter,
  });
  if (report.redispatched.length) logger.warn('re-dispatched overdue tasks', { taskIds: report.redispatched });
  if (report.settled.length) logger.warn('settled terminal tasks left unsettled', { taskIds: report.settled });
  return { examined: report.examined, redispatched: report.redispatched.length, settled: report.settled.length };
};
