import { IDEMPOTENCY_RETENTION_SECONDS } from '../core/idempotency.ts';
import { LIST_PAGE } from '../core/list.ts';
import { PROBLEM_TYPE_BASE } from '../core/problem.ts';
import { EVENTS_PAGE } from '../core/read.ts';
import { TOKEN_TTL } from '../core/client-token.ts';
import { DOWNLOAD_URL_TTL_SECONDS } from '../core/download.ts';
import { EXPORT_TASK_TYPE } from '../core/export-object.ts';
import { QUEUE_DEPTH_CLASSES } from '../core/queue-depths.ts';
import { CacheControl, MAX_BODY_BYTES, REVOCATION_WINDOW_SECONDS } from '../handlers/http/conventions.ts';
import { API_VERSION, DOCUMENT_PATHS } from './constants.ts';
import { ref, type JsonSchema } from './json-schema.ts';
import { IDEMPOTENCY_KEY_PATTERN, resourceSchemas } from './resources.ts';
import { taskTypeSchemas } from './task-types.ts';


type Operation = Record<string, unknown>;

const json = (schema: JsonSchema) => ({ 'application/json': { schema } });
const header = (description: string, schema: JsonSchema, required = true) => ({ description, required, schema });
const headerRef = (name: string) => ({ $ref: `#/components/headers/${name}` });
const responseRef = (name: string) => ({ $ref: `#/components/responses/${name}` });
const parameterRef = (name: string) => ({ $ref: `#/components/parameters/${name}` });

/** A problem+json response whose `status` and `type` are pinned to what this route can answer; never cacheable. */
const problem = (status: number, slugs: readonly string[], description: string, headers: Record<string, unknown> = {}) => ({
  description,
  headers: { 'Cache-Control': header('`no-store`: no cache ever replays an error.', { const: CacheControl.problem }), ...headers },
  content: {
    'application/problem+json': {
      schema: {
        type: 'object',
        allOf: [ref('Problem')],
        properties: { status: { const: status }, type: { enum: slugs.map((slug) => PROBLEM_TYPE_BASE + slug) } },
      },
    },
  },
});

/** A cacheable read: `ETag`, `Cache-Control`, `Vary`, and `304` on a matching `If-None-Match`. */
const cacheable = (description: string, schema: JsonSchema) => ({
  description,
  headers: { ETag: headerRef('ETag'), 'Cache-Control': headerRef('Cache-Control'), Vary: headerRef('Vary') },
  content: json(schema),
});

/** `GET /v1/queues` (lambdas/core/queue-depths.ts). */
const QUEUE_DEPTHS_SCHEMA: JsonSchema = {
  type: 'object',
  properties: {
    items: {
      type: 'array',
      minItems: QUEUE_DEPTH_CLASSES.length,
      maxItems: QUEUE_DEPTH_CLASSES.length,
      items: {
        type: 'object',
        properties: {
          class: { type: 'string', enum: [...QUEUE_DEPTH_CLASSES], description: 'The workload class.' },
          visible: { type: 'integer', minimum: 0, description: 'Messages waiting to be received (`ApproximateNumberOfMessages`).' },
          inFlight: { type: 'integer', minimum: 0, description: 'Messages received by a worker, not yet deleted (`ApproximateNumberOfMessagesNotVisible`).' },
          deadLetter: { type: 'integer', minimum: 0, description: 'Messages in the class\u2019s dead-letter queue.' },
        },
        required: ['class', 'visible', 'inFlight', 'deadLetter'],
        additionalProperties: false,
      },
    },
  },
  required: ['items'],
  additionalProperties: false,
};

