import { TokenRequest } from '../core/client-token.ts';
import { TaskStatus } from '../core/model.ts';
import { PROBLEM_TYPE_BASE } from '../core/problem.ts';
import { WEBHOOK_EVENTS, WebhookRequest } from '../core/webhooks.ts';
import { fromZod, ref, type JsonSchema, type SchemaTarget } from './json-schema.ts';
import { allTaskTypes } from './task-types.ts';

/** Task ids: `tsk_` and a ULID (Crockford base32). */
export const TASK_ID_PATTERN = '^tsk_[0-9A-HJKMNP-TV-Z]{26}$' as const;
/** Webhook ids: `whk_` and a ULID. */
export const WEBHOOK_ID_PATTERN = '^whk_[0-9A-Z]{26}$' as const;
/** `Idempotency-Key` values: 1-255 visible ASCII characters (`hashIdempotencyKey`). */
export const IDEMPOTENCY_KEY_PATTERN = '^[\\x21-\\x7e]{1,255}$' as const;

const isoTime = (description: string): JsonSchema => ({ type: 'string', format: 'date-time', description });

/** The fields of a task's public view, minus `result` (listings omit it). */
const taskFields = (): Record<string, JsonSchema> => ({
  taskId: ref('TaskId'),
  type: { type: 'string', enum: allTaskTypes(), description: 'The task type. Internal types (webhook deliveries) are listed too.' },
  status: ref('TaskStatus'),
  sessionId: { type: 'string', description: 'The sessionId it was submitted with.' },
  progress: {
    type: 'object',
    properties: { seq: { type: 'integer', minimum: 0, description: 'Sequence number of the last committed progress entry (0: none yet).' } },
    required: ['seq'],
    additionalProperties: false,
  },
  error: ref('TaskError'),
  attempts: { type: 'integer', minimum: 0, description: 'Attempts started so far (retries included).' },
  createdAt: isoTime('When it was acknowledged.'),
  startedAt: isoTime('When its first attempt started.'),
  finishedAt: isoTime('When it reached a terminal status.'),
  updatedAt: isoTime('Last change.'),
});
const TASK_REQUIRED = ['taskId', 'type', 'status', 'progress', 'attempts', 'createdAt', 'updatedAt'];

/**
 * The resources both documents share: tasks, progress entries, tokens, webhooks and problems.
 * Written by hand from the domain types (`lambdas/core/model.ts`, `read.ts`, `list.ts`,
 * `webhooks.ts`, `problem.ts`); the contract tests validate real responses against them, and
 * `additionalProperties: false` makes an undocumented field fail those tests. Request bodies are
 * derived from the zod schemas the handlers validate with. Only keywords draft-07 and 2020-12 read
 * alike are used, so the AsyncAPI document can share them.
 */
