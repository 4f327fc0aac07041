import { App } from 'aws-cdk-lib';
import { buildApp } from '../lib/app.ts';
import { cdkJsonContext } from '../lib/cdk-context.ts';

/**
 * Synthesizes the real CDK app into `outdir` with the context of `cdk.json` (the feature flags and
 * settings `cdk synth` uses), bundling every Lambda with esbuild exactly as `cdk deploy` would
 * upload it, and returns the stack name (context `stackName`, default `Offload`).
 */
export const synthesize = (outdir: string): string => {
  const app = new App({ outdir, context: cdkJsonContext() });
  const stack = buildApp(app);
  app.synth();
  return stack.stackName;
};
