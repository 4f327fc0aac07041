import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import dynalite from 'dynalite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessTransport } from '../../local/lambda/in-process-transport.ts';
import type { LocalFunction } from '../../local/lambda/lambda-service.ts';
import { localFunction, Scratch } from './support.ts';

/** A function calling DynamoDB with the provided SDK; the event picks the call and the retry budget. */
const CALLER = `
import { DynamoDBClient, CreateTableCommand, PutItemCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
export const handler = async ({ table, id, maxAttempts = 3, timeoutMs }) => {
  const client = new DynamoDBClient({ maxAttempts, ...(timeoutMs ? { requestHandler: { requestTimeout: timeoutMs, throwOnRequestTimeout: true } } : {}) });
  const outcome = async (command) => {
    try {
      const output = await client.send(command);
      return { ok: true, status: output.$metadata.httpStatusCode, attempts: output.$metadata.attempts, output: { ...output, $metadata: undefined } };
    } catch (error) {
      return { ok: false, name: error.name, status: error.$metadata?.httpStatusCode, attempts: error.$metadata?.attempts, message: error.message };
    }
  };
  if (id === 'create') return outcome(new CreateTableCommand({ TableName: table, AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], BillingMode: 'PAY_PER_REQUEST' }));
  const put = await outcome(new PutItemCommand({ TableName: table, Item: { pk: { S: id }, note: { S: 'héllo ' + id } }, ConditionExpression: 'attribute_not_exists(pk)' }));
  const again = await outcome(new PutItemCommand({ TableName: table, Item: { pk: { S: id } }, ConditionExpression: 'attribute_not_exists(pk)' }));
  const got = await outcome(new GetItemCommand({ TableName: table, Key: { pk: { S: id } }, ConsistentRead: true }));
  return { put, again, got };
};
`;

/**
 * dynalite behind a gate, as the runtime's engines are: the gate answers an injected throttle for
 * items named `throttled-*`, holds `slow-*` calls for a second, and counts TCP connections.
 */
