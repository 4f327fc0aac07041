import { isTerminal, toTaskView } from '../../core/model.ts';
import { getVisibleTask } from '../../core/read.ts';
import { taskStore } from '../runtime.ts';
import { CacheControl, cacheableJson, principalOf } from './http.ts';
import { httpHandler } from './wrap.ts';

/** `GET /v1/tasks/{id}` with ETag/304 and a Cache-Control that suits the state. */
export const handler = httpHandler(async (event) => {
  const principal = principalOf(event);
  const task = await getVisibleTask(taskStore(), principal, event.pathParameters?.id);
  return cacheableJson(event, toTaskView(task), isTerminal(task.status) ? CacheControl.terminal : CacheControl.live);
});
