import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { OffloadClient } from '../../client/sdk/index.ts';
import { createTenant } from '../../lambdas/core/auth.ts';
import { runningScope } from '../../lambdas/core/fairness.ts';
import { TaskKeys } from '../../lambdas/store/keys.ts';
import { DynamoTenantStore } from '../../lambdas/store/tenant-store.ts';
import { FaultInjector, type FaultKind } from '../../local/faults.ts';
import { startRuntime, type Ports, type Runtime } from '../../local/runtime.ts';

/** Options of one fault-injection run. */
export interface FaultRunOptions {
  /** Synth output to run (the test suite's shared one). */
  readonly cdkOut: string;
  /** Tasks to submit. */
  readonly tasks: number;
  readonly tenants: number;
  /** Sessions per tenant; a third of the tasks belong to one. */
  readonly sessionsPerTenant: number;
  /** Share of tasks a client watches through the SDK. */
  readonly watchShare: number;
  /** Share of tasks that run the `sim-fail` model: they must end `failed`, and in the DLQ. @default 0 */
  readonly failShare?: number;
  /**
   * Share of tasks that are `tasks.export` (the batch class; no session, must succeed), so the run
   * covers every workload class: interactive (completion), batch (export), integrations (webhook
   * deliveries) and analytics (the lifecycle export). @default 0.05
   */
  readonly exportShare?: number;
  /** Concurrent submitters. */
  readonly concurrency: number;
  /** Restart the whole runtime once, when half the tasks are acknowledged. */
  readonly restart: boolean;
  readonly probabilities: Partial<Record<FaultKind, number>>;
  readonly seed?: number;
  /** How long to wait for everything to settle after the last submit. */
  readonly settleTimeoutMs: number;
  /** How long to wait, after the work drained, for late terminal webhooks. @default 120000 */
  readonly webhookGraceMs?: number;
  /** Progress lines of the run (for the console). */
  readonly log?: (line: string) => void;
}

/** What a run found (the shape of `test-results/faults.json`). */
export interface FaultRunReport {
  readonly tasks: number;
  readonly acknowledged: number;
  readonly terminal: number;
  readonly lost: number;
  readonly concurrentRuns: number;
  readonly sessionOrderViolations: number;
  readonly duplicateEffects: number;
  readonly progressGaps: number;
  readonly progressDuplicates: number;
  readonly counterDrift: number;
  readonly faultsInjected: Record<FaultKind, number>;
  /** Details that explain the counts above. */
  readonly details: {
    readonly statuses: Record<string, number>;
    readonly watched: number;
    readonly continuityReports: number;
    readonly webhookDeliveries: number;
    readonly webhookRedeliveriesDeduplicated: number;
    readonly missingTerminalWebhooks: number;
    readonly failedTasks: number;
    readonly plannedFailures: number;
    /** Acknowledged `tasks.export` tasks (batch class). */
    readonly exports: number;
    readonly unexpectedOutcomes: number;
    readonly dlqTaskFailures: number;
    readonly dlqMismatch: number;
    readonly attempts: number;
    readonly unclosedAttempts: number;
    readonly durationSeconds: number;
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);
const CLASSES = ['interactive', 'batch', 'integrations', 'analytics'] as const;

/** A deterministic pseudo-random sequence for the workload (independent of the fault sequence). */
const prng = (seed: number) => {
  let state = seed >>> 0 || 1;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

/** A webhook receiver that applies each message once (by `webhook-id`) and records the effects. */
const startReceiver = async () => {
  const deliveries = new Map<string, number>();
  /** (endpoint, task, event type) → the distinct webhook ids that carried it. */
  const effects = new Map<string, Set<string>>();
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const id = String(request.headers['webhook-id'] ?? '');
      deliveries.set(id, (deliveries.get(id) ?? 0) + 1);
      if (deliveries.get(id) === 1) {
        try {
          const payload = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { type: string; data: { taskId: string } };
          const key = `${request.url}|${payload.data.taskId}|${payload.type}`;
          effects.set(key, (effects.get(key) ?? new Set()).add(id));
        } catch {
          // a malformed delivery would show up as a missing effect
        }
      }
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    deliveries,
    effects,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};

const portsOf = (runtime: Runtime): Ports => {
  const port = (url: string) => Number(new URL(url).port);
  const { endpoints } = runtime;
  return {
    httpApi: port(endpoints.httpApi),
    webSocketApi: port(endpoints.webSocketApi),
    cdn: port(endpoints.cdn),
    dynamodb: port(endpoints.services.dynamodb),
    sqs: port(endpoints.services.sqs),
    eventbridge: port(endpoints.services.eventbridge),
    secretsmanager: port(endpoints.services.secretsmanager),
  };
};

const tasksTableOf = (runtime: Runtime): string =>
  runtime.template.resolveString({ Ref: runtime.template.ofType('AWS::DynamoDB::Table').find(([id]) => id.startsWith('StorageTasks'))![0] }, 'faults');

/** Calls `operation` until it succeeds or the deadline passes (the SDK already retries within a call). */
const persist = async <T>(operation: () => Promise<T>, deadline: number): Promise<T> => {
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      const status = (error as { status?: number }).status;
      if (status !== undefined && status >= 400 && status < 500 && status !== 409 && status !== 429) throw error;
      if (Date.now() > deadline) throw error;
      await sleep(Math.min(5_000, 200 * 2 ** Math.min(attempt, 5)) * Math.random() + 100);
    }
  }
};

