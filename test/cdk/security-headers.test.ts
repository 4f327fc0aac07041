import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app.ts';
import { OffloadStack } from '../../lib/offload-stack.ts';
import { testApp } from '../support/cdk-app.ts';

/** Security response headers at the edge, CORS restricted to configured origins, sealed listing cursors. */

const byDefault = Template.fromStack(new OffloadStack(testApp(), 'Offload', {}));
const withOrigins = Template.fromStack(buildApp(testApp({ corsOrigins: 'https://app.example.com, http://localhost:5173' })));

const policies = byDefault.findResources('AWS::CloudFront::ResponseHeadersPolicy');
const policyId = (purpose: string): string => {
  const id = Object.keys(policies).find((logicalId) => logicalId.includes(purpose));
  if (!id) throw new Error(`no ${purpose} response headers policy`);
  return id;
};
const distributionConfig = () => Object.values(byDefault.findResources('AWS::CloudFront::Distribution'))[0]!.Properties.DistributionConfig;

/** Flattens a CloudFormation string (literal or Fn::Join) to its literal parts, for matching. */
const literalText = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));

describe('security response headers (CloudFront response headers policies)', () => {
  it('sends nosniff, HSTS, X-Frame-Options DENY, a referrer policy and a no-framing CSP on API answers', () => {
    // Prepare
    const config = policies[policyId('ApiHeaders')]!.Properties.ResponseHeadersPolicyConfig;
    // Assess
    expect(literalText(config.Name)).toContain('Offload-ApiHeaders-');
    expect(config.SecurityHeadersConfig).toEqual({
      ContentSecurityPolicy: { ContentSecurityPolicy: "default-src 'none'; frame-ancestors 'none'", Override: true },
      ContentTypeOptions: { Override: true },
      FrameOptions: { FrameOption: 'DENY', Override: true },
      ReferrerPolicy: { ReferrerPolicy: 'no-referrer', Override: true },
      StrictTransportSecurity: { AccessControlMaxAgeSec: 63_072_000, IncludeSubdomains: true, Override: true },
    });
    expect(distributionConfig().DefaultCacheBehavior.ResponseHeadersPolicyId).toEqual({ Ref: policyId('ApiHeaders') });
  });

  it('gives the dashboard behaviour a CSP limited to its own origin and the WebSocket API, never framed', () => {
    // Prepare
    const config = policies[policyId('DashboardHeaders')]!.Properties.ResponseHeadersPolicyConfig;
    const csp = literalText(config.SecurityHeadersConfig.ContentSecurityPolicy.ContentSecurityPolicy);
    const dashboard = distributionConfig().CacheBehaviors.find((behavior: { PathPattern: string }) => behavior.PathPattern === '/dashboard/*');
    // Assess
    expect(literalText(config.Name)).toContain('Offload-DashboardHeaders-');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self' ");
    expect(csp).toContain(Object.keys(byDefault.findResources('AWS::ApiGatewayV2::Api', { Properties: { ProtocolType: 'WEBSOCKET' } }))[0]!);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    expect(config.SecurityHeadersConfig).toMatchObject({ ContentTypeOptions: { Override: true }, FrameOptions: { FrameOption: 'DENY' }, StrictTransportSecurity: { IncludeSubdomains: true } });
    expect(dashboard.ResponseHeadersPolicyId).toEqual({ Ref: policyId('DashboardHeaders') });
  });
});

describe('CORS', () => {
  it('is off by default: no origin may read the API cross-origin (the dashboard is same-origin)', () => {
    byDefault.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP', CorsConfiguration: Match.absent() });
  });

  it('allows exactly the configured origins (context corsOrigins)', () => {
    withOrigins.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'HTTP',
      CorsConfiguration: Match.objectLike({ AllowOrigins: ['https://app.example.com', 'http://localhost:5173'] }),
    });
  });

  it('refuses a wildcard or an origin with a path, at synth', () => {
    expect(() => new OffloadStack(testApp(), 'Offload', { corsOrigins: ['*'] })).toThrow(/corsOrigins/);
    expect(() => new OffloadStack(testApp(), 'Offload', { corsOrigins: ['https://app.example.com/'] })).toThrow(/corsOrigins/);
  });
});

describe('listing cursors', () => {
  it('let the list function read the signing secret its cursor key derives from', () => {
    byDefault.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Offload GET /v1/tasks',
      Environment: { Variables: Match.objectLike({ TOKEN_SECRET_ARN: Match.anyValue() }) },
    });
  });
});

describe('the edge credential check', () => {
  it('runs a cloudfront-js-2.0 function with an account-unique name on every API viewer request', () => {
    // Prepare
    const functions = byDefault.findResources('AWS::CloudFront::Function');
    const [functionId, resource] = Object.entries(functions)[0] ?? [];
    // Assess
    expect(Object.keys(functions)).toHaveLength(1);
    expect(resource!.Properties).toMatchObject({ AutoPublish: true, FunctionConfig: { Runtime: 'cloudfront-js-2.0' }, FunctionCode: expect.stringContaining('statusCode: 401') });
    expect(literalText(resource!.Properties.Name)).toContain('Offload-CredentialCheck-');
    expect(distributionConfig().DefaultCacheBehavior.FunctionAssociations).toEqual([{ EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [functionId, 'FunctionARN'] } }]);
    // CloudFront Functions accept at most 10 KB of code.
    expect(Buffer.byteLength(resource!.Properties.FunctionCode)).toBeLessThan(10 * 1024);
  });
});
