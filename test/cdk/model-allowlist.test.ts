import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app.ts';
import { StackConfigurationError } from '../../lib/errors.ts';
import { OffloadStack, type OffloadStackProps } from '../../lib/offload-stack.ts';
import { testApp } from '../support/cdk-app.ts';

/** The `completion` model allowlist (`allowedModels`, context `allowedModels`). */

const stackWith = (props: OffloadStackProps): OffloadStack => new OffloadStack(testApp(), 'Offload', props);
const byDefault = Template.fromStack(stackWith({}));
const configured = Template.fromStack(buildApp(testApp({ bedrock: 'true', defaultModel: 'bedrock:anthropic.claude-3-haiku', allowedModels: 'bedrock:anthropic.claude-3-haiku, sim-fast' })));

/** Descriptions of the functions that must carry the allowlist: both submit paths and the completion workers. */
const ENFORCING = ['Offload POST /v1/tasks (ack path)', 'Offload WebSocket submit', 'Offload interactive worker', 'Offload batch worker'];

const allowedOf = (template: Template, description: unknown): unknown[] =>
  Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Description: description } })).map(
    (resource) => (resource as { Properties: { Environment?: { Variables?: Record<string, unknown> } } }).Properties.Environment?.Variables?.ALLOWED_MODELS,
  );

describe('model allowlist by stack configuration', () => {
  it('allows the default model and the simulated models when nothing is configured, on every submit function and worker', () => {
    for (const description of ENFORCING) {
      // Act
      const values = allowedOf(byDefault, description);
      // Assess
      expect(values.length, String(description)).toBeGreaterThan(0);
      expect(values).toEqual(values.map(() => 'sim-1,sim-fast,sim-fail'));
    }
  });

  it('passes the configured list (context allowedModels, comma-separated) to every submit function and worker', () => {
    for (const description of ENFORCING) {
      configured.hasResourceProperties('AWS::Lambda::Function', {
        Description: description,
        Environment: { Variables: Match.objectLike({ ALLOWED_MODELS: 'bedrock:anthropic.claude-3-haiku,sim-fast' }) },
      });
    }
  });

  it('leaves the other functions without it', () => {
    expect(allowedOf(byDefault, 'Offload integrations worker')).toEqual([undefined]);
  });

  it('refuses at synth a list without the default model, or with a model no enabled provider serves', () => {
    // Act / Assess
    expect(() => stackWith({ allowedModels: ['sim-fast'] })).toThrow(/must include the default model "sim-1"/);
    expect(() => stackWith({ defaultModel: 'sim-fast', allowedModels: ['sim-1'] })).toThrow(StackConfigurationError);
    expect(() => stackWith({ allowedModels: ['sim-1', 'openai:gpt-4o'] })).toThrow(/allowedModels: "openai:gpt-4o" needs the openAiCompatible provider/);
    expect(() => stackWith({ allowedModels: [] })).toThrow(/at least one model/);
    expect(() => stackWith({ allowedModels: ['sim-1', 'bedrock:anthropic.claude-3-haiku'], bedrock: true })).not.toThrow();
  });
});
