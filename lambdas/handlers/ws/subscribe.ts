import { SubscribeMessage } from '../../core/messages.ts';
import { replayTask, type DeliveryOptions } from '../../core/delivery.ts';
import { MAX_BATCH_BYTES } from '../../core/progress-batch.ts';
import { getVisibleTask } from '../../core/read.ts';
import { connectionStore, connectionsPusher, taskStore } from '../runtime.ts';
import { credentialOfConnection, parseMessage, principalOfConnection, wsHandler } from './ws.ts';

/** Time the replay may take: half the function's 10 s timeout (see `DeliveryOptions.budgetMs`). */
const REPLAY_BUDGET_MS = 5_000 as const;
/** Kept back from the invocation's remaining time for the pause message. */
const REPLAY_SAFETY_MARGIN_MS = 3_000 as const;

/** A numeric environment setting, or `fallback` when unset or not a number. */
const setting = (name: string, fallback: number): number => {
  const value = Number(process.env[name] ?? fallback);
  return Number.isFinite(value) ? value : fallback;
};

/**
 * How the replay is bounded: a time budget of {@link REPLAY_BUDGET_MS}, never more than the
 * invocation has left less {@link REPLAY_SAFETY_MARGIN_MS}, and batches of at most one frame.
 * `REPLAY_BUDGET_MS` and `REPLAY_BATCH_BYTES` in the environment lower them (tests make every
 * replay pause with them); neither can exceed the defaults.
 */
const replayOptions = (remainingMs: number): Partial<DeliveryOptions> => ({
  budgetMs: Math.max(0, Math.min(setting('REPLAY_BUDGET_MS', REPLAY_BUDGET_MS), REPLAY_BUDGET_MS, remainingMs - REPLAY_SAFETY_MARGIN_MS)),
  maxBatchBytes: Math.max(1, Math.min(setting('REPLAY_BATCH_BYTES', MAX_BATCH_BYTES), MAX_BATCH_BYTES)),
});

/**
 * `subscribe {taskId, after?}`: writes the subscription once (its `after` and the connection's
 * credential expiry; never updated), confirms, then replays everything after `after` itself (and
 * the final status if the task is done), several entries per `progressBatch` message. A replay
 * longer than the time budget pauses with `replayPaused {nextAfter}` and the client subscribes
 * again from there. Live entries come from the running worker, which finds the subscription within
 * about a second and sends from the same `after`: the client may get an entry twice (it drops
 * `seq <= highest seen`), never out of order and never with a hole.
 *
 * Order matters: the task is read (to authorize) before the subscription is written, so no
 * unauthorized subscription ever exists; the replay reads the task again after the write unless it
 * was already terminal (see `replayTask`), so the terminal status cannot slip between the two.
 */
export const handler = wsHandler(async (event, context) => {
  const message = parseMessage(event, SubscribeMessage);
  const principal = principalOfConnection(event);
  const task = await getVisibleTask(taskStore(), principal, message.taskId);
  const connectionId = event.requestContext.connectionId;
  const after = message.after ?? 0;
  const { validUntil } = credentialOfConnection(event);
  await connectionStore().subscribe({ taskId: task.taskId, connectionId, tenantId: principal.tenantId, after, ...(validUntil !== undefined ? { credentialExpiresAt: validUntil } : {}) });
  const deps = { tasks: taskStore(), connections: connectionStore(), pusher: connectionsPusher() };
  if ((await deps.pusher.post(connectionId, { type: 'subscribed', taskId: task.taskId, after })) === 'gone') {
    await deps.connections.removeConnection(connectionId);
    return;
  }
  await replayTask(deps, { taskId: task.taskId, connectionId, after }, replayOptions(context.getRemainingTimeInMillis()), task);
});
