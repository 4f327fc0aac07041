// 5. Cost per task. Runs each flow against a fresh local runtime and counts the AWS API calls it
// makes, from the runtime's own counters (DynamoDB, SQS, EventBridge, @connections), its function
// invocations (Lambda requests and GB-seconds, HTTP API requests, WebSocket messages) and its
// CloudFront counters. Idle background traffic (queue long polling, schedules), measured before the
// flows, is subtracted. Prices come from the dated table in prices.ts. Progress cost: DynamoDB
// writes and WebSocket pushes per task against token count, to show they follow time, not tokens.
import WebSocket from 'ws';
import { PRICE_TABLE, priceOf, type BillingUnit } from './prices.ts';
import { startBenchRuntime, type BenchContext, type BenchRuntime } from './harness.ts';
import { diffCounts, round, sleep } from './stats.ts';

export interface CostFlow {
  readonly flow: string;
  readonly status?: 'not implemented yet';
  readonly tasks?: number;
  readonly callsPerTask?: Record<string, number>;
  readonly operationsPerTask?: Record<string, number>;
  readonly usagePerTask?: Partial<Record<BillingUnit, number>>;
  readonly usdPerMillionTasks?: number;
  /** The same flow with only the calls it cannot avoid (see `floor` below), priced alike. */
  readonly floorUsdPerMillionTasks?: number;
  /** usdPerMillionTasks / floorUsdPerMillionTasks, with and without Lambda duration (GB-s). */
  readonly ratioToFloor?: number;
  readonly callsOnlyRatioToFloor?: number;
  readonly floorPerTask?: Partial<Record<BillingUnit, number>>;
  /** Tasks of the flow that did not succeed (the counts then describe a partial flow). */
  readonly failures?: number;
}

export interface ProgressCostRow {
  readonly model: string;
  readonly tokens: number;
  readonly durationS: number;
  readonly progressEntries: number;
  readonly ddbWrites: number;
  readonly pushes: number;
  readonly ddbWritesPerSecond: number;
  readonly tokensPerSecond: number;
}

export interface CostSection {
  readonly priceTableDate: string;
  readonly priceTable: typeof PRICE_TABLE;
  readonly flows: CostFlow[];
  readonly progressCost: ProgressCostRow[];
  readonly idleCallsPerMinute: Record<string, number>;
}

interface Snapshot {
  readonly at: number;
  readonly counts: Record<string, number>;
  readonly invocations: Record<string, number>;
  readonly invokeMs: Record<string, number>;
  readonly cdn: { hits: number; misses: number; refreshHits: number; passes: number };
}

const snapshot = (bench: BenchRuntime): Snapshot => ({
  at: Date.now(),
  counts: bench.runtime.counter.snapshot(),
  invocations: Object.fromEntries([...bench.invokes].map(([id, record]) => [id, record.invocations])),
  invokeMs: Object.fromEntries([...bench.invokes].map(([id, record]) => [id, record.totalMs])),
  cdn: { ...bench.runtime.cdn.stats },
});

interface Delta {
  readonly ms: number;
  readonly calls: Record<string, number>;
  readonly invocations: Record<string, number>;
  readonly invokeMs: Record<string, number>;
  readonly cdnRequests: number;
}

const delta = (a: Snapshot, b: Snapshot): Delta => ({
  ms: b.at - a.at,
  calls: diffCounts(a.counts, b.counts),
  invocations: diffCounts(a.invocations, b.invocations),
  invokeMs: diffCounts(a.invokeMs, b.invokeMs),
  cdnRequests: b.cdn.hits + b.cdn.misses + b.cdn.refreshHits + b.cdn.passes - (a.cdn.hits + a.cdn.misses + a.cdn.refreshHits + a.cdn.passes),
});

const sum = (values: Iterable<number>): number => [...values].reduce((total, value) => total + value, 0);
const DDB_WRITES = ['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems'];
const DDB_READS = ['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems'];