/**
 * One fault-injection run: tenants with webhooks submit tasks (some in sessions, some watched by
 * SDK clients) against a local runtime that injects faults, restarts once mid-run, and then checks
 * every promise: every acknowledged task terminal, no task run concurrently with itself, session
 * order held, each webhook effect applied once, every watcher saw each progress entry exactly once
 * in order, in-flight counters back to zero, and the DLQs holding exactly the failed tasks.
 */
export const runFaultScenario = async (options: FaultRunOptions): Promise<FaultRunReport> => {
  const log = options.log ?? (() => undefined);
  const startedAt = Date.now();
  const dir = mkdtempSync(path.join(tmpdir(), 'offload-faults-'));
  const faults = new FaultInjector({ probabilities: options.probabilities, seed: options.seed ?? 7, maxKillDelayMs: 1_500 });
  faults.enabled = false;
  const runtimeOptions = {
    dir,
    cdkOut: options.cdkOut,
    logs: 'file' as const,
    faults,
    // The reconciler every 3 s instead of every minute, so recoveries fit in a test run.
    scheduleTimeScale: 0.05,
    functionEnvironment: { TENANT_INFLIGHT_LIMIT: '80', PROGRESS_INTERVAL_MS: '100' },
  };
  let runtime = await startRuntime({ ...runtimeOptions, ports: 'dynamic' });
  const ports = portsOf(runtime);
  const receiver = await startReceiver();
  const random = prng((options.seed ?? 7) * 31);
  const tableName = tasksTableOf(runtime);
  const ddb = () => DynamoDBDocumentClient.from(runtime.dynamo.client);
  try {
    // Tenants, each with a webhook endpoint on the receiver.
    const tenants: { tenantId: string; apiKey: string; client: OffloadClient }[] = [];
    for (let i = 0; i < options.tenants; i++) {
      const { tenantId, apiKey } = await createTenant(new DynamoTenantStore(tableName, ddb()), `faults-${i}`);
      const client = new OffloadClient({
        endpoint: runtime.endpoints.httpApi,
        webSocketUrl: runtime.endpoints.webSocketApi,
        credential: apiKey,
        retry: { maxAttempts: 6, maxRetryAfterSeconds: 30 },
        watch: { maxReconnectAttempts: 40, reconnectMaxDelayMs: 3_000, connectTimeoutMs: 10_000 },
      });
      const hook = await fetch(`${runtime.endpoints.httpApi}/v1/webhooks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ url: `${receiver.base}/hook/${tenantId}`, events: ['Task Succeeded', 'Task Failed', 'Task Cancelled'] }),
      });
      if (hook.status !== 201) throw new Error(`webhook registration answered ${hook.status}`);
      tenants.push({ tenantId, apiKey, client });
    }
    faults.enabled = true;
    log(`runtime up in ${dir}; ${options.tasks} tasks, ${options.tenants} tenants, faults ${JSON.stringify(options.probabilities)}`);

    // The workload: each task's tenant, session (a third of them) and whether a client watches it.
    const plan = Array.from({ length: options.tasks }, (_, index) => {
      const tenant = index % options.tenants;
      const inSession = random() < 1 / 3;
      const exports = random() < (options.exportShare ?? 0.05);
      return {
        index,
        tenant,
        type: exports ? ('tasks.export' as const) : ('completion' as const),
        sessionId: inSession && !exports ? `s-${tenant}-${Math.floor(random() * options.sessionsPerTenant)}` : undefined,
        watch: random() < options.watchShare,
        maxTokens: 5 + Math.floor(random() * 36),
        fails: !exports && random() < (options.failShare ?? 0),
      };
    });
    const acknowledged = new Map<number, string>();
    const sessionOrder = new Map<string, string[]>();
    const sessionTail = new Map<string, Promise<void>>();
    const watches: Promise<{ taskId: string; seqs: number[]; gaps: number; status?: string }>[] = [];
    const stopWatching = new AbortController();
    const submitDeadline = Date.now() + options.settleTimeoutMs * 2;
    let restarting: Promise<void> | undefined;
    let restarted = !options.restart;

    const submitOne = async (item: (typeof plan)[number]): Promise<void> => {
      const { client } = tenants[item.tenant]!;
      const task = await persist(
        async () => {
          await restarting;
          const submitOptions = { idempotencyKey: `faults-${item.index}`, ...(item.sessionId ? { sessionId: item.sessionId } : {}) };
          return item.type === 'tasks.export'
            ? client.submit('tasks.export', { limit: 50 }, submitOptions)
            : client.submit('completion', { prompt: `fault run task ${item.index}`, maxTokens: item.maxTokens, model: item.fails ? 'sim-fail' : 'sim-fast' }, submitOptions);
        },
        submitDeadline,
      );
      acknowledged.set(item.index, task.taskId);
      if (item.sessionId) sessionOrder.set(item.sessionId, [...(sessionOrder.get(item.sessionId) ?? []), task.taskId]);
      if (item.watch) {
        watches.push(
          (async () => {
            const seqs: number[] = [];
            let gaps = 0;
            let status: string | undefined;
            try {
              for await (const event of client.watch(task.taskId, { signal: stopWatching.signal })) {
                if (event.kind === 'progress') seqs.push(event.seq);
                else if (event.kind === 'gap') gaps++;
                else if (event.kind === 'status') status = event.status;
              }
            } catch (error) {
              log(`watch of ${task.taskId} ended with ${(error as Error).message}`);
            }
            return { taskId: task.taskId, seqs, gaps, ...(status ? { status } : {}) };
          })(),
        );
      }
    };

    // Submitters: session tasks are chained per session so their submit order is defined.
    let next = 0;
    const submitter = async () => {
      while (next < plan.length) {
        const item = plan[next++]!;
        if (item.sessionId) {
          const previous = sessionTail.get(item.sessionId) ?? Promise.resolve();
          const mine = previous.then(() => submitOne(item));
          sessionTail.set(item.sessionId, mine.catch(() => undefined));
          await mine;
        } else {
          await submitOne(item);
        }
        if (!restarted && acknowledged.size >= options.tasks / 2) {
          restarted = true;
          restarting = (async () => {
            log(`restarting the runtime after ${acknowledged.size} acknowledged tasks`);
            await runtime.stop();
            faults.record('runtimeRestart');
            runtime = await startRuntime({ ...runtimeOptions, ports });
            log('runtime restarted');
          })();
          await restarting;
          restarting = undefined;
        }
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, submitter));
    log(`submitted: ${acknowledged.size} acknowledged in ${((Date.now() - startedAt) / 1000).toFixed(0)} s`);

    // Wait for every task (including webhook deliveries) to end, with faults still on.
    const deadline = Date.now() + options.settleTimeoutMs;
    const unfinished = async () => {
      let count = 0;
      for (const { client } of tenants) {
        for (const status of ['queued', 'running'] as const) count += (await persist(() => client.list({ status, limit: 100 }), deadline)).items.length;
      }
      return count;
    };
    while (Date.now() < deadline && (await unfinished()) > 0) await sleep(2_000);
    faults.enabled = false;
    log(`work drained at ${((Date.now() - startedAt) / 1000).toFixed(0)} s; verifying without faults`);

    // Every acknowledged task, read back.
    const tasks = new Map<string, Awaited<ReturnType<OffloadClient['get']>>>();
    for (const [index, taskId] of acknowledged) tasks.set(taskId, await persist(() => tenants[plan[index]!.tenant]!.client.get(taskId), Date.now() + 60_000));
    const statuses: Record<string, number> = {};
    for (const task of tasks.values()) statuses[task.status] = (statuses[task.status] ?? 0) + 1;
    const terminal = [...tasks.values()].filter((task) => TERMINAL.has(task.status)).length;

    // Webhook effects of terminal events, and counters, once the stragglers settle.
    const expectedEffects = [...tasks.values()].filter((task) => TERMINAL.has(task.status)).map((task) => {
      const tenantId = tenants[plan[[...acknowledged].find(([, id]) => id === task.taskId)![0]]!.tenant]!.tenantId;
      return `/hook/${tenantId}|${task.taskId}|task.${task.status}`;
    });
    const missing = () => expectedEffects.filter((key) => !receiver.effects.has(key)).length;
    const counters = async () => {
      let drift = 0;
      for (const { tenantId } of tenants) {
        for (const scope of [tenantId, ...CLASSES.map((name) => runningScope(tenantId, name))]) {
          const { Item } = await ddb().send(new GetCommand({ TableName: tableName, Key: TaskKeys.inflight(scope), ConsistentRead: true }));
          drift += Math.abs(Number(Item?.count ?? 0));
        }
      }
      return drift;
    };
    // Counters must return to zero; late webhooks (reported, not asserted) are waited for only
    // when `webhookGraceMs` allows it.
    const quiet = Date.now() + 120_000;
    const webhookQuiet = Date.now() + (options.webhookGraceMs ?? 120_000);
    while (Date.now() < quiet && ((Date.now() < webhookQuiet && missing() > 0) || (await counters()) > 0)) await sleep(2_000);

    stopWatching.abort(new Error('the run is over'));
    const watched = await Promise.all(watches);
    let progressGaps = 0;
    let progressDuplicates = 0;
    let continuityReports = 0;
    for (const watch of watched) {
      const final = tasks.get(watch.taskId)!;
      const expected = final.progress.seq;
      const seen = new Set<number>();
      let last = 0;
      for (const seq of watch.seqs) {
        if (seen.has(seq)) progressDuplicates++;
        else if (seq !== last + 1) progressGaps++;
        seen.add(seq);
        last = Math.max(last, seq);
      }
      for (let seq = 1; seq <= expected; seq++) if (!seen.has(seq)) progressGaps++;
      if (watch.status !== final.status) progressGaps++;
      continuityReports += watch.gaps;
    }

    let sessionOrderViolations = 0;
    for (const ids of sessionOrder.values()) {
      for (let i = 1; i < ids.length; i++) {
        const before = tasks.get(ids[i - 1]!)!;
        const after = tasks.get(ids[i]!)!;
        if (after.startedAt && (!before.finishedAt || Date.parse(after.startedAt) < Date.parse(before.finishedAt))) sessionOrderViolations++;
      }
    }

    const { concurrentRuns, attempts, unclosed } = concurrencyFromLogs(path.join(dir, 'runtime.log'), new Set(tasks.keys()));

    // DLQs: the task failures they hold must be exactly the failed tasks.
    const failed = new Set([...tasks.values()].filter((task) => task.status === 'failed').map((task) => task.taskId));
    const inDlq = new Set<string>();
    for (const [logicalId, resource] of runtime.template.ofType('AWS::SQS::Queue')) {
      if (!logicalId.includes('Dlq')) continue;
      const url = runtime.sqs.urlByArn.get(runtime.template.resolveString({ 'Fn::GetAtt': [logicalId, 'Arn'] }, 'faults'));
      if (!url || !resource) continue;
      const client = runtime.sqs.newClient(2);
      for (;;) {
        const { Messages = [] } = await client.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'], WaitTimeSeconds: 0, VisibilityTimeout: 60 }));
        if (Messages.length === 0) break;
        for (const message of Messages) {
          const taskId = message.MessageAttributes?.taskId?.StringValue;
          if (taskId && tasks.has(taskId)) inDlq.add(taskId);
        }
        await client.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: Messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })) }));
      }
    }
    const dlqMismatch = [...failed].filter((id) => !inDlq.has(id)).length + [...inDlq].filter((id) => !failed.has(id)).length;
    // Each task ends as planned: `sim-fail` tasks failed, every other one succeeded.
    const plannedToFail = new Set([...acknowledged].filter(([index]) => plan[index]!.fails).map(([, taskId]) => taskId));
    const unexpectedOutcomes = [...tasks.values()].filter((task) => (plannedToFail.has(task.taskId) ? task.status !== 'failed' : task.status !== 'succeeded')).length;

    const duplicateEffects = [...receiver.effects.values()].filter((ids) => ids.size > 1).length;
    const redeliveries = [...receiver.deliveries.values()].reduce((sum, count) => sum + count - 1, 0);
    return {
      tasks: options.tasks,
      acknowledged: acknowledged.size,
      terminal,
      lost: acknowledged.size - terminal,
      concurrentRuns,
      sessionOrderViolations,
      duplicateEffects,
      progressGaps,
      progressDuplicates,
      counterDrift: await counters(),
      faultsInjected: { ...faults.injected },
      details: {
        statuses,
        watched: watched.length,
        continuityReports,
        webhookDeliveries: [...receiver.deliveries.values()].reduce((sum, count) => sum + count, 0),
        webhookRedeliveriesDeduplicated: redeliveries,
        missingTerminalWebhooks: missing(),
        failedTasks: failed.size,
        plannedFailures: plannedToFail.size,
        exports: [...acknowledged.keys()].filter((index) => plan[index]!.type === 'tasks.export').length,
        unexpectedOutcomes,
        dlqTaskFailures: inDlq.size,
        dlqMismatch,
        attempts,
        unclosedAttempts: unclosed,
        durationSeconds: Math.round((Date.now() - startedAt) / 1000),
      },
    };
  } finally {
    await runtime.stop().catch(() => undefined);
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  }
};

/**
 * Whether any task ran concurrently with itself, from the workers' structured logs: each attempt
 * logs `attempt started` and `attempt ended` with its lease owner (`<request id>:<uuid>`); an
 * attempt whose invocation was killed ends at the kill, one cut by the runtime restart at the stop.
 */
const concurrencyFromLogs = (file: string, taskIds: ReadonlySet<string>): { concurrentRuns: number; attempts: number; unclosed: number } => {
  if (!existsSync(file)) return { concurrentRuns: 0, attempts: 0, unclosed: 0 };
  const starts = new Map<string, { taskId: string; at: number }>();
  const ends = new Map<string, number>();
  const kills = new Map<string, number>();
  const stops: number[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const at = Date.parse(line.slice(0, 24));
    const kill = /fault injected: \w+ of invocation ([0-9a-f-]+)/.exec(line);
    if (kill) kills.set(kill[1]!, at);
    if (line.includes('[runtime] stopping')) stops.push(at);
    const brace = line.indexOf('{"');
    if (brace < 0 || !line.includes('"attempt ')) continue;
    try {
      const entry = JSON.parse(line.slice(brace)) as { message?: string; taskId?: string; owner?: string; timestamp?: string };
      if (!entry.owner || !entry.taskId || !taskIds.has(entry.taskId)) continue;
      const time = Date.parse(entry.timestamp ?? '') || at;
      if (entry.message === 'attempt started') starts.set(entry.owner, { taskId: entry.taskId, at: time });
      if (entry.message === 'attempt ended') ends.set(entry.owner, time);
    } catch {
      // not a structured line
    }
  }
  const byTask = new Map<string, [number, number][]>();
  let unclosed = 0;
  for (const [owner, start] of starts) {
    const requestId = owner.split(':')[0]!;
    let end = ends.get(owner) ?? kills.get(requestId) ?? stops.find((stop) => stop >= start.at);
    if (end === undefined) {
      unclosed++;
      end = start.at;
    }
    byTask.set(start.taskId, [...(byTask.get(start.taskId) ?? []), [start.at, end]]);
  }
  let concurrentRuns = 0;
  for (const intervals of byTask.values()) {
    intervals.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < intervals.length; i++) if (intervals[i]![0] < intervals[i - 1]![1]) concurrentRuns++;
  }
  return { concurrentRuns, attempts: starts.size, unclosed };
};
