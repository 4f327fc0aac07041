// `npm run bench` — every benchmark side by side in one run; writes bench/results/latest.json and
// latest.md (`--quick`: smaller sizes, quick.json / quick.md, under two minutes). `--only a,b`
// runs some sections (asyncVsSync, ack, throughput, coldStart, cost) and merges them into the
// existing results file.
import './worker-shim.ts';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runAck } from './ack.ts';
import { refreshFailureMode, runAsyncVsSync, type AsyncVsSyncConfig } from './async-vs-sync.ts';
import { runColdStart } from './cold-start.ts';
import { runCost } from './cost.ts';
import { BENCH_DIR, machineInfo, makeWorkDir, synthOnce, type BenchContext } from './harness.ts';
import { toMarkdown, type BenchResults } from './report.ts';
import { runThroughput } from './throughput.ts';
import { workerShimActive } from './worker-shim.ts';

const SECTIONS = ['asyncVsSync', 'ack', 'throughput', 'coldStart', 'cost'] as const;
type Section = (typeof SECTIONS)[number];

const parseArgs = (argv: readonly string[]): { quick: boolean; only: Set<Section>; levels?: number[] } => {
  const quick = argv.includes('--quick');
  const index = argv.indexOf('--only');
  const requested = index >= 0 ? (argv[index + 1] ?? '').split(',').filter(Boolean) : [...SECTIONS];
  for (const name of requested) if (!(SECTIONS as readonly string[]).includes(name)) throw new Error(`unknown section ${name}; expected one of ${SECTIONS.join(', ')}`);
  // `--levels 5000,10000`: re-run only these session counts of the async-vs-sync table (merged).
  const levelsIndex = argv.indexOf('--levels');
  const levels = levelsIndex >= 0 ? (argv[levelsIndex + 1] ?? '').split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0) : undefined;
  return { quick, only: new Set(requested as Section[]), ...(levels?.length ? { levels } : {}) };
};

/** What was found by profiling the local runtime on this machine (see the report). */
const FINDINGS = [
  'Profiled: every Lambda execution environment of the local runtime is a worker thread; a cold start costs about 0.4 s of CPU here (AWS SDK modules loaded and compiled per thread). Environments start with `execArgv: []` (no tsx loader inherited: 32 cold starts measured at 13 s of CPU instead of 30 s), and at most a few are created at once per runtime (callers wait for a creation slot and take an environment that frees meanwhile), so a burst no longer starves the emulators\' event loop.',
  'Profiled: the local event source mapping kept one long poll per allowed concurrent batch (20 on the interactive queue), and fauxqs wakes every waiting long poll for each message (~13–25 ReceiveMessage calls per task). It now scales its pollers like Lambda\'s (two on an idle queue, one more whenever all are busy, up to MaximumConcurrency): about 6 receives per session at 100 sessions.',
  'Profiled: in steady state the local engines cost 10–30 ms per DynamoDB call (dynalite on LevelDB, p50 under load) and fauxqs writes each SQS message change to SQLite synchronously on the main thread (p50 3 ms, max 100–240 ms per statement). With every call crossing HTTP, SigV4 signing and a worker-thread hop, the local runtime is CPU-bound at roughly ten short tasks per second on this machine (the runtime process at ~190% of 2 cores during the session levels); these are properties of the local emulation, not of the deployed architecture.',
  'Profiled (this run\'s runtime): the runtime process sits at ~190% of 2 cores during the levels, and most of it is the Lambda environments\' threads, not the emulators\' event loop (42% idle in a main-thread CPU profile at 100 sessions). The workload-class workers now run at nice 10 (on AWS they have capacity of their own; locally they would otherwise take the cores from the ack path), environments share a V8 compile cache (measured once by hand at 165 → 130 ms of CPU per environment of the largest bundle; not a section of this benchmark), and each level is warmed at its own client concurrency so front-door functions start it with as many warm environments as it keeps requests in flight. In quick-size trials the 100-session ack p99 fell from 21.6 s to 4–11 s; compare the full table against the previous full run before crediting them (the spread between runs is large on this shared machine).',
  'Sessions are spread over tenants of at most 50 sessions each, so the per-tenant in-flight limit (100, answered with 429 + Retry-After) never binds; a single tenant would be admitted 100 tasks at a time by design.',
  'The baseline streams every token as it is produced; Offload coalesces progress into at most one entry per 200 ms (so one entry carries several tokens).',
];

