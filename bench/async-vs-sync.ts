// 1. Async versus sync, the headline table. For each number of concurrent client sessions, the same
// sessions (same task, same arrival schedule) against Offload's local runtime and against the
// synchronous baseline. Offload sessions: open a WebSocket, submit over HTTP, subscribe, stream
// to the terminal status, all connections held open until the level ends. Baseline sessions: one
// streamed HTTP request each, to a server that runs the work inline with a bounded pool.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { BENCH_DIR, PROJECT_DIR, coldStartsByFunction, cpuBreakdown, diffTotals, functionTotals, processLoad, runLoad, settle, startBenchRuntime, type BenchContext, type BenchRuntime } from './harness.ts';
import type { SessionsResult, TaskInput } from './load-client.ts';
import { diffCounts } from './stats.ts';

/** One row of the headline table (the required keys first). */
export interface AsyncVsSyncRow {
  readonly architecture: 'offload' | 'sync';
  readonly sessions: number;
  readonly held: number;
  readonly errors: number;
  readonly ackP50Ms: number | null;
  readonly ackP99Ms: number | null;
  readonly firstProgressP50Ms: number | null;
  readonly firstProgressP99Ms: number | null;
  readonly deliveryP99Ms: number | null;
  readonly failureMode: string;
  readonly errorsByKind: Record<string, number>;
  readonly detail: Record<string, unknown>;
}

export interface AsyncVsSyncConfig {
  readonly levels: readonly number[];
  readonly input: TaskInput;
  readonly connectRate: number;
  readonly submitRate: number;
  readonly sessionsPerTenant: number;
  readonly syncPool: number;
  readonly syncQueue: number;
  readonly syncIdleTimeoutMs: number;
  readonly deliverySample: number;
  /** Level time budget: base + per-session allowance, capped. */
  readonly deadlineBaseMs: number;
  readonly deadlinePerSessionMs: number;
  readonly deadlineCapMs: number;
  /** Offload clients keep at most this many handshakes and submits in flight (closed-loop cap). */
  readonly maxInflight: number;
  readonly warmupSessions: number;
  /** Warm-up sessions at the level's client concurrency, in multiples of maxInflight. */
  readonly warmupRounds: number;
}

export const asyncVsSyncConfig = (quick: boolean): AsyncVsSyncConfig => ({
  levels: quick ? [8] : [100, 1_000, 5_000, 10_000],
  // The default simulated model (~40 tokens/s): a short real-paced answer of ~1 s.
  input: { prompt: 'Summarize why acknowledging fast matters.', maxTokens: 40, model: 'sim-1' },
  connectRate: 400,
  submitRate: 400,
  sessionsPerTenant: 50,
  // Tomcat's defaults (maxThreads 200, acceptCount 100); scaled down with the quick sizes.
  syncPool: quick ? 4 : 200,
  syncQueue: quick ? 2 : 100,
  syncIdleTimeoutMs: 30_000,
  deliverySample: quick ? 100 : 500,
  deadlineBaseMs: quick ? 10_000 : 60_000,
  deadlinePerSessionMs: quick ? 300 : 200,
  deadlineCapMs: quick ? 15_000 : 200_000,
  maxInflight: 16,
  warmupSessions: quick ? 4 : 30,
  warmupRounds: quick ? 1 : 3,
});

/**
 * AWS API calls and Lambda invocations per session of a level, from the runtime's counters
 * (`runtime.counter`: every DynamoDB call, the event source mappings' SQS receives and deletes, the
 * rules' SQS sends and Lambda invokes, PutEvents, @connections, Secrets Manager, KMS) and its function
 * invocations, between the level's start and the moment its sessions were done and closed and the
 * runtime went quiet (so `$disconnect` and the lifecycle-event consumers count), before the
 * measurement's own reads (the delivery sample). Not counted by the runtime: SQS calls a function
 * makes itself (e.g. ChangeMessageVisibility), S3 and Bedrock.
 */
