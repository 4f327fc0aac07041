import { listTasks } from '../../core/list.ts';
import { taskStore, tokenSigningKey } from '../runtime.ts';
import { CacheControl, cacheableJson, principalOf } from './http.ts';
import { httpHandler } from './wrap.ts';

/** `GET /v1/tasks?status=&limit=&cursor=`: the tenant's tasks, newest first. */
export const handler = httpHandler(async (event) => {
  const principal = principalOf(event);
  const query = event.queryStringParameters ?? {};
  const page = await listTasks(taskStore(), tokenSigningKey(), principal, { status: query.status, limit: query.limit, cursor: query.cursor });
  return cacheableJson(event, page, CacheControl.live);
});
