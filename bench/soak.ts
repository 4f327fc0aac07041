/**
 * `npm run soak`: mixed load on the local runtime for ten minutes (SOAK_MINUTES to change it):
 * submits with and without sessions and idempotency keys, SDK watches over WebSocket, reads,
 * lists, cancels and client tokens, at a steady rate. Samples the process's memory and open
 * handles every ten seconds and reports their growth between the first and the last third of the
 * run; any unexpected answer or failed watch is an error. Writes `test-results/soak.json` and
 * exits non-zero on errors or when the heap keeps growing.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { OffloadClient, type OffloadError } from '../client/sdk/index.ts';
import { synthesize } from '../local/synth.ts';
import { startRuntime } from '../local/runtime.ts';

const MINUTES = Number(process.env.SOAK_MINUTES ?? 10);
const SUBMITS_PER_SECOND = Number(process.env.SOAK_RATE ?? 3);
const SAMPLE_MS = 10_000;

interface Sample {
  readonly atSeconds: number;
  readonly rssMb: number;
  readonly heapUsedMb: number;
  readonly handles: number;
  readonly completed: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
const average = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);

const main = async (): Promise<void> => {
  const dir = mkdtempSync(path.join(tmpdir(), 'offload-soak-'));
  const cdkOut = path.join(dir, 'cdk.out');
  synthesize(cdkOut);
  const runtime = await startRuntime({ dir, cdkOut, ports: 'dynamic', logs: 'silent', functionEnvironment: { TENANT_INFLIGHT_LIMIT: '1000' } });
  const client = new OffloadClient({ endpoint: runtime.endpoints.httpApi, webSocketUrl: runtime.endpoints.webSocketApi, credential: runtime.endpoints.devTenant.apiKey });
  const errors: string[] = [];
  const counts = { submitted: 0, completed: 0, watched: 0, reads: 0, cancels: 0, tokens: 0 };
  const samples: Sample[] = [];
  const started = Date.now();
  const ends = started + MINUTES * 60_000;
  const inflight = new Set<Promise<void>>();
  const track = (work: Promise<void>) => {
    const tracked = work
      .catch((error: unknown) => {
        const line = `${(error as OffloadError).name}: ${(error as Error).message}`;
        if (errors.length < 20) console.log(`soak error at ${Math.round((Date.now() - started) / 1000)}s: ${line}`);
        errors.push(line);
      })
      .finally(() => inflight.delete(tracked));
    inflight.add(tracked);
  };
  const sampler = setInterval(() => {
    const memory = process.memoryUsage();
    samples.push({ atSeconds: Math.round((Date.now() - started) / 1000), rssMb: mb(memory.rss), heapUsedMb: mb(memory.heapUsed), handles: process.getActiveResourcesInfo().length, completed: counts.completed });
    const last = samples.at(-1)!;
    console.log(`soak ${last.atSeconds}s rss ${last.rssMb} MB heap ${last.heapUsedMb} MB handles ${last.handles} completed ${counts.completed} errors ${errors.length}`);
  }, SAMPLE_MS);

  for (let tick = 0; Date.now() < ends; tick++) {
    const kind = tick % 10;
    track(
      (async () => {
        const task = await client.submit('completion', { prompt: `soak ${tick}`, maxTokens: 10 + (tick % 40), model: 'sim-fast' }, {
          ...(kind === 1 ? { sessionId: `soak-session-${tick % 7}` } : {}),
          ...(kind === 2 ? { idempotencyKey: `soak-${tick}` } : {}),
        });
        counts.submitted++;
        if (kind === 3) {
          await client.cancel(task.taskId).catch((error: OffloadError) => {
            if (error.status !== 409) throw error; // it may have finished already
          });
          counts.cancels++;
          return;
        }
        if (kind < 5) {
          for await (const event of client.watch(task.taskId)) if (event.kind === 'gap') throw new Error(`continuity lost on ${task.taskId}`);
          counts.watched++;
        } else {
          for (let i = 0; i < 100; i++) {
            const read = await client.get(task.taskId);
            counts.reads++;
            if (read.status !== 'queued' && read.status !== 'running') break;
            await sleep(200);
          }
        }
        if (kind === 6) {
          await client.list({ limit: 20 });
          await client.events(task.taskId);
        }
        if (kind === 7) {
          await client.createClientToken({ taskIds: [task.taskId], ttlSeconds: 60 });
          counts.tokens++;
        }
        counts.completed++;
      })(),
    );
    await sleep(1000 / SUBMITS_PER_SECOND);
  }
  await Promise.allSettled([...inflight]);
  clearInterval(sampler);
  await runtime.stop();
  rmSync(dir, { recursive: true, force: true });

  const third = Math.max(1, Math.floor(samples.length / 3));
  const first = samples.slice(0, third);
  const last = samples.slice(-third);
  const growth = {
    rssMb: Math.round((average(last.map((sample) => sample.rssMb)) - average(first.map((sample) => sample.rssMb))) * 10) / 10,
    heapUsedMb: Math.round((average(last.map((sample) => sample.heapUsedMb)) - average(first.map((sample) => sample.heapUsedMb))) * 10) / 10,
    handles: Math.round(average(last.map((sample) => sample.handles)) - average(first.map((sample) => sample.handles))),
  };
  const report = { date: new Date().toISOString(), minutes: MINUTES, submitsPerSecond: SUBMITS_PER_SECOND, counts, errors: errors.length, errorSamples: errors.slice(0, 10), growthFirstToLastThird: growth, samples };
  mkdirSync('test-results', { recursive: true });
  writeFileSync('test-results/soak.json', JSON.stringify(report, null, 2) + '\n');
  console.log(JSON.stringify({ ...report, samples: undefined }, null, 2));
  // Levelling off: the last third's heap is within 25% (and 64 MB) of the first third's.
  const firstHeap = average(first.map((sample) => sample.heapUsedMb));
  const levelled = growth.heapUsedMb < Math.max(64, firstHeap * 0.25);
  process.exitCode = errors.length === 0 && levelled ? 0 : 1;
};

await main();
