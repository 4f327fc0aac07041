import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebhookDeliveryError, WebhookDestinationRefusedError, WebhookTimeoutError } from '../../lambdas/tasks/webhook-errors.ts';
import { postWebhook, type Resolver } from '../../lambdas/tasks/webhook-post.ts';

type Listening = { close(): Promise<void>; port: number };

const listen = async (server: Server | ReturnType<typeof createTcpServer>): Promise<Listening> => {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
};

const request = { headers: { 'content-type': 'application/json' }, body: '{"type":"task.succeeded"}' };
const options = (extra: Partial<Parameters<typeof postWebhook>[2]> = {}) => ({ signal: new AbortController().signal, allowLoopback: true, timeoutMs: 1_500, ...extra });
const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error);

/** A resolver that answers from a table, counting the questions. */
const tableResolver = (answers: (call: number) => { address: string; family: number }[]) => {
  const calls: string[] = [];
  const resolve: Resolver = async (hostname) => {
    calls.push(hostname);
    return answers(calls.length);
  };
  return { calls, resolve };
};

describe('postWebhook: bounded response, total time limit', () => {
  const servers: Listening[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });

  it('reads at most the response limit of an endless body, then closes the connection', async () => {
    // Prepare: a 200 whose body never ends.
    let written = 0;
    let closedAt = 0;
    const server = createHttpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const chunk = Buffer.alloc(16 * 1024, 'x');
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) written += chunk.length;
        if (!res.destroyed) res.once('drain', pump);
      };
      res.on('close', () => (closedAt = Date.now()));
      pump();
    });
    const listening = await listen(server);
    servers.push(listening);
    const startedAt = Date.now();
    // Act
    const outcome = await postWebhook(new URL(`http://127.0.0.1:${listening.port}/endless`), request, options({ timeoutMs: 5_000, maxResponseBytes: 4096 }));
    const answeredAfter = Date.now() - startedAt;
    for (let i = 0; i < 50 && !closedAt; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    // Assess
    expect(outcome).toMatchObject({ status: 200, truncated: true, address: '127.0.0.1' });
    expect(outcome.bytesRead).toBeGreaterThanOrEqual(4096);
    expect(outcome.bytesRead).toBeLessThanOrEqual(4096 + 64 * 1024); // stops within one socket read of the limit
    expect(answeredAfter).toBeLessThan(2_000); // not held until the time limit
    expect(closedAt).toBeGreaterThan(0); // the connection was closed, not left draining
    expect(written).toBeLessThan(64 * 1024 * 1024);
  });

  it('fails an endpoint that never answers at the time limit, as a retryable timeout', async () => {
    // Prepare: accepts the connection, reads the request, never answers.
    const requests: IncomingMessage[] = [];
    const listening = await listen(createHttpServer((req) => void requests.push(req)));
    servers.push(listening);
    const startedAt = Date.now();
    // Act
    const error = await failure(postWebhook(new URL(`http://127.0.0.1:${listening.port}/silent`), request, options({ timeoutMs: 600 })));
    const failedAfter = Date.now() - startedAt;
    // Assess
    expect(requests).toHaveLength(1);
    expect(error).toBeInstanceOf(WebhookTimeoutError);
    expect(error).toBeInstanceOf(WebhookDeliveryError); // retryable
    expect(failedAfter).toBeGreaterThanOrEqual(550);
    expect(failedAfter).toBeLessThan(1_500);
  });

  it('counts the headers against the same limit: a status line dripped byte by byte does not hold the attempt', async () => {
    // Prepare: a raw server that sends one byte of its headers every 50 ms, forever.
    const tcp = createTcpServer((socket) => {
      const text = `HTTP/1.1 200 OK\r\nX-Slow: ${'a'.repeat(10_000)}`;
      let index = 0;
      const timer = setInterval(() => (socket.destroyed ? clearInterval(timer) : socket.write(text[index++ % text.length]!)), 50);
      socket.on('close', () => clearInterval(timer));
      socket.on('error', () => undefined);
    });
    const listening = await listen(tcp);
    servers.push(listening);
    const startedAt = Date.now();
    // Act
    const error = await failure(postWebhook(new URL(`http://127.0.0.1:${listening.port}/drip`), request, options({ timeoutMs: 700 })));
    // Assess
    expect(error).toBeInstanceOf(WebhookTimeoutError);
    expect(Date.now() - startedAt).toBeLessThan(1_700);
  });

  it('ends a body dripped after the headers at the time limit, with the status it got', async () => {
    // Prepare: 200, then one byte every 50 ms.
    const listening = await listen(
      createHttpServer((_req, res) => {
        res.writeHead(200);
        const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write('.')), 50);
        res.on('close', () => clearInterval(timer));
      }),
    );
    servers.push(listening);
    const startedAt = Date.now();
    // Act
    const outcome = await postWebhook(new URL(`http://127.0.0.1:${listening.port}/drip-body`), request, options({ timeoutMs: 700 }));
    // Assess
    expect(outcome).toMatchObject({ status: 200, truncated: true });
    expect(Date.now() - startedAt).toBeLessThan(1_700);
  });

  it('gives up when the task is aborted, with the task\u2019s reason', async () => {
    // Prepare
    const listening = await listen(createHttpServer(() => undefined));
    servers.push(listening);
    const controller = new AbortController();
    const reason = new Error('cancelled');
    setTimeout(() => controller.abort(reason), 100);
    // Act
    const error = await failure(postWebhook(new URL(`http://127.0.0.1:${listening.port}/`), request, options({ signal: controller.signal, timeoutMs: 5_000 })));
    // Assess
    expect(error).toBe(reason);
  });
});

