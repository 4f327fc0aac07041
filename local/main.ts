import { parseArgs } from 'node:util';
import { startDevServer } from './dev-server.ts';

const { values } = parseArgs({
  options: {
    fresh: { type: 'boolean', default: false },
    dir: { type: 'string', default: '.offload' },
    quiet: { type: 'boolean', default: false },
    watch: { type: 'boolean', default: true },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  process.stdout.write(`offload dev: run the whole Offload stack locally

  --fresh   start with empty data (deletes <dir>/data)
  --dir     state directory (default .offload)
  --quiet   write function logs to <dir>/runtime.log instead of the console
  --no-watch  do not reload when lib/, lambdas/ or bin/ change
`);
  process.exit(0);
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
  DynamoDB        ${endpoints.services.dynamodb}
  SQS             ${endpoints.services.sqs}
  EventBridge     ${endpoints.services.eventbridge}
  SecretsManager  ${endpoints.services.secretsmanager}
  @connections    ${endpoints.services.apigatewaymanagementapi}

  dev tenant      ${endpoints.devTenant.id}
  dev API key     ${endpoints.devTenant.apiKey}

Endpoints written to ${values.dir}/endpoints.json. Press Ctrl+C to stop.
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