/** Notes computed from this run's numbers. */
const measuredNotes = (results: BenchResults): string[] => {
  const notes: string[] = [];
  const cost = results.cost && !('error' in results.cost) ? results.cost : undefined;
  const streamed = cost?.flows.find((flow) => flow.flow.startsWith('streamed completion, 2000'));
  const entries = results.progressCost?.find((row) => row.tokens === 2_000)?.progressEntries;
  if (streamed?.operationsPerTask && entries) {
    const ops = streamed.operationsPerTask;
    const per = (key: string) => Math.round(((ops[key] ?? 0) / entries) * 10) / 10;
    notes.push(
      `Cost: per progress entry with one subscriber the flow makes ${per('dynamodb:PutItem')} PutItem, ${per('dynamodb:UpdateItem')} UpdateItem, ${per('dynamodb:GetItem')} GetItem and ${per('dynamodb:Query')} Query calls ` +
        'and one push: the entry and the task\'s progressSeq (2 writes), then per subscriber the subscriber query and the subscription lease (acquire, release with the cursor); the worker hands delivery the entry it just wrote, so nothing is read back. ' +
        'That is ~4 writes per entry against a floor of one. What remains above the floor is the fencing high-water mark (progressSeq, conditioned on the lease) and the per-subscriber lease that keeps concurrent drainers from pushing twice; ' +
        'an optimistic cursor advance (one conditional write, push after it) would drop one write per entry but turn a crash between the two into a hole the client must fill.',
    );
  }
  const hundred = (results.asyncVsSync ?? []).find((row) => row.architecture === 'offload' && row.sessions === 100);
  const calls = hundred?.detail.awsCallsPerSession as Record<string, number> | undefined;
  const functions = (hundred?.detail.runtime as { functions?: { invocations: number; coldStarts: number } } | undefined)?.functions;
  if (calls && functions) {
    const total = Object.values(calls).reduce((sum, value) => sum + value, 0);
    notes.push(
      `Local capacity: at 100 sessions a session cost ${Math.round(functions.invocations / 100)} Lambda invocations and ${Math.round(total)} AWS calls on the local engines (of which ${calls['sqs:ReceiveMessage'] ?? 0} ReceiveMessage); ` +
        `${functions.coldStarts} cold starts happened during the level despite the warm-up. The runtime process used ${(hundred?.detail.runtime as { cpuPct?: number }).cpuPct}% CPU (2 cores = 200%).`,
    );
  }
  return notes;
};