describe('postWebhook: resolve once, check every address, connect to the checked one', () => {
  let receiver: Listening;
  const received: { host: string | undefined; path: string | undefined }[] = [];
  beforeAll(async () => {
    receiver = await listen(
      createHttpServer((req, res) => {
        received.push({ host: req.headers.host, path: req.url });
        req.resume();
        req.on('end', () => res.writeHead(204).end());
      }),
    );
  });
  afterAll(async () => receiver?.close());

  it('connects to the address it checked and never resolves again (DNS rebinding)', async () => {
    // Prepare: the first answer is a (locally allowed) loopback receiver; any later one a private address.
    const dns = tableResolver((call) => [{ address: call === 1 ? '127.0.0.1' : '10.0.0.1', family: 4 }]);
    // Act
    const outcome = await postWebhook(new URL(`http://hooks.rebind.test:${receiver.port}/pinned`), request, options({ resolve: dns.resolve }));
    // Assess
    expect(outcome).toMatchObject({ status: 204, address: '127.0.0.1' });
    expect(dns.calls).toEqual(['hooks.rebind.test']);
    expect(received).toContainEqual({ host: `hooks.rebind.test:${receiver.port}`, path: '/pinned' });
  });

  it('refuses a host with any refused address, even next to an allowed one, without connecting', async () => {
    // Prepare
    const mixed = tableResolver(() => [
      { address: '127.0.0.1', family: 4 },
      { address: '169.254.169.254', family: 4 },
    ]);
    const mapped = tableResolver(() => [{ address: '::ffff:10.0.0.1', family: 6 }]);
    const before = received.length;
    // Act
    const mixedError = await failure(postWebhook(new URL(`http://mixed.test:${receiver.port}/x`), request, options({ resolve: mixed.resolve })));
    const mappedError = await failure(postWebhook(new URL(`https://mapped.test:${receiver.port}/x`), request, options({ resolve: mapped.resolve })));
    // Assess
    expect(mixedError).toBeInstanceOf(WebhookDestinationRefusedError);
    expect((mixedError as Error).message).toBe('Delivery refused: mixed.test resolves to 169.254.169.254, a link-local address (169.254.0.0/16).');
    expect((mixedError as WebhookDestinationRefusedError).retryable).toBe(false);
    expect((mappedError as Error).message).toContain('IPv4-mapped 10.0.0.0/8');
    expect(received.length).toBe(before);
  });

  it('refuses loopback without the local escape hatch, whatever the URL\u2019s form', async () => {
    // Prepare
    const toLoopback = tableResolver(() => [{ address: '127.0.0.1', family: 4 }]);
    const before = received.length;
    // Act
    const errors = await Promise.all(
      [`https://127.0.0.1:${receiver.port}/`, `https://0x7f.1:${receiver.port}/`, `https://[::1]:${receiver.port}/`, `https://hooks.example.test:${receiver.port}/`, `http://127.0.0.1:${receiver.port}/`].map((url) =>
        failure(postWebhook(new URL(url), request, options({ allowLoopback: false, resolve: toLoopback.resolve }))),
      ),
    );
    // Assess
    expect(errors.every((error) => error instanceof WebhookDestinationRefusedError)).toBe(true);
    expect(received.length).toBe(before);
  });

  it('keeps the host name for TLS: SNI (and certificate checks) use it, not the pinned address', async () => {
    // Prepare: a TLS server that records the SNI name of each handshake, then refuses it.
    const names: string[] = [];
    const tls = createTlsServer({ SNICallback: (name, callback) => (names.push(name), callback(new Error('no certificate here'))) });
    tls.on('tlsClientError', () => undefined);
    const listening = await listen(tls as unknown as Server);
    const dns = tableResolver(() => [{ address: '127.0.0.1', family: 4 }]);
    // Act
    const error = await failure(postWebhook(new URL(`https://hooks.sni.test:${listening.port}/`), request, options({ resolve: dns.resolve })));
    await listening.close();
    // Assess
    expect(names).toEqual(['hooks.sni.test']);
    expect(error).toBeInstanceOf(WebhookDeliveryError);
  });
});
