import type { Template } from '../template.ts';
import { contextVariablesOf, isAccessLogVariable, type AccessLogProtocol } from './access-log-variables.ts';
import { AccessLogFormatError } from './errors.ts';
import { literalText, referencedId, resourcesOfType } from './template-references.ts';

const STAGE = 'AWS::ApiGatewayV2::Stage' as const;
const PROPERTY = 'AccessLogSettings.Format' as const;
const DOC_PAGE: Record<AccessLogProtocol, string> = {
  HTTP: 'https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html',
  WEBSOCKET: 'https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-logging.html',
};

/**
 * API Gateway (v2) stages' access-log formats: every `$context` variable must be one API Gateway
 * documents for the API's `ProtocolType`, and the format must include `$context.requestId` (the
 * `AccessLogSettings` reference: "The format must include at least $context.requestId";
 * `$context.extendedRequestId` is accepted as well, as for REST APIs). A stage whose API is not
 * in the template, or whose format is not a literal, is not checked.
 */
export const checkAccessLogFormats = (template: Template): AccessLogFormatError[] => {
  const errors: AccessLogFormatError[] = [];
  for (const [logicalId, stage] of resourcesOfType(template, STAGE)) {
    const settings = stage.Properties?.AccessLogSettings as { Format?: unknown } | undefined;
    const format = literalText(settings?.Format);
    const apiId = referencedId(stage.Properties?.ApiId);
    const protocol = apiId ? template.Resources[apiId]?.Properties?.ProtocolType : undefined;
    if (format === undefined || (protocol !== 'HTTP' && protocol !== 'WEBSOCKET')) continue;
    const used = contextVariablesOf(format);
    const unsupported = used.filter((variable) => !isAccessLogVariable(protocol, variable));
    if (unsupported.length > 0) {
      errors.push(
        new AccessLogFormatError({
          logicalId,
          resourceType: STAGE,
          property: PROPERTY,
          awsMessage: `The following context variables are not supported: [${unsupported.join(', ')}]`,
          detail: `${unsupported.join(', ')} ${unsupported.length === 1 ? 'is not an access-log variable' : 'are not access-log variables'} of ${protocol === 'HTTP' ? 'HTTP' : 'WebSocket'} APIs (API ${apiId}; see ${DOC_PAGE[protocol]})`,
        }),
      );
    }
    if (!used.includes('$context.requestId') && !used.includes('$context.extendedRequestId')) {
      errors.push(
        new AccessLogFormatError({
          logicalId,
          resourceType: STAGE,
          property: PROPERTY,
          awsMessage: 'The format must include at least $context.requestId',
          detail: 'as documented for AWS::ApiGatewayV2::Stage AccessLogSettings (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-apigatewayv2-stage-accesslogsettings.html)',
        }),
      );
    }
  }
  return errors;
};
