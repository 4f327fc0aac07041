import { connectionStore } from '../runtime.ts';
import { principalOfConnection, wsHandler } from './ws.ts';

/** `$connect` (after the authorizer admitted it): remember the connection and its tenant. */
export const handler = wsHandler(async (event) => {
  const principal = principalOfConnection(event);
  await connectionStore().putConnection({
    connectionId: event.requestContext.connectionId,
    tenantId: principal.tenantId,
    ...(principal.taskIds ? { taskIds: principal.taskIds } : {}),
    connectedAt: new Date().toISOString(),
  });
  return { statusCode: 200 };
});
