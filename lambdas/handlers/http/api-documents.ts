import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { asyncApiDocument } from '../../contract/asyncapi.ts';
import { DOCUMENT_PATHS } from '../../contract/constants.ts';
import { openApiDocument } from '../../contract/openapi.ts';
import { CacheControl, etagOf, matchesEtag, SECURITY_HEADERS } from './conventions.ts';

const builders: Record<string, () => unknown> = {
  [`GET ${DOCUMENT_PATHS.openApi}`]: openApiDocument,
  [`GET ${DOCUMENT_PATHS.asyncApi}`]: asyncApiDocument,
};

/** Each document rendered once per execution environment. */
const rendered = new Map<string, { readonly body: string; readonly etag: string }>();

/**
 * `GET /v1/openapi.json` and `GET /v1/asyncapi.json`: the API descriptions, public (the routes have
 * no authorizer), long-lived and revalidated by `ETag`. No I/O: the documents are built from the
 * code's own schemas on first use.
 */
export const handler = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
  const build = builders[event.routeKey];
  if (!build) return { statusCode: 404, headers: { 'content-type': 'application/json', 'cache-control': CacheControl.problem, ...SECURITY_HEADERS }, body: JSON.stringify({ message: 'Not Found' }) };
  let document = rendered.get(event.routeKey);
  if (!document) {
    const body = JSON.stringify(build());
    document = { body, etag: etagOf(body) };
    rendered.set(event.routeKey, document);
  }
  const headers = { etag: document.etag, 'cache-control': CacheControl.document, ...SECURITY_HEADERS };
  if (matchesEtag(event.headers['if-none-match'], document.etag)) return { statusCode: 304, headers };
  return { statusCode: 200, headers: { 'content-type': 'application/json', ...headers }, body: document.body };
};
