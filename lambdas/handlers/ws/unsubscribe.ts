import { UnsubscribeMessage } from '../../core/messages.ts';
import { connectionStore } from '../runtime.ts';
import { parseMessage, wsHandler } from './ws.ts';

/** `unsubscribe {taskId}`: stop pushing that task to this connection. */
export const handler = wsHandler(async (event) => {
  const message = parseMessage(event, UnsubscribeMessage);
  await connectionStore().unsubscribe(message.taskId, event.requestContext.connectionId);
});
