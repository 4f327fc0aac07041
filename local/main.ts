import { parseArgs } from 'node:util';
import { startRuntime } from './runtime.ts';

const { values } = parseArgs({
  options: {
    fresh: { type: 'boolean', default: false },
    dir: { type: 'string', default: '.offload' },
    quiet: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  process.stdout.write(`offload dev: run the whole Offload stack locally

  --fresh   start with empty data (deletes <dir>/data)
  --dir     state directory (default .offload)
  --quiet   write function logs to <dir>/runtime.log instead of the console
`);
  process.exit(0);
}

const started = Date.now();
process.stdout.write('Synthesizing the stack and starting the local runtime...\n');
const runtime = await startRuntime({ dir: values.dir, fresh: values.fresh, logs: values.quiet ? 'file' : 'console' });
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
  await runtime.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