export interface CallsPerSession {
  /** Offload level the counts come from, and how many of its sessions finished. */
  readonly level: number;
  readonly held: number;
  /** AWS API calls per session: every counted call except Lambda invocations and empty local polls. */
  readonly aws: number;
  /**
   * Lambda invocations per session (every function, authorizers included), except functions run by
   * a schedule (a fixed cost per minute, not per session: in `scheduledInvocationsPerSession`; their
   * AWS calls, few, stay in `aws`).
   */
  readonly lambda: number;
  readonly scheduledInvocationsPerSession: number;
  /**
   * Per session by `service:Operation`, `sqs:ReceiveMessage` as AWS counts it for the work: one
   * receive per batch delivered (= the batches deleted); and `lambda:<Function>` per function.
   */
  readonly byOperation: Record<string, number>;
  /**
   * Empty ReceiveMessage polls of the local event source mappings, per session: an emulator
   * artefact (fauxqs wakes every waiting long poll for each message), not in `aws`.
   */
  readonly localEmptyReceivesPerSession: number;
  /** Every local ReceiveMessage per session, empty ones included. */
  readonly localReceivesPerSession: number;
  /** Whether the runtime went quiet before the count (false: the tail may be cut short). */
  readonly settled: boolean;
}

const perSession = (value: number, sessions: number): number => Math.round((value / Math.max(1, sessions)) * 100) / 100;

/** Functions a scheduled EventBridge rule invokes (logical ids). */
const scheduledFunctions = (bench: BenchRuntime): Set<string> => {
  const ids = new Set<string>();
  for (const [, rule] of bench.runtime.template.ofType('AWS::Events::Rule')) {
    if (!rule.Properties?.ScheduleExpression) continue;
    for (const target of (rule.Properties.Targets as { Arn?: { 'Fn::GetAtt'?: [string, string] } }[] | undefined) ?? []) {
      const id = target.Arn?.['Fn::GetAtt']?.[0];
      if (id) ids.add(id);
    }
  }
  return ids;
};

const callsPerSession = (sessions: number, held: number, calls: Record<string, number>, invocations: Record<string, number>, scheduled: ReadonlySet<string>, settled: boolean): CallsPerSession => {
  const batches = calls['sqs:DeleteMessageBatch'] ?? 0;
  const receives = calls['sqs:ReceiveMessage'] ?? 0;
  const aws: Record<string, number> = {};
  for (const [key, value] of Object.entries(calls)) {
    if (key.startsWith('lambda:')) continue; // invocations, counted below per function
    aws[key] = key === 'sqs:ReceiveMessage' ? Math.min(receives, batches) : value;
  }
  const byFunction = Object.fromEntries(
    Object.entries(invocations)
      .filter(([, value]) => value > 0)
      .map(([id, value]) => [`lambda:${id.replace(/[0-9A-F]{8}$/, '')}${scheduled.has(id) ? ' (schedule)' : ''}`, perSession(value, sessions)]),
  );
  const total = (record: Record<string, number>) => Object.values(record).reduce((sum, value) => sum + value, 0);
  const perSessionInvocations = Object.fromEntries(Object.entries(invocations).filter(([id]) => !scheduled.has(id)));
  const scheduledInvocations = Object.fromEntries(Object.entries(invocations).filter(([id]) => scheduled.has(id)));
  return {
    level: sessions,
    held,
    aws: perSession(total(aws), sessions),
    lambda: perSession(total(perSessionInvocations), sessions),
    scheduledInvocationsPerSession: perSession(total(scheduledInvocations), sessions),
    byOperation: { ...Object.fromEntries(Object.entries(aws).filter(([, value]) => value > 0).map(([key, value]) => [key, perSession(value, sessions)])), ...byFunction },
    localEmptyReceivesPerSession: perSession(Math.max(0, receives - batches), sessions),
    localReceivesPerSession: perSession(receives, sessions),
    settled,
  };
};

const invocationCounts = (bench: BenchRuntime): Record<string, number> => Object.fromEntries([...bench.invokes].map(([id, record]) => [id, record.invocations]));

const levelDeadline = (config: AsyncVsSyncConfig, sessions: number): number => Math.min(config.deadlineCapMs, config.deadlineBaseMs + sessions * config.deadlinePerSessionMs);

