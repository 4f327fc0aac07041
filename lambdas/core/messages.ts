import * as z from 'zod/mini';

/**
 * Client → server WebSocket messages (route selection on `action`). The handlers validate with
 * these schemas and the AsyncAPI document (`lambdas/contract/asyncapi.ts`) is derived from them, so
 * what is documented is what is enforced. Server → client messages are `ServerMessage` (`ports.ts`).
 */

/** `subscribe {taskId, after?}`: stream a task's progress after sequence `after`, then its status. */
export const SubscribeMessage = z.strictObject({
  action: z.literal('subscribe'),
  taskId: z.string().check(z.maxLength(64)),
  after: z.optional(z.number().check(z.int(), z.minimum(0), z.maximum(10_000_000))),
});

/** `unsubscribe {taskId}`: stop pushing that task to this connection. */
export const UnsubscribeMessage = z.strictObject({ action: z.literal('unsubscribe'), taskId: z.string().check(z.maxLength(64)) });

/**
 * `submit {type, input, sessionId?, idempotencyKey?, requestId?}`: the envelope only; `type`,
 * `input` and `sessionId` are then validated exactly as a `POST /v1/tasks` body.
 */
export const SubmitMessage = z.strictObject({
  action: z.literal('submit'),
  type: z.string(),
  input: z.unknown(),
  sessionId: z.optional(z.string()),
  idempotencyKey: z.optional(z.string()),
  requestId: z.optional(z.string().check(z.maxLength(128))),
});
