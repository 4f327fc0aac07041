import { createWriteStream, readFileSync, renameSync, rmSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TaskStatus, type Task, type TaskSummary, type OffloadTaskTypes } from '../../sdk/index.ts';
import type { Command, CommandContext } from '../command.ts';
import { CliError, UsageError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import { renderWatch } from '../stream.ts';

const MAX_INPUT_BYTES = 128 * 1024;

/** Parses `--input`: inline JSON, `@file`, or `@-` for stdin. */
const readInput = (raw: string): unknown => {
  let text = raw;
  if (raw.startsWith('@')) {
    const file = raw.slice(1);
    try {
      text = readFileSync(file === '-' ? 0 : file, 'utf8');
    } catch (error) {
      throw new UsageError(`Cannot read --input ${raw}: ${(error as Error).message}`);
    }
  }
  if (Buffer.byteLength(text) > MAX_INPUT_BYTES) throw new UsageError(`--input must not exceed ${MAX_INPUT_BYTES} bytes.`);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`--input is not valid JSON: ${(error as Error).message}`);
  }
};

const nonNegativeInt = (name: string, raw: unknown, fallback: number, max: number): number => {
  if (raw === undefined) return fallback;
  if (typeof raw !== 'string' || !/^\d{1,10}$/.test(raw) || Number(raw) > max) throw new UsageError(`--${name} must be an integer from 0 to ${max}.`);
  return Number(raw);
};

type AnyTask = Task<OffloadTaskTypes> | TaskSummary<OffloadTaskTypes>;

/** Human rendering of one task. */
const printTask = (context: CommandContext, task: AnyTask): void => {
  const { out } = context;
  const rows: [string, string | undefined][] = [
    ['task', task.taskId],
    ['type', task.type],
    ['status', task.status],
    ['session', task.sessionId],
    ['progress', `seq ${task.progress.seq}`],
    ['attempts', String(task.attempts)],
    ['created', task.createdAt],
    ['started', task.startedAt],
    ['finished', task.finishedAt],
    ['error', task.error ? `${task.error.code}: ${task.error.message}` : undefined],
  ];
  for (const [name, value] of rows) if (value !== undefined) out.line(`${name.padEnd(9)} ${value}`);
  if ('result' in task && task.result !== undefined) {
    const result = task.result as { text?: unknown };
    if (typeof result.text === 'string') {
      const { text, ...rest } = result;
      out.line(`result    ${JSON.stringify(rest)}`);
      out.line('');
      out.line(text);
    } else out.line(`result    ${JSON.stringify(task.result)}`);
  }
};

export const submit: Command = {
  name: 'submit',
  summary: 'submit a task (optionally watch it stream)',
  help: `Usage: offload submit <type> --input <json|@file|@-> [--session <id>] [--idempotency-key <key>] [--watch]

Submits a task and prints it (queued). With --watch, streams its progress until it ends: text
(completion) is printed live as it arrives, numeric progress as a progress bar; the exit code is
then 0 if it succeeded and 1 if it failed or was cancelled.

  --input <json|@file|@->   the task input: inline JSON, a file, or stdin
  --session <id>            tasks of one session run one at a time, in submit order
  --idempotency-key <key>   makes the submit safe to retry (same key + same body: the same task)
  --watch                   stream the task's progress, then its final status`,
  options: { input: { type: 'string' }, session: { type: 'string' }, 'idempotency-key': { type: 'string' }, watch: { type: 'boolean', default: false } },
  positionals: { min: 1, max: 1, names: '<type>' },
  run: async (context) => {
    const { values, positionals, out } = context;
    if (typeof values.input !== 'string') throw new UsageError('--input is required (inline JSON, @file or @-).');
    const input = readInput(values.input);
    const client = context.client();
    const task = await client.submit(positionals[0] as 'completion', input as OffloadTaskTypes['completion']['input'], {
      ...(typeof values.session === 'string' ? { sessionId: values.session } : {}),
      ...(typeof values['idempotency-key'] === 'string' ? { idempotencyKey: values['idempotency-key'] } : {}),
      signal: context.signal,
    });
    if (out.json) out.document({ kind: 'submitted', task });
    else if (values.watch) out.note(`${task.taskId} ${task.status}${task.replayed ? ' (replayed)' : ''}`);
    else {
      out.line(task.taskId);
      out.note(`${task.status}${task.replayed ? ' (replayed: this Idempotency-Key was used before)' : ''}; follow it with: offload watch ${task.taskId}`);
    }
    if (!values.watch) return ExitCode.ok;
    return renderWatch(out, client.watch(task.taskId, { signal: context.signal }), task.taskId, context.signal);
  },
};