const describeFailure = (architecture: 'offload' | 'sync', result: SessionsResult, config: AsyncVsSyncConfig): string => {
  if (result.errors === 0) return 'none';
  const [kind, count] = Object.entries(result.errorsByKind).sort((a, b) => b[1] - a[1])[0]!;
  const share = `${count} of ${result.sessions}`;
  if (architecture === 'sync') {
    if (kind === 'http-503') return `${share} refused with 503: pool of ${config.syncPool} busy and wait queue of ${config.syncQueue} full`;
    if (kind.startsWith('timeout-first-byte')) return `${share} got no first byte within ${config.syncIdleTimeoutMs / 1000}s (queued behind the pool)`;
    if (kind.startsWith('connection-')) return `${share} connections failed (${kind.slice(11)})`;
    return `${share} ${kind}`;
  }
  if (kind === 'unfinished-at-deadline') return `${share} acked and connected but not finished within the level's time budget (work still queued)`;
  if (kind === 'no-ack-at-deadline') return `${share} not yet acknowledged when the level's time budget ran out (the local runtime admits sessions slower than they arrive)`;
  if (kind === 'not-connected-in-time') return `${share} could not open their WebSocket within the connection budget (60% of the level's; the local runtime connects sessions slower than they arrive)`;
  if (kind.startsWith('connect-http-')) return `${share} WebSocket handshakes refused with ${kind.slice(13)}`;
  if (kind.startsWith('connect-')) return `${share} WebSocket handshakes failed (${kind.slice(8)})`;
  if (kind === 'submit-not-attempted')
    return `${share} connected sessions were not yet submitted when the level's time budget ran out (the client keeps ${config.maxInflight} submits in flight and each takes seconds on the saturated local runtime)`;
  if (kind.startsWith('submit-')) return `${share} submits failed (${kind.slice(7)})`;
  return `${share} ${kind}`;
};

/** Recomputes a stored row's failure mode (used when re-rendering a results file). */
export const refreshFailureMode = (row: AsyncVsSyncRow, config: AsyncVsSyncConfig): string => {
  if (row.errorsByKind['level-failed']) return row.failureMode;
  const detail = row.detail as { connected?: number; acked?: number };
  return failureMode(row.architecture, { sessions: row.sessions, errors: row.errors, errorsByKind: row.errorsByKind, connected: detail.connected ?? 0, acked: detail.acked ?? 0, held: row.held } as SessionsResult, config);
};

const failureMode = (architecture: 'offload' | 'sync', result: SessionsResult, config: AsyncVsSyncConfig): string => {
  const main = describeFailure(architecture, result, config);
  if (result.errors === 0) return main;
  const counts = architecture === 'offload' ? `; ${result.connected} connected, ${result.acked} acknowledged, ${result.held} finished` : '';
  return `${main}${counts}`;
};

const row = (architecture: 'offload' | 'sync', result: SessionsResult, config: AsyncVsSyncConfig, detail: Record<string, unknown>): AsyncVsSyncRow => ({
  architecture,
  sessions: result.sessions,
  held: result.held,
  errors: result.errors,
  ackP50Ms: result.ack.p50,
  ackP99Ms: result.ack.p99,
  firstProgressP50Ms: result.firstProgress.p50,
  firstProgressP99Ms: result.firstProgress.p99,
  deliveryP99Ms: result.delivery.p99,
  failureMode: failureMode(architecture, result, config),
  errorsByKind: result.errorsByKind,
  detail: {
    connected: result.connected,
    acked: result.acked,
    retries: result.retries,
    ack: result.ack,
    firstProgress: result.firstProgress,
    completion: result.completion,
    delivery: result.delivery,
    connectMs: result.connectMs,
    submitMs: result.submitMs,
    totalMs: result.totalMs,
    clientCpuPct: result.clientCpuPct,
    clientEventLoopP99Ms: result.clientEventLoopP99Ms,
    ...detail,
  },
});