export const resourceSchemas = (target: SchemaTarget): Record<string, JsonSchema> => ({
  TaskId: { type: 'string', pattern: TASK_ID_PATTERN, description: '`tsk_` followed by a ULID.', examples: ['tsk_01KAQ8Z4J6W2M3N5P7R9S1T3V5'] },
  TaskStatus: {
    type: 'string',
    enum: Object.values(TaskStatus),
    description: '`queued` → `running` → `succeeded` | `failed`; `cancelled` from `queued` or `running`. The last three are terminal.',
  },
  TaskError: {
    type: 'object',
    description: 'Why a task failed.',
    properties: { code: { type: 'string', description: 'For example `Timeout`, or the error name.' }, message: { type: 'string' } },
    required: ['code', 'message'],
    additionalProperties: false,
  },
  Task: {
    type: 'object',
    description: 'A task as `GET /v1/tasks/{id}` returns it.',
    properties: {
      ...taskFields(),
      result: { description: 'The result, once succeeded. `completion`: `{ text, model, usage: { promptTokens, completionTokens, totalTokens } }`.' },
    },
    required: TASK_REQUIRED,
    additionalProperties: false,
  },
  TaskSummary: {
    type: 'object',
    description: 'A task in a listing: the task without its `result`.',
    properties: taskFields(),
    required: TASK_REQUIRED,
    additionalProperties: false,
  },
  TaskList: {
    type: 'object',
    properties: {
      items: { type: 'array', items: ref('TaskSummary'), description: 'Newest first.' },
      nextCursor: { type: 'string', description: 'Pass as `cursor` for the next page; absent on the last page.' },
    },
    required: ['items'],
    additionalProperties: false,
  },
  ProgressEntry: {
    type: 'object',
    properties: {
      seq: { type: 'integer', minimum: 1, description: '1, 2, 3… per task, without gaps.' },
      data: { description: 'What the task reported (coalesced). `completion`: `{ text }`, the text generated since the previous entry.' },
      at: isoTime('When it was written.'),
    },
    required: ['seq', 'data', 'at'],
    additionalProperties: false,
  },
  EventsPage: {
    type: 'object',
    properties: {
      taskId: ref('TaskId'),
      items: { type: 'array', items: ref('ProgressEntry'), description: 'Entries with `seq > after`, in order.' },
      nextAfter: { type: 'integer', minimum: 0, description: 'Pass as `after` for the next page; absent when the page reached the current end of the log.' },
      complete: { type: 'boolean', description: 'True once the task is terminal and the page reached the end: the log will not grow.' },
    },
    required: ['taskId', 'items', 'complete'],
    additionalProperties: false,
  },
  ClientTokenRequest: {
    description: 'Optional body of `POST /v1/tokens`; an empty body means `{}`.',
    ...fromZod(TokenRequest, target),
  },
  ClientToken: {
    type: 'object',
    properties: {
      token: { type: 'string', pattern: '^oft_[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]{43}$', description: 'Use as `Authorization: Bearer <token>` or the WebSocket `?token=`.' },
      expiresAt: isoTime('When it stops being accepted.'),
    },
    required: ['token', 'expiresAt'],
    additionalProperties: false,
  },
  WebhookRequest: {
    description:
      'Body of `POST /v1/webhooks`. `url` must be an absolute `https` URL with a public host name and no credentials; ' +
      '`events` defaults to all of them. At most 20 webhooks per tenant.',
    ...fromZod(WebhookRequest, target),
  },
  WebhookSummary: {
    type: 'object',
    properties: {
      webhookId: { type: 'string', pattern: WEBHOOK_ID_PATTERN },
      url: { type: 'string', format: 'uri' },
      events: { type: 'array', items: { type: 'string', enum: [...WEBHOOK_EVENTS] }, minItems: 1 },
      createdAt: isoTime('When it was registered.'),
    },
    required: ['webhookId', 'url', 'events', 'createdAt'],
    additionalProperties: false,
  },
  Webhook: {
    type: 'object',
    description: 'A registered webhook, with its signing secret: shown once, at registration.',
    properties: {
      webhookId: { type: 'string', pattern: WEBHOOK_ID_PATTERN },
      url: { type: 'string', format: 'uri' },
      events: { type: 'array', items: { type: 'string', enum: [...WEBHOOK_EVENTS] }, minItems: 1 },
      secret: { type: 'string', pattern: '^whsec_[A-Za-z0-9+/]+={0,2}$', description: 'Standard Webhooks signing secret (`whsec_` + base64).' },
      createdAt: isoTime('When it was registered.'),
    },
    required: ['webhookId', 'url', 'events', 'secret', 'createdAt'],
    additionalProperties: false,
  },
  WebhookList: {
    type: 'object',
    properties: { items: { type: 'array', items: ref('WebhookSummary') } },
    required: ['items'],
    additionalProperties: false,
  },
  Problem: {
    type: 'object',
    description: 'RFC 9457 problem details. Only statuses below 500 carry a specific `detail`; nothing internal ever leaks.',
    properties: {
      type: { type: 'string', format: 'uri', description: `\`${PROBLEM_TYPE_BASE}<slug>\`.` },
      title: { type: 'string', description: 'Stable, short summary of the problem type.' },
      status: { type: 'integer', minimum: 400, maximum: 599 },
      detail: { type: 'string', description: 'What was wrong with this request.' },
      instance: { type: 'string', description: 'The request path.' },
    },
    required: ['type', 'title', 'status', 'detail'],
    additionalProperties: false,
  },
});