export const watch: Command = {
  name: 'watch',
  summary: 'stream a task\u2019s progress until it ends',
  help: `Usage: offload watch <task id> [--after <seq>]

Streams the task's progress entries (each once, in order, resuming across disconnects), then its
final status. Exit code 0 if it succeeded, 1 if it failed or was cancelled.

  --after <seq>   only entries after this sequence number (resume point; default 0)`,
  options: { after: { type: 'string' } },
  positionals: { min: 1, max: 1, names: '<task id>' },
  run: async (context) => {
    const taskId = context.positionals[0]!;
    const after = nonNegativeInt('after', context.values.after, 0, 10_000_000);
    return renderWatch(context.out, context.client().watch(taskId, { after, signal: context.signal }), taskId, context.signal);
  },
};

export const get: Command = {
  name: 'get',
  summary: 'print a task (status, progress, result)',
  help: 'Usage: offload get <task id>',
  options: {},
  positionals: { min: 1, max: 1, names: '<task id>' },
  run: async (context) => {
    const task = await context.client().get(context.positionals[0]!, { signal: context.signal });
    if (context.out.json) context.out.document(task);
    else printTask(context, task);
    return ExitCode.ok;
  },
};

const STATUSES = Object.values(TaskStatus) as string[];

export const ls: Command = {
  name: 'ls',
  summary: 'list tasks, newest first',
  help: `Usage: offload ls [--status <status>] [--limit <n>] [--cursor <cursor>] [--all]

  --status <status>   only tasks in this status: ${STATUSES.join(', ')}
  --limit <n>         at most n tasks (1-100; default 20); with --all, the page size
  --cursor <cursor>   continue after a previous page (its nextCursor)
  --all               every task, fetching page after page`,
  options: { status: { type: 'string' }, limit: { type: 'string' }, cursor: { type: 'string' }, all: { type: 'boolean', default: false } },
  positionals: { min: 0, max: 0, names: '' },
  run: async (context) => {
    const { values, out } = context;
    const status = values.status as string | undefined;
    if (status !== undefined && !STATUSES.includes(status)) throw new UsageError(`--status must be one of ${STATUSES.join(', ')}.`);
    const limit = nonNegativeInt('limit', values.limit, 20, 100);
    if (limit < 1) throw new UsageError('--limit must be at least 1.');
    const client = context.client();
    const query = { ...(status ? { status: status as TaskStatus } : {}), limit, signal: context.signal };
    let items: TaskSummary<OffloadTaskTypes>[];
    let nextCursor: string | undefined;
    if (values.all) {
      items = [];
      for await (const task of client.listAll(query)) items.push(task);
    } else {
      const page = await client.list({ ...query, ...(typeof values.cursor === 'string' ? { cursor: values.cursor } : {}) });
      items = [...page.items];
      nextCursor = page.nextCursor;
    }
    if (out.json) {
      out.document({ items, ...(nextCursor ? { nextCursor } : {}) });
      return ExitCode.ok;
    }
    out.table(
      ['TASK', 'TYPE', 'STATUS', 'SEQ', 'CREATED'],
      items.map((task) => [task.taskId, task.type, task.status, String(task.progress.seq), task.createdAt]),
    );
    if (nextCursor) out.note(`more: offload ls --cursor ${nextCursor}${status ? ` --status ${status}` : ''}`);
    return ExitCode.ok;
  },
};

export const cancel: Command = {
  name: 'cancel',
  summary: 'cancel a task',
  help: `Usage: offload cancel <task id>

Cooperative cancel: a queued task never starts, a running one stops at its next progress write.
Cancelling a finished task is refused (exit 3).`,
  options: {},
  positionals: { min: 1, max: 1, names: '<task id>' },
  run: async (context) => {
    const task = await context.client().cancel(context.positionals[0]!, { signal: context.signal });
    if (context.out.json) context.out.document(task);
    else context.out.line(`${task.taskId} ${task.status}`);
    return ExitCode.ok;
  },
};

