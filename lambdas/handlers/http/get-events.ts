import { listTaskEvents } from '../../core/read.ts';
import { taskStore } from '../runtime.ts';
import { CacheControl, cacheableJson, principalOf } from './http.ts';
import { httpHandler } from './wrap.ts';

/** `GET /v1/tasks/{id}/events?after=N&limit=M`: the progress log, paginated by sequence. */
export const handler = httpHandler(async (event) => {
  const principal = principalOf(event);
  const query = event.queryStringParameters ?? {};
  const { page } = await listTaskEvents(taskStore(), principal, event.pathParameters?.id, { after: query.after, limit: query.limit });
  return cacheableJson(event, page, page.complete ? CacheControl.terminal : CacheControl.live);
});
