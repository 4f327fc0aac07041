import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireApi, resolveTarget } from '../../client/cli/config.ts';
import { ConfigurationError } from '../../client/cli/errors.ts';
import { ExitCode } from '../../client/cli/exit-codes.ts';
import { close, listen } from '../../local/http-util.ts';
import { runCli } from './cli-support.ts';

/**
 * The CLI never combines a credential from one source with an endpoint from another: flags, the
 * environment and the local runtime's endpoints.json each stand alone (an outputs file counts as
 * the source that named it).
 */

const ENV_KEY = `ofk_${'1'.repeat(26)}_${'e'.repeat(43)}`;
const DEV_KEY = `ofk_${'2'.repeat(26)}_${'d'.repeat(43)}`;

/** Resolves, then applies the same-source rule; answers the API part or the refusal. */
const api = (...args: Parameters<typeof resolveTarget>) => {
  try {
    return requireApi(resolveTarget(...args));
  } catch (error) {
    return error as ConfigurationError;
  }
};

describe('offload CLI: a credential goes only to an endpoint of its own source', () => {
  let dir: string;
  let outputs: string;
  let planted: Server;
  const received: { url: string; authorization: string | undefined }[] = [];

  beforeAll(async () => {
    // An endpoints.json that names some server (as a cloned repository could) and holds its own key.
    planted = createServer((request, response) => {
      received.push({ url: request.url ?? '', authorization: request.headers.authorization });
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ items: [] }));
    });
    const port = await listen(planted);
    dir = mkdtempSync(path.join(tmpdir(), 'offload-cli-sources-'));
    writeFileSync(
      path.join(dir, 'endpoints.json'),
      JSON.stringify({ httpApi: `http://127.0.0.1:${port}`, webSocketApi: `ws://127.0.0.1:${port}/live`, services: { dynamodb: 'http://127.0.0.1:1', sqs: 'http://127.0.0.1:1' }, devTenant: { id: 'ten_dev', apiKey: DEV_KEY } }),
    );
    outputs = path.join(dir, 'cdk-outputs.json');
    writeFileSync(outputs, JSON.stringify({ Offload: { HttpHttpApiUrlE6BB121E: 'https://abc123.execute-api.eu-west-1.amazonaws.com', WebSocketWebSocketUrlAEBC2CF7: 'wss://def456.execute-api.eu-west-1.amazonaws.com/live' } }));
  });
  afterAll(async () => {
    await close(planted);
    rmSync(dir, { recursive: true, force: true });
  });

  it('accepts an endpoint and a credential of the same source', () => {
    // Act
    const file = api({ dir }, {}, '/');
    const env = api({ dir }, { OFFLOAD_ENDPOINT: 'https://api.example.com', OFFLOAD_API_KEY: ENV_KEY }, '/');
    const flags = api({ dir, endpoint: 'https://api.example.com', 'api-key': ENV_KEY, 'ws-url': 'wss://ws.example.com/live' }, { OFFLOAD_API_KEY: 'ofk_other' }, '/');
    const flagOutputs = api({ outputs, 'api-key': ENV_KEY }, {}, '/');
    const envOutputs = api({}, { OFFLOAD_OUTPUTS: outputs, OFFLOAD_API_KEY: ENV_KEY }, '/');
    // Assess
    expect(file).toMatchObject({ credential: DEV_KEY, webSocketUrl: expect.stringMatching(/^ws:\/\/127\.0\.0\.1/) });
    expect(env).toEqual({ endpoint: 'https://api.example.com', credential: ENV_KEY });
    expect(flags).toEqual({ endpoint: 'https://api.example.com', credential: ENV_KEY, webSocketUrl: 'wss://ws.example.com/live' });
    expect(flagOutputs).toEqual({ endpoint: 'https://abc123.execute-api.eu-west-1.amazonaws.com', credential: ENV_KEY, webSocketUrl: 'wss://def456.execute-api.eu-west-1.amazonaws.com/live' });
    expect(envOutputs).toMatchObject({ endpoint: 'https://abc123.execute-api.eu-west-1.amazonaws.com', credential: ENV_KEY });
  });

  it.each([
    ['an environment key with the endpoints.json endpoint', { dir: '<dir>' }, { OFFLOAD_API_KEY: ENV_KEY }, ['OFFLOAD_API_KEY', 'endpoints.json']],
    ['the endpoints.json dev key with an environment endpoint', { dir: '<dir>' }, { OFFLOAD_ENDPOINT: 'https://api.example.com' }, ['dev tenant key', 'OFFLOAD_ENDPOINT']],
    ['a flag key with the endpoints.json endpoint', { dir: '<dir>', 'api-key': ENV_KEY }, {}, ['--api-key', 'endpoints.json']],
    ['an environment key with a flag endpoint', { dir: '<dir>', endpoint: 'https://api.example.com' }, { OFFLOAD_API_KEY: ENV_KEY }, ['OFFLOAD_API_KEY', '--endpoint']],
    ['an environment key with a flag outputs file', { outputs: '<outputs>' }, { OFFLOAD_API_KEY: ENV_KEY }, ['OFFLOAD_API_KEY', '--outputs']],
  ] as const)('refuses %s, naming both sources (exit 2)', (_case, flags, env, names) => {
    // Prepare
    const resolved = Object.fromEntries(Object.entries(flags).map(([name, value]) => [name, value === '<dir>' ? dir : value === '<outputs>' ? outputs : value]));
    // Act
    const outcome = api(resolved, env, '/');
    // Assess
    expect(outcome).toBeInstanceOf(ConfigurationError);
    expect((outcome as ConfigurationError).exitCode).toBe(ExitCode.usage);
    for (const name of names) expect((outcome as Error).message).toContain(name);
  });

  it('never sends OFFLOAD_API_KEY to the endpoint of an endpoints.json: the command exits 2 before any request', async () => {
    // Act
    const mixed = await runCli(['ls', '--dir', dir], { env: { OFFLOAD_API_KEY: ENV_KEY } });
    const own = await runCli(['ls', '--dir', dir]);
    // Assess
    expect(mixed.code).toBe(ExitCode.usage);
    expect(mixed.stderr).toContain('OFFLOAD_API_KEY');
    expect(own.code).toBe(ExitCode.ok);
    expect(received.map((request) => request.authorization)).toEqual([`Bearer ${DEV_KEY}`]);
  });

  it('refuses a plain http: endpoint to a non-loopback host with a configuration error (exit 2)', async () => {
    // Act
    const run = await runCli(['ls', '--endpoint', 'http://api.example.com', '--api-key', ENV_KEY, '--dir', '/nonexistent']);
    // Assess
    expect(run.code).toBe(ExitCode.usage);
    expect(run.stderr).toMatch(/not encrypted.*loopback/);
  });
});
