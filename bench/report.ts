// Markdown rendering of a results document (bench/results/*.json → *.md and the console).
import type { AckSection } from './ack.ts';
import { describeCpu, type CpuBreakdown } from './harness.ts';
import type { AsyncVsSyncRow, CallsPerSession } from './async-vs-sync.ts';
import type { ColdStartRow } from './cold-start.ts';
import type { CostFlow, ProgressCostRow } from './cost.ts';
import type { ThroughputSection } from './throughput.ts';

/** The results document (the keys the issue requires, plus context). */
/** Ack-table cells: total / main thread / each function's invocation CPU (init and cold starts when any), ms per submit. */
const cpuCells = (cpu: CpuBreakdown | undefined): string =>
  cpu
    ? `${cpu.totalMs} / ${cpu.mainThreadMs} / ` +
      Object.entries(cpu.functions)
        .map(([name, fn]) => `${name} ${fn.invokeMs}${fn.coldStarts ? ` (+${fn.initMs} init, ${fn.coldStarts} cold)` : ''}`)
        .join(', ')
    : '–';

export interface BenchResults {
  machine: Record<string, unknown>;
  date: string;
  mode: 'quick' | 'full';
  durationS?: number;
  /** Every run that contributed to this file (a full run, then re-runs of some sections or levels). */
  runs?: { date: string; sections: string[]; levels?: number[]; durationS: number }[];
  asyncVsSync?: AsyncVsSyncRow[];
  asyncVsSyncConfig?: Record<string, unknown>;
  /** AWS calls and Lambda invocations per 40-token session, from the smallest Offload level. */
  callsPerSession?: CallsPerSession;
  /** Runtime options this run set on every local runtime (`--runtime`, `--warm`, `--transport`). */
  runtimeOptions?: Record<string, unknown>;
  ack?: AckSection | { error: string };
  throughput?: ThroughputSection | { error: string };
  coldStart?: ColdStartRow[];
  cost?: { priceTableDate: string; flows: CostFlow[]; [key: string]: unknown } | { error: string };
  progressCost?: ProgressCostRow[];
  targets?: { target: string; measured: string; met: boolean | null }[];
  notes?: string[];
  errors?: Record<string, string>;
}

