import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The repository's `cdk.json`, whose `context` holds the feature flags and app settings `cdk synth` uses. */
export const CDK_JSON = path.resolve(import.meta.dirname, '..', 'cdk.json');

/**
 * The `context` of `cdk.json`: what `cdk synth` hands the app (feature flags and settings). The
 * local runtime and the CDK tests build their `App` with it, so they synthesize exactly what
 * `cdk synth` / `cdk deploy` would.
 *
 * @example
 * ```ts
 * const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
 * ```
 */
export const cdkJsonContext = (file: string = CDK_JSON): Record<string, unknown> => {
  const document = JSON.parse(readFileSync(file, 'utf8')) as { context?: Record<string, unknown> };
  return { ...document.context };
};
