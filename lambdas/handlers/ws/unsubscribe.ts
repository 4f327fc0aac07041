import { NotFoundError } from '../../core/errors.ts';
import { isTaskId } from '../../core/ids.ts';
import { UnsubscribeMessage } from '../../core/messages.ts';
import { connectionStore } from '../runtime.ts';
import { parseMessage, wsHandler } from './ws.ts';

/**
 * `unsubscribe {taskId}`: stop pushing that task to this connection. Silent for any id a task can
 * have (subscribed or not, visible or not); an id no task can have answers `404` as `subscribe` does.
 */
export const handler = wsHandler(async (event) => {
  const message = parseMessage(event, UnsubscribeMessage);
  if (!isTaskId(message.taskId)) throw new NotFoundError();
  await connectionStore().unsubscribe(message.taskId, event.requestContext.connectionId);
});
