export { asyncApiDocument, CLIENT_MESSAGES, SERVER_MESSAGES } from './asyncapi.ts';
export { API_VERSION, DOCUMENT_PATHS } from './constants.ts';
export { fromZod, type JsonSchema, type SchemaTarget } from './json-schema.ts';
export { openApiDocument } from './openapi.ts';
export { IDEMPOTENCY_KEY_PATTERN, resourceSchemas, TASK_ID_PATTERN, WEBHOOK_ID_PATTERN } from './resources.ts';
export { submittableTaskTypes, taskTypeSchemas } from './task-types.ts';