/** Billing usage of a measured flow, per task. */
const usageOf = (bench: BenchRuntime, flow: Delta, idle: Delta, tasks: number, connectionMinutes: number): { usage: Partial<Record<BillingUnit, number>>; calls: Record<string, number>; operations: Record<string, number> } => {
  // Background traffic at the idle rate (long polls of the four queues, schedules) is not the flow's.
  const scale = flow.ms / Math.max(1, idle.ms);
  const calls: Record<string, number> = {};
  for (const [key, value] of Object.entries(flow.calls)) calls[key] = Math.max(0, value - Math.round((idle.calls[key] ?? 0) * scale));
  // ReceiveMessage: on AWS an event source mapping's long poll returns when a message arrives and
  // other pollers keep waiting, so each message costs one receive (batch size 1); empty long polls
  // are a fixed per-queue cost, not a per-task one. The local emulator wakes every waiting poller
  // per message, so its count (kept as `sqs:ReceiveMessage (local, incl. empty)`) is not AWS's.
  const localReceives = calls['sqs:ReceiveMessage'];
  if (localReceives !== undefined) calls['sqs:ReceiveMessage'] = Math.min(localReceives, calls['sqs:SendMessage'] ?? 0);
  const invocations: Record<string, number> = {};
  for (const [id, value] of Object.entries(flow.invocations)) invocations[id] = Math.max(0, value - Math.round((idle.invocations[id] ?? 0) * scale));
  const memoryOf = (id: string): number => bench.runtime.functions.get(id)?.config.memorySize ?? 128;
  const gbSeconds = sum(Object.entries(flow.invokeMs).filter(([id]) => (invocations[id] ?? 0) > 0).map(([id, ms]) => (Math.ceil(ms) / 1000) * (memoryOf(id) / 1024)));
  const isHttpRoute = (id: string) => id.startsWith('Http') && !id.startsWith('HttpAuthorizer');
  const isWsRoute = (id: string) => id.startsWith('WebSocket') && !/^WebSocket(Authorizer|Connect|Disconnect)/.test(id);
  const op = (service: string, names: string[]) => sum(names.map((name) => calls[`${service}:${name}`] ?? 0));
  const ddbWrites = op('dynamodb', DDB_WRITES);
  const ddbReads = op('dynamodb', DDB_READS);
  const sqs = sum(Object.entries(calls).filter(([key]) => key.startsWith('sqs:')).map(([, value]) => value));
  const events = calls['eventbridge:PutEvents'] ?? 0;
  const management = sum(Object.entries(calls).filter(([key]) => key.startsWith('apigatewaymanagementapi:')).map(([, value]) => value));
  const httpRequests = sum(Object.entries(invocations).filter(([id]) => isHttpRoute(id)).map(([, value]) => value));
  const wsInbound = sum(Object.entries(invocations).filter(([id]) => isWsRoute(id)).map(([, value]) => value));
  const lambdaRequests = sum(Object.values(invocations));
  const per = (value: number) => round(value / tasks, 3) ?? 0;
  const usage: Partial<Record<BillingUnit, number>> = {
    lambdaRequest: per(lambdaRequests),
    lambdaGbSecondArm64: per(gbSeconds),
    httpApiRequest: per(httpRequests),
    webSocketMessage: per(wsInbound + management),
    webSocketConnectionMinute: per(connectionMinutes),
    dynamoWriteRequestUnit: per(ddbWrites),
    dynamoReadRequestUnit: per(ddbReads),
    sqsRequest: per(sqs),
    eventBridgeEvent: per(events),
    cloudFrontRequest: per(flow.cdnRequests),
  };
  const byService: Record<string, number> = {
    'apigateway-http': per(httpRequests),
    'apigateway-websocket': per(wsInbound + management),
    lambda: per(lambdaRequests),
    dynamodb: per(ddbWrites + ddbReads),
    sqs: per(sqs),
    eventbridge: per(events),
    cloudfront: per(flow.cdnRequests),
  };
  const operations: Record<string, number> = {};
  for (const [key, value] of Object.entries(calls)) if (value) operations[key] = per(value);
  if (localReceives) operations['sqs:ReceiveMessage (local, incl. empty)'] = per(localReceives);
  for (const [id, value] of Object.entries(invocations)) if (value) operations[`lambda:Invoke:${id.replace(/[0-9A-F]{8}$/, '')}`] = per(value);
  return { usage, calls: Object.fromEntries(Object.entries(byService).filter(([, value]) => value > 0)), operations };
};

const priced = (usage: Partial<Record<BillingUnit, number>>): number => round(priceOf(usage) * 1e6, 2) ?? 0;

interface SessionOutcome {
  readonly taskId: string;
  readonly ackMs: number;
  readonly durationMs: number;
  readonly entries: number;
  readonly connectedMs: number;
  readonly status: string;
}

