// 2. Ack path. Open-loop submits (`POST /v1/tasks`) at fixed rates against a fresh runtime whose
// queue pollers are paused, so the numbers isolate the acknowledgement path (authorizer, submit
// Lambda, DynamoDB writes, PutEvents, SQS delivery) from the workers' load. Latency is measured
// from each request's scheduled send time, so queueing anywhere is counted. Before the rates, the
// warm idle ack: submits one at a time (each after the previous answer), after the warm-up.
import { cpuBreakdown, describeCpu, processLoad, runLoad, startBenchRuntime, type BenchContext, type CpuBreakdown } from './harness.ts';
import type { AckResult, SequentialResult, TaskInput } from './load-client.ts';

export interface AckRun {
  readonly rate: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly maxMs: number | null;
  readonly sent: number;
  readonly accepted: number;
  readonly notSent: number;
  readonly errorsByKind: Record<string, number>;
  readonly achievedRate: number;
  readonly runtimeCpuPct: number;
  readonly runtimeEventLoopP99Ms: number | null;
  /** The runtime's CPU per accepted submit, by thread (see {@link CpuBreakdown}). */
  readonly cpuPerSubmit?: CpuBreakdown;
}

export interface AckSection {
  readonly maxRateUnder50msP99: number | null;
  /** Warm idle submit latency: `idleSubmits` submits one at a time after the warm-up, p50 and p99. */
  readonly idleP50Ms: number | null;
  readonly idleP99Ms: number | null;
  readonly idleSubmits: number;
  readonly idleErrorsByKind: Record<string, number>;
  /** Rates this mode offers (the run stops early once a rate is far past saturation). */
  readonly ratesPlanned: readonly number[];
  readonly durationSPerRate: number;
  readonly workersPaused: true;
  readonly runs: AckRun[];
}

const INPUT: TaskInput = { prompt: 'ack path', maxTokens: 5, model: 'sim-fast' };
/** Tasks per tenant stay below the per-tenant in-flight limit (100), so admission never refuses. */
const TASKS_PER_TENANT = 80;

export const runAck = async (context: BenchContext): Promise<AckSection> => {
  // Full mode reaches the 300/s and beyond; quick mode stops low (CI checks shape only).
  const rates = context.quick ? [5, 20, 50] : [5, 10, 20, 40, 80, 120, 160, 200, 240, 300, 400];
  const idleSubmits = context.quick ? 20 : 50;
  const durationMs = context.quick ? 2_000 : 10_000;
  const bench = await startBenchRuntime(context, { eventSources: false });
  try {
    const { runtime } = bench;
    const batches = [40, 60, idleSubmits, ...rates.map((rate) => (rate * durationMs) / 1000)];
    const keys = await bench.tenants(batches.reduce((sum, count) => sum + Math.ceil(count / TASKS_PER_TENANT) + 1, 0));
    let keyOffset = 0;
    const keysFor = (count: number): string[] => {
      const needed = Math.ceil(count / TASKS_PER_TENANT) + 1;
      const slice = keys.slice(keyOffset, keyOffset + needed);
      keyOffset += needed;
      return slice;
    };
    const base = { kind: 'ack' as const, httpUrl: runtime.endpoints.httpApi, input: INPUT, maxInflight: 256 };
    // Warm-up (not measured): a few environments of the authorizer and the submit function.
    const warmupMs = context.quick ? 2_000 : 4_000;
    await runLoad<AckResult>({ ...base, keys: keysFor(40), rate: 5, durationMs: warmupMs }, 60_000);
    await runLoad<AckResult>({ ...base, keys: keysFor(60), rate: 10, durationMs: warmupMs }, 60_000);
    // Warm idle submits: one in flight at a time, 100 ms apart (the environments stay warm).
    const idle = await runLoad<SequentialResult>({ kind: 'sequential', httpUrl: runtime.endpoints.httpApi, keys: keysFor(idleSubmits), count: idleSubmits, gapMs: 100, input: INPUT }, 120_000);
    context.log(`  idle: p50 ${idle.latency.p50} ms, p99 ${idle.latency.p99} ms over ${idle.count} sequential submits (${idle.accepted} accepted)`);
    const runs: AckRun[] = [];
    for (const rate of rates) {
      const load = processLoad();
      const cpu = cpuBreakdown(runtime);
      const result = await runLoad<AckResult>({ ...base, keys: keysFor((rate * durationMs) / 1000), rate, durationMs }, durationMs + 120_000);
      const runtimeLoad = load.stop();
      const cpuPerSubmit = cpu.stop(result.accepted);
      runs.push({
        rate,
        p50Ms: result.latency.p50,
        p99Ms: result.latency.p99,
        maxMs: result.latency.max,
        sent: result.sent,
        accepted: result.accepted,
        notSent: result.notSent,
        errorsByKind: result.errorsByKind,
        achievedRate: result.achievedRate,
        runtimeCpuPct: runtimeLoad.cpuPct,
        runtimeEventLoopP99Ms: runtimeLoad.eventLoopP99Ms,
        cpuPerSubmit,
      });
      context.log(`  ${String(rate).padStart(4)}/s: p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms, accepted ${result.accepted}/${result.sent + result.notSent}; CPU per submit: ${describeCpu(cpuPerSubmit)}`);
      // Bounded: once the path is far past saturation, higher rates only queue longer.
      if ((result.latency.p99 ?? Infinity) > 2_000 || result.accepted < 0.9 * (result.sent + result.notSent)) break;
    }
    const held = runs.filter((run) => run.p99Ms !== null && run.p99Ms < 50 && run.notSent === 0 && run.accepted === run.sent);
    return {
      maxRateUnder50msP99: held.length ? Math.max(...held.map((run) => run.rate)) : null,
      idleP50Ms: idle.latency.p50,
      idleP99Ms: idle.latency.p99,
      idleSubmits,
      idleErrorsByKind: idle.errorsByKind,
      ratesPlanned: rates,
      durationSPerRate: durationMs / 1000,
      workersPaused: true,
      runs,
    };
  } finally {
    await bench.stop();
  }
};
