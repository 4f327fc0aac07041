import { submitTask } from '../../core/submit.ts';
import { eventPublisher, taskStore } from '../runtime.ts';
import { json, jsonBody, principalOf } from './http.ts';
import { httpHandler } from './wrap.ts';

/** `POST /v1/tasks`: validate, record, emit, answer `202` — nothing slow on this path. */
export const handler = httpHandler(async (event) => {
  const principal = principalOf(event);
  const body = jsonBody(event);
  const view = await submitTask({ tasks: taskStore(), events: eventPublisher() }, principal, body);
  return json(202, view, { location: `/v1/tasks/${view.taskId}` });
});
