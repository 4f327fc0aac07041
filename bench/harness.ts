// Shared plumbing of the benchmark sections: the machine description, one synth per run, fresh
// local runtimes on free loopback ports, tenants, per-function invocation timing, the load-client
// child process, and process load sampling.
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { fork, execFileSync } from 'node:child_process';
import type { IncomingMessage } from 'node:http';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createTenant } from '../lambdas/core/auth.ts';
import { DynamoTenantStore } from '../lambdas/store/tenant-store.ts';
import { startRuntime, type Runtime, type RuntimeOptions } from '../local/runtime.ts';
import { synthesizeInChild } from '../local/synth-child.ts';
import type { LoadCommand } from './load-client.ts';

export const BENCH_DIR = import.meta.dirname;
export const PROJECT_DIR = path.resolve(BENCH_DIR, '..');

/** Options every section receives. */
export interface BenchContext {
  readonly quick: boolean;
  /** Synthesized cloud assembly shared by every runtime of this run. */
  readonly cdkOut: string;
  /** Scratch directory of this run (removed at the end). */
  readonly workDir: string;
  readonly log: (line: string) => void;
  /**
   * Runtime options of every local runtime of this run (`--runtime name=value,…`), for switches
   * such as warm execution environments or the in-process transport. @default none
   */
  readonly runtimeOptions?: Partial<RuntimeOptions>;
}

