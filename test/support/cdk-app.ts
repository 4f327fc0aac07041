import { App } from 'aws-cdk-lib';
import { cdkJsonContext } from '../../lib/cdk-context.ts';

/**
 * Context of every CDK app the tests build: `cdk.json`'s (the feature flags and settings
 * `cdk synth` uses, so assertions hold for what `cdk deploy` ships) without esbuild bundling.
 */
export const TEST_CONTEXT: Readonly<Record<string, unknown>> = { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] };

/** A CDK app with {@link TEST_CONTEXT} plus `context` (`-c key=value` as `cdk synth` would pass it). */
export const testApp = (context: Record<string, unknown> = {}): App => new App({ context: { ...TEST_CONTEXT, ...context } });