const evaluateTargets = (results: BenchResults): NonNullable<BenchResults['targets']> => {
  const targets: NonNullable<BenchResults['targets']> = [];
  const offload = (results.asyncVsSync ?? []).filter((row) => row.architecture === 'offload');
  const sync = (results.asyncVsSync ?? []).filter((row) => row.architecture === 'sync');
  const largest = offload.sort((a, b) => b.sessions - a.sessions)[0];
  if (largest) {
    const level = `${largest.sessions} sessions${largest.sessions < 10_000 ? ' (largest level run; target is 10,000)' : ''}`;
    targets.push({ target: 'Offload holds 10,000 concurrent sessions with zero errors', measured: `${level}: ${largest.held} held, ${largest.errors} errors`, met: largest.sessions >= 10_000 ? largest.errors === 0 : null });
    targets.push({ target: 'Offload p99 ack under 20 ms', measured: `${level}: ${largest.ackP99Ms ?? '–'} ms`, met: largest.sessions >= 10_000 ? largest.ackP99Ms !== null && largest.ackP99Ms < 20 : null });
    targets.push({ target: 'Offload p99 progress delivery under 50 ms', measured: `${level}: ${largest.deliveryP99Ms ?? '–'} ms`, met: largest.sessions >= 10_000 ? largest.deliveryP99Ms !== null && largest.deliveryP99Ms < 50 : null });
    const smallest = [...offload].sort((a, b) => a.sessions - b.sessions)[0]!;
    targets.push({ target: 'Offload p99 ack under 20 ms (smallest level)', measured: `${smallest.sessions} sessions: ${smallest.ackP99Ms ?? '–'} ms`, met: smallest.ackP99Ms !== null && smallest.ackP99Ms < 20 });
    targets.push({ target: 'Offload p99 progress delivery under 50 ms (smallest level)', measured: `${smallest.sessions} sessions: ${smallest.deliveryP99Ms ?? '–'} ms`, met: smallest.deliveryP99Ms !== null && smallest.deliveryP99Ms < 50 });
  }
  if (sync.length) {
    const firstFailing = [...sync].sort((a, b) => a.sessions - b.sessions).find((row) => row.errors > 0);
    targets.push({
      target: 'the synchronous baseline fails at its pool size',
      measured: firstFailing ? `first errors at ${firstFailing.sessions} sessions: ${firstFailing.failureMode}` : `no errors up to ${Math.max(...sync.map((row) => row.sessions))} sessions`,
      met: firstFailing !== undefined,
    });
  }
  if (results.coldStart?.length) {
    const functions = results.coldStart.filter((row) => row.function !== 'hello-world');
    const biggest = [...functions].sort((a, b) => b.bundleBytes - a.bundleBytes)[0]!;
    targets.push({ target: 'every bundle under 250 KB', measured: `largest ${biggest.function}: ${(biggest.bundleBytes / 1024).toFixed(1)} KB`, met: functions.every((row) => row.bundleBytes < 250 * 1024) });
    const slowest = [...functions].sort((a, b) => (b.ratio ?? 0) - (a.ratio ?? 0))[0]!;
    const slowestProcess = [...functions].sort((a, b) => (b.processRatio ?? 0) - (a.processRatio ?? 0))[0]!;
    targets.push({
      target: 'initialisation within 3× of hello world',
      measured: `module init: worst ${slowest.function} ${slowest.initMs} ms = ${slowest.ratio}× (hello world ${slowest.helloWorldInitMs} ms); process ready: worst ${slowestProcess.processRatio}×`,
      met: functions.every((row) => row.ratio !== null && row.ratio <= 3),
    });
  }
  const cost = results.cost && !('error' in results.cost) ? results.cost : undefined;
  const streamed = cost?.flows.filter((flow) => flow.flow.startsWith('streamed completion') && flow.ratioToFloor !== undefined) ?? [];
  if (streamed.length) {
    targets.push({
      target: 'cost per million streamed completions within 1.5× of the unavoidable calls',
      measured: streamed.map((flow) => `${flow.flow}: ${flow.ratioToFloor}× (calls only ${flow.callsOnlyRatioToFloor}×)`).join('; '),
      met: streamed.every((flow) => (flow.ratioToFloor ?? Infinity) <= 1.5),
    });
  }
  return targets;
};

// A runtime being stopped can still have DynamoDB requests in flight; dynalite then throws
// asynchronously once its LevelDB is closed. That is a shutdown race of the local engine (reported),
// not a benchmark failure: note it and carry on. Anything else still ends the run.
process.on('uncaughtException', (error: Error & { code?: string }) => {
  if (error.code === 'LEVEL_DATABASE_NOT_OPEN' || error.code === 'LEVEL_ITERATOR_NOT_OPEN' || /(Database|Iterator) is (not open|closed)/.test(error.message)) {
    process.stderr.write(`(ignored after runtime stop: ${error.message})\n`);
    return;
  }
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});

/** `--report-only`: re-renders targets, notes and the Markdown from the existing results file. */
const reportOnly = (quick: boolean): void => {
  const name = quick ? 'quick' : 'latest';
  const jsonFile = path.join(BENCH_DIR, 'results', `${name}.json`);
  const results = JSON.parse(readFileSync(jsonFile, 'utf8')) as BenchResults;
  if (results.asyncVsSync && results.asyncVsSyncConfig) {
    const config = results.asyncVsSyncConfig as unknown as AsyncVsSyncConfig;
    results.asyncVsSync = results.asyncVsSync.map((row) => ({ ...row, failureMode: refreshFailureMode(row, config) }));
  }
  results.targets = evaluateTargets(results);
  results.notes = [...FINDINGS, ...measuredNotes(results)];
  writeFileSync(jsonFile, `${JSON.stringify(results, null, 2)}\n`);
  const markdown = toMarkdown(results);
  writeFileSync(path.join(BENCH_DIR, 'results', `${name}.md`), `${markdown}\n`);
  process.stdout.write(`${markdown}\n`);
};

