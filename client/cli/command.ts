import type { ParseArgsOptionsConfig } from 'node:util';
import { OffloadClient } from '../sdk/index.ts';
import { requireApi, resolveTarget, type Target } from './config.ts';
import { ConfigurationError } from './errors.ts';
import type { ExitCode } from './exit-codes.ts';
import type { Output } from './output.ts';

/** Options every command accepts. */
export const GLOBAL_OPTIONS = {
  endpoint: { type: 'string' },
  'ws-url': { type: 'string' },
  'api-key': { type: 'string' },
  outputs: { type: 'string' },
  dir: { type: 'string' },
  region: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies ParseArgsOptionsConfig;

/** Help text of the global options, appended to every command's help. */
export const GLOBAL_HELP = `Connection (first match wins: flags, environment, local .offload/endpoints.json; the key must
come from the same one as the endpoint: --outputs counts as a flag, OFFLOAD_OUTPUTS as the environment):
  --endpoint <url>    HTTP API base URL                  (OFFLOAD_ENDPOINT)
  --ws-url <url>      WebSocket API URL                  (OFFLOAD_WS_URL)
  --api-key <key>     API key or client token            (OFFLOAD_API_KEY; locally the dev tenant's key)
  --outputs <file>    cdk deploy --outputs-file JSON     (OFFLOAD_OUTPUTS)
  --dir <dir>         local runtime state directory      (OFFLOAD_DIR, default .offload)
  --region <region>   AWS region for admin commands      (AWS_REGION)
Output:
  --json              machine-readable JSON (one document, or one line per event when streaming)
  -h, --help          show help`;

/** What a command receives. */
export interface CommandContext {
  readonly values: Record<string, string | boolean | string[] | undefined>;
  readonly positionals: readonly string[];
  readonly out: Output;
  /** Aborted on Ctrl+C. */
  readonly signal: AbortSignal;
  /** Where the deployment is (resolved on first use). */
  target(): Target;
  /** An SDK client for the resolved endpoint and credential. */
  client(): OffloadClient;
}

/** One `offload` command. */
export interface Command {
  /** As typed: `submit`, `tenants create`. */
  readonly name: string;
  readonly summary: string;
  /** Usage line(s) and command options, without the global options. */
  readonly help: string;
  readonly options: ParseArgsOptionsConfig;
  readonly positionals: { readonly min: number; readonly max: number; readonly names: string };
  run(context: CommandContext): Promise<ExitCode>;
}

/** Builds the lazily resolved target and client of a command. */
export const connection = (values: CommandContext['values']): Pick<CommandContext, 'target' | 'client'> => {
  let target: Target | undefined;
  let client: OffloadClient | undefined;
  const resolve = () => (target ??= resolveTarget(values as Parameters<typeof resolveTarget>[0]));
  return {
    target: resolve,
    client: () => {
      if (client) return client;
      const { endpoint, webSocketUrl, credential } = requireApi(resolve());
      try {
        client = new OffloadClient({ endpoint, credential, ...(webSocketUrl ? { webSocketUrl } : {}) });
      } catch (error) {
        throw new ConfigurationError(`Invalid connection settings: ${(error as Error).message}`);
      }
      return client;
    },
  };
};