/** `GET /v1/tasks/{id}/download` (lambdas/core/download.ts). */
const TASK_DOWNLOAD_SCHEMA: JsonSchema = {
  type: 'object',
  properties: {
    url: {
      type: 'string',
      format: 'uri',
      description:
        'A presigned S3 `GET` URL (query-string SigV4) of the export\u2019s NDJSON object: fetch it with no `Authorization` header. ' +
        'S3 answers `Content-Type: application/x-ndjson` and `Content-Disposition: attachment`; once the object expired (the exports bucket\u2019s retention, 30 days by default), S3\u2019s own `404`.',
    },
    expiresAt: { type: 'string', format: 'date-time', description: `When the URL stops working: ${DOWNLOAD_URL_TTL_SECONDS} s after it was signed.` },
  },
  required: ['url', 'expiresAt'],
  additionalProperties: false,
};

const NO_STORE = { 'Cache-Control': header('`no-store`: the body carries a credential or a secret.', { const: 'no-store' }) };

/**
 * The OpenAPI 3.1 description of the HTTP API `v1`. Built from the same sources the handlers use:
 * request bodies and task inputs from their zod schemas, bounds from the domain constants; response
 * shapes are described in `resources.ts`. Every (route, status) pair below is exercised and
 * validated against the real runtime by `test/contract/http-api.test.ts`.
 *
 * @example
 * ```ts
 * const document = openApiDocument();
 * document.paths['/v1/tasks'].post.responses['202'];
 * ```
 */
