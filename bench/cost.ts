// 5. Cost per task. Runs each flow against a fresh local runtime and counts the AWS API calls it
// makes, from the runtime's own counters (DynamoDB, SQS, EventBridge, @connections), its function
// invocations (Lambda requests and GB-seconds, HTTP API requests, WebSocket messages) and its
// CloudFront counters. Idle background traffic (queue long polling, schedules), measured before the
// flows, is subtracted. The webhook fan-out runs a signed-delivery receiver on loopback and counts
// until every expected delivery arrived and the runtime went quiet. Prices come from the dated
// table in prices.ts. Progress cost: DynamoDB writes and WebSocket pushes per task against token
// count, to show they follow time, not tokens.
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { PRICE_TABLE, priceOf, type BillingUnit } from './prices.ts';
import { settle, startBenchRuntime, type BenchContext, type BenchRuntime } from './harness.ts';
import { diffCounts, median, round, sleep } from './stats.ts';

export interface CostFlow {
  readonly flow: string;
  /** Only in results files written before every flow was measured. */
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
  /** Webhook flows: distinct signed deliveries received per task (all endpoints together). */
  readonly deliveriesPerTask?: number;
  /** Webhook flows: deliveries received again with a `webhook-id` already seen (deduplicated). */
  readonly duplicateDeliveries?: number;
}