const ms = (value: number | null | undefined): string => (value === null || value === undefined ? '–' : value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${value} ms`);
const pair = (a: number | null | undefined, b: number | null | undefined): string => `${ms(a)} / ${ms(b)}`;
const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`;
const escape = (text: string): string => text.replace(/\|/g, '\\|');

const section = <T>(value: T | { error: string } | undefined): T | undefined => (value && !(typeof value === 'object' && 'error' in (value as object)) ? (value as T) : undefined);

export const toMarkdown = (results: BenchResults): string => {
  const lines: string[] = [];
  const machine = results.machine as { cpuModel?: string; cpus?: number; memoryGiB?: number; kernel?: string; node?: string; loadAverageAtStart?: number[]; loadAverageAtEnd?: number[]; openFilesLimit?: { soft: number; hard: number } };
  lines.push(`### Benchmarks (${results.mode}) — ${results.date.slice(0, 10)}`);
  lines.push('');
  lines.push(
    `Machine: ${machine.cpuModel} × ${machine.cpus} CPUs, ${machine.memoryGiB} GiB, ${machine.kernel}, Node ${machine.node}; open files limit ${machine.openFilesLimit?.soft ?? '?'}; ` +
      `load average at start ${machine.loadAverageAtStart?.join(' / ') ?? '?'}${machine.loadAverageAtEnd ? `, at end ${machine.loadAverageAtEnd.join(' / ')}` : ''}. ` +
      `${
        results.runs && results.runs.length > 1
          ? `Runs: ${results.runs.map((run) => `${run.sections.length >= 5 ? 'all sections' : run.sections.join(', ')}${run.levels ? ` (levels ${run.levels.join(', ')})` : ''} ${run.date.slice(0, 16).replace('T', ' ')} UTC, ${run.durationS} s`).join('; ')}.`
          : `Run took ${results.durationS ?? '?'} s.`
      } Everything on loopback; clients, the system under test and the baseline share the same cores (and the machine is shared with other work: see the load averages).` +
      (results.runtimeOptions && Object.keys(results.runtimeOptions).length ? ` Runtime options: \`${JSON.stringify(results.runtimeOptions)}\`.` : ''),
  );
  lines.push('');

  if (results.asyncVsSync?.length) {
    const config = results.asyncVsSyncConfig as { input?: { model: string; maxTokens: number }; syncPool?: number; syncQueue?: number; submitRate?: number; connectRate?: number; maxInflight?: number } | undefined;
    lines.push('#### 1. Async (Offload) vs sync (bounded-pool server), concurrent sessions');
    lines.push('');
    lines.push(
      `Each session submits one \`completion\` (${config?.input?.model}, ${config?.input?.maxTokens} tokens) and streams it to the end. Sessions arrive at up to ${config?.submitRate}/s` +
        ` (Offload: WebSocket opened first, at most ${config?.maxInflight} handshakes and submits in flight). Baseline: pool ${config?.syncPool}, wait queue ${config?.syncQueue}, 30 s gateway timeout. ` +
        'Ack = `202` for Offload, time to first byte for the baseline, both from the session\'s scheduled arrival (so waiting for a client slot counts). First progress from the same instant. ' +
        'Delivery = receipt − the time the worker wrote the entry (live entries only). Held = finished without error within the level\'s time budget.',
    );
    lines.push('');
    lines.push('| sessions | architecture | held | errors | ack p50 / p99 | first progress p50 / p99 | delivery p99 | failure mode |');
    lines.push('|---:|---|---:|---:|---|---|---:|---|');
    for (const row of results.asyncVsSync) {
      lines.push(`| ${row.sessions} | ${row.architecture} | ${row.held} | ${row.errors} | ${pair(row.ackP50Ms, row.ackP99Ms)} | ${pair(row.firstProgressP50Ms, row.firstProgressP99Ms)} | ${ms(row.deliveryP99Ms)} | ${escape(row.failureMode)} |`);
    }
    lines.push('');
  }

  const calls = results.callsPerSession;
  if (calls) {
    lines.push(`#### Calls per session (${calls.level}-session Offload level, ${calls.held} finished)`);
    lines.push('');
    lines.push(
      `**${calls.aws} AWS API calls** and **${calls.lambda} Lambda invocations** per 40-token session${calls.scheduledInvocationsPerSession ? ` (plus ${calls.scheduledInvocationsPerSession} invocations of scheduled functions, a per-minute cost, not counted as the session's)` : ''}, from the runtime's counters between the level's start and the moment its sessions were done, closed and the runtime quiet${calls.settled ? '' : ' (it did not go quiet in time: the tail may be cut short)'}, before the measurement's own reads. ` +
        'Counted by the runtime: every DynamoDB call, the event source mappings\' SQS receives and deletes, the rules\' SQS sends, PutEvents, @connections, Secrets Manager and KMS calls; not counted: SQS calls a function makes itself (visibility changes, retry sends), S3 and Bedrock. ' +
        `ReceiveMessage counts one receive per batch delivered; the local event source mappings also made **${calls.localEmptyReceivesPerSession} empty ReceiveMessage polls per session** (${calls.localReceivesPerSession} receives in all), an emulator artefact (fauxqs wakes every waiting long poll per message) not in the total.`,
    );
    lines.push('');
    lines.push('| call | per session |');
    lines.push('|---|---:|');
    for (const [key, value] of Object.entries(calls.byOperation).sort((a, b) => b[1] - a[1])) lines.push(`| ${escape(key)} | ${value} |`);
    lines.push('');
  }

  const ack = section<AckSection>(results.ack);
  if (ack) {
    lines.push(`#### 2. Ack path (open loop, ${ack.durationSPerRate} s per rate, queue pollers paused)`);
    lines.push('');
    lines.push(`Highest rate with p99 under 50 ms: **${ack.maxRateUnder50msP99 ?? 'none'}${ack.maxRateUnder50msP99 ? '/s' : ''}**.` + (ack.idleP50Ms !== undefined ? ` Warm idle submit (${ack.idleSubmits} one at a time after the warm-up): p50 **${ms(ack.idleP50Ms)}**, p99 ${ms(ack.idleP99Ms)}.` : ''));
    lines.push('');
    lines.push('| rate /s | p50 | p99 | max | accepted | errors | runtime CPU per submit: total / main thread / functions (cold starts) |');
    lines.push('|---:|---:|---:|---:|---:|---|---|');
    for (const run of ack.runs) lines.push(`| ${run.rate} | ${ms(run.p50Ms)} | ${ms(run.p99Ms)} | ${ms(run.maxMs)} | ${run.accepted}/${run.sent + run.notSent} | ${escape(JSON.stringify(run.errorsByKind))} | ${cpuCells(run.cpuPerSubmit)} |`);
    lines.push('');
  } else if (results.ack) lines.push(`#### 2. Ack path: failed — ${(results.ack as { error: string }).error}`, '');

  const throughput = section<ThroughputSection>(results.throughput);
  if (throughput) {
    lines.push('#### 3. Throughput');
    lines.push('');
    lines.push(
      `**${throughput.tasksPerSecond ?? '–'} tasks/s** end to end (submit → \`succeeded\`), sustained ${throughput.steadyTasksPerSecond ?? '–'} tasks/s; ` +
        `${throughput.succeeded}/${throughput.tasks} short tasks (${throughput.input.model}, ${throughput.input.maxTokens} tokens) offered at ${throughput.offeredRate}/s, done in ${throughput.elapsedS ?? '–'} s.` +
        (throughput.cpuPerTask ? ` Runtime CPU per task: ${describeCpu(throughput.cpuPerTask)}.` : ''),
    );
    lines.push('');
  } else if (results.throughput) lines.push(`#### 3. Throughput: failed — ${(results.throughput as { error: string }).error}`, '');

  if (results.coldStart?.length) {
    lines.push(`#### 4. Cold start (fresh Node process per measurement, median of ${results.coldStart[0]?.runs ?? '?'})`);
    lines.push('');
    lines.push(
      'Module initialisation (import of the bundle) with the AWS SDK left to the runtime (as deployed: `@aws-sdk/*` external) and bundled into the function (the same bundle re-bundled by esbuild with the SDK inside: tree-shaken, minified ESM). ' +
        '× SDK = against a minimal function that imports the same SDK packages and creates one client of each, shipped the same way; × hello = against a hello-world handler.',
    );
    lines.push('');
    lines.push('| function | runtime SDK: bundle | init | × SDK | × hello | bundled SDK: bundle | init | × SDK | process ready (runtime SDK) |');
    lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const row of results.coldStart) {
      const bundled = row.bundledSdk;
      lines.push(
        `| ${escape(row.function)} | ${kb(row.bundleBytes)} | ${ms(row.initMs)} | ${row.ratioToSdkBaseline ?? '–'} | ${row.ratio ?? '–'} | ${bundled ? kb(bundled.bundleBytes) : '–'} | ${ms(bundled?.initMs)} | ${bundled?.ratioToSdkBaseline ?? '–'} | ${ms(row.processReadyMs)} |`,
      );
    }
    lines.push('');
  }

  const cost = section<{ priceTableDate: string; flows: CostFlow[] }>(results.cost);
  if (cost) {
    lines.push(`#### 5. Cost per task (AWS list prices, us-east-1, ${cost.priceTableDate})`);
    lines.push('');
    lines.push('| flow | calls per task | $ per million tasks | floor (unavoidable calls) | × floor (calls only) |');
    lines.push('|---|---|---:|---:|---:|');
    for (const flow of cost.flows) {
      if (flow.status) {
        lines.push(`| ${flow.flow} | ${flow.status} | – | – | – |`);
        continue;
      }
      const calls = Object.entries(flow.callsPerTask ?? {})
        .map(([service, n]) => `${service} ${n}`)
        .join(', ');
      const details = [
        ...(flow.deliveriesPerTask !== undefined ? [`${flow.deliveriesPerTask} signed deliveries per task${flow.duplicateDeliveries ? `, ${flow.duplicateDeliveries} duplicates deduplicated` : ''}`] : []),
        ...(flow.failures ? [`${flow.failures} of ${flow.tasks} tasks incomplete`] : []),
      ];
      lines.push(`| ${escape(flow.flow)}${details.length ? ` (${details.join('; ')})` : ''} | ${calls} | ${flow.usdPerMillionTasks} | ${flow.floorUsdPerMillionTasks} | ${flow.ratioToFloor} (${flow.callsOnlyRatioToFloor}) |`);
    }
    lines.push('');
  } else if (results.cost) lines.push(`#### 5. Cost: failed — ${(results.cost as { error: string }).error}`, '');

  if (results.progressCost?.length) {
    lines.push('Progress cost per task (one subscriber): DynamoDB writes and pushes follow the duration, not the token count.');
    lines.push('');
    lines.push('| model | tokens | duration | progress entries | DynamoDB writes | DynamoDB calls per entry (marginal) | pushes | writes/s |');
    lines.push('|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const row of results.progressCost) {
      const perEntry = row.ddbCallsPerEntry !== undefined ? `${row.ddbCallsPerEntry}${row.ddbCallsPerEntryMarginal !== undefined ? ` (${row.ddbCallsPerEntryMarginal})` : ''}` : '–';
      lines.push(`| ${row.model} | ${row.tokens} | ${row.durationS} s | ${row.progressEntries} | ${row.ddbWrites} | ${perEntry} | ${row.pushes} | ${row.ddbWritesPerSecond} |`);
    }
    lines.push('');
  }

  if (results.targets?.length) {
    lines.push('#### Targets');
    lines.push('');
    lines.push('| target | measured | met |');
    lines.push('|---|---|---|');
    for (const target of results.targets) lines.push(`| ${escape(target.target)} | ${escape(target.measured)} | ${target.met === null ? 'not measured' : target.met ? 'yes' : '**no**'} |`);
    lines.push('');
  }
  if (results.notes?.length) {
    lines.push('#### Notes');
    lines.push('');
    for (const note of results.notes) lines.push(`- ${note}`);
    lines.push('');
  }
  if (results.errors && Object.keys(results.errors).length) {
    lines.push('#### Sections that did not complete');
    lines.push('');
    for (const [name, error] of Object.entries(results.errors)) lines.push(`- ${name}: ${escape(error)}`);
    lines.push('');
  }
  return lines.join('\n');
};
