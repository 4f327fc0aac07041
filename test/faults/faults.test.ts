import { mkdirSync, writeFileSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import { runFaultScenario } from './scenario.ts';

/**
 * Fault injection. `npm test` runs the quick variant (a few hundred tasks); `npm run test:faults`
 * runs the full one (FAULT_TASKS=2000). Both write their report under test-results/.
 */
const full = Number(process.env.FAULT_TASKS ?? 0) > 0;
const TASKS = full ? Number(process.env.FAULT_TASKS) : 150;

describe('fault injection: every promise holds while workers die, AWS calls fail and the runtime restarts', () => {
  it(`${TASKS} tasks across tenants, sessions, every workload class and webhooks, watched through the SDK`, async () => {
    // Prepare
    const options = {
      cdkOut: inject('cdkOut'),
      tasks: TASKS,
      tenants: full ? 6 : 3,
      sessionsPerTenant: full ? 8 : 4,
      watchShare: full ? 0.2 : 0.3,
      failShare: 0.05,
      concurrency: full ? 16 : 10,
      restart: true,
      settleTimeoutMs: full ? 600_000 : 240_000,
      webhookGraceMs: full ? 120_000 : 10_000,
      probabilities: {
        workerKill: 0.03,
        invocationTimeout: 0.01,
        putEventsFail: 0.02,
        putEventsThrottle: 0.02,
        dynamodbFail: 0.003,
        dynamodbThrottle: 0.005,
        sqsFail: 0.01,
        sqsThrottle: 0.01,
        connections410: 0.05,
        connections429: 0.05,
        webSocketDrop: 0.05,
      },
      log: (line: string) => console.log(`[faults] ${line}`),
    };
    // Act
    const report = await runFaultScenario(options);
    mkdirSync('test-results', { recursive: true });
    writeFileSync(`test-results/${full ? 'faults' : 'faults-quick'}.json`, JSON.stringify(report, null, 2) + '\n');
    console.log(`[faults] ${JSON.stringify(report)}`);
    // Assess
    expect(report.acknowledged).toBe(TASKS);
    expect(report.lost).toBe(0);
    expect(report.concurrentRuns).toBe(0);
    expect(report.sessionOrderViolations).toBe(0);
    expect(report.duplicateEffects).toBe(0);
    expect(report.progressDuplicates).toBe(0);
    expect(report.progressGaps).toBe(0);
    expect(report.details.continuityReports).toBe(0);
    expect(report.counterDrift).toBe(0);
    expect(report.details.plannedFailures).toBeGreaterThan(0);
    expect(report.details.exports, 'batch-class tasks in the run').toBeGreaterThan(0);
    expect(report.details.unexpectedOutcomes).toBe(0);
    expect(report.details.failedTasks).toBe(report.details.plannedFailures);
    expect(report.details.dlqMismatch).toBe(0);
    // Not asserted, reported: terminal webhooks still in flight when the run ends. A worker killed
    // while fanning an event out leaves its message invisible for six worker timeouts (as on AWS),
    // so such a delivery arrives minutes later, after the run; duplicates are what must never happen.
    console.log(`[faults] terminal webhooks not yet delivered at the end: ${report.details.missingTerminalWebhooks}`);
    // The run really injected faults of every kind (the full run; the quick one is too short for the rarest).
    expect(report.faultsInjected.runtimeRestart).toBe(1);
    expect(report.faultsInjected.workerKill + report.faultsInjected.invocationTimeout).toBeGreaterThan(0);
    if (full) for (const [kind, count] of Object.entries(report.faultsInjected)) expect(count, kind).toBeGreaterThan(0);
  }, 1_800_000);
});