export interface ProgressCostRow {
  readonly model: string;
  readonly tokens: number;
  readonly durationS: number;
  readonly progressEntries: number;
  readonly ddbWrites: number;
  /** DynamoDB calls (reads and writes) per task. */
  readonly ddbCalls: number;
  /**
   * DynamoDB calls per progress entry with one subscriber: every DynamoDB call of the task (its
   * fixed calls too: create, claim, finish, subscribe) divided by its progress entries, so an
   * upper bound of the per-entry cost that approaches it as entries grow.
   */
  readonly ddbCallsPerEntry: number;
  /**
   * The per-entry slope: (calls of this row − calls of the shorter row of the same model) /
   * (entries of this row − entries of that row), which cancels the fixed calls. Only on the
   * longer of two rows of one model.
   */
  readonly ddbCallsPerEntryMarginal?: number;
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
  // Transaction items ride along as pseudo-operations (priced as two request units each).
  counts: { ...bench.runtime.counter.snapshot(), [TRANSACT_WRITE_ITEMS]: bench.transactItems.write, [TRANSACT_GET_ITEMS]: bench.transactItems.read },
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
/** Pseudo-operations: items of the transactions (not calls). */
const TRANSACT_WRITE_ITEMS = 'dynamodb-items:TransactWriteItems';
const TRANSACT_GET_ITEMS = 'dynamodb-items:TransactGetItems';

/** Billing usage of a measured flow, per task. */
const usageOf = (
  bench: BenchRuntime,
  flow: Delta,
  idle: Delta,
  tasks: number,
  connectionMinutes: number,
): { usage: Partial<Record<BillingUnit, number>>; calls: Record<string, number>; operations: Record<string, number>; ddbCallsPerTask: { writes: number; reads: number } } => {
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
  // Calls (what the issue counts) and request units (what AWS bills: a transaction's every item
  // costs two units; item sizes over 1 KB are not modelled).
  const ddbWrites = op('dynamodb', DDB_WRITES);
  const ddbReads = op('dynamodb', DDB_READS);
  const ddbWriteUnits = ddbWrites - op('dynamodb', ['TransactWriteItems']) + 2 * (calls[TRANSACT_WRITE_ITEMS] ?? 0);
  const ddbReadUnits = ddbReads - op('dynamodb', ['TransactGetItems']) + 2 * (calls[TRANSACT_GET_ITEMS] ?? 0);
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
    dynamoWriteRequestUnit: per(ddbWriteUnits),
    dynamoReadRequestUnit: per(ddbReadUnits),
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
  return { usage, calls: Object.fromEntries(Object.entries(byService).filter(([, value]) => value > 0)), operations, ddbCallsPerTask: { writes: per(ddbWrites), reads: per(ddbReads) } };
};

const priced = (usage: Partial<Record<BillingUnit, number>>): number => round(priceOf(usage) * 1e6, 2) ?? 0;

/** A flow's usage and floor, priced, with the ratio between them (with and without Lambda duration). */
const pricedAgainstFloor = (usage: Partial<Record<BillingUnit, number>>, floor: Partial<Record<BillingUnit, number>>) => {
  const withoutDuration = (u: Partial<Record<BillingUnit, number>>) => ({ ...u, lambdaGbSecondArm64: 0 });
  return {
    usagePerTask: usage,
    usdPerMillionTasks: priced(usage),
    floorPerTask: floor,
    floorUsdPerMillionTasks: priced(floor),
    ratioToFloor: round(priced(usage) / Math.max(1e-9, priced(floor)), 2) ?? 0,
    callsOnlyRatioToFloor: round(priced(withoutDuration(usage)) / Math.max(1e-9, priced(withoutDuration(floor))), 2) ?? 0,
  };
};

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
      const message = JSON.parse(String(data)) as { type: string; seq?: number; entries?: { seq: number }[]; status?: string; taskId?: string };
      if (message.type === 'progress' && message.taskId === taskId) entries = Math.max(entries, message.seq ?? 0);
      if (message.type === 'progressBatch' && message.taskId === taskId) entries = Math.max(entries, ...(message.entries ?? []).map((entry) => entry.seq));
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

/** Endpoints the webhook fan-out flow registers (each receives every lifecycle event). */
const WEBHOOK_ENDPOINTS = 3;

/** A webhook endpoint run by the bench: verifies Standard Webhooks signatures, dedupes by `webhook-id`. */
interface WebhookReceiver {
  readonly base: string;
  /** Paths registered as endpoints, with the `whsec_` secret each verifies against. */
  readonly secrets: Map<string, string>;
  /** First deliveries, keyed `${path} ${taskId} ${event type}`. */
  readonly delivered: Set<string>;
  /** POSTs to registered paths; distinct deliveries; repeats of a seen `webhook-id`; unsigned or malformed. */
  readonly stats: { posts: number; unique: number; duplicates: number; badSignatures: number };
  close(): Promise<void>;
}

const startWebhookReceiver = async (): Promise<WebhookReceiver> => {
  const secrets = new Map<string, string>();
  const seen = new Set<string>();
  const delivered = new Set<string>();
  const stats = { posts: 0, unique: 0, duplicates: 0, badSignatures: 0 };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = request.url ?? '';
      const secret = secrets.get(path);
      if (!secret) {
        response.writeHead(204).end(); // the round-trip probe
        return;
      }
      stats.posts++;
      const body = Buffer.concat(chunks).toString('utf8');
      const id = String(request.headers['webhook-id'] ?? '');
      const timestamp = String(request.headers['webhook-timestamp'] ?? '');
      const expected = `v1,${createHmac('sha256', Buffer.from(secret.replace(/^whsec_/, ''), 'base64')).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
      if (!String(request.headers['webhook-signature'] ?? '').split(' ').includes(expected)) {
        stats.badSignatures++;
        response.writeHead(401).end();
        return;
      }
      if (seen.has(`${path} ${id}`)) stats.duplicates++;
      else {
        let payload: { type?: unknown; data?: { taskId?: unknown } };
        try {
          payload = JSON.parse(body) as typeof payload;
        } catch {
          payload = {};
        }
        if (typeof payload.type !== 'string' || typeof payload.data?.taskId !== 'string') {
          stats.badSignatures++; // signed, but not a lifecycle event: count it as a broken delivery
          response.writeHead(400).end();
          return;
        }
        seen.add(`${path} ${id}`);
        stats.unique++;
        delivered.add(`${path} ${payload.data.taskId} ${payload.type}`);
      }
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    secrets,
    delivered,
    stats,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};

/**
 * The webhook fan-out: a backend submits short tasks over HTTP (no WebSocket) and relies on its
 * endpoints, each subscribed to every lifecycle event, to hear about them.
 */
const webhookFanOut = async (bench: BenchRuntime, context: BenchContext, idle: Delta): Promise<CostFlow> => {
  const { httpApi } = bench.runtime.endpoints;
  const tasks = context.quick ? 2 : 10;
  const [key] = await bench.tenants(1);
  const receiver = await startWebhookReceiver();
  try {
    for (let i = 0; i < WEBHOOK_ENDPOINTS; i++) {
      const path = `/endpoint-${i}`;
      const response = await fetch(`${httpApi}/v1/webhooks`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ url: `${receiver.base}${path}` }) });
      const body = (await response.json()) as { secret?: string };
      if (response.status !== 201 || !body.secret) throw new Error(`webhook registration answered ${response.status}`);
      receiver.secrets.set(path, body.secret);
    }
    const paths = [...receiver.secrets.keys()];
    const submit = async (label: string): Promise<string> => {
      const response = await fetch(`${httpApi}/v1/tasks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'completion', input: { prompt: `webhook fan-out ${label}`, maxTokens: 20, model: 'sim-fast' } }),
      });
      const body = (await response.json()) as { taskId?: string };
      if (response.status !== 202 || !body.taskId) throw new Error(`submit answered ${response.status}`);
      return body.taskId;
    };
    // Every endpoint hears `task.started` and a terminal event of every task.
    const TERMINAL = ['task.succeeded', 'task.failed', 'task.cancelled'];
    const missing = (taskIds: readonly string[]): string[] =>
      taskIds.flatMap((taskId) =>
        paths.flatMap((path) => {
          const has = (type: string) => receiver.delivered.has(`${path} ${taskId} ${type}`);
          const terminal = TERMINAL.find(has);
          return [...(has('task.started') || (terminal && terminal !== 'task.succeeded') ? [] : [`${path} ${taskId} task.started`]), ...(terminal ? [] : [`${path} ${taskId} terminal`])];
        }),
      );
    const awaitDeliveries = async (taskIds: readonly string[], timeoutMs: number): Promise<string[]> => {
      const deadline = Date.now() + timeoutMs;
      while (missing(taskIds).length && Date.now() < deadline) await sleep(100);
      return missing(taskIds);
    };

    // Warm-up (not measured): the same shape once, so the integrations and analytics environments exist.
    const warm = await Promise.all(Array.from({ length: tasks }, (_, i) => submit(`warm-up ${i}`)));
    const warmMissing = await awaitDeliveries(warm, 60_000);
    if (warmMissing.length) context.log(`  webhook warm-up: ${warmMissing.length} deliveries never arrived (e.g. ${warmMissing[0]})`);
    await settle(bench, 1_500, 15_000);
    // The floor bills a delivery for its HTTP round trip: measured here, bench to receiver, a signed-size body.
    const roundTrips: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      await (await fetch(`${receiver.base}/probe`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'task.succeeded', timestamp: new Date().toISOString(), data: { taskId: warm[0], type: 'completion', status: 'succeeded' } }) })).arrayBuffer();
      roundTrips.push(performance.now() - started);
    }
    const roundTripMs = Math.ceil(median(roundTrips) ?? 1);

    const postsBefore = receiver.stats.posts;
    const uniqueBefore = receiver.stats.unique;
    const duplicatesBefore = receiver.stats.duplicates;
    const badBefore = receiver.stats.badSignatures;
    const before = snapshot(bench);
    const taskIds = await Promise.all(Array.from({ length: tasks }, (_, i) => submit(String(i))));
    const notArrived = await awaitDeliveries(taskIds, context.quick ? 60_000 : 120_000);
    if (notArrived.length) context.log(`  webhook fan-out: ${notArrived.length} of ${tasks * paths.length * 2} expected deliveries did not arrive in time (e.g. ${notArrived[0]}); counting a partial flow`);
    // The tail: each delivery task finishes and its terminal event reaches the analytics export.
    if (!(await settle(bench, 1_500, 20_000))) context.log('  webhook fan-out: the runtime did not go quiet within 20 s of the last delivery');
    const flow = delta(before, snapshot(bench));
    const { usage, calls, operations } = usageOf(bench, flow, idle, tasks, 0);
    const deliveries = receiver.stats.unique - uniqueBefore;
    const duplicates = receiver.stats.duplicates - duplicatesBefore;
    const badSignatures = receiver.stats.badSignatures - badBefore;

    // After the measurement: each task's outcome and progress entries (reads not counted).
    const outcomes = await Promise.all(
      taskIds.map(async (taskId) => {
        const response = await fetch(`${httpApi}/v1/tasks/${taskId}`, { headers: { authorization: `Bearer ${key}` } });
        const body = (await response.json()) as { status?: string; progress?: { seq?: number } };
        return { status: body.status ?? 'unknown', entries: body.progress?.seq ?? 0 };
      }),
    );
    const failures = taskIds.filter((taskId, i) => outcomes[i]!.status !== 'succeeded' || notArrived.some((line) => line.includes(taskId))).length;
    const entries = sum(outcomes.map((outcome) => outcome.entries)) / tasks;
    const events = 2; // Task Started and Task Succeeded reach the endpoints (Task Submitted is not a webhook event)
    const gb = (id: string, fallback: number) => (bench.runtime.functions.get(id)?.config.memorySize ?? fallback) / 1024;
    const workerId = bench.functionId('InteractiveWorker');
    const workerGbS = ((flow.invokeMs[workerId] ?? 0) / 1000) * gb(workerId, 512) / tasks;
    const integrationsGb = gb(bench.functionId('IntegrationsWorker'), 256);
    // The unavoidable calls of a correct implementation of SPEC §2-3 for one task whose two
    // webhook-visible lifecycle events go to every endpoint (signed, retried, isolated per endpoint):
    const floor: Partial<Record<BillingUnit, number>> = {
      // submit (the backend's POST /v1/tasks; its API-key check is cacheable per key, so not
      // counted, as for the streamed flow); the worker; one invocation per lifecycle event that fans out AND delivers:
      // it signs and POSTs to every endpoint concurrently (a slow endpoint only holds its own
      // request), and only a failed delivery becomes its own queued retry (per-endpoint backoff).
      lambdaRequest: 2 + events,
      // the worker runs as long as the model talks; each fan-out lasts at least one POST round trip
      lambdaGbSecondArm64: round(workerGbS + events * (roundTripMs / 1000) * integrationsGb, 4) ?? 0,
      httpApiRequest: 1,
      // create, claim, one per progress entry, finish: the task's own persistent record. Deliveries
      // need no record of their own on the happy path: the webhook-id derives from the event id and
      // the endpoint id, so a redelivered event re-sends the same ids and receivers deduplicate
      // (Standard Webhooks); only a failed delivery needs its retry state (its queue message).
      dynamoWriteRequestUnit: 3 + entries,
      // the tenant's endpoint list, read once per fanned-out event (a strongly consistent Query ≤ 4 KB)
      dynamoReadRequestUnit: events,
      // send (by the rule), receive, delete: once for the work, once per event for the fan-out
      sqsRequest: 3 + 3 * events,
      // Task Submitted, Task Started, Task Succeeded (SPEC §3); rule deliveries to SQS are free
      eventBridgeEvent: 3,
    };
    const deliveriesPerTask = round(deliveries / tasks, 2) ?? 0;
    context.log(
      `  webhook fan-out x${tasks} to ${paths.length} endpoints: ${deliveriesPerTask} deliveries per task (${receiver.stats.posts - postsBefore} POSTs, ${duplicates} duplicates, ${badSignatures} bad signatures), ` +
        `${usage.lambdaRequest} Lambda invocations, ${usage.dynamoWriteRequestUnit} DynamoDB writes, ${usage.dynamoReadRequestUnit} reads, ${usage.sqsRequest} SQS requests and ${usage.eventBridgeEvent} events per task`,
    );
    return {
      flow: `webhook fan-out: task lifecycle to ${paths.length} endpoints`,
      tasks,
      deliveriesPerTask,
      ...(duplicates ? { duplicateDeliveries: duplicates } : {}),
      callsPerTask: calls,
      operationsPerTask: operations,
      ...pricedAgainstFloor(usage, floor),
      ...(failures ? { failures } : {}),
    };
  } finally {
    await receiver.close();
  }
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
      const { usage, calls, operations, ddbCallsPerTask } = usageOf(bench, flow, idle, tasks, minutes);
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
      const failures = outcomes.filter((outcome) => outcome.status !== 'succeeded').length;
      if (asFlow) {
        flows.push({
          flow: `streamed completion, ${tokens} tokens (${modelName})`,
          tasks,
          callsPerTask: calls,
          operationsPerTask: operations,
          ...pricedAgainstFloor(usage, floor),
          ...(failures ? { failures } : {}),
        });
      }
      const ddbCalls = ddbCallsPerTask.writes + ddbCallsPerTask.reads;
      const shorter = progressCost.find((row) => row.model === modelName && row.progressEntries < entries);
      const marginal = shorter && entries - shorter.progressEntries >= 5 ? round((ddbCalls - shorter.ddbCalls) / (entries - shorter.progressEntries), 2) : null;
      progressCost.push({
        model: modelName,
        tokens,
        durationS: round(durationS, 2) ?? 0,
        progressEntries: round(entries, 1) ?? 0,
        ddbWrites: ddbCallsPerTask.writes,
        ddbCalls: round(ddbCalls, 3) ?? 0,
        ddbCallsPerEntry: round(ddbCalls / Math.max(1, entries), 2) ?? 0,
        ...(marginal !== null ? { ddbCallsPerEntryMarginal: marginal } : {}),
        pushes: operations['apigatewaymanagementapi:PostToConnection'] ?? 0,
        ddbWritesPerSecond: round(ddbCallsPerTask.writes / Math.max(0.001, durationS), 1) ?? 0,
        tokensPerSecond: round(tokens / Math.max(0.001, durationS), 1) ?? 0,
      });
      context.log(`  ${tokens} tokens (${modelName}) x${tasks}: ${round(durationS, 1)} s, ${round(entries, 1)} entries, ${ddbCallsPerTask.writes} DynamoDB write calls (${usage.dynamoWriteRequestUnit} write units) and ${operations['apigatewaymanagementapi:PostToConnection'] ?? 0} pushes per task`);
    };

    await streamed(model, 200, parallel, true);
    await streamed(model, 2_000, context.quick ? 1 : 2, true);
    // Same 2,000 tokens at the other speed: writes follow the duration, not the token count.
    if (!context.quick) await streamed('sim-fast', 2_000, 2, false);

    flows.push(await webhookFanOut(bench, context, idle));

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
      ...pricedAgainstFloor(reads.usage, readFloor),
    });

    const perMinute = Object.fromEntries(Object.entries(idle.calls).map(([key_, value]) => [key_, round((value / idle.ms) * 60_000, 1) ?? 0]));
    return { priceTableDate: PRICE_TABLE.date, priceTable: PRICE_TABLE, flows, progressCost, idleCallsPerMinute: perMinute };
  } finally {
    await bench.stop();
  }
};