/** One browser-like session: connect, submit, subscribe, stream to the terminal status, disconnect. */
const streamedSession = async (bench: BenchRuntime, key: string, input: { prompt: string; maxTokens: number; model: string }, timeoutMs: number): Promise<SessionOutcome> => {
  const { endpoints } = bench.runtime;
  const socket = new WebSocket(`${endpoints.webSocketApi}?token=${encodeURIComponent(key)}`);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
    socket.once('unexpected-response', (_request, response) => reject(new Error(`handshake ${response.statusCode}`)));
  });
  const connectedAt = Date.now();
  const submittedAt = Date.now();
  const response = await fetch(`${endpoints.httpApi}/v1/tasks`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'completion', input }) });
  const ackMs = Date.now() - submittedAt;
  const { taskId } = (await response.json()) as { taskId: string };
  let entries = 0;
  const status = await new Promise<string>((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), timeoutMs);
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string; seq?: number; status?: string; taskId?: string };
      if (message.type === 'progress' && message.taskId === taskId) entries = Math.max(entries, message.seq ?? 0);
      if (message.type === 'status' && message.taskId === taskId) {
        clearTimeout(timer);
        resolve(message.status ?? 'unknown');
      }
    });
    socket.send(JSON.stringify({ action: 'subscribe', taskId, after: 0 }));
  });
  const durationMs = Date.now() - submittedAt;
  await new Promise<void>((resolve) => {
    socket.once('close', () => resolve());
    socket.close();
  });
  return { taskId, ackMs, durationMs, entries, connectedMs: Date.now() - connectedAt, status };
};

