import { Function as CloudFrontFunction, FunctionCode, FunctionRuntime } from 'aws-cdk-lib/aws-cloudfront';
import { Construct } from 'constructs';
import { accountUniqueName } from '../physical-names.ts';
import { API_KEY_PATTERN, BEARER_PATTERN } from '../../lambdas/core/auth.ts';
import { CLIENT_TOKEN_PATTERN } from '../../lambdas/core/client-token.ts';
import { UnauthorizedError } from '../../lambdas/core/errors.ts';
import { PROBLEM_TYPE_BASE } from '../../lambdas/core/problem.ts';
import { CacheControl, SECURITY_HEADERS } from '../../lambdas/handlers/http/conventions.ts';

/** API paths that need a credential; everything else (the API documents, unknown paths) goes to the origin. */
export const CREDENTIAL_PATHS = /^\/v1\/(?:tasks|tokens|webhooks|queues)(?:\/|$)/;

/** Longest `Authorization` value the authorizer reads (see `bearerToken`). */
const MAX_AUTHORIZATION_LENGTH = 4096;

/**
 * The code of the edge credential check (`cloudfront-js-2.0`). It answers a request to a
 * credentialed path that carries no credential of a possible shape (no `Authorization`, not
 * `Bearer`, neither an API key nor a client token) with the same `401` problem+json the route
 * would send, at the edge: no API Gateway request and no Lambda invocation. Anything that could be
 * a credential goes on to the authorizer, which alone decides; CORS preflights always pass. The
 * patterns and the problem are the authorizer's and the route's own, so the two cannot drift.
 *
 * @example
 * ```ts
 * new cloudfront.Function(scope, 'Check', { code: FunctionCode.fromInline(edgeCredentialCheckCode()), runtime: FunctionRuntime.JS_2_0 });
 * ```
 */
export const edgeCredentialCheckCode = (): string => {
  const refusal = new UnauthorizedError();
  const problem = { type: PROBLEM_TYPE_BASE + refusal.code, title: refusal.title, status: refusal.status, detail: refusal.message };
  const headers: Record<string, { value: string }> = {
    'content-type': { value: 'application/problem+json' },
    'cache-control': { value: CacheControl.problem },
    ...Object.fromEntries(Object.entries({ ...refusal.headers, ...SECURITY_HEADERS }).map(([name, value]) => [name.toLowerCase(), { value: String(value) }])),
  };
  return [
    `var PATHS = ${CREDENTIAL_PATHS.toString()};`,
    `var BEARER = ${BEARER_PATTERN.toString()};`,
    `var API_KEY = ${API_KEY_PATTERN.toString()};`,
    `var CLIENT_TOKEN = ${CLIENT_TOKEN_PATTERN.toString()};`,
    `var PROBLEM = ${JSON.stringify(problem)};`,
    `var HEADERS = ${JSON.stringify(headers)};`,
    'function handler(event) {',
    '  var request = event.request;',
    "  if (request.method === 'OPTIONS' || !PATHS.test(request.uri)) return request;",
    '  var header = request.headers.authorization;',
    `  var match = header && header.value.length <= ${MAX_AUTHORIZATION_LENGTH} ? BEARER.exec(header.value) : null;`,
    '  var credential = match ? match[1] : undefined;',
    `  if (credential && (API_KEY.test(credential) || (credential.length < ${MAX_AUTHORIZATION_LENGTH} && CLIENT_TOKEN.test(credential)))) return request;`,
    '  var body = { type: PROBLEM.type, title: PROBLEM.title, status: PROBLEM.status, detail: PROBLEM.detail, instance: request.uri };',
    "  return { statusCode: 401, statusDescription: 'Unauthorized', headers: HEADERS, body: { encoding: 'text', data: JSON.stringify(body) } };",
    '}',
  ].join('\n');
};

/**
 * A CloudFront Function (viewer request) refusing credential-less API requests at the edge; see
 * {@link edgeCredentialCheckCode}. CloudFront Functions cost a sixth of a Lambda@Edge request and
 * nothing of the API's.
 */
export class EdgeCredentialCheck extends Construct {
  /** The function, to associate with a behaviour's viewer-request event. */
  public readonly function: CloudFrontFunction;

  public constructor(scope: Construct, id: string) {
    super(scope, id);
    this.function = new CloudFrontFunction(this, 'Function', {
      // CloudFront Function names are unique per account.
      functionName: accountUniqueName(this, 'CredentialCheck', 64),
      comment: 'Offload: refuse API requests without a credential at the edge (401 problem+json)',
      code: FunctionCode.fromInline(edgeCredentialCheckCode()),
      runtime: FunctionRuntime.JS_2_0,
    });
  }
}
