import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import WebSocket from 'ws';
import { createTenant } from '../../lambdas/core/auth.ts';
import { DynamoTenantStore } from '../../lambdas/store/tenant-store.ts';
import { startRuntime, type Runtime, type RuntimeOptions } from '../../local/runtime.ts';
import { localCredentials } from '../../local/engines/credentials.ts';

/** A runtime booted for one test file, in its own directory, on free ports. */
export interface Harness {
  readonly runtime: Runtime;
  readonly dir: string;
  /** Creates another tenant and returns its API key. */
  newTenant(name: string): Promise<{ tenantId: string; apiKey: string }>;
  stop(): Promise<void>;
}

export const startHarness = async (options: Partial<RuntimeOptions> = {}): Promise<Harness> => {
  const dir = options.dir ?? mkdtempSync(path.join(tmpdir(), 'offload-e2e-'));
  const runtime = await startRuntime({
    dir,
    ports: 'dynamic',
    cdkOut: inject('cdkOut'),
    logs: 'file',
    ...options,
    // Suites drive one tenant far faster than a client should: per-tenant rate limits out of the way
    // unless a suite sets its own (test/e2e/rate-limit.test.ts).
    functionEnvironment: { TENANT_RATE_LIMIT: '100000', TENANT_BURST_LIMIT: '100000', ...options.functionEnvironment },
  });
  const tasksTable = runtime.template.ofType('AWS::DynamoDB::Table').find(([id]) => id.startsWith('StorageTasks'))![0];
  const tenants = new DynamoTenantStore(runtime.template.resolveString({ Ref: tasksTable }, 'test'), DynamoDBDocumentClient.from(runtime.dynamo.client));
  return {
    runtime,
    dir,
    newTenant: (name) => createTenant(tenants, name),
    stop: async () => {
      await runtime.stop();
      if (!options.dir) rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    },
  };
};

/** A JSON HTTP call. */
export const call = async (
  url: string,
  init: { method?: string; apiKey?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; body: any; text: string }> => {
  const headers: Record<string, string> = { ...init.headers };
  if (init.apiKey) headers.authorization = `Bearer ${init.apiKey}`;
  if (init.body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
  const response = await fetch(url, {
    method: init.method ?? (init.body !== undefined ? 'POST' : 'GET'),
    headers,
    ...(init.body !== undefined ? { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) } : {}),
  });
  const text = await response.text();
  let body: any;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, body, text };
};

/**
 * A WebSocket client that records every message. Like any client following the protocol, it
 * answers `replayPaused {taskId, nextAfter}` with `subscribe {taskId, after: nextAfter}`.
 */
export class WsClient {
  public readonly messages: any[] = [];
  private readonly waiters: { predicate: (message: any) => boolean; resolve: (message: any) => void }[] = [];

  private constructor(public readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const message = JSON.parse(String(data));
      this.messages.push(message);
      if (message.type === 'replayPaused') this.send({ action: 'subscribe', taskId: message.taskId, after: message.nextAfter });
      for (const waiter of [...this.waiters]) {
        if (waiter.predicate(message)) {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          waiter.resolve(message);
        }
      }
    });
  }

  public static connect(url: string): Promise<WsClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.once('open', () => resolve(new WsClient(socket)));
      socket.once('unexpected-response', (_request, response) => reject(Object.assign(new Error(`handshake ${response.statusCode}`), { statusCode: response.statusCode })));
      socket.once('error', reject);
    });
  }

  public send(message: unknown): void {
    this.socket.send(JSON.stringify(message));
  }

  /** Resolves with the first message (already received or future) matching the predicate. */
  public waitFor(predicate: (message: any) => boolean, timeoutMs = 20_000): Promise<any> {
    const existing = this.messages.find(predicate);
    if (existing) return Promise.resolve(existing);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting; got ${JSON.stringify(this.messages).slice(-500)}`)), timeoutMs);
      this.waiters.push({ predicate, resolve: (message) => (clearTimeout(timer), resolve(message)) });
    });
  }

  public close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.readyState === WebSocket.CLOSED) return resolve();
      this.socket.once('close', () => resolve());
      this.socket.close();
    });
  }
}

/** Whether a server message carries progress entries: one (`progress`) or several (`progressBatch`). */
export const isProgress = (message: any): boolean => message?.type === 'progress' || message?.type === 'progressBatch';

/** The progress entries a server message carries, in order (none for other messages). */
export const entriesIn = (message: any): { seq: number; data: any }[] =>
  message?.type === 'progress' ? [{ seq: message.seq, data: message.data }] : message?.type === 'progressBatch' ? message.entries : [];

/**
 * What a client received for one task, read as the wire semantics say a client must (at least
 * once, in order per connection): an entry at or below the highest `seq` already received is a
 * resend and is dropped, and the first `status` ends the stream. `progress` holds each kept entry
 * as a `progress` message, whichever message carried it; `messages` counts the messages that
 * carried entries; `wire` is every entry seq as sent; `violations` lists breaches of the wire rule
 * (an entry before a lower one not yet sent, a status before every entry up to the highest).
 */
export const streamOf = (client: WsClient, taskId: string) => {
  const mine = client.messages.filter((message) => message?.taskId === taskId);
  const firstStatus = mine.findIndex((message) => message.type === 'status');
  const carriers = mine.filter((message) => isProgress(message));
  const wire = carriers.flatMap((message) => entriesIn(message).map((entry) => entry.seq));
  let highest = Number.NEGATIVE_INFINITY;
  const progress = (firstStatus < 0 ? mine : mine.slice(0, firstStatus)).flatMap((message) =>
    entriesIn(message).flatMap(({ seq, data }) => (seq > highest ? ((highest = seq), [{ type: 'progress', taskId, seq, data }]) : [])),
  );
  const status = firstStatus < 0 ? [] : [mine[firstStatus]];
  const violations: string[] = [];
  const seen = new Set<number>();
  let contiguous = wire.length > 0 ? Math.min(...wire) - 1 : 0;
  for (const message of mine) {
    for (const { seq } of entriesIn(message)) {
      if (seq > contiguous + 1) violations.push(`seq ${seq} before ${contiguous + 1}`);
      seen.add(seq);
      while (seen.has(contiguous + 1)) contiguous++;
    }
    if (message.type === 'status' && contiguous < Math.max(0, ...wire)) violations.push(`status before ${contiguous + 1}`);
  }
  return { progress, status, messages: carriers.length, wire, violations, seqs: progress.map((entry) => entry.seq), text: progress.map((entry) => entry.data.text as string).join('') };
};

/** An S3 client on the runtime's local S3 (served by the SQS engine), and a bucket's name by its logical id's prefix. */
export const localS3 = (harness: Harness): { s3: S3Client; bucket: (logicalIdPrefix: string) => string } => ({
  s3: new S3Client({ endpoint: harness.runtime.endpoints.services.sqs, region: 'us-east-1', forcePathStyle: true, credentials: localCredentials }),
  bucket: (logicalIdPrefix) => {
    const found = harness.runtime.template.ofType('AWS::S3::Bucket').find(([id]) => id.startsWith(logicalIdPrefix));
    if (!found) throw new Error(`no bucket ${logicalIdPrefix}* in the template`);
    return harness.runtime.template.resolveString({ Ref: found[0] }, 'test');
  },
});
