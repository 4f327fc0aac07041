import { SubmitMessage } from '../../core/messages.ts';
import { submitTask } from '../../core/submit.ts';
import { correlationIdOf } from '../../core/correlation.ts';
import { admissionStore, connectionsPusher, eventPublisher, idempotencyStore, inflightLimit, sessionStore, taskStore } from '../runtime.ts';
import { errorMessage, parseMessage, principalOfConnection, requestIdOf, wsHandler } from './ws.ts';

/**
 * `submit {type, input, sessionId?, idempotencyKey?, requestId?}`: the same acknowledgement path
 * as `POST /v1/tasks`, answered with `ack {requestId, taskId}` (or `error {requestId, ...}`).
 */
export const handler = wsHandler(async (event) => {
  const connectionId = event.requestContext.connectionId;
  let message: ReturnType<typeof SubmitMessage.parse>;
  try {
    message = parseMessage(event, SubmitMessage);
  } catch (error) {
    // An invalid submit still answers with its requestId when it has a usable one.
    await connectionsPusher().post(connectionId, errorMessage(error, requestIdOf(event)));
    return;
  }
  const { action: _action, idempotencyKey, requestId, ...body } = message;
  try {
    const { task } = await submitTask(
      { tasks: taskStore(), events: eventPublisher(), idempotency: idempotencyStore(), sessions: sessionStore(), admission: { store: admissionStore(), limit: inflightLimit() } },
      principalOfConnection(event),
      body,
      idempotencyKey,
      // The client's requestId correlates its ack, the task's events and the worker's logs.
      { correlationId: correlationIdOf(requestId, event.requestContext.requestId) },
    );
    await connectionsPusher().post(connectionId, { type: 'ack', ...(requestId !== undefined ? { requestId } : {}), taskId: task.taskId });
  } catch (error) {
    await connectionsPusher().post(connectionId, errorMessage(error, requestId));
  }
});
