import { type App, Aspects } from 'aws-cdk-lib';
import { OffloadStack } from './offload-stack.ts';

/** Name of the stack `cdk deploy` and the local runtime use. */
export const STACK_NAME = 'Offload' as const;

/** Adds the Offload stack to an app (shared by `bin/app.ts`, the local runtime and the tests). */
export const buildApp = (app: App): OffloadStack => {
  const stack = new OffloadStack(app, STACK_NAME, {
    description: 'Offload: acknowledge fast, work in the background, stream progress',
  });
  void Aspects;
  return stack;
};
