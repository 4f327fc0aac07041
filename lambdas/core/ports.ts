import type { DetailType, ProgressEntry, TaskEventDetail, TaskError, TaskRecord, TaskStatus } from './model.ts';

/**
 * The domain's view of storage and messaging. Only `lambdas/store/*` implements these with the
 * AWS SDK; the domain core never imports it.
 */
export interface TaskStore {
  /** Creates a task record; fails if the id exists. */
  create(task: TaskRecord): Promise<void>;
  get(taskId: string): Promise<TaskRecord | undefined>;
  /**
   * Takes the worker lease on a task that is queued, or running with an expired lease. Returns the
   * updated record, or `undefined` when the task is terminal, cancelled or leased by someone else.
   */
  claim(taskId: string, owner: string, leaseUntil: number, now: string): Promise<TaskRecord | undefined>;
  /** Extends `owner`'s lease on a running task to `leaseUntil`; false if the lease was lost (cancelled or taken over). */
  renewLease(taskId: string, owner: string, leaseUntil: number): Promise<boolean>;
  /** Writes progress entry `seq` and advances the task's `progressSeq`, only while `owner` holds a running lease. */
  appendProgress(taskId: string, owner: string, entry: ProgressEntry): Promise<'ok' | 'lease-lost'>;
  /** Ends a running task held by `owner`. Returns false if the lease was lost meanwhile. */
  finish(
    taskId: string,
    owner: string,
    outcome: { status: Extract<TaskStatus, 'succeeded' | 'failed' | 'cancelled'>; result?: unknown; error?: TaskError },
    now: string,
  ): Promise<boolean>;
  /** Gives a lease back after a retryable failure so the next delivery can claim the task at once. */
  release(taskId: string, owner: string, error: TaskError, now: string): Promise<void>;
  /**
   * Drops a terminal task from the reconciliation index once its bookkeeping is done (a terminal
   * task stays there until then; see settleTerminal). No-op for a task that is not terminal.
   */
  settle(taskId: string): Promise<void>;
  /** Marks a queued or running task cancelled (dropping any lease); undefined if it was neither. */
  cancel(taskId: string, now: string): Promise<TaskRecord | undefined>;
  /**
   * A tenant's tasks, newest first, optionally of one status. `cursor` is opaque; an invalid or
   * foreign cursor throws a ValidationError.
   */
  listByTenant(tenantId: string, options: { limit: number; status?: TaskStatus; cursor?: string }): Promise<{ items: TaskRecord[]; nextCursor?: string }>;
  /**
   * Tasks overdue in the reconciliation index: queued past the grace period, running with an
   * expired lease, or terminal but not yet settled; at most `limit` per index shard.
   */
  listDue(now: number, limit: number): Promise<TaskRecord[]>;
  /** Moves a task's due time (after the reconciler re-dispatched it). */
  postpone(taskId: string, until: number): Promise<void>;
  /** Progress entries with `seq > after`, ascending, at most `limit`. */
  listProgress(taskId: string, after: number, limit: number): Promise<ProgressEntry[]>;
}

/** Tenants and their hashed API keys. */
export interface TenantStore {
  /** Stores the tenant; one stored for the first time is known to have no webhook endpoints. */
  putTenant(tenant: { tenantId: string; name: string; createdAt: string }): Promise<void>;
  putApiKey(key: { keyHash: string; keyId: string; tenantId: string; createdAt: string }): Promise<void>;
  /** Resolves a key hash to its tenant, if the key exists and is active. */
  findApiKey(keyHash: string): Promise<{ tenantId: string; keyId: string } | undefined>;
  /** Whether the tenant's API key with this id exists and is active (client tokens it minted are valid). */
  isApiKeyActive(tenantId: string, keyId: string): Promise<boolean>;
}

/** An API key as operators see it: never the key, never its hash. */
export interface ApiKeyInfo {
  readonly keyId: string;
  readonly tenantId: string;
  readonly status: 'active' | 'revoked';
  readonly createdAt: string;
  readonly revokedAt?: string;
}

/** Tenant administration (operators' CLI): tenants, and listing and revoking their keys. */
export interface TenantAdminStore extends TenantStore {
  getTenant(tenantId: string): Promise<{ tenantId: string; name: string; createdAt: string } | undefined>;
  /** The tenant's keys, oldest first. */
  listApiKeys(tenantId: string): Promise<ApiKeyInfo[]>;
  /** Marks a key revoked (it stops authenticating); `missing` when the tenant has no such key. */
  revokeApiKey(tenantId: string, keyId: string, revokedAt: string): Promise<'revoked' | 'already-revoked' | 'missing'>;
}

