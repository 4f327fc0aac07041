// The synchronous baseline: a plain Node HTTP server that runs the same `completion` task code
// (the same SimulatedModelProvider) inline inside the request, with a bounded worker pool and a
// bounded wait queue, the way a typical monolith does it (defaults are Tomcat's: maxThreads 200,
// acceptCount 100). Progress streams back over chunked HTTP as NDJSON lines
// `{"seq":n,"text":"…","at":epochMs}`, then `{"status":"succeeded","at":epochMs}`.
//
// Run as a process of its own: `node bench/sync-baseline.ts --pool 200 --queue 100` prints
// `{"port":N}` once listening on 127.0.0.1.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { completion, type CompletionInput } from '../lambdas/tasks/completion.ts';

/** Options of the baseline server. */
export interface SyncServerOptions {
  /** Requests that run at once (the worker/thread pool). */
  readonly pool: number;
  /** Requests that may wait for a pool slot; beyond this the server answers 503 at once. */
  readonly queue: number;
  readonly port?: number;
}

/** Counters of the baseline server. */
export interface SyncServerStats {
  accepted: number;
  rejected: number;
  completed: number;
  failed: number;
  abandoned: number;
  maxActive: number;
  maxWaiting: number;
}

interface Job {
  readonly input: CompletionInput;
  readonly response: ServerResponse;
  readonly request: IncomingMessage;
  cancelled: boolean;
}

const noopLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** Starts the baseline on loopback. */
export const startSyncServer = async (options: SyncServerOptions): Promise<{ url: string; server: Server; stats: SyncServerStats; close(): Promise<void> }> => {
  const stats: SyncServerStats = { accepted: 0, rejected: 0, completed: 0, failed: 0, abandoned: 0, maxActive: 0, maxWaiting: 0 };
  const waiting: Job[] = [];
  let active = 0;

  const run = async (job: Job): Promise<void> => {
    active++;
    stats.maxActive = Math.max(stats.maxActive, active);
    const controller = new AbortController();
    job.request.socket.once('close', () => controller.abort(new Error('client went away')));
    const { response } = job;
    try {
      response.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
      response.flushHeaders();
      let seq = 0;
      await completion.run(job.input, {
        taskId: 'sync',
        tenantId: 'sync',
        attempt: 1,
        signal: controller.signal,
        logger: noopLogger,
        previous: [],
        progress: async (data) => {
          if (!response.destroyed) response.write(`${JSON.stringify({ seq: ++seq, text: data.text, at: Date.now() })}\n`);
        },
      });
      response.end(`${JSON.stringify({ status: 'succeeded', at: Date.now() })}\n`);
      stats.completed++;
    } catch {
      stats.failed++;
      if (!response.destroyed) response.end(`${JSON.stringify({ status: 'failed', at: Date.now() })}\n`);
    } finally {
      active--;
      pump();
    }
  };

  const pump = (): void => {
    while (active < options.pool && waiting.length > 0) {
      const job = waiting.shift()!;
      if (job.cancelled) continue;
      void run(job);
    }
  };

  const server = createServer((request, response) => {
    if (request.method === 'GET' && request.url === '/stats') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ ...stats, active, waiting: waiting.length }));
      return;
    }
    if (request.method !== 'POST' || request.url !== '/v1/complete') {
      response.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      let input: CompletionInput;
      try {
        input = completion.input.parse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        response.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"bad input"}');
        return;
      }
      if (active >= options.pool && waiting.length >= options.queue) {
        stats.rejected++;
        response.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1', connection: 'close' }).end('{"error":"pool busy and queue full"}');
        return;
      }
      stats.accepted++;
      const job: Job = { input, response, request, cancelled: false };
      request.socket.once('close', () => {
        if (!job.cancelled && waiting.includes(job)) {
          job.cancelled = true;
          stats.abandoned++;
          waiting.splice(waiting.indexOf(job), 1);
        }
      });
      waiting.push(job);
      stats.maxWaiting = Math.max(stats.maxWaiting, waiting.length);
      pump();
    });
  });
  server.keepAliveTimeout = 5_000;
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', 4096, () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    server,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};

const argument = (name: string, fallback: number): number => {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
};

if (import.meta.filename === process.argv[1]) {
  const started = await startSyncServer({ pool: argument('pool', 200), queue: argument('queue', 100) });
  process.stdout.write(`${JSON.stringify({ port: Number(new URL(started.url).port) })}\n`);
  const stop = () => void started.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