/** What `bench/results/*.json` records about the machine. */
export const machineInfo = (): Record<string, unknown> => {
  const cpus = os.cpus();
  const limits = (() => {
    try {
      const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
      const [soft, hard] = line?.replace('Max open files', '').trim().split(/\s+/) ?? [];
      return { soft: Number(soft), hard: Number(hard) };
    } catch {
      return undefined;
    }
  })();
  let kernel = os.release();
  try {
    kernel = execFileSync('uname', ['-sr'], { encoding: 'utf8' }).trim();
  } catch {
    // keep os.release()
  }
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpus: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.platform()} ${os.arch()}`,
    kernel,
    node: process.version,
    openFilesLimit: limits,
    loadAverageAtStart: os.loadavg().map((value) => Math.round(value * 100) / 100),
  };
};

const SYNTH_INPUTS = ['bin', 'lib', 'lambdas', 'cdk.json', 'package-lock.json', 'tsconfig.json'];

/** Hash of every file the synthesized assembly depends on. */
const synthFingerprint = (): string => {
  const hash = createHash('sha256');
  const visit = (relative: string): void => {
    const full = path.join(PROJECT_DIR, relative);
    if (!existsSync(full)) return;
    if (statSync(full).isDirectory()) {
      for (const entry of readdirSync(full).sort()) if (entry !== 'node_modules') visit(path.join(relative, entry));
      return;
    }
    hash.update(relative).update('\0').update(readFileSync(full)).update('\0');
  };
  for (const input of SYNTH_INPUTS) visit(input);
  return hash.digest('hex');
};

/**
 * Synthesizes the stack once per run, reusing bench/.cache/cdk.out when no input of the synth
 * (bin, lib, lambdas, lockfile, config) changed since it was made.
 */
export const synthOnce = async (): Promise<{ cdkOut: string; cached: boolean }> => {
  const cacheDir = path.join(BENCH_DIR, '.cache');
  const cdkOut = path.join(cacheDir, 'cdk.out');
  const stamp = path.join(cacheDir, 'fingerprint');
  const fingerprint = synthFingerprint();
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === fingerprint && existsSync(path.join(cdkOut, 'manifest.json'))) return { cdkOut, cached: true };
  mkdirSync(cacheDir, { recursive: true });
  rmSync(cdkOut, { recursive: true, force: true });
  rmSync(stamp, { force: true });
  await synthesizeInChild(cdkOut);
  // The inputs may have changed while synthesizing; the next run then synthesizes again.
  writeFileSync(stamp, fingerprint);
  return { cdkOut, cached: false };
};

/** Wall time and invocation counts per function, recorded by wrapping `LocalFunction.invoke`. */
export interface InvokeRecord {
  invocations: number;
  totalMs: number;
  /** Completion times (epoch ms) of successful invocations, when tracking is on. */
  completions: number[];
}

/** A fresh local runtime for one measurement. */
export interface BenchRuntime {
  readonly runtime: Runtime;
  readonly tasksTable: string;
  /** Per function logical id. */
  readonly invokes: Map<string, InvokeRecord>;
  /**
   * Items of DynamoDB transactions so far (`TransactItems` of TransactWriteItems and
   * TransactGetItems requests): AWS bills each transactional item as two request units.
   */
  readonly transactItems: { write: number; read: number };
  /** Creates `count` tenants and returns their API keys. */
  tenants(count: number): Promise<string[]>;
  /** Resets invocation records. */
  resetInvokes(): void;
  /** Logical id of the first function whose id starts with `prefix`. */
  functionId(prefix: string): string;
  stop(): Promise<void>;
}

export const startBenchRuntime = async (context: BenchContext, options: Partial<RuntimeOptions> = {}): Promise<BenchRuntime> => {
  const dir = mkdtempSync(path.join(context.workDir, 'runtime-'));
  // The bench measures capacity, so the per-tenant request-rate limit (50/s by default, a policy,
  // not a capacity limit) is lifted, as the e2e harness does; the bench's own options still win.
  const runtime = await startRuntime({
    dir,
    ports: 'dynamic',
    logs: 'file',
    fresh: true,
    cdkOut: context.cdkOut,
    ...context.runtimeOptions,
    ...options,
    functionEnvironment: { TENANT_RATE_LIMIT: '100000', TENANT_BURST_LIMIT: '100000', ...context.runtimeOptions?.functionEnvironment, ...options.functionEnvironment },
  });
  const tasksTable = runtime.template.resolveString(
    { Ref: runtime.template.ofType('AWS::DynamoDB::Table').find(([id]) => id.startsWith('StorageTasks'))![0] },
    'bench',
  );
  const store = new DynamoTenantStore(tasksTable, DynamoDBDocumentClient.from(runtime.dynamo.client));
  const invokes = new Map<string, InvokeRecord>();
  for (const [logicalId, fn] of runtime.functions) {
    const record: InvokeRecord = { invocations: 0, totalMs: 0, completions: [] };
    invokes.set(logicalId, record);
    const original = fn.invoke.bind(fn);
    fn.invoke = async (event: unknown) => {
      const started = performance.now();
      try {
        const result = await original(event);
        invokes.get(logicalId)!.completions.push(Date.now());
        return result;
      } finally {
        const entry = invokes.get(logicalId)!;
        entry.invocations++;
        entry.totalMs += performance.now() - started;
      }
    };
  }
  // Transaction sizes, read from the request bodies as they pass (every listener of the endpoint's
  // server sees the same body stream).
  const transactItems = { write: 0, read: 0 };
  runtime.dynamo.server.on('request', (request: IncomingMessage) => {
    const operation = String(request.headers['x-amz-target'] ?? '').split('.')[1];
    if (operation !== 'TransactWriteItems' && operation !== 'TransactGetItems') return;
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(Buffer.from(chunk)));
    request.on('end', () => {
      try {
        const items = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { TransactItems?: unknown[] }).TransactItems?.length ?? 0;
        if (operation === 'TransactWriteItems') transactItems.write += items;
        else transactItems.read += items;
      } catch {
        // not JSON: the engine answers it with an error; nothing billed
      }
    });
  });
  let tenantSerial = 0;
  return {
    runtime,
    tasksTable,
    invokes,
    transactItems,
    tenants: async (count) => {
      const keys: string[] = [];
      for (let i = 0; i < count; i += 20) {
        const batch = await Promise.all(Array.from({ length: Math.min(20, count - i) }, () => createTenant(store, `bench-${++tenantSerial}`)));
        keys.push(...batch.map((tenant) => tenant.apiKey));
      }
      return keys;
    },
    resetInvokes: () => {
      for (const record of invokes.values()) {
        record.invocations = 0;
        record.totalMs = 0;
        record.completions = [];
      }
    },
    functionId: (prefix) => {
      const id = [...runtime.functions.keys()].find((candidate) => candidate.startsWith(prefix));
      if (!id) throw new Error(`no function ${prefix}*`);
      return id;
    },
    stop: async () => {
      await runtime.stop();
      // The directory goes with the run's scratch directory at exit: worker threads may still
      // flush log lines into it for a moment after stop().
    },
  };
};

/**
 * Runs one load command in a fresh child process (plain `node`, TypeScript by type stripping) and
 * returns its result. The child is killed if it outlives `timeoutMs`. A command with a checkpoint
 * reports `{ phase }` on the way; `onPhase` runs then, and the child continues once it resolved.
 */
export const runLoad = <T>(command: LoadCommand, timeoutMs: number, onPhase?: (phase: string) => Promise<void>): Promise<T> =>
  new Promise((resolve, reject) => {
    const child = fork(path.join(BENCH_DIR, 'load-client.ts'), [], {
      execArgv: ['--no-warnings', '--max-old-space-size=4096'],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      cwd: PROJECT_DIR,
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    let answered = false;
    const timer = setTimeout(() => {
      if (!answered) {
        answered = true;
        child.kill('SIGKILL');
        reject(new Error(`load client exceeded ${timeoutMs} ms`));
      }
    }, timeoutMs);
    child.on('message', (message: { ok: boolean; result?: T; error?: string; phase?: string }) => {
      if (answered) return;
      if (message.phase !== undefined) {
        const go = () => {
          if (child.connected) child.send({ continue: true });
        };
        void (onPhase ? onPhase(message.phase) : Promise.resolve()).then(go, go);
        return;
      }
      answered = true;
      clearTimeout(timer);
      if (message.ok) resolve(message.result as T);
      else reject(new Error(`load client failed: ${message.error}`));
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (!answered) {
        answered = true;
        reject(new Error(`load client exited with ${code}: ${stderr}`));
      }
    });
    child.send(command);
  });

/** Samples this process's CPU use and event-loop delay between `start()` and `stop()`. */
export const processLoad = () => {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  const cpu = process.cpuUsage();
  const started = Date.now();
  return {
    stop: (): { cpuPct: number; eventLoopP99Ms: number | null; eventLoopMaxMs: number | null } => {
      histogram.disable();
      const used = process.cpuUsage(cpu);
      return {
        // Includes the Lambda worker threads, which run in this process.
        cpuPct: Math.round(((used.user + used.system) / 1000 / Math.max(1, Date.now() - started)) * 100),
        eventLoopP99Ms: histogram.count ? Math.round(histogram.percentile(99) / 1e5) / 10 : null,
        eventLoopMaxMs: histogram.count ? Math.round(histogram.max / 1e5) / 10 : null,
      };
    },
  };
};

/** Function stats summed over every function (cold starts, throttles, errors, timeouts). */
export const functionTotals = (runtime: Runtime): { coldStarts: number; throttles: number; errors: number; timeouts: number; invocations: number } => {
  const totals = { coldStarts: 0, throttles: 0, errors: 0, timeouts: 0, invocations: 0 };
  for (const fn of runtime.functions.values()) {
    totals.coldStarts += fn.stats.coldStarts;
    totals.throttles += fn.stats.throttles;
    totals.errors += fn.stats.errors;
    totals.timeouts += fn.stats.timeouts;
    totals.invocations += fn.stats.invocations;
  }
  return totals;
};

/** Cold starts so far, per function (by logical id), for the functions that had any. */
export const coldStartsByFunction = (runtime: Runtime): Record<string, number> =>
  Object.fromEntries([...runtime.functions].filter(([, fn]) => fn.stats.coldStarts > 0).map(([id, fn]) => [id, fn.stats.coldStarts]));

/** `after - before` of {@link functionTotals}. */
export const diffTotals = <T extends Record<string, number>>(before: T, after: T): T =>
  Object.fromEntries(Object.keys(after).map((key) => [key, after[key]! - before[key]!])) as T;

/** A fresh scratch directory for one bench run. */
export const makeWorkDir = (): string => mkdtempSync(path.join(os.tmpdir(), 'offload-bench-'));

/**
 * Waits until the runtime is quiet: no counted call (long polls aside) and no invocation for
 * `quietMs`, at most `maxMs`. Catches the tail of a flow ($disconnect, lifecycle events, exports).
 * Returns whether it went quiet.
 */
export const settle = async (bench: BenchRuntime, quietMs: number, maxMs: number): Promise<boolean> => {
  const fingerprint = (): string =>
    JSON.stringify([Object.entries(bench.runtime.counter.snapshot()).filter(([key]) => key !== 'sqs:ReceiveMessage'), [...bench.invokes].map(([, record]) => record.invocations)]);
  const deadline = Date.now() + maxMs;
  let last = fingerprint();
  let quietSince = Date.now();
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const now = fingerprint();
    if (now !== last) {
      last = now;
      quietSince = Date.now();
    } else if (Date.now() - quietSince >= quietMs) return true;
  }
  return false;
};

/**
 * Where the runtime's CPU went between `start()` and `stop(units)`, per unit of work (a submit, a
 * task), in ms: the whole process (every thread), its main thread (the emulators' event loop:
 * API Gateway, DynamoDB, SQS, EventBridge, the in-process transport), and each function's
 * environments (their threads' CPU inside invocations, and in inits, i.e. cold starts). What is
 * left (total − main − functions) is the engines' helper threads (LevelDB, SQLite WAL), GC and
 * compiler threads.
 */
export interface CpuBreakdown {
  readonly totalMs: number;
  readonly mainThreadMs: number;
  /** By function (logical id without its hash): invocation CPU per unit, init CPU per unit, cold starts. */
  readonly functions: Record<string, { readonly invokeMs: number; readonly initMs: number; readonly coldStarts: number }>;
  readonly otherMs: number;
}

export const cpuBreakdown = (runtime: Runtime) => {
  const processFrom = process.cpuUsage();
  const mainFrom = process.threadCpuUsage();
  const statsFrom = new Map([...runtime.functions].map(([id, fn]) => [id, { ...fn.stats }]));
  return {
    stop: (units: number): CpuBreakdown => {
      const per = (ms: number) => Math.round((ms / Math.max(1, units)) * 100) / 100;
      const used = process.cpuUsage(processFrom);
      const main = process.threadCpuUsage(mainFrom);
      const functions: Record<string, { invokeMs: number; initMs: number; coldStarts: number }> = {};
      let functionMs = 0;
      for (const [id, fn] of runtime.functions) {
        const from = statsFrom.get(id);
        if (!from) continue;
        const invokeMs = fn.stats.invokeCpuMsTotal - from.invokeCpuMsTotal;
        const initMs = fn.stats.initCpuMsTotal - from.initCpuMsTotal;
        functionMs += invokeMs + initMs;
        if (invokeMs + initMs < 1) continue;
        functions[id.replace(/[0-9A-F]{8}$/, '')] = { invokeMs: per(invokeMs), initMs: per(initMs), coldStarts: fn.stats.coldStarts - from.coldStarts };
      }
      const totalMs = (used.user + used.system) / 1000;
      const mainThreadMs = (main.user + main.system) / 1000;
      return { totalMs: per(totalMs), mainThreadMs: per(mainThreadMs), functions, otherMs: per(Math.max(0, totalMs - mainThreadMs - functionMs)) };
    },
  };
};

/** One line: "total 6.2 ms = main thread 2.8 + HttpSubmit 2.6 (+0.1 init) + … + other 0.7". */
export const describeCpu = (cpu: CpuBreakdown): string =>
  `total ${cpu.totalMs} ms = main thread ${cpu.mainThreadMs}` +
  Object.entries(cpu.functions)
    .sort(([, a], [, b]) => b.invokeMs + b.initMs - (a.invokeMs + a.initMs))
    .map(([name, fn]) => ` + ${name} ${fn.invokeMs}${fn.initMs ? ` (+${fn.initMs} init, ${fn.coldStarts} cold starts)` : ''}`)
    .join('') +
  ` + other threads ${cpu.otherMs}`;
