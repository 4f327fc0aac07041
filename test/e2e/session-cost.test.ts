import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffCounts } from '../../bench/stats.ts';
import { call, startHarness, WsClient, type Harness } from './harness.ts';

/**
 * What one browser-like 40-token session costs on the local runtime: connect the WebSocket,
 * submit a `completion` (`sim-1`), subscribe, stream to the terminal status, disconnect. Ten
 * sessions one after the other (after a warm-up, so warm-container caches count as on AWS), then
 * the runtime settles so the tail (lifecycle-event consumers) is counted too. Prints AWS calls per
 * session by operation and Lambda invocations per function.
 *
 * Counting as bench/cost.ts does: the background traffic of an idle runtime (empty long polls,
 * schedules), measured first, is subtracted; `sqs:ReceiveMessage` counts at most one receive per
 * message sent (an AWS long poll returns when a message arrives; the emulator wakes every poller).
 */

const SESSIONS = 10;
const TOKENS = 40;
/** Functions run by a schedule, not by sessions. */
const SCHEDULED = /^Reconciler/;

const sum = (values: Iterable<number>): number => [...values].reduce((total, value) => total + value, 0);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Snapshot {
  readonly at: number;
  readonly calls: Record<string, number>;
  readonly invocations: Record<string, number>;
}

describe('cost of a 40-token streamed session', { timeout: 240_000 }, () => {
  let harness: Harness;
  const invocations = new Map<string, number>();
  const snapshot = (): Snapshot => ({ at: Date.now(), calls: harness.runtime.counter.snapshot(), invocations: Object.fromEntries(invocations) });
  /** Waits until no call (long polls aside) and no invocation happened for `quietMs`. */
  const settle = async (quietMs: number, maxMs: number): Promise<void> => {
    const fingerprint = () => {
      const { calls, invocations: invoked } = snapshot();
      return JSON.stringify([Object.entries(calls).filter(([key]) => key !== 'sqs:ReceiveMessage'), invoked]);
    };
    const deadline = Date.now() + maxMs;
    let last = fingerprint();
    let quietSince = Date.now();
    while (Date.now() < deadline) {
      await sleep(200);
      const now = fingerprint();
      if (now !== last) [last, quietSince] = [now, Date.now()];
      else if (Date.now() - quietSince >= quietMs) return;
    }
  };

  const session = async (label: string): Promise<string> => {
    const { httpApi, webSocketApi, devTenant } = harness.runtime.endpoints;
    const client = await WsClient.connect(`${webSocketApi}?token=${devTenant.apiKey}`);
    const submitted = await call(`${httpApi}/v1/tasks`, { apiKey: devTenant.apiKey, body: { type: 'completion', input: { prompt: `session ${label}`, maxTokens: TOKENS, model: 'sim-1' } } });
    expect(submitted.status).toBe(202);
    const { taskId } = submitted.body as { taskId: string };
    client.send({ action: 'subscribe', taskId, after: 0 });
    const status = await client.waitFor((message) => message.type === 'status' && message.taskId === taskId, 60_000);
    await client.close();
    expect(status.status).toBe('succeeded');
    return taskId;
  };

  beforeAll(async () => {
    harness = await startHarness();
    for (const [logicalId, fn] of harness.runtime.functions) {
      invocations.set(logicalId, 0);
      const original = fn.invoke.bind(fn);
      fn.invoke = async (event: unknown) => {
        invocations.set(logicalId, (invocations.get(logicalId) ?? 0) + 1);
        return original(event);
      };
    }
  });
  afterAll(async () => harness?.stop());

  it(`prints AWS calls and Lambda invocations per session (${SESSIONS} sessions of ${TOKENS} tokens)`, async () => {
    // Prepare: warm every function on the path, then measure the idle background
    await session('warm-up');
    await settle(3_000, 30_000);
    const idleStart = snapshot();
    await sleep(5_000);
    const idleEnd = snapshot();
    // Act
    const before = snapshot();
    for (let i = 0; i < SESSIONS; i++) await session(String(i));
    await settle(3_000, 30_000);
    const after = snapshot();
    // Assess
    const scale = (after.at - before.at) / (idleEnd.at - idleStart.at);
    const idleCalls = diffCounts(idleStart.calls, idleEnd.calls);
    const idleInvocations = diffCounts(idleStart.invocations, idleEnd.invocations);
    const calls: Record<string, number> = {};
    for (const [key, value] of Object.entries(diffCounts(before.calls, after.calls))) calls[key] = Math.max(0, value - Math.round((idleCalls[key] ?? 0) * scale));
    calls['sqs:ReceiveMessage'] = Math.min(calls['sqs:ReceiveMessage'] ?? 0, calls['sqs:SendMessage'] ?? 0);
    const invoked: Record<string, number> = {};
    const background: Record<string, number> = {};
    for (const [id, value] of Object.entries(diffCounts(before.invocations, after.invocations))) {
      const net = Math.max(0, value - Math.round((idleInvocations[id] ?? 0) * scale));
      // Scheduled functions (the reconciler, once a minute) run whether or not sessions do.
      if (net) (SCHEDULED.test(id) ? background : invoked)[id.replace(/[0-9A-F]{8}$/, '')] = net;
    }
    // The schedule's own invocation call is background too.
    if (Object.keys(background).length) calls['lambda:Invoke'] = Math.max(0, (calls['lambda:Invoke'] ?? 0) - sum(Object.values(background)));
    const per = (value: number) => Math.round((value / SESSIONS) * 100) / 100;
    const perSession = {
      awsCalls: per(sum(Object.values(calls))),
      awsCallsByOperation: Object.fromEntries(Object.entries(calls).filter(([, value]) => value > 0).sort(([a], [b]) => a.localeCompare(b)).map(([key, value]) => [key, per(value)])),
      invocations: per(sum(Object.values(invoked))),
      invocationsByFunction: Object.fromEntries(Object.entries(invoked).sort(([a], [b]) => a.localeCompare(b)).map(([key, value]) => [key, per(value)])),
      backgroundInvocations: background,
    };
    console.info(`per ${TOKENS}-token session (${SESSIONS} sessions)`, JSON.stringify(perSession, null, 2));
    // A session without webhook endpoints invokes no webhook consumer; analytics runs in batches of
    // many sessions (its share shrinks with load); the rest is the session's own seven functions.
    expect(perSession.invocationsByFunction['IntegrationsWorker'] ?? 0).toBe(0);
    expect(perSession.invocationsByFunction['AnalyticsWorker'] ?? 0).toBeLessThanOrEqual(0.5);
    expect(perSession.invocations - (perSession.invocationsByFunction['AnalyticsWorker'] ?? 0)).toBeLessThanOrEqual(7);
    // Admission and fairness: one write to take each slot, one to free it; no parking-lot read with nobody parked.
    expect(perSession.awsCallsByOperation['dynamodb:DeleteItem'] ?? 0).toBe(0);
  });
});
