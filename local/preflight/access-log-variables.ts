/**
 * The `$context` variables API Gateway accepts in a stage's access-log format, per API type
 * (`ProtocolType`). API Gateway refuses a stage whose format uses any other variable with
 * `The following context variables are not supported: [$context.x]` (BadRequestException).
 *
 * Sources (Amazon API Gateway Developer Guide):
 * - HTTP APIs: "Customize HTTP API access logs",
 *   https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html
 * - WebSocket APIs: "Configure logging for WebSocket APIs in API Gateway",
 *   https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-logging.html
 *
 * Names are written without the `$context.` prefix. A name ending in `.*` stands for the
 * documented `{property}` placeholders (keys the caller defines, such as a Lambda authorizer's
 * `context` map): any further path matches it.
 */
export const ACCESS_LOG_VARIABLES = {
  HTTP: [
    'accountId',
    'apiId',
    'authorizer.claims.*',
    'authorizer.error',
    'authorizer.principalId',
    'authorizer.*',
    'awsEndpointRequestId',
    'awsEndpointRequestId2',
    'customDomain.basePathMatched',
    'dataProcessed',
    'domainName',
    'domainPrefix',
    'error.message',
    'error.messageString',
    'error.responseType',
    'extendedRequestId',
    'httpMethod',
    'identity.accountId',
    'identity.caller',
    'identity.cognitoAuthenticationProvider',
    'identity.cognitoAuthenticationType',
    'identity.cognitoIdentityId',
    'identity.cognitoIdentityPoolId',
    'identity.principalOrgId',
    'identity.clientCert.clientCertPem',
    'identity.clientCert.subjectDN',
    'identity.clientCert.issuerDN',
    'identity.clientCert.serialNumber',
    'identity.clientCert.validity.notBefore',
    'identity.clientCert.validity.notAfter',
    'identity.sourceIp',
    'identity.user',
    'identity.userAgent',
    'identity.userArn',
    'integration.error',
    'integration.integrationStatus',
    'integration.latency',
    'integration.requestId',
    'integration.status',
    'integrationErrorMessage',
    'integrationLatency',
    'integrationStatus',
    'path',
    'protocol',
    'requestId',
    'requestTime',
    'requestTimeEpoch',
    'responseLatency',
    'responseLength',
    'routeKey',
    'stage',
    'status',
  ],
  WEBSOCKET: [
    'apiId',
    'authorize.error',
    'authorize.latency',
    'authorize.status',
    'authorizer.error',
    'authorizer.integrationLatency',
    'authorizer.integrationStatus',
    'authorizer.latency',
    'authorizer.requestId',
    'authorizer.status',
    'authorizer.principalId',
    'authorizer.*',
    'authenticate.error',
    'authenticate.latency',
    'authenticate.status',
    'connectedAt',
    'connectionId',
    'domainName',
    'error.message',
    'error.messageString',
    'error.responseType',
    'error.validationErrorString',
    'eventType',
    'extendedRequestId',
    'identity.accountId',
    'identity.apiKey',
    'identity.apiKeyId',
    'identity.caller',
    'identity.cognitoAuthenticationProvider',
    'identity.sourceIp',
    'identity.user',
    'identity.userAgent',
    'identity.userArn',
    'integration.error',
    'integration.integrationStatus',
    'integration.latency',
    'integration.requestId',
    'integration.status',
    'integrationLatency',
    'messageId',
    'requestId',
    'requestTime',
    'requestTimeEpoch',
    'routeKey',
    'stage',
    'status',
    'waf.error',
    'waf.latency',
    'waf.status',
  ],
} as const;

/** An API type with an access-log variable catalogue. */
export type AccessLogProtocol = keyof typeof ACCESS_LOG_VARIABLES;

/** Whether `variable` (with or without the `$context.` prefix) is documented for access logs of `protocol` APIs. */
export const isAccessLogVariable = (protocol: AccessLogProtocol, variable: string): boolean => {
  const name = variable.replace(/^\$context\./, '');
  return ACCESS_LOG_VARIABLES[protocol].some((entry) => (entry.endsWith('.*') ? name.startsWith(entry.slice(0, -1)) && name.length > entry.length - 1 : entry === name));
};

/** The `$context` variables a format uses, in order of first use (`$context.identity.sourceIp`, ...). */
export const contextVariablesOf = (format: string): string[] => [...new Set(format.match(/\$context(?:\.[A-Za-z0-9_]+)+/g) ?? [])];
