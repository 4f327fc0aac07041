import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevServer, type DevServer, type ReloadOutcome } from '../../local/dev-server.ts';
import { call, WsClient } from './harness.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

describe('developer loop: editing code reloads what changed, without losing state', () => {
  const project = mkdtempSync(path.join(tmpdir(), 'offload-dev-'));
  let server: DevServer;
  const outcomes: ReloadOutcome[] = [];
  const nextOutcome = () =>
    new Promise<ReloadOutcome>((resolve, reject) => {
      const seen = outcomes.length;
      const timer = setInterval(() => {
        if (outcomes.length > seen) {
          clearInterval(timer);
          resolve(outcomes[outcomes.length - 1]!);
        }
      }, 100);
      setTimeout(() => (clearInterval(timer), reject(new Error('no reload within 90s'))), 90_000);
    });

  beforeAll(async () => {
    // dashboard/ (and the client SDK it bundles) is built into the stack as an asset.
    for (const entry of ['bin', 'lib', 'lambdas', 'local', 'dashboard', 'client', 'package.json', 'package-lock.json', 'tsconfig.json', 'cdk.json']) {
      cpSync(path.join(ROOT, entry), path.join(project, entry), { recursive: true });
    }
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(project, 'node_modules'));
    server = await startDevServer({ projectDir: project, dir: path.join(project, '.offload'), ports: 'dynamic', logs: 'file', onReload: (outcome) => outcomes.push(outcome) });
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(project, { recursive: true, force: true });
  });

  it('hot-reloads an edited handler on the live runtime and re-synthesizes a changed stack', async () => {
    // Prepare: state, and a connection that must survive the code reload.
    const { httpApi, webSocketApi, devTenant } = server.runtime.endpoints;
    const apiKey = devTenant.apiKey;
    const { body: task } = await call(`${httpApi}/v1/tasks`, { apiKey, body: { type: 'completion', input: { prompt: 'survive reloads', maxTokens: 10, model: 'sim-fast' } } });
    const client = await WsClient.connect(`${webSocketApi}?token=${apiKey}`);
    client.send({ action: 'subscribe', taskId: task.taskId });
    await client.waitFor((message) => message.type === 'status');
    client.send({ action: 'ping' });
    await client.waitFor((message) => message.type === 'pong');
    const ping = server.runtime.functions.get([...server.runtime.functions.keys()].find((id) => id.startsWith('WebSocketPing'))!)!;
    const coldStartsBefore = ping.stats.coldStarts;

    // Act 1: edit the ping handler.
    const pingFile = path.join(project, 'lambdas/handlers/ws/ping.ts');
    const reloaded = nextOutcome();
    writeFileSync(pingFile, readFileSync(pingFile, 'utf8').replace("JSON.stringify({ type: 'pong' })", "JSON.stringify({ type: 'pong', build: 2 })"));
    const codeOutcome = await reloaded;
    client.send({ action: 'ping' });
    const pong = await client.waitFor((message) => message.type === 'pong' && message.build === 2);

    // Assess 1: only that function reloaded, on the same runtime and connection.
    expect(codeOutcome).toEqual({ kind: 'code', functions: [expect.stringMatching(/^WebSocketPing/)] });
    expect(pong).toEqual({ type: 'pong', build: 2 });
    expect(ping.stats.coldStarts).toBe(coldStartsBefore + 1);
    expect(server.runtime.endpoints.httpApi).toBe(httpApi);

    // Act 2: change the stack (a new environment variable on every function).
    const stackFile = path.join(project, 'lib/constructs/offload-function.ts');
    const restarted = nextOutcome();
    writeFileSync(stackFile, readFileSync(stackFile, 'utf8').replace("POWERTOOLS_LOG_LEVEL: 'INFO',", "POWERTOOLS_LOG_LEVEL: 'INFO',\n        OFFLOAD_BUILD: '2',"));
    const stackOutcome = await restarted;
    const read = await call(`${server.runtime.endpoints.httpApi}/v1/tasks/${task.taskId}`, { apiKey });
    await client.close();

    // Assess 2: the stack re-synthesized, the runtime restarted on the same data.
    expect(stackOutcome).toEqual({ kind: 'stack' });
    expect(server.runtime.functions.get(ping.config.logicalId)?.config.environment.OFFLOAD_BUILD).toBe('2');
    expect(read.status).toBe(200);
    expect(read.body.status).toBe('succeeded');
  }, 240_000);
});
