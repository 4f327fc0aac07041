import { SubmitMessage, SubscribeMessage, UnsubscribeMessage } from '../core/messages.ts';
import { TERMINAL_STATUSES } from '../core/model.ts';
import { MAX_BATCH_BYTES } from '../core/progress-batch.ts';
import { fromZod, ref, type JsonSchema } from './json-schema.ts';
import { API_VERSION, DOCUMENT_PATHS } from './constants.ts';
import { IDEMPOTENCY_KEY_PATTERN, resourceSchemas } from './resources.ts';
import { inputSchemaName, submittableTaskTypes, submitSchemaName, taskTypeSchemas } from './task-types.ts';

/** Client → server messages, by `action`. */
export const CLIENT_MESSAGES = ['subscribe', 'unsubscribe', 'submit', 'ping'] as const;
/** Server → client messages, by `type`. */
export const SERVER_MESSAGES = ['subscribed', 'ack', 'progress', 'progressBatch', 'replayPaused', 'status', 'error', 'pong'] as const;

const TARGET = 'draft-7';
const messageRef = (name: string) => ({ $ref: `#/channels/live/messages/${name}` });
const schemaName = (message: string) => `${message[0]!.toUpperCase()}${message.slice(1)}Message`;

/** A server → client message: `type` fixed, exactly these fields. */
const serverMessage = (type: string, description: string, properties: Record<string, JsonSchema>, required: string[]): JsonSchema => ({
  type: 'object',
  description,
  properties: { type: { const: type }, ...properties },
  required: ['type', ...required],
  additionalProperties: false,
});

/** The WebSocket `submit` message of one task type: the `POST /v1/tasks` envelope plus the message's own fields. */
const submitMessageSchemas = (): Record<string, JsonSchema> => {
  const wire = fromZod(SubmitMessage, TARGET) as { properties: Record<string, JsonSchema> } & JsonSchema;
  const envelopes = taskTypeSchemas(TARGET);
  const schemas: Record<string, JsonSchema> = {};
  for (const type of submittableTaskTypes()) {
    const envelope = envelopes[submitSchemaName(type)] as { properties: Record<string, JsonSchema>; required: string[] };
    schemas[`${submitSchemaName(type).replace(/Request$/, '')}Message`] = {
      type: 'object',
      description: `Submits a \`${type}\` task, exactly as \`POST /v1/tasks\` would.`,
      properties: {
        action: wire.properties.action,
        ...envelope.properties,
        idempotencyKey: { ...wire.properties.idempotencyKey, pattern: IDEMPOTENCY_KEY_PATTERN, description: 'Same semantics as the `Idempotency-Key` header.' },
        requestId: { ...wire.properties.requestId, description: 'Echoed in the `ack` or `error` answering this message.' },
      },
      required: ['action', ...envelope.required],
      additionalProperties: false,
    };
    schemas[inputSchemaName(type)] = envelopes[inputSchemaName(type)]!;
  }
  return schemas;
};

/**
 * The AsyncAPI 3.0 description of the WebSocket API, from the server's point of view: it
 * `receive`s the client's actions and `send`s progress, statuses and answers. Client message
 * schemas are derived from the zod schemas the handlers validate with (`lambdas/core/messages.ts`)
 * and the task definitions; server messages mirror `ServerMessage` (`lambdas/core/ports.ts`).
 * `test/contract/websocket-api.test.ts` exercises every message and validates the real frames.
 *
 * @example
 * ```ts
 * asyncApiDocument().components.messages.progress.payload; // { $ref: '#/components/schemas/ProgressMessage' }
 * ```
 */
