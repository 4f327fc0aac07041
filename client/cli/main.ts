import { parseArgs } from 'node:util';
import { ConnectionLostError, ForbiddenError, NetworkError, NotFoundError, OffloadError, UnauthorizedError } from '../sdk/index.ts';
import { connection, GLOBAL_HELP, GLOBAL_OPTIONS, type Command } from './command.ts';
import { dlqList, dlqRedrive, keysList, keysRevoke, keysRotate, tenantsCreate } from './commands/admin.ts';
import { cancel, download, get, ls, submit, token, watch } from './commands/tasks.ts';
import { CliError, UsageError } from './errors.ts';
import { ExitCode } from './exit-codes.ts';
import { Output } from './output.ts';

const COMMANDS: readonly Command[] = [submit, watch, get, ls, cancel, download, token, tenantsCreate, keysList, keysRotate, keysRevoke, dlqList, dlqRedrive];
const GROUPS = ['tenants', 'keys', 'dlq'] as const;

const HELP = `offload: the Offload command line

Usage: offload <command> [options]

Commands:
  dev                      run the whole stack locally (same as npm start)
${COMMANDS.map((command) => `  ${`${command.name} ${command.positionals.names}`.trim().padEnd(24)} ${command.summary}`).join('\n')}

Run \`offload <command> --help\` for a command's options.

${GLOBAL_HELP}

Exit codes: 0 ok, 1 watched task failed or was cancelled, 2 usage or configuration error,
3 request refused (API or AWS error), 4 not found, 5 unauthorized, 6 unreachable, 130 interrupted.
`;

/** Finds the command named by the first one or two arguments. */
const findCommand = (argv: readonly string[]): { command: Command; rest: string[] } | undefined => {
  const [first, second] = argv;
  const two = COMMANDS.find((command) => command.name === `${first} ${second}`);
  if (two) return { command: two, rest: argv.slice(2) };
  const one = COMMANDS.find((command) => command.name === first);
  return one ? { command: one, rest: argv.slice(1) } : undefined;
};

/** Maps a failure to its exit code (see exit-codes.ts). */
const exitCodeOf = (error: unknown): ExitCode => {
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof NotFoundError) return ExitCode.notFound;
  if (error instanceof UnauthorizedError || error instanceof ForbiddenError) return ExitCode.unauthorized;
  if (error instanceof ConnectionLostError || error instanceof NetworkError) return ExitCode.unreachable;
  if (error instanceof OffloadError) return ExitCode.api;
  const name = (error as { name?: string } | null)?.name ?? '';
  const domainStatus = (error as { status?: unknown } | null)?.status;
  // The domain's own errors (admin commands run the core directly) carry an HTTP status.
  if (domainStatus === 404) return ExitCode.notFound;
  if (domainStatus === 400) return ExitCode.usage;
  if (typeof domainStatus === 'number') return ExitCode.api;
  if (/ECONNREFUSED|ENOTFOUND|ETIMEDOUT|ECONNRESET/.test(String((error as { code?: unknown })?.code ?? '')) || name === 'TimeoutError') return ExitCode.unreachable;
  // AWS SDK service errors carry $metadata: the service refused the request.
  if ((error as { $metadata?: unknown } | null)?.$metadata !== undefined) return ExitCode.api;
  return ExitCode.api;
};

const describe = (error: unknown) => {
  const base = { name: (error as Error)?.name ?? 'Error', message: (error as Error)?.message ?? String(error) };
  if (error instanceof OffloadError) return { ...base, ...(error.status !== undefined ? { status: error.status } : {}), ...(error.problem ? { problem: error.problem } : {}) };
  return base;
};

/**
 * Runs the CLI with the given arguments and resolves with the exit code (the bin exits with it).
 * `offload dev` never resolves: it runs the local runtime until interrupted.
 */
export const main = async (argv: readonly string[]): Promise<number> => {
  const json = argv.includes('--json');
  const out = new Output(json);
  if (argv[0] === 'dev') {
    const { runDev } = await import('../../local/dev-command.ts');
    await runDev(argv.slice(1));
    return ExitCode.ok;
  }
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    const topic = argv[0] === 'help' ? findCommand(argv.slice(1)) : undefined;
    if (topic) out.line(`${topic.command.help}\n\n${GLOBAL_HELP}`);
    else (argv.length === 0 ? out.note.bind(out) : out.line.bind(out))(HELP);
    return argv.length === 0 ? ExitCode.usage : ExitCode.ok;
  }
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(ExitCode.interrupted);
    controller.abort(new Error('interrupted'));
  };
  process.on('SIGINT', onSignal);
  try {
    const found = findCommand(argv);
    if (!found) {
      const group = GROUPS.find((name) => name === argv[0]);
      if (group) {
        const subcommands = COMMANDS.filter((command) => command.name.startsWith(`${group} `));
        const list = subcommands.map((command) => `  offload ${command.name} ${command.positionals.names}`.trimEnd() + `\n      ${command.summary}`).join('\n');
        if (argv[1] === '--help' || argv[1] === '-h') {
          out.line(`Usage:\n${list}`);
          return ExitCode.ok;
        }
        throw new UsageError(`${argv[1] ? `Unknown command "${group} ${argv[1]}"` : `"${group}" needs a subcommand`}. Use one of:\n${list}`);
      }
      throw new UsageError(`Unknown command "${argv[0]}". Run \`offload --help\` for the list.`);
    }
    const { command, rest } = found;
    let parsed: ReturnType<typeof parseArgs>;
    try {
      parsed = parseArgs({ args: rest, options: { ...GLOBAL_OPTIONS, ...command.options }, allowPositionals: true, strict: true });
    } catch (error) {
      throw new UsageError(`${(error as Error).message.split('\n')[0]}\nRun \`offload ${command.name} --help\`.`, { cause: error });
    }
    const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
    if (values.help) {
      out.line(`${command.help}\n\n${GLOBAL_HELP}`);
      return ExitCode.ok;
    }
    const { positionals } = parsed;
    if (positionals.length < command.positionals.min || positionals.length > command.positionals.max) {
      throw new UsageError(`Usage: offload ${command.name} ${command.positionals.names}`.trimEnd() + `\nRun \`offload ${command.name} --help\`.`);
    }
    return await command.run({ values, positionals, out, signal: controller.signal, ...connection(values) });
  } catch (error) {
    if (controller.signal.aborted) return ExitCode.interrupted;
    const code = exitCodeOf(error);
    if (json) process.stderr.write(JSON.stringify({ error: describe(error), exitCode: code }) + '\n');
    else process.stderr.write(`offload: ${(error as Error)?.message ?? String(error)}\n`);
    return code;
  } finally {
    process.off('SIGINT', onSignal);
  }
};
