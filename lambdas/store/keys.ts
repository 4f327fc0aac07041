const dueShard = (taskId: string): string => `DUE#${[...taskId].reduce((sum, char) => sum + char.charCodeAt(0), 0) % 4}`;

/** Key layout of the tasks table (single-table design). */
export const TaskKeys = {
  task: (taskId: string) => ({ pk: `TASK#${taskId}`, sk: 'TASK' }),
  progress: (taskId: string, seq: number) => ({ pk: `TASK#${taskId}`, sk: `P#${String(seq).padStart(10, '0')}` }),
  progressPrefix: 'P#',
  tenant: (tenantId: string) => ({ pk: `TENANT#${tenantId}`, sk: 'TENANT' }),
  apiKey: (keyHash: string) => ({ pk: `APIKEY#${keyHash}`, sk: 'APIKEY' }),
  /** A tenant's record of one of its API keys (id, hash, status), for listing and revocation. */
  tenantApiKey: (tenantId: string, keyId: string) => ({ pk: `TENANT#${tenantId}`, sk: `APIKEY#${keyId}` }),
  /** The tenant's in-flight counter. */
  inflight: (tenantId: string) => ({ pk: `TENANT#${tenantId}`, sk: 'INFLIGHT' }),
  /** One in-flight task's admission slot. */
  slot: (tenantId: string, taskId: string) => ({ pk: `TENANT#${tenantId}`, sk: `SLOT#${taskId}` }),
  /** A task holding one of its tenant's running slots in a workload class. */
  runSlot: (tenantId: string, workloadClass: string, taskId: string) => ({ pk: `RUN#${tenantId}#${workloadClass}`, sk: `SLOT#${taskId}` }),
  /** A task parked until its tenant has a free running slot in the class (task ids sort by time). */
  parked: (tenantId: string, workloadClass: string, taskId: string) => ({ pk: `PARK#${tenantId}#${workloadClass}`, sk: `TASK#${taskId}` }),
  /** A tenant's webhook endpoint. */
  webhook: (tenantId: string, webhookId: string) => ({ pk: `TENANT#${tenantId}`, sk: `WEBHOOK#${webhookId}` }),
  /** A session's position counter. */
  sessionCounter: (tenantId: string, sessionId: string) => ({ pk: `SESSION#${tenantId}#${sessionId}`, sk: 'COUNTER' }),
  /** The task at one position of a session's order. */
  sessionMember: (tenantId: string, sessionId: string, seq: number) => ({ pk: `SESSION#${tenantId}#${sessionId}`, sk: `SEQ#${String(seq).padStart(10, '0')}` }),
  /** An Idempotency-Key, scoped to its tenant (the key itself is stored only as a hash). */
  idempotency: (tenantId: string, keyHash: string) => ({ pk: `IDEMP#${tenantId}#${keyHash}`, sk: 'IDEMP' }),
  /**
   * Reconciliation index (sparse: only non-terminal tasks have it): tasks by the time they are due
   * to have progressed, spread over shards so no partition gets hot.
   */
  due: (taskId: string, dueAt: number) => ({ gsi2pk: dueShard(taskId), gsi2sk: `${new Date(dueAt).toISOString()}#${taskId}` }),
  dueShards: ['DUE#0', 'DUE#1', 'DUE#2', 'DUE#3'] as readonly string[],
  /** Listing index: a tenant's tasks, newest first by ULID. */
  byTenant: (tenantId: string, taskId: string) => ({ gsi1pk: `TENANT#${tenantId}`, gsi1sk: taskId }),
} as const;

/** Key layout of the connections table. */
export const ConnectionKeys = {
  connection: (connectionId: string) => ({ pk: `CONN#${connectionId}`, sk: 'CONN' }),
  /** Back-reference from a connection to a task it subscribes to, for cleanup on disconnect. */
  connectionSub: (connectionId: string, taskId: string) => ({ pk: `CONN#${connectionId}`, sk: `SUB#${taskId}` }),
  /** The subscription itself, found by task when progress is written. */
  subscription: (taskId: string, connectionId: string) => ({ pk: `TASK#${taskId}`, sk: `SUB#${connectionId}` }),
} as const;

/**
 * Sparse index of the connections table: connection items by the id of the API key they were
 * opened with (directly or through a client token it minted), keys only. Revoking a key reads
 * just that key's connections.
 */
export const CONNECTIONS_BY_KEY_INDEX = 'ByKey' as const;

/** Connections close after 2 hours on AWS; their items expire by TTL a little later. */
export const CONNECTION_TTL_SECONDS = 3 * 60 * 60;