const runOffloadLevel = async (context: BenchContext, config: AsyncVsSyncConfig, sessions: number): Promise<AsyncVsSyncRow> => {
  const bench = await startBenchRuntime(context);
  try {
    const { runtime } = bench;
    const keys = await bench.tenants(Math.ceil(sessions / config.sessionsPerTenant) + 2);
    const base = { kind: 'offload-sessions' as const, httpUrl: runtime.endpoints.httpApi, wsUrl: runtime.endpoints.webSocketApi, connectRate: config.connectRate, maxHandshakes: config.maxInflight, submitRate: config.submitRate, maxInflightSubmits: config.maxInflight, input: config.input };
    // Warm-up (not measured), gently so that a few execution environments per function come up
    // without a cold-start storm, as steady traffic would leave them.
    await runLoad<SessionsResult>({ ...base, connectRate: 10, submitRate: 10, maxHandshakes: 4, maxInflightSubmits: 4, keys: keys.slice(-2), sessions: config.warmupSessions, deadlineMs: 40_000, deliverySample: 0 }, 100_000).catch((error: unknown) =>
      context.log(`  warm-up failed: ${(error as Error).message}`),
    );
    // Then at the level's own client concurrency, so each front-door function has as many warm
    // environments as the level keeps requests in flight: the level measures steady state, and
    // cold starts are measured on their own (section 4).
    await runLoad<SessionsResult>({ ...base, keys: keys.slice(-2), sessions: config.maxInflight * config.warmupRounds, deadlineMs: 60_000, deliverySample: 0 }, 120_000).catch((error: unknown) =>
      context.log(`  warm-up at full concurrency failed: ${(error as Error).message}`),
    );
    // The warm-up's tail ($disconnect, lifecycle events) must not land in the level's counts.
    await settle(bench, 1_500, 15_000);
    const counterBefore = runtime.counter.snapshot();
    const invokesBefore = invocationCounts(bench);
    const totalsBefore = functionTotals(runtime);
    const coldBefore = coldStartsByFunction(runtime);
    let maxConnections = 0;
    const sampler = setInterval(() => (maxConnections = Math.max(maxConnections, runtime.webSocket.connectionCount)), 250);
    const load = processLoad();
    const cpu = cpuBreakdown(runtime);
    let cpuPerSession: ReturnType<ReturnType<typeof cpuBreakdown>['stop']> | undefined;
    const deadlineMs = levelDeadline(config, sessions);
    let counted: { calls: Record<string, number>; invocations: Record<string, number>; settled: boolean } | undefined;
    let runtimeLoad: ReturnType<ReturnType<typeof processLoad>['stop']> | undefined;
    // At the checkpoint the sessions are done and closed: count once the tail settled, before the
    // delivery-sample reads.
    const onStreamed = async (): Promise<void> => {
      runtimeLoad = load.stop();
      cpuPerSession = cpu.stop(sessions);
      const settled = await settle(bench, 1_500, context.quick ? 8_000 : 20_000);
      counted = { calls: diffCounts(counterBefore, runtime.counter.snapshot()), invocations: diffCounts(invokesBefore, invocationCounts(bench)), settled };
    };
    const result = await runLoad<SessionsResult>({ ...base, keys: keys.slice(0, -2), sessions, deadlineMs, deliverySample: config.deliverySample, checkpoint: true }, deadlineMs + 180_000, onStreamed);
    runtimeLoad ??= load.stop();
    cpuPerSession ??= cpu.stop(sessions);
    clearInterval(sampler);
    counted ??= { calls: diffCounts(counterBefore, runtime.counter.snapshot()), invocations: diffCounts(invokesBefore, invocationCounts(bench)), settled: false };
    const { calls } = counted;
    return row('offload', result, config, {
      deadlineMs,
      maxOpenWebSockets: maxConnections,
      /** The runtime's CPU per session of the level (started or not), by thread. */
      cpuPerSession,
      runtime: {
        ...runtimeLoad,
        functions: diffTotals(totalsBefore, functionTotals(runtime)),
        coldStartsDuringLevel: Object.fromEntries(
          Object.entries(coldStartsByFunction(runtime))
            .map(([id, count]) => [id, count - (coldBefore[id] ?? 0)] as const)
            .filter(([, count]) => count > 0),
        ),
      },
      awsCallsPerSession: Object.fromEntries(Object.entries(calls).map(([key, value]) => [key, Math.round((value / sessions) * 10) / 10])),
      callsPerSession: callsPerSession(sessions, result.held, calls, counted.invocations, scheduledFunctions(bench), counted.settled),
    });
  } finally {
    await bench.stop();
  }
};

