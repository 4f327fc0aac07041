/** Version of the API contract the OpenAPI and AsyncAPI documents describe. */
export const API_VERSION = '1.0.0' as const;

/** Where the documents are served through the HTTP API (public, no credential). */
export const DOCUMENT_PATHS = { openApi: '/v1/openapi.json', asyncApi: '/v1/asyncapi.json' } as const;