/** Publishes one fact to the bus. */
export interface EventPublisher {
  publish(detailType: DetailType, detail: TaskEventDetail): Promise<void>;
}

/**
 * One connection's subscription to one task, as written once by `subscribe` and never updated:
 * delivery keeps no per-entry bookkeeping in the store (no cursor, lease or flags). Whoever sends
 * to the connection starts from `after`; see `lambdas/core/delivery.ts` and `live-delivery.ts`.
 */
export interface Subscription {
  readonly taskId: string;
  readonly connectionId: string;
  readonly tenantId: string;
  /** The client's resume point when it subscribed: it asked for the entries with `seq > after`. */
  readonly after: number;
  /**
   * When the connection's credential (a client token) expires, epoch ms; absent for an API key.
   * Nothing is pushed on a subscription past it: the subscription is removed instead.
   */
  readonly credentialExpiresAt?: number;
}

/** WebSocket connections and their task subscriptions. */
export interface ConnectionStore {
  /** Records a connection with its credential's key id and (client tokens) expiry, epoch ms. */
  putConnection(connection: { connectionId: string; tenantId: string; taskIds?: readonly string[]; keyId?: string; credentialExpiresAt?: number; connectedAt: string }): Promise<void>;
  /** Ids of the open connections opened with an API key or with client tokens it minted. */
  listKeyConnections(keyId: string): Promise<string[]>;
  getConnection(connectionId: string): Promise<{ connectionId: string; tenantId: string; taskIds?: readonly string[] } | undefined>;
  /** Removes a connection and all of its subscriptions. */
  removeConnection(connectionId: string): Promise<void>;
  /** Creates or replaces a subscription (one write; it is never updated afterwards). */
  subscribe(subscription: Subscription): Promise<void>;
  /** Removes one subscription (no-op when absent). */
  unsubscribe(taskId: string, connectionId: string): Promise<void>;
  /** The task's subscriptions, read strongly consistently: one written before the call is in it. */
  listSubscriptions(taskId: string): Promise<Subscription[]>;
  /** Ids of the connections subscribed to a task (operators' tools and tests). */
  listSubscribers(taskId: string): Promise<string[]>;
}

/** Server-to-client WebSocket messages. */
export type ServerMessage =
  | { readonly type: 'ack'; readonly requestId?: string; readonly taskId: string }
  | { readonly type: 'progress'; readonly taskId: string; readonly seq: number; readonly data: unknown }
  /** Consecutive entries in one message (a replay or catch-up); see `packProgress`. */
  | { readonly type: 'progressBatch'; readonly taskId: string; readonly entries: readonly { readonly seq: number; readonly data: unknown }[] }
  /** A replay stopped after `nextAfter` to stay within its time budget: `subscribe {taskId, after: nextAfter}` continues it. */
  | { readonly type: 'replayPaused'; readonly taskId: string; readonly nextAfter: number }
  | {
      readonly type: 'status';
      readonly taskId: string;
      readonly status: TaskStatus;
      readonly result?: unknown;
      readonly error?: TaskError;
      readonly resultOmitted?: boolean;
    }
  | { readonly type: 'error'; readonly requestId?: string; readonly status: number; readonly title: string; readonly detail: string }
  | { readonly type: 'subscribed'; readonly taskId: string; readonly after: number }
  | { readonly type: 'pong' };

/** Writes one NDJSON object under a key (the analytics export's batches, `tasks.export`'s exports). */
export interface NdjsonSink {
  write(key: string, ndjson: string): Promise<void>;
}

/** Pushes a message to a WebSocket connection; `gone` when the connection no longer exists (410). */
export interface Pusher {
  post(connectionId: string, message: ServerMessage): Promise<'ok' | 'gone'>;
  /** Closes a connection (`@connections` DELETE); `gone` when it no longer exists. Optional for transports that cannot. */
  close?(connectionId: string): Promise<'ok' | 'gone'>;
}

/**
 * Signs short-lived, credential-free GET URLs for objects of one private bucket (the exports
 * bucket; S3 presigned URLs on AWS and locally). A URL carries the signer's own permissions, so the
 * signer may read only what callers may be handed.
 */
export interface PresignedUrlSigner {
  /** A URL that GETs `key` without credentials from `signedAt` until `signedAt + expiresInSeconds`. */
  signGet(key: string, options: { readonly expiresInSeconds: number; readonly signedAt: Date; readonly fileName: string }): Promise<string>;
}
