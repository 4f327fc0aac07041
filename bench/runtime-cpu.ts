// Local runtime CPU cost (issue #12): CPU per AWS SDK call made from a function thread, CPU per
// 40-token session, and cold starts paid by a burst. Measures this process (the engines, the API
// emulation and every Lambda worker thread run in it; the WebSocket/HTTP clients of the sessions
// too, a small share). Reproducible A/B:
//
//   npx tsx bench/runtime-cpu.ts [--calls 200] [--rounds 6] [--sessions 20] [--warm 1] [--transport on|off] [--warmup-sessions 1] [--cdk-out dir]
//
// `--transport off` sends function SDK calls over loopback HTTP (the pre-#12 path); `--warm 0`
// starts no warm environments. Prints one JSON document.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createTenant } from '../lambdas/core/auth.ts';
import { DynamoTenantStore } from '../lambdas/store/tenant-store.ts';
import { LocalFunction } from '../local/lambda/lambda-service.ts';
import { startRuntime, type Runtime } from '../local/runtime.ts';
import { synthOnce } from './harness.ts';

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '6' },
    sessions: { type: 'string', default: '20' },
    /** Concurrent sessions of the warm-up wave (as many as `sessions`: the measured wave finds its environments warm). */
    'warmup-sessions': { type: 'string', default: '1' },
    tokens: { type: 'string', default: '40' },
    warm: { type: 'string' },
    transport: { type: 'string', default: 'on' },
    /** A cloud assembly to run instead of a fresh synth (keeps an A/B on the same template). */
    'cdk-out': { type: 'string' },
  },
});
const CALLS = Number(values.calls);
const SESSIONS = Number(values.sessions);
const ROUNDS = Number(values.rounds);
const TOKENS = Number(values.tokens);

const cpuMs = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};
const coldStarts = (runtime: Runtime): number => [...runtime.functions.values()].reduce((total, fn) => total + fn.stats.coldStarts, 0);
const polling = (runtime: Runtime) =>
  runtime.eventSources.reduce((total, source) => ({ receives: total.receives + source.stats.receives, emptyReceives: total.emptyReceives + source.stats.emptyReceives, messages: total.messages + source.stats.messages }), { receives: 0, emptyReceives: 0, messages: 0 });
const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A function that makes `count` UpdateItem calls with the SDK the Lambda runtime provides. */
const UPDATE_HANDLER = `import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
const client = new DynamoDBClient({});
export const handler = async ({ count, table }) => {
  const from = process.threadCpuUsage();
  for (let i = 0; i < count; i++) {
    await client.send(new UpdateItemCommand({
      TableName: table,
      Key: { pk: { S: 'BENCH#runtime-cpu' }, sk: { S: 'counter' } },
      UpdateExpression: 'ADD n :one',
      ExpressionAttributeValues: { ':one': { N: '1' } },
    }));
  }
  const used = process.threadCpuUsage(from);
  return { count, threadCpuMs: (used.user + used.system) / 1000 };
};
`;