export const asyncApiDocument = () => {
  const resources = resourceSchemas(TARGET);
  const submitSchemas = submitMessageSchemas();
  const submitVariants = Object.keys(submitSchemas).filter((name) => name.endsWith('SubmitMessage'));
  const schemas: Record<string, JsonSchema> = {
    TaskId: resources.TaskId!,
    TaskError: resources.TaskError!,
    SubscribeMessage: { description: 'Stream a task: progress entries with `seq > after`, then its terminal status.', ...fromZod(SubscribeMessage, TARGET) },
    UnsubscribeMessage: { description: 'Stop streaming a task to this connection. Nothing is sent back on success.', ...fromZod(UnsubscribeMessage, TARGET) },
    SubmitMessage: { description: 'Submit a task over the socket; one of the submittable task types.', oneOf: submitVariants.map(ref) },
    ...submitSchemas,
    PingMessage: {
      type: 'object',
      description: 'Keep-alive; answered with `pong`. Other fields are ignored.',
      properties: { action: { const: 'ping' } },
      required: ['action'],
    },
    SubscribedMessage: serverMessage(
      'subscribed',
      'The subscription is registered at cursor `after`; the replay of what follows it comes next (`progress` and `progressBatch` messages).',
      { taskId: ref('TaskId'), after: { type: 'integer', minimum: 0 } },
      ['taskId', 'after'],
    ),
    AckMessage: serverMessage(
      'ack',
      'The submitted task was accepted (`queued`).',
      { requestId: { type: 'string', maxLength: 128, description: 'The `requestId` of the `submit`, when it had one.' }, taskId: ref('TaskId') },
      ['taskId'],
    ),
    ProgressMessage: serverMessage(
      'progress',
      'One progress entry. On a connection, no entry after the subscription\u2019s `after` arrives before every lower one has; an entry may ' +
        'arrive again (at-least-once): drop any `seq` at or below the highest one received.',
      {
        taskId: ref('TaskId'),
        seq: { type: 'integer', minimum: 1 },
        data: { description: 'What the task reported (coalesced). `completion`: `{ text }`, the text generated since the previous entry.' },
      },
      ['taskId', 'seq', 'data'],
    ),
    ProgressBatchMessage: serverMessage(
      'progressBatch',
      `Several consecutive progress entries in one message, sent when more than one is pending (a replay, a catch-up): handle each entry ` +
        `exactly as a \`progress\` message, in array order (dropping any \`seq\` already received). Entries are in \`seq\` order and follow the same rule as \`progress\`; a message ` +
        `is at most ${MAX_BATCH_BYTES / 1024} KB (one WebSocket frame), and an entry too large to share one travels alone as \`progress\`.`,
      {
        taskId: ref('TaskId'),
        entries: {
          type: 'array',
          minItems: 2,
          items: {
            type: 'object',
            properties: { seq: { type: 'integer', minimum: 1 }, data: { description: 'As `progress.data`.' } },
            required: ['seq', 'data'],
            additionalProperties: false,
          },
        },
      },
      ['taskId', 'entries'],
    ),
    ReplayPausedMessage: serverMessage(
      'replayPaused',
      'The server stopped sending this task\u2019s entries after `nextAfter` to stay within its time budget (a long replay). Send ' +
        '`subscribe {taskId, after: nextAfter}` (or the last `seq` received) to continue; the SDK does so by itself. While the task runs, its ' +
        'worker also sends the entries this connection lacks (within about a second), but only a new `subscribe` brings the rest of a finished task and its `status`.',
      { taskId: ref('TaskId'), nextAfter: { type: 'integer', minimum: 0, description: 'The last entry sent before the pause.' } },
      ['taskId', 'nextAfter'],
    ),
    StatusMessage: serverMessage(
      'status',
      'The terminal status, sent only after every progress entry of the task has been sent on this connection. It may arrive more than ' +
        'once, and resent progress entries may still follow it: the first `status` ends the stream. A result too large for one WebSocket message is ' +
        'omitted (`resultOmitted: true`): read it with `GET /v1/tasks/{id}`.',
      {
        taskId: ref('TaskId'),
        status: { type: 'string', enum: [...TERMINAL_STATUSES] },
        result: { description: 'The result, when succeeded (see `GET /v1/tasks/{id}`).' },
        error: ref('TaskError'),
        resultOmitted: { const: true },
      },
      ['taskId', 'status'],
    ),
    ErrorMessage: serverMessage(
      'error',
      'A message was refused: `status` and `title` as the HTTP API would answer (400 invalid message or unknown action, 401 the client token ' +
        'of the connection expired (the server then closes the connection), 403 a task-scoped client token submitting, 404 unknown task, 409 idempotency key in flight, 422 idempotency key reused, 429 too many tasks in flight).',
      {
        requestId: { type: 'string', maxLength: 128, description: 'The `requestId` of the `submit` it answers, when it had one.' },
        status: { type: 'integer', minimum: 400, maximum: 599 },
        title: { type: 'string' },
        detail: { type: 'string' },
      },
      ['status', 'title', 'detail'],
    ),
    PongMessage: serverMessage('pong', 'The answer to `ping`.', {}, []),
  };

  const message = (name: string, summary: string, example: Record<string, unknown>) => ({
    name,
    title: name,
    summary,
    contentType: 'application/json',
    payload: ref(schemaName(name)),
    examples: [{ name: `${name}-example`, payload: example }],
  });
  const taskId = 'tsk_01KAQ8Z4J6W2M3N5P7R9S1T3V5';

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Offload WebSocket API',
      version: API_VERSION,
      description: [
        'Live progress of tasks, and submission without HTTP. Connect with `?token=<client token or API key>`: a missing token',
        'fails the handshake with `401`, an unknown, expired or tampered one (or a token whose API key was revoked) with `403`. A connection lives',
        'no longer than its credential: after a client token expires every message gets `error` 401 and the connection is closed, and',
        'revoking an API key closes the connections opened with it or its tokens. Every frame is one JSON text message.',
        'Clients send an `action` (`subscribe`, `unsubscribe`, `submit`, `ping`); the server sends messages with a `type`.',
        '',
        '**Guarantee** (at least once, in order per connection): after `subscribe {taskId, after: N}` the connection receives every',
        'progress entry with `seq > N`, then the terminal `status`, even across disconnects, redeliveries and worker retries: reconnect',
        'and subscribe again with the last `seq` seen. The server may send an entry again (the subscribe replay and the running worker',
        'both send from `N`), but never skips one, never sends a higher `seq` before a lower one it has not yet sent on that connection,',
        'and sends `status` only after every entry. So a client keeps the highest `seq` received, drops any entry at or below it, and',
        'stops at the first `status` (a later `status` or entry is a resend): it then has every entry exactly once, in order. The SDK',
        'does this. Live entries of a task reach a new subscription within about a second of being written.',
        '',
        '**Replay**: entries arrive one per `progress` message while live, and several per `progressBatch` message when more than one is',
        `pending (a replay after \`subscribe\`, a catch-up), so a long replay is a handful of messages of at most ${MAX_BATCH_BYTES / 1024} KB. A replay that`,
        'would outlast the server\u2019s time budget stops with `replayPaused {nextAfter}`: subscribe again from there to continue.',
        '',
        'Limits: JSON text frames of at most 32 KB (API Gateway closes the connection with 1009 on a larger frame, 1003 on a binary',
        'one); a fragmented message over 32 KB is answered with `error` 400. Connections idle for 10 minutes or open for 2 hours are',
        'closed by API Gateway: reconnect and resume. Frames API Gateway itself sends, outside this contract: `{"message": "Too Many',
        'Requests", "connectionId", "requestId"}` when the stage throttle is exceeded, and `{"message": "Internal server error", ...}`.',
        `The HTTP API is described by the OpenAPI document at \`${DOCUMENT_PATHS.openApi}\`.`,
      ].join('\n'),
      license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
    },
    defaultContentType: 'application/json',
    servers: {
      aws: {
        host: '{apiId}.execute-api.{region}.amazonaws.com',
        protocol: 'wss',
        description: 'A deployed stack: the `WebSocketUrl` output.',
        variables: { apiId: { description: 'The WebSocket API id.' }, region: { description: 'The stack\u2019s region.', default: 'us-east-1' } },
        security: [{ $ref: '#/components/securitySchemes/token' }],
      },
      local: {
        host: '127.0.0.1:4701',
        protocol: 'ws',
        description: 'The embedded local runtime (`npm start`).',
        security: [{ $ref: '#/components/securitySchemes/token' }],
      },
    },
    channels: {
      live: {
        address: '/live',
        title: 'The connection',
        description: 'One connection carries any number of subscriptions. Route selection is on `action`; an unknown one answers `error` 400.',
        messages: Object.fromEntries([...CLIENT_MESSAGES, ...SERVER_MESSAGES].map((name) => [name, { $ref: `#/components/messages/${name}` }])),
        bindings: {
          ws: {
            method: 'GET',
            query: { type: 'object', properties: { token: { type: 'string', description: 'A client token (`oft_…`) or an API key (`ofk_…`).' } }, required: ['token'] },
            bindingVersion: '0.1.0',
          },
        },
      },
    },
    operations: {
      subscribe: {
        action: 'receive',
        channel: { $ref: '#/channels/live' },
        summary: 'Stream a task from a sequence number',
        messages: [messageRef('subscribe')],
        reply: { channel: { $ref: '#/channels/live' }, messages: [messageRef('subscribed'), messageRef('error')] },
      },
      unsubscribe: {
        action: 'receive',
        channel: { $ref: '#/channels/live' },
        summary: 'Stop streaming a task',
        messages: [messageRef('unsubscribe')],
      },
      submit: {
        action: 'receive',
        channel: { $ref: '#/channels/live' },
        summary: 'Submit a task',
        messages: [messageRef('submit')],
        reply: { channel: { $ref: '#/channels/live' }, messages: [messageRef('ack'), messageRef('error')] },
      },
      ping: {
        action: 'receive',
        channel: { $ref: '#/channels/live' },
        summary: 'Keep the connection alive',
        messages: [messageRef('ping')],
        reply: { channel: { $ref: '#/channels/live' }, messages: [messageRef('pong')] },
      },
      progress: {
        action: 'send',
        channel: { $ref: '#/channels/live' },
        summary: 'Progress entries of subscribed tasks',
        messages: [messageRef('progress'), messageRef('progressBatch')],
      },
      replayPaused: {
        action: 'send',
        channel: { $ref: '#/channels/live' },
        summary: 'A long replay paused: subscribe again to continue',
        messages: [messageRef('replayPaused')],
      },
      status: {
        action: 'send',
        channel: { $ref: '#/channels/live' },
        summary: 'Terminal status of subscribed tasks',
        messages: [messageRef('status')],
      },
      error: {
        action: 'send',
        channel: { $ref: '#/channels/live' },
        summary: 'Refused messages',
        messages: [messageRef('error')],
      },
    },
    components: {
      securitySchemes: {
        token: { type: 'httpApiKey', name: 'token', in: 'query', description: 'A client token (`POST /v1/tokens`) or a tenant API key.' },
      },
      schemas,
      messages: {
        subscribe: message('subscribe', 'Stream a task', { action: 'subscribe', taskId, after: 0 }),
        unsubscribe: message('unsubscribe', 'Stop streaming a task', { action: 'unsubscribe', taskId }),
        submit: message('submit', 'Submit a task', { action: 'submit', type: 'completion', input: { prompt: 'Why acknowledge fast?', maxTokens: 64 }, requestId: 'r-1' }),
        ping: message('ping', 'Keep-alive', { action: 'ping' }),
        subscribed: message('subscribed', 'Subscription registered', { type: 'subscribed', taskId, after: 0 }),
        ack: message('ack', 'Submit accepted', { type: 'ack', requestId: 'r-1', taskId }),
        progress: message('progress', 'A progress entry', { type: 'progress', taskId, seq: 1, data: { text: 'Because ' } }),
        progressBatch: message('progressBatch', 'Consecutive progress entries', {
          type: 'progressBatch',
          taskId,
          entries: [
            { seq: 1, data: { text: 'Because ' } },
            { seq: 2, data: { text: 'users ' } },
            { seq: 3, data: { text: 'wait.' } },
          ],
        }),
        replayPaused: message('replayPaused', 'A replay paused', { type: 'replayPaused', taskId, nextAfter: 1200 }),
        status: message('status', 'Terminal status', {
          type: 'status',
          taskId,
          status: 'succeeded',
          result: { text: 'Because users wait.', model: 'sim-1', usage: { promptTokens: 4, completionTokens: 5, totalTokens: 9 } },
        }),
        error: message('error', 'A refused message', { type: 'error', requestId: 'r-1', status: 400, title: 'Invalid request', detail: 'input.prompt: Invalid input' }),
        pong: message('pong', 'Keep-alive answer', { type: 'pong' }),
      },
    },
  };
};