export const token: Command = {
  name: 'token',
  summary: 'mint a short-lived client token (for browsers)',
  help: `Usage: offload token [--task <id>]... [--ttl <seconds>]

Prints a client token for browsers and the WebSocket API, scoped to the tenant and, with --task,
to those tasks only.

  --task <id>       limit the token to this task (repeatable, up to 50)
  --ttl <seconds>   lifetime, 60-86400 (default 900)`,
  options: { task: { type: 'string', multiple: true }, ttl: { type: 'string' } },
  positionals: { min: 0, max: 0, names: '' },
  run: async (context) => {
    const { values, out } = context;
    const taskIds = values.task as string[] | undefined;
    const ttl = values.ttl === undefined ? undefined : nonNegativeInt('ttl', values.ttl, 0, 86_400);
    const minted = await context.client().createClientToken({ ...(taskIds?.length ? { taskIds } : {}), ...(ttl !== undefined ? { ttlSeconds: ttl } : {}), signal: context.signal });
    if (out.json) out.document(minted);
    else {
      out.line(minted.token);
      out.note(`expires ${minted.expiresAt}`);
    }
    return ExitCode.ok;
  },
};

/** Fetches a presigned export URL (no credential: the URL is one), failing with the exit code that fits. */
const fetchExport = async (url: string, signal: AbortSignal): Promise<Readable> => {
  let response: Response;
  try {
    response = await fetch(url, { signal });
  } catch (error) {
    if (signal.aborted) throw error;
    throw new CliError(`Cannot fetch the export: ${(error as Error).message}`, ExitCode.unreachable, { cause: error });
  }
  if (response.status === 404) throw new CliError('The export\u2019s file is gone: exports expire after the bucket\u2019s retention (30 days by default). Submit a new tasks.export.', ExitCode.notFound);
  if (!response.ok || !response.body) throw new CliError(`Fetching the export answered ${response.status}.`, ExitCode.api);
  return Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
};

export const download: Command = {
  name: 'download',
  summary: 'download a finished export (tasks.export) as NDJSON',
  help: `Usage: offload download <task id> [--output <file>] [--url-only]

Downloads the NDJSON of a tasks.export task that succeeded (one task per line, newest first):
to stdout, or to a file with --output. The API hands out a presigned URL valid for a few minutes;
the file itself is fetched from it with no credential. A task of another type is not found (exit
4); an export still running, failed or cancelled is refused (exit 3).

  --output <file>   write the NDJSON to this file (replaced only once the download completed)
  --url-only        print the presigned URL (and, on stderr, when it expires) instead of downloading`,
  options: { output: { type: 'string', short: 'o' }, 'url-only': { type: 'boolean', default: false } },
  positionals: { min: 1, max: 1, names: '<task id>' },
  run: async (context) => {
    const { values, out, signal } = context;
    const taskId = context.positionals[0]!;
    const output = values.output;
    if (output !== undefined && (typeof output !== 'string' || output === '')) throw new UsageError('--output needs a file name.');
    if (values['url-only'] && output !== undefined) throw new UsageError('--url-only and --output exclude each other.');
    const link = await context.client().download(taskId, { signal });
    if (values['url-only']) {
      if (out.json) out.document(link);
      else {
        out.line(link.url);
        out.note(`expires ${link.expiresAt}`);
      }
      return ExitCode.ok;
    }
    const body = await fetchExport(link.url, signal);
    if (output === undefined) {
      for await (const text of body.setEncoding('utf8')) out.write(text as string);
      return ExitCode.ok;
    }
    // Written beside the target and renamed at the end, so a failed download never leaves half a file under its name.
    const partial = `${output}.part`;
    let bytes = 0;
    try {
      body.on('data', (chunk: Buffer) => (bytes += chunk.length));
      await pipeline(body, createWriteStream(partial), { signal });
      renameSync(partial, output);
    } catch (error) {
      rmSync(partial, { force: true });
      if (signal.aborted) throw error;
      throw new CliError(`Cannot write ${output}: ${(error as Error).message}`, ExitCode.api, { cause: error });
    }
    if (out.json) out.document({ taskId, file: output, bytes });
    else out.note(`${taskId}: ${bytes} bytes written to ${output}`);
    return ExitCode.ok;
  },
};