const startSyncProcess = (config: AsyncVsSyncConfig): Promise<{ url: string; stop(): void }> =>
  new Promise((resolve, reject) => {
    // Under tsx: the task code it runs inline uses TypeScript beyond what type stripping accepts.
    const child = spawn(process.execPath, ['--no-warnings', '--import', 'tsx', path.join(BENCH_DIR, 'sync-baseline.ts'), '--pool', String(config.syncPool), '--queue', String(config.syncQueue)], {
      cwd: PROJECT_DIR,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('sync baseline did not start'));
    }, 30_000);
    createInterface({ input: child.stdout }).once('line', (line) => {
      clearTimeout(timer);
      const { port } = JSON.parse(line) as { port: number };
      resolve({ url: `http://127.0.0.1:${port}`, stop: () => void child.kill('SIGTERM') });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sync baseline exited with ${code}: ${stderr.slice(-2000)}`));
    });
  });

const runSyncLevel = async (config: AsyncVsSyncConfig, sessions: number): Promise<AsyncVsSyncRow> => {
  const server = await startSyncProcess(config);
  try {
    const base = { kind: 'sync-sessions' as const, url: server.url, submitRate: config.submitRate, input: config.input, idleTimeoutMs: config.syncIdleTimeoutMs };
    if (sessions > config.syncPool) await runLoad<SessionsResult>({ ...base, sessions: Math.min(config.warmupSessions, config.syncPool), deadlineMs: 30_000 }, 60_000);
    const deadlineMs = levelDeadline(config, sessions);
    const result = await runLoad<SessionsResult>({ ...base, sessions, deadlineMs }, deadlineMs + 120_000);
    const stats = (await (await fetch(`${server.url}/stats`)).json()) as Record<string, number>;
    return row('sync', result, config, { deadlineMs, pool: config.syncPool, queue: config.syncQueue, idleTimeoutMs: config.syncIdleTimeoutMs, server: stats });
  } finally {
    server.stop();
  }
};

/** Runs every level (or only `levels`) for both architectures, smallest first. */
export const runAsyncVsSync = async (context: BenchContext, levels?: readonly number[]): Promise<{ config: AsyncVsSyncConfig; rows: AsyncVsSyncRow[] }> => {
  const config = asyncVsSyncConfig(context.quick);
  const rows: AsyncVsSyncRow[] = [];
  for (const sessions of levels ?? config.levels) {
    for (const architecture of ['sync', 'offload'] as const) {
      const started = Date.now();
      try {
        const result = architecture === 'sync' ? await runSyncLevel(config, sessions) : await runOffloadLevel(context, config, sessions);
        rows.push(result);
        context.log(
          `  ${architecture.padEnd(7)} ${String(sessions).padStart(6)} sessions: held ${result.held}, errors ${result.errors}, ack p50/p99 ${result.ackP50Ms}/${result.ackP99Ms} ms, first progress p50/p99 ${result.firstProgressP50Ms}/${result.firstProgressP99Ms} ms, delivery p99 ${result.deliveryP99Ms} ms (${Math.round((Date.now() - started) / 1000)} s)`,
        );
      } catch (error) {
        context.log(`  ${architecture} ${sessions} sessions: level failed: ${(error as Error).message}`);
        rows.push({
          architecture,
          sessions,
          held: 0,
          errors: sessions,
          ackP50Ms: null,
          ackP99Ms: null,
          firstProgressP50Ms: null,
          firstProgressP99Ms: null,
          deliveryP99Ms: null,
          failureMode: `level did not complete: ${(error as Error).message.slice(0, 200)}`,
          errorsByKind: { 'level-failed': sessions },
          detail: {},
        });
      }
    }
  }
  return { config, rows };
};
