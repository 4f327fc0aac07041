import { parseArgs } from 'node:util';
import { ExitCode } from '../client/cli/exit-codes.ts';
import { startDevServer } from './dev-server.ts';
import { DEFAULT_IAM_MODE, IAM_MODES, isIamMode } from './iam/mode.ts';
import { readCloudAssembly } from './preflight/cloud-assembly.ts';
import { PreflightError } from './preflight/errors.ts';
import { PREFLIGHT_DEFAULTS } from './preflight/preflight.ts';
import { MINIMUM_UNRESERVED_CONCURRENCY } from './preflight/reserved-concurrency.ts';
import { DEFAULT_WARM_ENVIRONMENTS } from './runtime.ts';

/** Usage of `offload dev` (also `npm start`). */
export const DEV_USAGE = `offload dev: run the whole Offload stack locally (also \`npm start\`)

Usage: offload dev [--fresh] [--dir <dir>] [--quiet] [--no-watch] [--iam strict|soft|off]
                   [--assembly <dir> [--stack <name>]]
                   [--account-concurrency <n>] [--apigateway-cloudwatch-role-configured]
                   [--warm <n>] [--transport in-process|http]

  --fresh     start with empty data (deletes <dir>/data)
  --dir       state directory (default .offload)
  --quiet     write function logs to <dir>/runtime.log instead of the console
  --no-watch  do not reload when lib/, lambdas/ or bin/ change
  --assembly  run an existing cloud assembly (\`npx cdk synth -o <dir>\`) instead of
              synthesizing this project; its stack comes from <dir>/manifest.json.
              No hot reload in this mode.
  --stack     the stack of the assembly to run, when it has several
  --iam       IAM enforcement (default strict): each function calls AWS with its own
              role's credentials; strict refuses what the template's policies do not
              allow, as AWS would; soft only logs the would-be denials to the runtime
              log; off checks nothing
  --warm      warm execution environments kept per function (default ${DEFAULT_WARM_ENVIRONMENTS}; 0 = on
              demand only), created in the background after start and replenished when one
              ends, so a burst of up to <n> requests per function pays no cold start
  --transport how functions' SDK calls reach the local engines (default in-process: over a
              MessagePort into the engine's request listener, same SDK, signing and wire
              format; http: over loopback HTTP)

Deploy preflight: before anything starts, the template is refused if AWS would refuse it
at deploy time (access-log variables per API type, the API Gateway CloudWatch role,
reserved concurrency, event source mappings, Lambda timeout and memory).
  --account-concurrency <n>                the AWS account's Lambda concurrency quota that
                                           reserved concurrency must fit (default ${PREFLIGHT_DEFAULTS.accountConcurrency},
                                           keeping ${MINIMUM_UNRESERVED_CONCURRENCY} unreserved)
  --apigateway-cloudwatch-role-configured  the account already has API Gateway's CloudWatch
                                           Logs role, so stages may log without the template
                                           setting it (AWS::ApiGateway::Account)
  -h, --help  show this help
`;

/**
 * Runs the local runtime in the foreground until SIGINT/SIGTERM: synthesizes the stack (or reads
 * the cloud assembly given with `--assembly`), refuses what AWS would refuse at deploy time, starts
 * every emulated service and function, prints the endpoints and the dev API key, reloads on edits.
 * A refused assembly or template ends the process with exit code 2 and the reason on stderr.
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
      assembly: { type: 'string' },
      stack: { type: 'string' },
      iam: { type: 'string', default: DEFAULT_IAM_MODE },
      'account-concurrency': { type: 'string' },
      'apigateway-cloudwatch-role-configured': { type: 'boolean', default: false },
      warm: { type: 'string' },
      transport: { type: 'string', default: 'in-process' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });

  if (values.help) {
    process.stdout.write(DEV_USAGE);
    return;
  }
  const refuse = (message: string): never => {
    process.stderr.write(`offload dev: ${message}\n`);
    process.exit(ExitCode.usage);
  };
  const concurrencyText = values['account-concurrency'];
  if (concurrencyText !== undefined && !/^[1-9]\d*$/.test(concurrencyText)) refuse(`--account-concurrency must be a positive integer, got "${concurrencyText}"`);
  const iam = values.iam;
  if (!isIamMode(iam)) return refuse(`--iam must be one of ${IAM_MODES.join(', ')}, got "${iam}"`);
  if (values.warm !== undefined && !/^\d+$/.test(values.warm)) refuse(`--warm must be a non-negative integer, got "${values.warm}"`);
  if (values.transport !== 'in-process' && values.transport !== 'http') refuse(`--transport must be in-process or http, got "${values.transport}"`);
  if (values.stack !== undefined && values.assembly === undefined) refuse('--stack chooses a stack of --assembly <dir>; without --assembly the project is synthesized (one stack)');

  const started = Date.now();
  let assembly: { readonly cdkOut: string; readonly stackName: string } | undefined;
  try {
    if (values.assembly !== undefined) {
      const stack = readCloudAssembly(values.assembly, values.stack);
      assembly = { cdkOut: stack.directory, stackName: stack.artifactId };
      process.stdout.write(`Running stack ${stack.stackName} of the cloud assembly in ${stack.directory} (no hot reload in this mode: edits are not re-synthesized)...\n`);
    } else process.stdout.write('Synthesizing the stack and starting the local runtime...\n');
  } catch (error) {
    if (error instanceof PreflightError) refuse(error.message);
    throw error;
  }
  // A template AWS would refuse (the deploy preflight) is reported like a bad argument, not as a crash.
  const server = await startDevServer({
    dir: values.dir,
    fresh: values.fresh,
    iam,
    logs: values.quiet ? 'file' : 'console',
    watch: values.watch && assembly === undefined,
    ...assembly,
    ...(concurrencyText !== undefined ? { accountConcurrency: Number(concurrencyText) } : {}),
    apiGatewayCloudWatchRoleConfigured: values['apigateway-cloudwatch-role-configured'],
    ...(values.warm !== undefined ? { warmEnvironments: Number(values.warm) } : {}),
    inProcessTransport: values.transport === 'in-process',
    onReload: (outcome) => {
      const what =
        outcome.kind === 'code' ? `reloaded ${outcome.functions.join(', ')}` : outcome.kind === 'stack' ? 'stack changed: restarted on the same data' : outcome.kind === 'failed' ? `reload failed, still running the previous code:\n${outcome.error}` : 'no change';
      process.stdout.write(`[offload] ${what}\n`);
    },
  }).catch((error: unknown) => (error instanceof PreflightError ? refuse(error.message) : Promise.reject(error)));
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
