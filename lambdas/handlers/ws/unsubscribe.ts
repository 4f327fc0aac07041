import * as z from 'zod/mini';
import { connectionStore } from '../runtime.ts';
import { parseMessage, wsHandler } from './ws.ts';

const UnsubscribeMessage = z.strictObject({ action: z.literal('unsubscribe'), taskId: z.string().check(z.maxLength(64)) });

/** `unsubscribe {taskId}`: stop pushing that task to this connection. */
export const handler = wsHandler(async (event) => {
  const message = parseMessage(event, UnsubscribeMessage);
  await connectionStore().unsubscribe(message.taskId, event.requestContext.connectionId);
});