/** One session: connect, submit, subscribe, stream to the terminal status, disconnect. */
const session = async (runtime: Runtime, key: string, index: number): Promise<string> => {
  const { endpoints } = runtime;
  const socket = new WebSocket(`${endpoints.webSocketApi}?token=${encodeURIComponent(key)}`);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const response = await fetch(`${endpoints.httpApi}/v1/tasks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'completion', input: { prompt: `runtime cpu ${index}`, maxTokens: TOKENS, model: 'sim-fast' } }),
  });
  const { taskId } = (await response.json()) as { taskId: string };
  const status = await new Promise<string>((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), 120_000);
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string; status?: string; taskId?: string; nextAfter?: number };
      if (message.type === 'replayPaused' && message.taskId === taskId) socket.send(JSON.stringify({ action: 'subscribe', taskId, after: message.nextAfter }));
      if (message.type === 'status' && message.taskId === taskId && ['succeeded', 'failed', 'cancelled'].includes(message.status ?? '')) {
        clearTimeout(timer);
        resolve(message.status!);
      }
    });
    socket.send(JSON.stringify({ action: 'subscribe', taskId, after: 0 }));
  });
  await new Promise<void>((resolve) => {
    socket.once('close', () => resolve());
    socket.close();
  });
  return status;
};

const main = async (): Promise<void> => {
  const cdkOut = values['cdk-out'] ? path.resolve(values['cdk-out']) : (await synthOnce()).cdkOut;
  const dir = mkdtempSync(path.join(tmpdir(), 'offload-runtime-cpu-'));
  const started = cpuMs();
  const startedAt = Date.now();
  const runtime = await startRuntime({
    dir,
    ports: 'dynamic',
    logs: 'file',
    fresh: true,
    cdkOut,
    inProcessTransport: values.transport !== 'off',
    ...(values.warm !== undefined ? { warmEnvironments: Number(values.warm) } : {}),
    functionEnvironment: { TENANT_RATE_LIMIT: '100000', TENANT_BURST_LIMIT: '100000' },
  });
  const startCpuMs = cpuMs() - started;
  const startWallMs = Date.now() - startedAt;
  try {
    // Let the warm environments come up (they are created in the background, rate-limited).
    const readyBy = Date.now() + 120_000;
    while (Date.now() < readyBy && [...runtime.functions.values()].some((fn) => fn.warming)) await settle(200);
    await settle(1_000);

    // 1. SDK calls from a function thread: the bench functions sign as the cancel handler's role.
    // Two copies, one over the in-process transport (when the runtime has one) and one over HTTP,
    // measured in alternating rounds so that load from elsewhere on the machine hits both alike.
    const borrowed = [...runtime.functions.values()].find((fn) => fn.config.logicalId.startsWith('HttpCancelTask'))!;
    const codeDir = path.join(dir, 'bench-asset');
    mkdirSync(codeDir, { recursive: true });
    writeFileSync(path.join(codeDir, 'index.mjs'), UPDATE_HANDLER);
    const { transport, ...overHttp } = borrowed.config;
    const variants = [
      ...(transport ? [['inProcess', new LocalFunction({ ...borrowed.config, logicalId: 'BenchInProcess', codeDir, handler: 'index.handler', timeoutSeconds: 300 }, () => undefined)] as const] : []),
      ['http', new LocalFunction({ ...overHttp, logicalId: 'BenchHttp', codeDir, handler: 'index.handler', timeoutSeconds: 300 }, () => undefined)] as const,
    ];
    const table = borrowed.config.environment.TASKS_TABLE!;
    for (const [, fn] of variants) await fn.invoke({ count: 100, table }); // cold start, JIT warm-up
    await settle(500);
    const idleFrom = cpuMs();
    await settle(2_000);
    const idleCpuMsPerSecond = (cpuMs() - idleFrom) / 2;
    const perCall: Record<string, { cpu: number[]; wall: number[]; worker: number[]; main: number[] }> = {};
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, fn] of round % 2 ? [...variants].reverse() : variants) {
        const from = cpuMs();
        const mainFrom = process.threadCpuUsage();
        const at = performance.now();
        const { threadCpuMs } = (await fn.invoke({ count: CALLS, table })) as { threadCpuMs: number };
        const wallMs = performance.now() - at;
        const main = process.threadCpuUsage(mainFrom);
        const record = (perCall[name] ??= { cpu: [], wall: [], worker: [], main: [] });
        record.cpu.push((cpuMs() - from - (idleCpuMsPerSecond * wallMs) / 1000) / CALLS);
        record.wall.push(wallMs / CALLS);
        record.worker.push(threadCpuMs / CALLS);
        record.main.push((main.user + main.system) / 1000 / CALLS);
      }
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const updateItem = Object.fromEntries(
      Object.entries(perCall).map(([name, { cpu, wall, worker, main }]) => [
        name,
        {
          // Process CPU (every thread, idle rate subtracted); the calling function's thread; the runtime's main thread (engines).
          cpuMsPerCall: Math.round(median(cpu) * 1000) / 1000,
          functionThreadCpuMsPerCall: Math.round(median(worker) * 1000) / 1000,
          mainThreadCpuMsPerCall: Math.round(median(main) * 1000) / 1000,
          wallMsPerCall: Math.round(median(wall) * 1000) / 1000,
          rounds: cpu.length,
        },
      ]),
    );
    for (const [, fn] of variants) await fn.shutdown();

    // 2. Sessions: a warm-up wave, then SESSIONS at once.
    const store = new DynamoTenantStore(table, DynamoDBDocumentClient.from(runtime.dynamo.client));
    const { apiKey } = await createTenant(store, 'runtime-cpu');
    await Promise.all(Array.from({ length: Number(values['warmup-sessions']) }, (_, i) => session(runtime, apiKey, -1 - i)));
    await settle(1_000);
    const coldBefore = coldStarts(runtime);
    const pollingBefore = polling(runtime);
    const sessionsFrom = cpuMs();
    const sessionsAt = Date.now();
    const statuses = await Promise.all(Array.from({ length: SESSIONS }, (_, i) => session(runtime, apiKey, i)));
    const sessionsWallMs = Date.now() - sessionsAt;
    const sessionsCpuMs = cpuMs() - sessionsFrom - (idleCpuMsPerSecond * sessionsWallMs) / 1000;
    console.log(
      JSON.stringify(
        {
          transport: values.transport,
          warmEnvironments: values.warm ?? 'default',
          start: { cpuMs: Math.round(startCpuMs), wallMs: startWallMs },
          idleCpuMsPerSecond: Math.round(idleCpuMsPerSecond * 10) / 10,
          updateItem: { callsPerRound: CALLS, ...updateItem },
          sessions: {
            count: SESSIONS,
            tokens: TOKENS,
            succeeded: statuses.filter((status) => status === 'succeeded').length,
            cpuMsPerSession: Math.round(sessionsCpuMs / SESSIONS),
            wallMs: sessionsWallMs,
            coldStarts: coldStarts(runtime) - coldBefore,
            // Queue polling: receives per message sent (the local pollers' cost; idle long polls included).
            sqs: (() => {
              const after = polling(runtime);
              const receives = after.receives - pollingBefore.receives;
              const messages = after.messages - pollingBefore.messages;
              return { messages, receives, emptyReceives: after.emptyReceives - pollingBefore.emptyReceives, receivesPerMessage: messages ? Math.round((receives / messages) * 100) / 100 : null };
            })(),
          },
        },
        null,
        2,
      ),
    );
  } finally {
    await runtime.stop();
    if (!process.env.KEEP_DIR) rmSync(dir, { recursive: true, force: true });
    else console.error(`kept ${dir}`);
  }
};

await main();
