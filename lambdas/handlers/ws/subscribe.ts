import { SubscribeMessage } from '../../core/messages.ts';
import { drainSubscription } from '../../core/delivery.ts';
import { getVisibleTask } from '../../core/read.ts';
import { connectionStore, connectionsPusher, taskStore } from '../runtime.ts';
import { parseMessage, principalOfConnection, wsHandler } from './ws.ts';

/**
 * `subscribe {taskId, after?}`: registers the subscription at cursor `after`, confirms, then
 * replays everything after it (and the final status if the task is done). Live entries follow
 * from the worker through the same delivery protocol, so each entry reaches the client once, in order.
 */
export const handler = wsHandler(async (event) => {
  const message = parseMessage(event, SubscribeMessage);
  const principal = principalOfConnection(event);
  const task = await getVisibleTask(taskStore(), principal, message.taskId);
  const connectionId = event.requestContext.connectionId;
  const after = message.after ?? 0;
  await connectionStore().subscribe(task.taskId, connectionId, principal.tenantId, after);
  const deps = { tasks: taskStore(), connections: connectionStore(), pusher: connectionsPusher() };
  if ((await deps.pusher.post(connectionId, { type: 'subscribed', taskId: task.taskId, after })) === 'gone') {
    await deps.connections.removeConnection(connectionId);
    return;
  }
  await drainSubscription(deps, task.taskId, connectionId);
});