export const runCost = async (context: BenchContext): Promise<CostSection> => {
  const bench = await startBenchRuntime(context);
  try {
    const key = bench.runtime.endpoints.devTenant.apiKey;
    const model = context.quick ? 'sim-fast' : 'sim-1';
    const parallel = context.quick ? 2 : 3;
    // Warm-up (not measured): one of each flow brings up the environments the flows use.
    await streamedSession(bench, key, { prompt: 'warm up', maxTokens: 20, model: 'sim-fast' }, 60_000);
    await sleep(1_500);
    const idleMs = context.quick ? 2_000 : 10_000;
    const idleStart = snapshot(bench);
    await sleep(idleMs);
    const idle = delta(idleStart, snapshot(bench));

    const flows: CostFlow[] = [];
    const progressCost: ProgressCostRow[] = [];
    const streamed = async (modelName: string, tokens: number, tasks: number, asFlow: boolean): Promise<void> => {
      const before = snapshot(bench);
      const outcomes = await Promise.all(
        Array.from({ length: tasks }, (_, i) => streamedSession(bench, key, { prompt: `cost flow ${tokens} ${i}`, maxTokens: tokens, model: modelName }, 240_000)),
      );
      await sleep(1_500); // $disconnect and trailing writes
      const flow = delta(before, snapshot(bench));
      const minutes = sum(outcomes.map((outcome) => Math.ceil(outcome.connectedMs / 60_000)));
      const { usage, calls, operations } = usageOf(bench, flow, idle, tasks, minutes);
      const entries = sum(outcomes.map((outcome) => outcome.entries)) / tasks;
      const durationS = sum(outcomes.map((outcome) => outcome.durationMs)) / tasks / 1000;
      const workerId = bench.functionId('InteractiveWorker');
      const workerGbS = ((flow.invokeMs[workerId] ?? 0) / 1000) * ((bench.runtime.functions.get(workerId)?.config.memorySize ?? 512) / 1024) / tasks;
      const floor: Partial<Record<BillingUnit, number>> = {
        lambdaRequest: 3, // submit, worker, subscribe
        lambdaGbSecondArm64: round(workerGbS, 3) ?? 0, // the worker streams for as long as the model talks
        httpApiRequest: 1,
        webSocketMessage: 1 + entries + 1, // subscribe in; every entry and the final status out
        webSocketConnectionMinute: usage.webSocketConnectionMinute ?? 1,
        dynamoWriteRequestUnit: 3 + entries, // create, claim, one per entry, finish
        dynamoReadRequestUnit: 1, // the subscription's authorization read
        sqsRequest: 3, // send (by the rule), receive, delete
        eventBridgeEvent: 3, // Submitted, Started, Succeeded (SPEC §3)
      };
      const withoutDuration = (u: Partial<Record<BillingUnit, number>>) => ({ ...u, lambdaGbSecondArm64: 0 });
      const failures = outcomes.filter((outcome) => outcome.status !== 'succeeded').length;
      if (asFlow) {
        flows.push({
          flow: `streamed completion, ${tokens} tokens (${modelName})`,
          tasks,
          callsPerTask: calls,
          operationsPerTask: operations,
          usagePerTask: usage,
          usdPerMillionTasks: priced(usage),
          floorPerTask: floor,
          floorUsdPerMillionTasks: priced(floor),
          ratioToFloor: round(priced(usage) / Math.max(1e-9, priced(floor)), 2) ?? 0,
          callsOnlyRatioToFloor: round(priced(withoutDuration(usage)) / Math.max(1e-9, priced(withoutDuration(floor))), 2) ?? 0,
          ...(failures ? { failures } : {}),
        });
      }
      progressCost.push({
        model: modelName,
        tokens,
        durationS: round(durationS, 2) ?? 0,
        progressEntries: round(entries, 1) ?? 0,
        ddbWrites: usage.dynamoWriteRequestUnit ?? 0,
        pushes: operations['apigatewaymanagementapi:PostToConnection'] ?? 0,
        ddbWritesPerSecond: round((usage.dynamoWriteRequestUnit ?? 0) / Math.max(0.001, durationS), 1) ?? 0,
        tokensPerSecond: round(tokens / Math.max(0.001, durationS), 1) ?? 0,
      });
      context.log(`  ${tokens} tokens (${modelName}) x${tasks}: ${round(durationS, 1)} s, ${round(entries, 1)} entries, ${usage.dynamoWriteRequestUnit} DynamoDB writes and ${operations['apigatewaymanagementapi:PostToConnection'] ?? 0} pushes per task`);
    };

    await streamed(model, 200, parallel, true);
    await streamed(model, 2_000, context.quick ? 1 : 2, true);
    // Same 2,000 tokens at the other speed: writes follow the duration, not the token count.
    if (!context.quick) await streamed('sim-fast', 2_000, 2, false);

    flows.push({ flow: 'webhook fan-out', status: 'not implemented yet' });

    // Ten status reads of a finished task through CloudFront: the first misses, nine are hits.
    const finished = await streamedSession(bench, key, { prompt: 'status reads', maxTokens: 5, model: 'sim-fast' }, 60_000);
    if (finished.status !== 'succeeded') context.log(`  status-read task ended ${finished.status}`);
    const taskId = finished.taskId;
    await sleep(1_000);
    const before = snapshot(bench);
    for (let i = 0; i < 10; i++) {
      const response = await fetch(`${bench.runtime.endpoints.cdn}/v1/tasks/${taskId}`, { headers: { authorization: `Bearer ${key}` } });
      await response.arrayBuffer();
    }
    await sleep(500);
    const readsDelta = delta(before, snapshot(bench));
    const reads = usageOf(bench, readsDelta, idle, 1, 0);
    const cdnAfter = bench.runtime.cdn.stats;
    const readFloor: Partial<Record<BillingUnit, number>> = { cloudFrontRequest: 10, httpApiRequest: 1, lambdaRequest: 1, dynamoReadRequestUnit: 1 };
    flows.push({
      flow: 'ten status reads, nine served by CloudFront',
      tasks: 1,
      callsPerTask: reads.calls,
      operationsPerTask: { ...reads.operations, 'cloudfront:Hit': cdnAfter.hits - before.cdn.hits, 'cloudfront:Miss': cdnAfter.misses - before.cdn.misses },
      usagePerTask: reads.usage,
      usdPerMillionTasks: priced(reads.usage),
      floorPerTask: readFloor,
      floorUsdPerMillionTasks: priced(readFloor),
      ratioToFloor: round(priced(reads.usage) / Math.max(1e-9, priced(readFloor)), 2) ?? 0,
      callsOnlyRatioToFloor: round(priced({ ...reads.usage, lambdaGbSecondArm64: 0 }) / Math.max(1e-9, priced(readFloor)), 2) ?? 0,
    });

    const perMinute = Object.fromEntries(Object.entries(idle.calls).map(([key_, value]) => [key_, round((value / idle.ms) * 60_000, 1) ?? 0]));
    return { priceTableDate: PRICE_TABLE.date, priceTable: PRICE_TABLE, flows, progressCost, idleCallsPerMinute: perMinute };
  } finally {
    await bench.stop();
  }
};
