import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app.ts';
import { OffloadStack } from '../../lib/offload-stack.ts';
import { testApp } from '../support/cdk-app.ts';

/** Per-tenant request-rate limits (`tenantRateLimit`, `tenantBurstLimit`) reach the HTTP authorizer. */

const AUTHORIZER = 'Offload HTTP API authorizer (tenant API keys, client tokens)';
const byDefault = Template.fromStack(new OffloadStack(testApp(), 'Offload', {}));
const configured = Template.fromStack(buildApp(testApp({ tenantRateLimit: '5', tenantBurstLimit: '20' })));

describe('per-tenant rate limits by stack configuration', () => {
  it('gives the authorizer the documented defaults, 50 requests/s and a burst of 100', () => {
    byDefault.hasResourceProperties('AWS::Lambda::Function', {
      Description: AUTHORIZER,
      Environment: { Variables: Match.objectLike({ TENANT_RATE_LIMIT: '50', TENANT_BURST_LIMIT: '100' }) },
    });
  });

  it('takes the limits from the app context', () => {
    configured.hasResourceProperties('AWS::Lambda::Function', {
      Description: AUTHORIZER,
      Environment: { Variables: Match.objectLike({ TENANT_RATE_LIMIT: '5', TENANT_BURST_LIMIT: '20' }) },
    });
  });

  it('refuses limits that are not positive numbers, at synth', () => {
    expect(() => new OffloadStack(testApp(), 'Offload', { tenantRateLimit: 0 })).toThrow(/tenantRateLimit must be a positive number/);
    expect(() => buildApp(testApp({ tenantBurstLimit: 'lots' }))).toThrow(/tenantBurstLimit must be a positive number/);
  });
});
