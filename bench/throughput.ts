// 3. Throughput: end-to-end tasks per second, submit to `succeeded`, for short tasks. A batch is
// offered faster than the system can finish it (open loop); completions are observed at the worker
// (each interactive worker invocation carries one task: batch size 1) and confirmed afterwards by
// reading every task's status.
import { cpuBreakdown, processLoad, runLoad, startBenchRuntime, type BenchContext, type CpuBreakdown } from './harness.ts';
import type { SubmitResult, TaskInput } from './load-client.ts';
import { diffCounts, sleep } from './stats.ts';

export interface ThroughputSection {
  readonly tasksPerSecond: number | null;
  /** Between the 10th and 90th percentile completions: the sustained rate without ramp-up/tail. */
  readonly steadyTasksPerSecond: number | null;
  readonly tasks: number;
  readonly succeeded: number;
  readonly offeredRate: number;
  readonly input: TaskInput;
  readonly elapsedS: number | null;
  readonly runtimeCpuPct: number;
  readonly runtimeEventLoopP99Ms: number | null;
  readonly errorsByKind: Record<string, number>;
  /** Per task: Lambda invocations by function and mean wall time (ms), and AWS calls by operation. */
  readonly invocationsPerTask: Record<string, { n: number; meanMs: number }>;
  readonly awsCallsPerTask: Record<string, number>;
  /** The runtime's CPU per task, by thread (see {@link CpuBreakdown}). */
  readonly cpuPerTask?: CpuBreakdown;
}

const TASKS_PER_TENANT = 80;

export const runThroughput = async (context: BenchContext): Promise<ThroughputSection> => {
  // Offered above the 100 tasks/s in full mode (so 100/s is reachable), long enough for a
  // steady rate between the ramp-up and the tail.
  const tasks = context.quick ? 8 : 600;
  const offeredRate = context.quick ? 20 : 150;
  const input: TaskInput = { prompt: 'short task', maxTokens: 10, model: 'sim-fast' };
  const deadlineMs = context.quick ? 25_000 : 180_000;
  const bench = await startBenchRuntime(context);
  try {
    const { runtime } = bench;
    const keys = await bench.tenants(Math.ceil((tasks + 40) / TASKS_PER_TENANT) + 1);
    const workerId = bench.functionId('InteractiveWorker');
    const base = { kind: 'submit' as const, httpUrl: runtime.endpoints.httpApi, input };
    // Warm-up (not measured).
    const warmup = context.quick ? 3 : 20;
    await runLoad<SubmitResult>({ ...base, keys: keys.slice(-1), count: warmup, rate: 5 }, 60_000);
    const warmupDeadline = Date.now() + 30_000;
    while (bench.invokes.get(workerId)!.completions.length < warmup && Date.now() < warmupDeadline) await sleep(100);
    await sleep(500);
    bench.resetInvokes();
    const countsBefore = runtime.counter.snapshot();
    const load = processLoad();
    const cpu = cpuBreakdown(runtime);
    const submitted = await runLoad<SubmitResult>({ ...base, keys: keys.slice(0, -1), count: tasks, rate: offeredRate }, deadlineMs);
    const until = submitted.firstSubmitAt + deadlineMs;
    const completions = bench.invokes.get(workerId)!.completions;
    while (completions.length < submitted.tasks.length && Date.now() < until) await sleep(50);
    const runtimeLoad = load.stop();
    const n = Math.max(1, submitted.tasks.length);
    const cpuPerTask = cpu.stop(n);
    const invocationsPerTask = Object.fromEntries(
      [...bench.invokes].filter(([, record]) => record.invocations > 0).map(([id, record]) => [id.replace(/[0-9A-F]{8}$/, ''), { n: Math.round((record.invocations / n) * 100) / 100, meanMs: Math.round(record.totalMs / record.invocations) }]),
    );
    const awsCallsPerTask = Object.fromEntries(Object.entries(diffCounts(countsBefore, runtime.counter.snapshot())).map(([key, value]) => [key, Math.round((value / n) * 10) / 10]));
    // Confirm by status (not timed).
    const tenantKeys = keys.slice(0, -1);
    let succeeded = 0;
    for (let i = 0; i < submitted.tasks.length; i += 16) {
      const statuses = await Promise.all(
        submitted.tasks.slice(i, i + 16).map(async ({ taskId, keyIndex }) => {
          const response = await fetch(`${runtime.endpoints.httpApi}/v1/tasks/${taskId}`, { headers: { authorization: `Bearer ${tenantKeys[keyIndex]}` } });
          return response.ok ? ((await response.json()) as { status: string }).status : `http-${response.status}`;
        }),
      );
      succeeded += statuses.filter((status) => status === 'succeeded').length;
    }
    const sorted = [...completions].sort((a, b) => a - b);
    const last = sorted.at(-1);
    const elapsedS = last !== undefined ? (last - submitted.firstSubmitAt) / 1000 : null;
    const p10 = sorted[Math.floor(sorted.length * 0.1)];
    const p90 = sorted[Math.floor(sorted.length * 0.9)];
    const steady = p10 !== undefined && p90 !== undefined && p90 > p10 ? (Math.floor(sorted.length * 0.9) - Math.floor(sorted.length * 0.1)) / ((p90 - p10) / 1000) : null;
    return {
      tasksPerSecond: elapsedS ? Math.round((Math.min(succeeded, completions.length) / elapsedS) * 10) / 10 : null,
      steadyTasksPerSecond: steady !== null ? Math.round(steady * 10) / 10 : null,
      tasks,
      succeeded,
      offeredRate,
      input,
      elapsedS: elapsedS !== null ? Math.round(elapsedS * 10) / 10 : null,
      runtimeCpuPct: runtimeLoad.cpuPct,
      runtimeEventLoopP99Ms: runtimeLoad.eventLoopP99Ms,
      errorsByKind: submitted.errorsByKind,
      invocationsPerTask,
      awsCallsPerTask,
      cpuPerTask,
    };
  } finally {
    await bench.stop();
  }
};
