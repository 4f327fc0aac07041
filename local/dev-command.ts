import { parseArgs } from 'node:util';
import { startDevServer } from './dev-server.ts';

/** Usage of `offload dev` (also `npm start`). */
export const DEV_USAGE = `offload dev: run the whole Offload stack locally (also \`npm start\`)

Usage: offload dev [--fresh] [--dir <dir>] [--quiet] [--no-watch]

  --fresh     start with empty data (deletes <dir>/data)
  --dir       state directory (default .offload)
  --quiet     write function logs to <dir>/runtime.log instead of the console
  --no-watch  do not reload when lib/, lambdas/ or bin/ change
  -h, --help  show this help
`;

/**
 * Runs the local runtime in the foreground until SIGINT/SIGTERM: synthesizes the stack, starts
 * every emulated service and function, prints the endpoints and the dev API key, reloads on edits.
 *
 * @example
 * ```ts
 * await runDev(['--fresh', '--quiet']);
 * ```
 */
export const runDev = async (args: readonly string[]): Promise<void> => {
  const { values } = parseArgs({
    args: [...args],
    allowNegative: true,
    options: {
      fresh: { type: 'boolean', default: false },
      dir: { type: 'string', default: '.offload' },
      quiet: { type: 'boolean', default: false },
      watch: { type: 'boolean', default: true },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });

  if (values.help) {
    process.stdout.write(DEV_USAGE);
    return;
  }

  const started = Date.now();
  process.stdout.write('Synthesizing the stack and starting the local runtime...\n');
  const server = await startDevServer({
    dir: values.dir,
    fresh: values.fresh,
    logs: values.quiet ? 'file' : 'console',
    watch: values.watch,
    onReload: (outcome) => {
      const what =
        outcome.kind === 'code' ? `reloaded ${outcome.functions.join(', ')}` : outcome.kind === 'stack' ? 'stack changed: restarted on the same data' : outcome.kind === 'failed' ? `reload failed, still running the previous code:\n${outcome.error}` : 'no change';
      process.stdout.write(`[offload] ${what}\n`);
    },
  });
  const { runtime } = server;
  const { endpoints } = runtime;
  process.stdout.write(`
Offload is running locally (${((Date.now() - started) / 1000).toFixed(1)}s)
${runtime.summary}

  HTTP API        ${endpoints.httpApi}
  WebSocket API   ${endpoints.webSocketApi}
  CDN             ${endpoints.cdn}
  Dashboard       ${endpoints.dashboard}
  DynamoDB        ${endpoints.services.dynamodb}
  SQS             ${endpoints.services.sqs}
  EventBridge     ${endpoints.services.eventbridge}
  SecretsManager  ${endpoints.services.secretsmanager}
  @connections    ${endpoints.services.apigatewaymanagementapi}

  dev tenant      ${endpoints.devTenant.id}
  dev API key     ${endpoints.devTenant.apiKey}

Endpoints written to ${values.dir}/endpoints.json. Press Ctrl+C to stop.
Try: npx offload submit completion --input '{"prompt":"Why acknowledge fast?"}' --watch
`);

  let stopping = false;
  const stop = async () => {
    if (stopping) process.exit(1);
    stopping = true;
    process.stdout.write('\nStopping...\n');
    await server.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  await new Promise<never>(() => undefined);
};