const startEngine = async (): Promise<{ server: Server; endpoint: string; connections: () => number; requests: () => number }> => {
  const engine = dynalite({ createTableMs: 0 }) as Server;
  const [handler] = engine.listeners('request') as ((request: IncomingMessage, response: ServerResponse) => void)[];
  let connections = 0;
  let requests = 0;
  const server = createServer((request, response) => {
    requests++;
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (body.includes('"throttled-')) {
        response.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException', message: 'injected' }));
        return;
      }
      const replay = Object.assign(new PassThrough(), { method: request.method, url: request.url, headers: request.headers, socket: request.socket });
      setTimeout(() => {
        handler!(replay as unknown as IncomingMessage, response);
        replay.end(body);
      }, body.includes('"slow-') ? 1_000 : 0);
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { server, endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections, requests: () => requests };
};

describe('In-process transport: function SDK calls to a local engine without loopback HTTP', () => {
  const scratch = new Scratch();
  const functions: LocalFunction[] = [];
  let engine: Awaited<ReturnType<typeof startEngine>>;
  let viaPort: LocalFunction;
  let viaHttp: LocalFunction;

  beforeAll(async () => {
    engine = await startEngine();
    const transport = new InProcessTransport();
    transport.register(engine.endpoint, engine.server);
    const codeDir = scratch.asset('caller', CALLER);
    const environment = { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'LOCALKEY', AWS_SECRET_ACCESS_KEY: 'localsecret', AWS_ENDPOINT_URL_DYNAMODB: engine.endpoint };
    viaPort = localFunction(codeDir, { functionName: 'via-port', environment, timeoutSeconds: 20, transport });
    viaHttp = localFunction(codeDir, { functionName: 'via-http', environment, timeoutSeconds: 20 });
    functions.push(viaPort, viaHttp);
    await viaHttp.invoke({ table: 'items', id: 'create' });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(functions.map((fn) => fn.shutdown()));
    await new Promise((resolve) => engine.server.close(resolve));
    scratch.cleanup();
  });

  it('answers exactly as over HTTP (items, conditional-check failures, status codes), without opening a connection', async () => {
    // Prepare
    const before = { connections: engine.connections(), requests: engine.requests() };
    // Act
    const inProcess = await viaPort.invoke({ table: 'items', id: 'a' });
    const afterPort = { connections: engine.connections(), requests: engine.requests() };
    const overHttp = await viaHttp.invoke({ table: 'items', id: 'b' });
    // Assess
    expect(afterPort.connections).toBe(before.connections);
    expect(afterPort.requests - before.requests).toBe(3);
    const normalized = JSON.parse(JSON.stringify(overHttp).replaceAll('"b"', '"a"').replaceAll('héllo b', 'héllo a'));
    expect(inProcess).toEqual(normalized);
    expect(inProcess).toMatchObject({ put: { ok: true, status: 200 }, again: { ok: false, name: 'ConditionalCheckFailedException', status: 400 }, got: { ok: true, output: { Item: { note: { S: 'héllo a' } } } } });
  });

  it('surfaces an engine-injected error as the SDK error, retried like over HTTP', async () => {
    // Act
    const inProcess = (await viaPort.invoke({ table: 'items', id: 'throttled-1', maxAttempts: 2 })) as { put: unknown };
    const overHttp = (await viaHttp.invoke({ table: 'items', id: 'throttled-1', maxAttempts: 2 })) as { put: unknown };
    // Assess
    expect(inProcess.put).toEqual(overHttp.put);
    expect(inProcess.put).toMatchObject({ ok: false, name: 'ProvisionedThroughputExceededException', status: 400, attempts: 2 });
  });

  it("times out a request past the client's requestTimeout with the handler's TimeoutError", async () => {
    // Act
    const inProcess = (await viaPort.invoke({ table: 'items', id: 'slow-1', maxAttempts: 1, timeoutMs: 200 })) as { put: { name: string; message: string } };
    const overHttp = (await viaHttp.invoke({ table: 'items', id: 'slow-2', maxAttempts: 1, timeoutMs: 200 })) as { put: { name: string; message: string } };
    // Assess
    expect(inProcess.put.name).toBe('TimeoutError');
    expect(inProcess.put).toEqual(overHttp.put);
  });
});

describe('Warm environments (keepWarm)', () => {
  const scratch = new Scratch();
  const functions: LocalFunction[] = [];
  afterAll(async () => {
    await Promise.all(functions.map((fn) => fn.shutdown()));
    scratch.cleanup();
  });

  it('serves a burst of up to N concurrent invocations without a cold start, and replenishes after a crash', async () => {
    // Prepare
    const fn = localFunction(scratch.asset('warm', `export const handler = async (event) => { if (event.exit) process.exit(1); await new Promise((r) => setTimeout(r, 200)); return 'ok'; };`), { timeoutSeconds: 5 });
    functions.push(fn);
    fn.keepWarm(3);
    const readyBy = Date.now() + 60_000;
    while ((fn.warming || fn.stats.prewarmed < 3) && Date.now() < readyBy) await new Promise((resolve) => setTimeout(resolve, 50));
    // Act
    const burst = await Promise.all(Array.from({ length: 3 }, () => fn.invoke({})));
    const crashed = await fn.invoke({ exit: true }).then(
      () => 'resolved',
      () => 'failed',
    );
    while ((fn.warming || fn.stats.prewarmed < 4) && Date.now() < readyBy) await new Promise((resolve) => setTimeout(resolve, 50));
    const afterCrash = await Promise.all(Array.from({ length: 3 }, () => fn.invoke({})));
    // Assess
    expect(burst).toEqual(['ok', 'ok', 'ok']);
    expect(crashed).toBe('failed');
    expect(afterCrash).toEqual(['ok', 'ok', 'ok']);
    expect(fn.stats.coldStarts).toBe(0);
    expect(fn.stats.prewarmed).toBe(4); // 3 at first, 1 after the crash; none beyond the target

  }, 90_000);
});