const main = async (): Promise<void> => {
  const { quick, only, levels } = parseArgs(process.argv.slice(2));
  if (process.argv.includes('--report-only')) return reportOnly(quick);
  const started = Date.now();
  const resultsDir = path.join(BENCH_DIR, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const name = quick ? 'quick' : 'latest';
  const jsonFile = path.join(resultsDir, `${name}.json`);
  const partial = only.size < SECTIONS.length || levels !== undefined;
  const previous: Partial<BenchResults> = partial && existsSync(jsonFile) ? (JSON.parse(readFileSync(jsonFile, 'utf8')) as BenchResults) : {};

  const workDir = makeWorkDir();
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const cleanup = () => rmSync(workDir, { recursive: true, force: true });
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  const results: BenchResults = {
    ...previous,
    machine: machineInfo(),
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
  };
  const errors: Record<string, string> = {};
  try {
    log(`offload bench (${results.mode}): synthesizing the stack…`);
    const synthStart = Date.now();
    const { cdkOut, cached } = await synthOnce();
    log(cached ? '  (unchanged since the last run: reused bench/.cache/cdk.out)' : `  (${Math.round((Date.now() - synthStart) / 1000)} s)`);
    const context: BenchContext = { quick, cdkOut, workDir, log };
    const run = async <T>(section: Section, title: string, fn: () => Promise<T>): Promise<T | undefined> => {
      if (!only.has(section)) return undefined;
      const sectionStart = Date.now();
      log(`${title}…`);
      try {
        const value = await fn();
        log(`  (${Math.round((Date.now() - sectionStart) / 1000)} s)`);
        return value;
      } catch (error) {
        const message = (error as Error).stack ?? String(error);
        errors[section] = message.split('\n').slice(0, 3).join(' ');
        log(`  ${section} failed: ${message}`);
        return undefined;
      }
    };
    const coldStart = await run('coldStart', '4. cold start', () => runColdStart(context));
    if (coldStart) results.coldStart = coldStart;
    const ack = await run('ack', '2. ack path', () => runAck(context));
    if (only.has('ack')) results.ack = ack ?? { error: errors.ack ?? 'failed' };
    const throughput = await run('throughput', '3. throughput', () => runThroughput(context));
    if (only.has('throughput')) results.throughput = throughput ?? { error: errors.throughput ?? 'failed' };
    const cost = await run('cost', '5. cost per task', () => runCost(context));
    if (cost) {
      const { progressCost, ...rest } = cost;
      results.cost = rest;
      results.progressCost = progressCost;
    } else if (only.has('cost')) results.cost = { error: errors.cost ?? 'failed' };
    const asyncVsSync = await run('asyncVsSync', '1. async vs sync', () => runAsyncVsSync(context, levels));
    if (asyncVsSync) {
      const rerun = new Set(asyncVsSync.rows.map((row) => `${row.architecture}:${row.sessions}`));
      const kept = levels ? (previous.asyncVsSync ?? []).filter((row) => !rerun.has(`${row.architecture}:${row.sessions}`)) : [];
      results.asyncVsSync = [...kept, ...asyncVsSync.rows].sort((a, b) => a.sessions - b.sessions || a.architecture.localeCompare(b.architecture));
      results.asyncVsSyncConfig = { ...asyncVsSync.config };
    }
  } finally {
    cleanup();
  }
  results.machine = { ...results.machine, loadAverageAtEnd: os.loadavg().map((value) => Math.round(value * 100) / 100), workerShim: workerShimActive };
  results.durationS = Math.round((Date.now() - started) / 1000);
  results.runs = [
    ...(partial ? (previous.runs ?? []) : []),
    { date: results.date, sections: [...only], ...(levels ? { levels } : {}), durationS: results.durationS },
  ];
  results.targets = evaluateTargets(results);
  results.notes = [...FINDINGS, ...measuredNotes(results)];
  results.errors = errors;
  writeFileSync(jsonFile, `${JSON.stringify(results, null, 2)}\n`);
  const markdown = toMarkdown(results);
  writeFileSync(path.join(resultsDir, `${name}.md`), `${markdown}\n`);
  log('');
  log(markdown);
  log(`written: ${path.relative(process.cwd(), jsonFile)} and ${name}.md (${results.durationS} s)`);
  // Sections that threw are bugs or broken environments; measured failures are data.
  process.exit(Object.keys(errors).length ? 1 : 0);
};

await main();
