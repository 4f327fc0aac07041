import { DetailType, isTerminal, type TaskRecord } from './model.ts';
import type { EventPublisher, TaskStore } from './ports.ts';
import { lifecycleEvent } from './events.ts';

/** One task's place in its session's order. */
export interface SessionMember {
  readonly seq: number;
  readonly taskId: string;
  /** When the member was written (ms); a member whose task is not yet visible is young. */
  readonly at: number;
}

/**
 * Session order storage: a per-session counter hands out positions and each position records its
 * task. Positions only ever grow, and a position whose task never got written (a crash between the
 * two writes) is simply skipped, so a gap never blocks a session.
 */
export interface SessionStore {
  /** Takes the next position in the session for a task. */
  enqueue(tenantId: string, sessionId: string, taskId: string): Promise<number>;
  /** Members before `seq`, oldest first, at most `limit`. */
  before(tenantId: string, sessionId: string, seq: number, limit: number): Promise<SessionMember[]>;
  /** The first member after `seq`, if any. */
  after(tenantId: string, sessionId: string, seq: number): Promise<SessionMember | undefined>;
  /** Forgets a member (its task is terminal); idempotent. */
  remove(tenantId: string, sessionId: string, seq: number): Promise<void>;
}

/** A member whose task record is not visible yet is assumed in flight for this long. */
const YOUNG_MEMBER_MS = 30_000;

/**
 * Whether a session task must wait: some earlier task of the session is still queued or running.
 * Members whose tasks are terminal (or never materialised) are cleaned up on the way.
 */
export const mustWait = async (sessions: SessionStore, tasks: TaskStore, task: TaskRecord, now: number = Date.now()): Promise<boolean> => {
  if (task.sessionId === undefined || task.sessionSeq === undefined) return false;
  for (;;) {
    const earlier = await sessions.before(task.tenantId, task.sessionId, task.sessionSeq, 10);
    if (earlier.length === 0) return false;
    for (const member of earlier) {
      const other = await tasks.get(member.taskId);
      // A live task holds only the position its record names; another position naming it is a
      // leftover of a retried submit (the first try took a position, then failed) and is dropped.
      if (other && !isTerminal(other.status) && other.sessionSeq === member.seq) return true;
      if (!other && now - member.at < YOUNG_MEMBER_MS) return true;
      await sessions.remove(task.tenantId, task.sessionId, member.seq);
    }
  }
};

/**
 * After a session task reached a terminal state: drop it from the order and wake the next task of
 * the session by emitting `Task Submitted` for it again (its earlier delivery found it blocked).
 * If this is lost, the reconciler re-dispatches the waiting task.
 */
export const advanceSession = async (sessions: SessionStore, tasks: TaskStore, events: EventPublisher, task: TaskRecord): Promise<void> => {
  if (task.sessionId === undefined || task.sessionSeq === undefined) return;
  await sessions.remove(task.tenantId, task.sessionId, task.sessionSeq);
  let cursor = task.sessionSeq;
  for (;;) {
    const next = await sessions.after(task.tenantId, task.sessionId, cursor);
    if (!next) return;
    const nextTask = await tasks.get(next.taskId);
    if (nextTask && !isTerminal(nextTask.status) && nextTask.sessionSeq === next.seq) {
      if (nextTask.status === 'queued') await events.publish(DetailType.submitted, lifecycleEvent(nextTask, { status: 'queued' }));
      return;
    }
    if (nextTask) await sessions.remove(task.tenantId, task.sessionId, next.seq); // ended, or a leftover position
    else if (Date.now() - next.at < YOUNG_MEMBER_MS) return;
    else await sessions.remove(task.tenantId, task.sessionId, next.seq);
    cursor = next.seq;
  }
};
