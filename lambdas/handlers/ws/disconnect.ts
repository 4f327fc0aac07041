import { connectionStore, logger } from '../runtime.ts';
import type { WsEvent } from './ws.ts';

/** `$disconnect`: forget the connection and its subscriptions (best effort; TTL cleans up the rest). */
export const handler = async (event: WsEvent): Promise<{ statusCode: number }> => {
  try {
    await connectionStore().removeConnection(event.requestContext.connectionId);
  } catch (error) {
    logger.warn('disconnect cleanup failed; TTL will remove the items', { error: error as Error });
  }
  return { statusCode: 200 };
};
