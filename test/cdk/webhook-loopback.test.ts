import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app.ts';
import { testApp } from '../support/cdk-app.ts';

/**
 * `WEBHOOK_ALLOW_LOOPBACK=true` lets webhooks reach loopback receivers. Only the local runtime sets
 * it (for its test receivers); no deployed function may ever carry it, whatever the stack's
 * options. The templates are built once for the file.
 */

/** Building the whole stack takes seconds, more on a busy machine. */
const SYNTH_TIMEOUT_MS = 300_000;

const CARRIES_IT = { Environment: { Variables: Match.objectLike({ WEBHOOK_ALLOW_LOOPBACK: Match.anyValue() }) } };

const defaults = Template.fromStack(buildApp(testApp()));
const everything = Template.fromStack(buildApp(testApp({ bedrock: 'true', openAiBaseUrl: 'https://api.example.com/v1', defaultModel: 'sim-fast' })));

describe('the local loopback escape hatch never reaches AWS', () => {
  it('no function of the default stack has WEBHOOK_ALLOW_LOOPBACK', () => {
    // Assess
    expect(Object.keys(defaults.findResources('AWS::Lambda::Function')).length).toBeGreaterThan(5);
    defaults.resourcePropertiesCountIs('AWS::Lambda::Function', CARRIES_IT, 0);
  });

  it('no function has it with every optional feature enabled either', () => {
    // Assess
    everything.resourcePropertiesCountIs('AWS::Lambda::Function', CARRIES_IT, 0);
  });

  it(
    'the assertion finds the variable on a function that carries it',
    () => {
      // Prepare: the same stack, with the variable set on the integrations worker.
      const stack = buildApp(testApp());
      stack.workloads.integrations.worker.addEnvironment('WEBHOOK_ALLOW_LOOPBACK', 'true');
      // Act
      const template = Template.fromStack(stack);
      // Assess
      template.resourcePropertiesCountIs('AWS::Lambda::Function', CARRIES_IT, 1);
    },
    SYNTH_TIMEOUT_MS,
  );
});
