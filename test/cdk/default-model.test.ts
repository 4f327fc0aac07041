import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app.ts';
import { OffloadStack, type OffloadStackProps } from '../../lib/offload-stack.ts';
import { testApp } from '../support/cdk-app.ts';

/** The `completion` default model chosen by stack configuration (`defaultModel`, context `defaultModel`). */

type Resource = { Type: string; Properties?: { Environment?: { Variables?: Record<string, unknown> } } };

/** DEFAULT_MODEL of each workload class's worker (undefined where unset). */
const defaultModels = (template: Template): Record<string, unknown> => {
  const resources = (template.toJSON() as { Resources: Record<string, Resource> }).Resources;
  const workers = Object.values(resources).filter((resource) => resource.Type === 'AWS::Lambda::Function' && resource.Properties?.Environment?.Variables?.WORKLOAD_CLASS);
  return Object.fromEntries(workers.map((worker) => [worker.Properties!.Environment!.Variables!.WORKLOAD_CLASS, worker.Properties!.Environment!.Variables!.DEFAULT_MODEL]));
};

const stackWith = (props: OffloadStackProps): OffloadStack => new OffloadStack(testApp(), 'Offload', props);

describe('default completion model by stack configuration', () => {
  it('leaves workers on the simulated default when nothing is configured', () => {
    // Act
    const models = defaultModels(Template.fromStack(stackWith({})));
    // Assess
    expect(Object.values(models).every((model) => model === undefined)).toBe(true);
  });

  it('sets the configured model on the workers that run completions, from the app context too', () => {
    // Prepare
    const app = testApp({ openAiBaseUrl: 'https://models.example.com/v1', defaultModel: 'openai:gpt-4o-mini' });
    // Act
    const models = defaultModels(Template.fromStack(buildApp(app)));
    // Assess
    expect(models).toEqual({ interactive: 'openai:gpt-4o-mini', batch: 'openai:gpt-4o-mini', integrations: undefined, analytics: undefined });
  });

  it('refuses a default that no enabled provider serves, at synth time', () => {
    // Act / Assess
    expect(() => stackWith({ defaultModel: 'bedrock:anthropic.claude-3-haiku' })).toThrow(/needs bedrock: true/);
    expect(() => stackWith({ defaultModel: 'openai:gpt-4o' })).toThrow(/openAiCompatible/);
    expect(() => stackWith({ defaultModel: 'gpt-4o' })).toThrow(/not a simulated model/);
    expect(() => stackWith({ defaultModel: 'sim-fast' })).not.toThrow();
    expect(() => stackWith({ defaultModel: 'bedrock:anthropic.claude-3-haiku', bedrock: true })).not.toThrow();
  });
});
