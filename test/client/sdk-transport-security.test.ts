import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket as ServerSocket } from 'ws';
import { InsecureEndpointError, OffloadClient, UnauthorizedError } from '../../client/sdk/index.ts';
import { collect } from './support.ts';

/**
 * The SDK never sends a credential over an unencrypted connection to another machine, and never
 * puts an API key in a WebSocket URL: `watch` exchanges it for a short client token scoped to the
 * watched task first.
 */

const TASK = 'tsk_01KAQ8Z4J6W2M3N5P7R9S1T3V5';
const API_KEY = `ofk_${'0'.repeat(26)}_${'k'.repeat(43)}`;

describe('client SDK: plain http:/ws: only for loopback', () => {
  it.each([
    ['endpoint', { endpoint: 'http://api.example.com' }],
    ['endpoint', { endpoint: 'http://10.0.0.5:4700' }],
    ['endpoint', { endpoint: 'http://localhost.example.com' }],
    ['webSocketUrl', { endpoint: 'https://api.example.com', webSocketUrl: 'ws://ws.example.com/live' }],
    ['webSocketUrl', { endpoint: 'http://127.0.0.1:4700', webSocketUrl: 'ws://192.168.1.2:4701/live' }],
  ] as const)('refuses a plain %s to another host with InsecureEndpointError', (option, urls) => {
    // Act
    const error = (() => {
      try {
        new OffloadClient({ ...urls, credential: API_KEY });
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    // Assess
    expect(error).toBeInstanceOf(InsecureEndpointError);
    expect((error as InsecureEndpointError).option).toBe(option);
    expect((error as Error).message).toMatch(/loopback/);
  });

  it.each([
    { endpoint: 'http://127.0.0.1:4700', webSocketUrl: 'ws://127.0.0.1:4701/live' },
    { endpoint: 'http://localhost:4700', webSocketUrl: 'ws://localhost:4701/live' },
    { endpoint: 'http://[::1]:4700', webSocketUrl: 'ws://[::1]:4701/live' },
    { endpoint: 'http://127.8.9.10', webSocketUrl: 'ws://127.0.0.2/live' },
    { endpoint: 'https://d111111abcdef8.cloudfront.net', webSocketUrl: 'wss://abc.execute-api.eu-west-1.amazonaws.com/live' },
  ])('accepts %j', (urls) => {
    // Act + Assess
    expect(() => new OffloadClient({ ...urls, credential: API_KEY })).not.toThrow();
  });
});

describe('client SDK watch: never an API key in the WebSocket URL', () => {
  let server: WebSocketServer | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  /**
   * A WebSocket server recording the URL of every handshake; `onSubscribe` scripts the answers
   * (the connection's number starts at 1).
   */
  const scriptedServer = async (onSubscribe: (connection: number, send: (message: unknown) => void) => void) => {
    const urls: string[] = [];
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    server = wss;
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    wss.on('connection', (socket: ServerSocket, request) => {
      urls.push(request.url ?? '');
      const connection = urls.length;
      socket.on('message', (data) => {
        const message = JSON.parse(String(data)) as { action?: string; after?: number };
        if (message.action === 'subscribe') onSubscribe(connection, (reply) => socket.send(JSON.stringify(reply)));
      });
    });
    return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/live`, urls };
  };

  /** An HTTP API that only mints tokens (`oft_minted_<n>`), or refuses to with `mintStatus`. */
  const tokenApi = (mintStatus = 201) => {
    const mints: { authorization: string | null; body: unknown }[] = [];
    const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
      const url = new URL(String(input));
      if (init?.method !== 'POST' || url.pathname !== '/v1/tokens') return new Response('{"title":"Not found","status":404}', { status: 404 });
      mints.push({ authorization: new Headers(init.headers).get('authorization'), body: JSON.parse(String(init.body)) });
      if (mintStatus !== 201) return new Response(JSON.stringify({ title: 'Unauthorized', status: mintStatus }), { status: mintStatus, headers: { 'content-type': 'application/problem+json' } });
      const token = `oft_minted_${mints.length}`;
      return new Response(JSON.stringify({ token, expiresAt: new Date(Date.now() + 300_000).toISOString() }), { status: 201, headers: { 'content-type': 'application/json' } });
    }) as typeof fetch;
    return { mints, fetchImpl };
  };

  const finish = (send: (message: unknown) => void) => {
    send({ type: 'subscribed', taskId: TASK, after: 0 });
    send({ type: 'status', taskId: TASK, status: 'succeeded', result: { text: 'done' } });
  };

  it('mints a client token scoped to the watched task and connects with it, not with the key', async () => {
    // Prepare
    const { url, urls } = await scriptedServer((_connection, send) => finish(send));
    const { mints, fetchImpl } = tokenApi();
    const client = new OffloadClient({ endpoint: 'http://127.0.0.1:9', webSocketUrl: url, credential: API_KEY, fetch: fetchImpl });
    // Act
    const events = await collect(client.watch(TASK));
    // Assess
    expect(events.at(-1)).toMatchObject({ kind: 'status', status: 'succeeded' });
    expect(mints).toEqual([{ authorization: `Bearer ${API_KEY}`, body: { taskIds: [TASK], ttlSeconds: 300 } }]);
    expect(urls).toHaveLength(1);
    expect(new URL(urls[0]!, 'ws://x').searchParams.get('token')).toBe('oft_minted_1');
    expect(urls.join(' ')).not.toContain('ofk_');
  });

  it('reuses its token across a reconnect, and mints a fresh one when the connection reports it expired', async () => {
    // Prepare: connection 1 drops, connection 2 answers 401 (token expired), connection 3 finishes
    const { url, urls } = await scriptedServer((connection, send) => {
      if (connection === 1) return send({ type: 'subscribed', taskId: TASK, after: 0 }), server!.clients.forEach((socket) => socket.terminate());
      if (connection === 2) return send({ type: 'error', status: 401, title: 'Unauthorized', detail: 'The credential of this connection has expired.' });
      finish(send);
    });
    const { mints, fetchImpl } = tokenApi();
    const client = new OffloadClient({ endpoint: 'http://127.0.0.1:9', webSocketUrl: url, credential: API_KEY, fetch: fetchImpl, watch: { reconnectBaseDelayMs: 1, reconnectMaxDelayMs: 5 } });
    // Act
    const events = await collect(client.watch(TASK));
    // Assess
    expect(events.at(-1)).toMatchObject({ kind: 'status', status: 'succeeded' });
    const tokens = urls.map((each) => new URL(each, 'ws://x').searchParams.get('token'));
    expect(tokens).toEqual(['oft_minted_1', 'oft_minted_1', 'oft_minted_2']);
    expect(mints).toHaveLength(2);
  });

  it('connects with a client token as it is, minting nothing', async () => {
    // Prepare
    const { url, urls } = await scriptedServer((_connection, send) => finish(send));
    const { mints, fetchImpl } = tokenApi();
    const client = new OffloadClient({ endpoint: 'http://127.0.0.1:9', webSocketUrl: url, credential: 'oft_browser.token', fetch: fetchImpl });
    // Act
    await collect(client.watch(TASK));
    // Assess
    expect(mints).toEqual([]);
    expect(new URL(urls[0]!, 'ws://x').searchParams.get('token')).toBe('oft_browser.token');
  });

  it('throws the refusal when the key may not mint (revoked), without connecting', async () => {
    // Prepare
    const { url, urls } = await scriptedServer((_connection, send) => finish(send));
    const { fetchImpl } = tokenApi(401);
    const client = new OffloadClient({ endpoint: 'http://127.0.0.1:9', webSocketUrl: url, credential: API_KEY, fetch: fetchImpl });
    // Act
    const error = await collect(client.watch(TASK)).catch((caught: unknown) => caught);
    // Assess
    expect(error).toBeInstanceOf(UnauthorizedError);
    expect(urls).toEqual([]);
  });
});