export const openApiDocument = () => ({
  openapi: '3.1.0',
  jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
  info: {
    title: 'Offload HTTP API',
    version: API_VERSION,
    summary: 'Take slow work off the request path: acknowledge in milliseconds, run on queue-scaled workers, stream progress.',
    description: [
      'Submit work with `POST /v1/tasks` and get `202` and a task id at once; read the task, page through its progress log,',
      'cancel it, mint short-lived client tokens for browsers, and register webhooks for lifecycle events. Live progress',
      `streams over the WebSocket API, described by the AsyncAPI document at \`${DOCUMENT_PATHS.asyncApi}\`.`,
      '',
      '**Errors** are `application/problem+json` (RFC 9457) with `type`, `title`, `status` and `detail`; no input, however',
      'malformed, produces a `5xx`. Two answers come from API Gateway itself rather than from Offload, with its own',
      '`{"message": ...}` JSON body: `404 Not Found` for a path or method no route serves, and `429 Too Many Requests` when',
      'the stage throttle (a deployment setting) is exceeded.',
      '',
      '**Compatibility**: response schemas list exactly the fields v1 sends today (`additionalProperties: false`, proven by',
      'contract tests); clients should still ignore fields they do not know, as later minor versions may add some.',
    ].join('\n'),
    license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
  },
  servers: [{ url: '/', description: 'Where this document is served from: the CloudFront distribution (`CdnUrl`, recommended) or the HTTP API (`HttpApiUrl`).' }],
  security: [{ bearer: [] }],
  tags: [
    { name: 'tasks', description: 'Submit, read, list and cancel tasks.' },
    { name: 'tokens', description: 'Short-lived client tokens for browsers and the WebSocket API.' },
    { name: 'webhooks', description: 'Endpoints receiving lifecycle events, signed per Standard Webhooks.' },
    { name: 'operations', description: 'Read-only operational figures (the dashboard\u2019s queue depths).' },
    { name: 'documents', description: 'These API descriptions (public).' },
  ],
  paths: {
    '/v1/tasks': {
      post: {
        tags: ['tasks'],
        operationId: 'submitTask',
        summary: 'Submit a task',
        description:
          'Validates, records and enqueues the task, then answers at once; the work runs in the background. With an ' +
          `\`Idempotency-Key\` (IETF draft semantics, kept ${IDEMPOTENCY_RETENTION_SECONDS / 3600} h per tenant) a retry with the same key and body answers ` +
          'the original task with `Idempotent-Replayed: true`.',
        parameters: [parameterRef('IdempotencyKey'), parameterRef('CorrelationId')],
        requestBody: {
          required: true,
          description: `JSON (\`application/json\` or any \`application/*+json\`), at most ${MAX_BODY_BYTES} bytes.`,
          content: json(ref('SubmitRequest')),
        },
        responses: {
          '202': {
            description: 'Accepted: the task is `queued` (a replay answers the original task in its current state).',
            headers: {
              Location: header('The task\u2019s URL, `/v1/tasks/{taskId}`.', { type: 'string', pattern: '^/v1/tasks/tsk_[0-9A-Z]{26}$' }),
              'Idempotent-Replayed': header('`true` when an `Idempotency-Key` replay answered the original task.', { const: 'true' }, false),
            },
            content: json(ref('Task')),
          },
          '400': responseRef('BadRequest'),
          '401': responseRef('Unauthorized'),
          '403': responseRef('Forbidden'),
          '409': problem(409, ['idempotency-in-progress'], 'A request with the same `Idempotency-Key` is still being processed; retry after `Retry-After` seconds.', {
            'Retry-After': headerRef('Retry-After'),
          }),
          '413': responseRef('PayloadTooLarge'),
          '415': responseRef('UnsupportedMediaType'),
          '422': problem(422, ['idempotency-key-reused'], 'The `Idempotency-Key` was already used with a different body.'),
          '429': problem(429, ['too-many-in-flight', 'rate-limited'], 'The tenant has as many tasks queued or running as it may (stack prop `tenantInflightLimit`, default 100), or sends requests faster than its rate limit (`rate-limited`, on every authenticated route; stack props `tenantRateLimit`, default 50/s, and `tenantBurstLimit`, default 100).', {
            'Retry-After': headerRef('Retry-After'),
          }),
        },
      },
      get: {
        tags: ['tasks'],
        operationId: 'listTasks',
        summary: 'List the tenant\u2019s tasks, newest first',
        description: 'A client token scoped to task ids lists only those. `result` is omitted; read the task for it.',
        parameters: [
          { name: 'status', in: 'query', description: 'Only tasks in this status.', schema: ref('TaskStatus') },
          {
            name: 'limit',
            in: 'query',
            description: `Page size (default ${LIST_PAGE.default}; 0 counts as 1).`,
            schema: { type: 'integer', minimum: 0, maximum: LIST_PAGE.max, default: LIST_PAGE.default },
          },
          {
            name: 'cursor',
            in: 'query',
            description: 'The `nextCursor` of the previous page; opaque and bound to the tenant.',
            schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,512}$' },
          },
          parameterRef('IfNoneMatch'),
        ],
        responses: {
          '200': cacheable('A page of tasks.', ref('TaskList')),
          '304': responseRef('NotModified'),
          '400': responseRef('BadRequest'),
          '401': responseRef('Unauthorized'),
        },
      },
    },
    '/v1/tasks/{id}': {
      parameters: [parameterRef('TaskId')],
      get: {
        tags: ['tasks'],
        operationId: 'getTask',
        summary: 'Read a task',
        description:
          `\`Cache-Control\` suits the state: \`${CacheControl.live}\` while the task can change; ` +
          `\`${CacheControl.terminal}\` once it is terminal (a year in the browser; shared caches at most ${REVOCATION_WINDOW_SECONDS} s, ` +
          'the revocation window, and never past the credential\u2019s validity, then they revalidate). Revalidate with `If-None-Match`.',
        parameters: [parameterRef('IfNoneMatch')],
        responses: {
          '200': cacheable('The task.', ref('Task')),
          '304': responseRef('NotModified'),
          '401': responseRef('Unauthorized'),
          '404': responseRef('NotFound'),
        },
      },
    },
    '/v1/tasks/{id}/events': {
      parameters: [parameterRef('TaskId')],
      get: {
        tags: ['tasks'],
        operationId: 'listTaskEvents',
        summary: 'Page through a task\u2019s progress log',
        description: 'Entries with `seq > after`, in order. Follow `nextAfter` while present. Cacheable like the task; immutable once `complete`.',
        parameters: [
          {
            name: 'after',
            in: 'query',
            description: 'Return entries after this sequence number (default 0: from the start).',
            schema: { type: 'integer', minimum: 0, maximum: 10_000_000, default: 0 },
          },
          {
            name: 'limit',
            in: 'query',
            description: `Page size (default ${EVENTS_PAGE.default}; 0 counts as 1).`,
            schema: { type: 'integer', minimum: 0, maximum: EVENTS_PAGE.max, default: EVENTS_PAGE.default },
          },
          parameterRef('IfNoneMatch'),
        ],
        responses: {
          '200': cacheable('A page of the progress log.', ref('EventsPage')),
          '304': responseRef('NotModified'),
          '400': responseRef('BadRequest'),
          '401': responseRef('Unauthorized'),
          '404': responseRef('NotFound'),
        },
      },
    },
    '/v1/tasks/{id}/download': {
      parameters: [parameterRef('TaskId')],
      get: {
        tags: ['tasks'],
        operationId: 'downloadTaskExport',
        summary: `Get a short-lived URL of a finished \`${EXPORT_TASK_TYPE}\`\u2019s NDJSON`,
        description:
          `For a \`${EXPORT_TASK_TYPE}\` task that \`succeeded\`: a presigned URL of its NDJSON object, valid ${DOWNLOAD_URL_TTL_SECONDS} s, ` +
          'never cached (`Cache-Control: no-store`: the URL is a credential). Ask again for a fresh URL. A client token scoped to the task may ' +
          'download it, like any read.',
        responses: {
          '200': { description: 'Where to fetch the export, and until when.', headers: NO_STORE, content: json(TASK_DOWNLOAD_SCHEMA) },
          '401': responseRef('Unauthorized'),
          '404': problem(
            404,
            ['not-found'],
            `No such task (unknown, malformed, another tenant\u2019s, or outside a client token\u2019s scope), or a task of another type than \`${EXPORT_TASK_TYPE}\`: only exports have a download.`,
          ),
          '409': problem(409, ['conflict'], 'The export has not succeeded: still `queued` or `running` (ask again once it succeeded), or `failed` or `cancelled` (it has no file).'),
        },
      },
    },
    '/v1/tasks/{id}/cancel': {
      parameters: [parameterRef('TaskId')],
      post: {
        tags: ['tasks'],
        operationId: 'cancelTask',
        summary: 'Cancel a task (cooperative)',
        description:
          'A queued task never starts; a running one is `cancelled` at once and its worker stops at its next progress write. ' +
          'WebSocket subscribers receive the `cancelled` status. No request body.',
        responses: {
          '200': { description: 'The task was already cancelled; nothing changed.', content: json(ref('Task')) },
          '202': { description: 'Cancelled by this request.', content: json(ref('Task')) },
          '401': responseRef('Unauthorized'),
          '403': responseRef('Forbidden'),
          '404': responseRef('NotFound'),
          '409': problem(409, ['conflict'], 'The task already succeeded or failed; it cannot be cancelled.'),
        },
      },
    },
    '/v1/tokens': {
      post: {
        tags: ['tokens'],
        operationId: 'createClientToken',
        summary: 'Mint a client token',
        description:
          'A short-lived bearer token for browsers and the WebSocket API, scoped to the caller\u2019s tenant and optionally to task ids. ' +
          'Only a tenant API key may mint one (a client token gets `403`: tokens cannot renew themselves). The token is bound to that key: ' +
          `revoking or rotating the key out refuses its tokens within the revocation window (${REVOCATION_WINDOW_SECONDS} s) and closes their WebSocket connections. ` +
          `Lifetime ${TOKEN_TTL.min}-${TOKEN_TTL.max} s, default ${TOKEN_TTL.default} s.`,
        requestBody: { required: false, content: json(ref('ClientTokenRequest')) },
        responses: {
          '201': { description: 'The token.', headers: NO_STORE, content: json(ref('ClientToken')) },
          '400': responseRef('BadRequest'),
          '401': responseRef('Unauthorized'),
          '403': responseRef('Forbidden'),
          '413': responseRef('PayloadTooLarge'),
          '415': responseRef('UnsupportedMediaType'),
        },
      },
    },
    '/v1/webhooks': {
      get: {
        tags: ['webhooks'],
        operationId: 'listWebhooks',
        summary: 'List the tenant\u2019s webhooks (without secrets)',
        responses: {
          '200': { description: 'The webhooks.', headers: NO_STORE, content: json(ref('WebhookList')) },
          '401': responseRef('Unauthorized'),
          '403': responseRef('Forbidden'),
        },
      },
      post: {
        tags: ['webhooks'],
        operationId: 'createWebhook',
        summary: 'Register a webhook',
        description:
          'Lifecycle events (`task.started`, `task.succeeded`, `task.failed`, `task.cancelled`) of the tenant\u2019s tasks are POSTed to the URL, signed per ' +
          'Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`), retried with backoff on 408, 429, 5xx and timeouts.',
        requestBody: { required: true, content: json(ref('WebhookRequest')) },
        responses: {
          '201': { description: 'Registered. The `secret` is shown only here.', headers: NO_STORE, content: json(ref('Webhook')) },
          '400': responseRef('BadRequest'),
          '401': responseRef('Unauthorized'),
          '403': responseRef('Forbidden'),
          '413': responseRef('PayloadTooLarge'),
          '415': responseRef('UnsupportedMediaType'),
        },
      },
    },
    '/v1/webhooks/{id}': {
      parameters: [{ name: 'id', in: 'path', required: true, description: 'The webhook id (`whk_…`).', schema: { type: 'string' } }],
      delete: {
        tags: ['webhooks'],
        operationId: 'deleteWebhook',
        summary: 'Delete a webhook',
        responses: {
          '204': { description: 'Deleted.' },
          '401': responseRef('Unauthorized'),
          '403': responseRef('Forbidden'),
          '404': problem(404, ['not-found'], 'No such webhook (or another tenant\u2019s).'),
        },
      },
    },
    '/v1/queues': {
      get: {
        tags: ['operations'],
        operationId: 'getQueueDepths',
        summary: 'Queue depths per workload class',
        description:
          'Approximate message counts of each workload class\u2019s queue (waiting, and received by a worker but not yet deleted) and of its ' +
          'dead-letter queue, read from SQS at request time. These are deployment-wide aggregates: no message content, no task ids, nothing ' +
          'per tenant. Any API key or tenant-wide client token may read them; a task-scoped client token gets `403`. Cacheable for a second.',
        parameters: [parameterRef('IfNoneMatch')],
        responses: {
          '200': cacheable('The depths, one item per workload class.', QUEUE_DEPTHS_SCHEMA),
          '304': responseRef('NotModified'),
          '401': responseRef('Unauthorized'),
          '403': problem(403, ['forbidden'], 'A task-scoped client token reads only its tasks, not queue depths.'),
        },
      },
    },
    [DOCUMENT_PATHS.openApi]: documentOperation('getOpenApiDocument', 'This OpenAPI 3.1 document', 'openapi'),
    [DOCUMENT_PATHS.asyncApi]: documentOperation('getAsyncApiDocument', 'The AsyncAPI 3.0 document of the WebSocket API', 'asyncapi'),
  },
  components: {
    securitySchemes: {
      bearer: {
        type: 'http',
        scheme: 'bearer',
        description:
          '`Authorization: Bearer <credential>`: a tenant API key (`ofk_…`, stored hashed) or a client token (`oft_…`, from `POST /v1/tokens`). ' +
          'Missing, unknown, expired or tampered credentials, and client tokens whose minting API key was revoked, answer `401`.',
      },
    },
    parameters: {
      TaskId: {
        name: 'id',
        in: 'path',
        required: true,
        description: 'The task id. Unknown ids, malformed ids and other tenants\u2019 tasks all answer the same `404`.',
        schema: { type: 'string' },
        examples: { task: { value: 'tsk_01KAQ8Z4J6W2M3N5P7R9S1T3V5' } },
      },
      IdempotencyKey: {
        name: 'Idempotency-Key',
        in: 'header',
        description: 'Makes the submit safe to retry: 1-255 visible ASCII characters, unique per intended task.',
        schema: { type: 'string', pattern: IDEMPOTENCY_KEY_PATTERN },
      },
      CorrelationId: {
        name: 'X-Correlation-Id',
        in: 'header',
        description:
          'Your id for this piece of work: stored with the task, carried in its lifecycle events and in every log line about it. ' +
          'A missing or malformed value (not 1-128 characters of `[A-Za-z0-9._:/=+-]`) is replaced by the gateway\u2019s request id, never refused.',
        schema: { type: 'string' },
      },
      IfNoneMatch: {
        name: 'If-None-Match',
        in: 'header',
        description: 'An `ETag` from an earlier answer (or `*`): a match answers `304` without a body.',
        schema: { type: 'string' },
      },
    },
    headers: {
      ETag: { description: 'Strong validator of the body.', required: true, schema: { type: 'string', pattern: '^"[A-Za-z0-9_-]+"$' } },
      'Cache-Control': { description: 'How long shared and private caches may keep the answer.', required: true, schema: { type: 'string' } },
      Vary: { description: 'Answers differ per credential.', required: true, schema: { const: 'Authorization' } },
      'Retry-After': { description: 'Seconds to wait before retrying.', required: true, schema: { type: 'string', pattern: '^[0-9]+$' } },
    },
    responses: {
      NotModified: {
        description: 'The `If-None-Match` validator matches: no body.',
        headers: { ETag: headerRef('ETag'), 'Cache-Control': headerRef('Cache-Control') },
      },
      BadRequest: problem(400, ['validation-error'], 'Invalid JSON, a schema violation, an unknown task type, or a bad parameter or header; `detail` names it.'),
      Unauthorized: problem(401, ['unauthorized'], 'No credential, or an unknown, expired or tampered one.', {
        'WWW-Authenticate': header('`Bearer realm="offload"`.', { const: 'Bearer realm="offload"' }),
      }),
      Forbidden: problem(403, ['forbidden'], 'The credential may not do this: no client token mints tokens or manages webhooks, and a task-scoped one is read/watch-only (no submit, no cancel).'),
      NotFound: problem(404, ['not-found'], 'No such task: unknown, malformed, another tenant\u2019s, or outside a client token\u2019s scope.'),
      PayloadTooLarge: problem(413, ['payload-too-large'], `The body exceeds ${MAX_BODY_BYTES} bytes.`),
      UnsupportedMediaType: problem(415, ['unsupported-media-type'], 'The body is not `application/json` (or `application/*+json`).'),
    },
    schemas: { ...resourceSchemas('draft-2020-12'), ...taskTypeSchemas('draft-2020-12') },
  },
});

/** `GET` of one of the API documents: public, long-lived, revalidated by `ETag`. */
function documentOperation(operationId: string, what: string, versionField: 'openapi' | 'asyncapi') {
  const operation: Operation = {
    tags: ['documents'],
    operationId,
    summary: what,
    description: `Public: needs no credential. Changes only with a deployment (\`Cache-Control: ${CacheControl.document}\`).`,
    security: [],
    parameters: [parameterRef('IfNoneMatch')],
    responses: {
      '200': {
        description: `${what}.`,
        headers: { ETag: headerRef('ETag'), 'Cache-Control': headerRef('Cache-Control') },
        content: json({ type: 'object', required: [versionField, 'info'], properties: { [versionField]: { type: 'string' }, info: { type: 'object' } } }),
      },
      '304': responseRef('NotModified'),
    },
  };
  return { get: operation };
}
