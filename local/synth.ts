import { App } from 'aws-cdk-lib';
import { buildApp, STACK_NAME } from '../lib/app.ts';

/**
 * Synthesizes the real CDK app into `outdir` (bundling every Lambda with esbuild exactly as
 * `cdk deploy` would upload it) and returns the stack name.
 */
export const synthesize = (outdir: string): string => {
  const app = new App({ outdir });
  buildApp(app);
  app.synth();
  return STACK_NAME;
};

