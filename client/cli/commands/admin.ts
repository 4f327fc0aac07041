import type { Message, MessageAttributeValue } from '@aws-sdk/client-sqs';
import { createTenant, listApiKeys, revokeApiKey, rotateApiKey } from '../../../lambdas/core/auth.ts';
import type { Command, CommandContext } from '../command.ts';
import { requireAdmin, WORKLOAD_CLASSES, type WorkloadClassName } from '../config.ts';
import { closeKeyConnections } from '../../../lambdas/core/key-connections.ts';
import { keyConnectionsFor, sqsFor, tenantStoreFor } from '../aws.ts';
import { UsageError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';

const withTenants = async <T>(context: CommandContext, use: (store: Awaited<ReturnType<typeof tenantStoreFor>>['store']) => Promise<T>): Promise<T> => {
  const { store, close } = await tenantStoreFor(requireAdmin(context.target()));
  try {
    return await use(store);
  } finally {
    close();
  }
};

/**
 * Closes the open WebSocket connections of revoked keys (opened with the key or a token it minted).
 * Returns how many were closed, or undefined when the target names no connections table.
 */
const closeConnectionsOf = async (context: CommandContext, keyIds: readonly string[]): Promise<number | undefined> => {
  if (keyIds.length === 0) return 0;
  const deps = await keyConnectionsFor(requireAdmin(context.target()));
  if (!deps) return undefined;
  try {
    let closed = 0;
    for (const keyId of keyIds) closed += (await closeKeyConnections(deps, keyId)).closed;
    return closed;
  } finally {
    deps.close();
  }
};

const NO_CONNECTIONS_NOTE =
  'The target names no connections table or @connections endpoint (outputs of an older stack): open WebSocket connections of the revoked key were not closed.';

const tenantOption = (context: CommandContext): string => {
  const tenant = context.values.tenant;
  if (typeof tenant !== 'string' || !tenant) throw new UsageError('--tenant <tenant id> is required.');
  return tenant;
};

export const tenantsCreate: Command = {
  name: 'tenants create',
  summary: 'create a tenant and print its first API key (shown once)',
  help: `Usage: offload tenants create <name>

Creates a tenant in the stack's table and prints its id and first API key. The key is shown only
now: only its SHA-256 hash is stored.`,
  options: {},
  positionals: { min: 1, max: 1, names: '<name>' },
  run: async (context) => {
    const created = await withTenants(context, (store) => createTenant(store, context.positionals[0]!));
    if (context.out.json) context.out.document(created);
    else {
      context.out.line(`tenant   ${created.tenantId}`);
      context.out.line(`key id   ${created.keyId}`);
      context.out.line(`api key  ${created.apiKey}`);
      context.out.note('Store the API key now: it is not shown again.');
    }
    return ExitCode.ok;
  },
};

export const keysList: Command = {
  name: 'keys ls',
  summary: 'list a tenant\u2019s API keys (ids and status, never the keys)',
  help: 'Usage: offload keys ls --tenant <tenant id>',
  options: { tenant: { type: 'string' } },
  positionals: { min: 0, max: 0, names: '' },
  run: async (context) => {
    const keys = await withTenants(context, (store) => listApiKeys(store, tenantOption(context)));
    if (context.out.json) context.out.document({ items: keys });
    else context.out.table(['KEY ID', 'STATUS', 'CREATED', 'REVOKED'], keys.map((key) => [key.keyId, key.status, key.createdAt, key.revokedAt ?? '']));
    return ExitCode.ok;
  },
};

export const keysRotate: Command = {
  name: 'keys rotate',
  summary: 'issue a new API key for a tenant (optionally revoking the old ones)',
  help: `Usage: offload keys rotate --tenant <tenant id> [--revoke-old]

Issues a new API key and prints it once. With --revoke-old, every key the tenant had before is
revoked once the new one exists, with the client tokens it minted, and its open WebSocket
connections are closed. Revocation reaches the HTTP API within the authorizer's cache TTL
(API_KEY_CACHE_SECONDS, default 60 s); WebSocket handshakes check at once.

  --tenant <id>    the tenant
  --revoke-old     revoke every earlier key of the tenant`,
  options: { tenant: { type: 'string' }, 'revoke-old': { type: 'boolean', default: false } },
  positionals: { min: 0, max: 0, names: '' },
  run: async (context) => {
    const rotated = await withTenants(context, (store) => rotateApiKey(store, tenantOption(context), { revokeOld: context.values['revoke-old'] === true }));
    const closedConnections = await closeConnectionsOf(context, rotated.revokedKeyIds);
    if (closedConnections === undefined) context.out.note(NO_CONNECTIONS_NOTE);
    if (context.out.json) context.out.document({ ...rotated, ...(closedConnections !== undefined ? { closedConnections } : {}) });
    else {
      context.out.line(`key id   ${rotated.keyId}`);
      context.out.line(`api key  ${rotated.apiKey}`);
      if (rotated.revokedKeyIds.length) context.out.note(`revoked  ${rotated.revokedKeyIds.join(', ')} (closed ${closedConnections ?? 0} WebSocket connection(s))`);
      context.out.note('Store the API key now: it is not shown again.');
    }
    return ExitCode.ok;
  },
};

export const keysRevoke: Command = {
  name: 'keys revoke',
  summary: 'revoke one API key by its id',
  help: `Usage: offload keys revoke <key id> --tenant <tenant id>

Revokes the key (the id is the 26 characters after "ofk_" in the key, or from \`offload keys ls\`)
and every client token it minted, and closes the WebSocket connections opened with either. The HTTP
API refuses them within the authorizer's cache TTL (API_KEY_CACHE_SECONDS, default 60 s). Revoking
a revoked key revokes nothing new but closes any connection still open.`,
  options: { tenant: { type: 'string' } },
  positionals: { min: 1, max: 1, names: '<key id>' },
  run: async (context) => {
    const keyId = context.positionals[0]!;
    const tenantId = tenantOption(context);
    const outcome = await withTenants(context, (store) => revokeApiKey(store, tenantId, keyId));
    const closedConnections = await closeConnectionsOf(context, [keyId]);
    if (closedConnections === undefined) context.out.note(NO_CONNECTIONS_NOTE);
    if (context.out.json) context.out.document({ tenantId, keyId, outcome, ...(closedConnections !== undefined ? { closedConnections } : {}) });
    else context.out.line(`${keyId} ${outcome} (closed ${closedConnections ?? 0} WebSocket connection(s))`);
    return ExitCode.ok;
  },
};

/** Peeked DLQ messages are visible again after this long. */
const PEEK_RESTORE_SECONDS = 1;
/** `redrive` waits this long for messages in flight in the DLQ (someone peeking) to come back. */
const REDRIVE_IN_FLIGHT_GRACE_MS = 10_000;

const classArgument = (context: CommandContext): WorkloadClassName => {
  const name = context.positionals[0] as WorkloadClassName;
  if (!WORKLOAD_CLASSES.includes(name)) throw new UsageError(`The class must be one of ${WORKLOAD_CLASSES.join(', ')}.`);
  return name;
};

const positiveInt = (name: string, raw: unknown, fallback: number, max: number): number => {
  if (raw === undefined) return fallback;
  if (typeof raw !== 'string' || !/^\d{1,6}$/.test(raw) || Number(raw) < 1 || Number(raw) > max) throw new UsageError(`--${name} must be an integer from 1 to ${max}.`);
  return Number(raw);
};

/** One DLQ message as `dlq ls` shows it. */
const describeMessage = (message: Message) => {
  let detail: Record<string, unknown> = {};
  try {
    const body = JSON.parse(message.Body ?? '') as { detail?: Record<string, unknown> };
    if (body && typeof body.detail === 'object' && body.detail) detail = body.detail;
  } catch {
    // not an EventBridge event: shown raw
  }
  const attribute = (name: string) => message.MessageAttributes?.[name]?.StringValue;
  return {
    messageId: message.MessageId,
    sentAt: message.Attributes?.SentTimestamp ? new Date(Number(message.Attributes.SentTimestamp)).toISOString() : undefined,
    receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 0),
    taskId: attribute('taskId') ?? (detail.taskId as string | undefined),
    type: detail.type as string | undefined,
    errorCode: attribute('errorCode'),
    errorMessage: attribute('errorMessage'),
    body: message.Body,
  };
};

export const dlqList: Command = {
  name: 'dlq ls',
  summary: 'show a workload class\u2019s dead-letter queue',
  help: `Usage: offload dlq ls <class> [--limit <n>]

Shows how many messages the class's DLQ holds and up to n of them (task, type, why it failed).
Peeking leaves them in the queue: they are visible again a second later.

  <class>        ${WORKLOAD_CLASSES.join(', ')}
  --limit <n>    messages to show, 1-100 (default 10)`,
  options: { limit: { type: 'string' } },
  positionals: { min: 1, max: 1, names: '<class>' },
  run: async (context) => {
    const className = classArgument(context);
    const limit = positiveInt('limit', context.values.limit, 10, 100);
    const admin = requireAdmin(context.target());
    const { sqs, client } = await sqsFor(admin);
    const queueUrl = admin.queues[className].deadLetterUrl;
    try {
      const attributes = await client.send(new sqs.GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
      const seen = new Map<string, Message>();
      const handles: string[] = [];
      try {
        while (seen.size < limit) {
          const { Messages = [] } = await client.send(
            new sqs.ReceiveMessageCommand({
              QueueUrl: queueUrl,
              MaxNumberOfMessages: Math.min(10, limit - seen.size),
              VisibilityTimeout: 30,
              WaitTimeSeconds: 0,
              MessageAttributeNames: ['All'],
              MessageSystemAttributeNames: ['SentTimestamp', 'ApproximateReceiveCount'],
            }),
          );
          if (Messages.length === 0) break;
          for (const message of Messages) {
            if (message.ReceiptHandle) handles.push(message.ReceiptHandle);
            if (message.MessageId && !seen.has(message.MessageId)) seen.set(message.MessageId, message);
          }
        }
      } finally {
        // Put back what we peeked at: visible again after 1 s. (Not 0: the local SQS engine,
        // fauxqs 2.4, loses a message whose visibility is set to 0 when it persists to disk.)
        for (let i = 0; i < handles.length; i += 10) {
          await client
            .send(new sqs.ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: handles.slice(i, i + 10).map((handle, j) => ({ Id: String(j), ReceiptHandle: handle, VisibilityTimeout: PEEK_RESTORE_SECONDS })) }))
            .catch(() => undefined);
        }
      }
      const messages = [...seen.values()].map(describeMessage);
      const approximate = Number(attributes.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(attributes.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
      if (context.out.json) context.out.document({ class: className, queueUrl, approximateCount: approximate, messages });
      else {
        context.out.line(`${className} DLQ: ~${approximate} message(s)`);
        if (messages.length) {
          context.out.table(
            ['MESSAGE', 'SENT', 'RECEIVES', 'TASK', 'TYPE', 'ERROR'],
            messages.map((message) => [message.messageId ?? '', message.sentAt ?? '', String(message.receiveCount), message.taskId ?? '', message.type ?? '', message.errorCode ? `${message.errorCode}: ${message.errorMessage ?? ''}` : '']),
          );
        }
      }
      return ExitCode.ok;
    } finally {
      client.destroy();
    }
  },
};

/** Message attributes as SendMessage takes them (receive answers carry reserved list fields). */
const attributesOf = (attributes: Record<string, MessageAttributeValue>): Record<string, MessageAttributeValue> =>
  Object.fromEntries(
    Object.entries(attributes).map(([name, value]) => [
      name,
      { DataType: value.DataType, ...(value.StringValue !== undefined ? { StringValue: value.StringValue } : {}), ...(value.BinaryValue !== undefined ? { BinaryValue: value.BinaryValue } : {}) },
    ]),
  );

export const dlqRedrive: Command = {
  name: 'dlq redrive',
  summary: 'move a class\u2019s DLQ messages back to its queue',
  help: `Usage: offload dlq redrive <class> [--limit <n>]

Moves messages from the class's DLQ back to its source queue (body and attributes unchanged), each
sent before it is deleted from the DLQ, so a failure can duplicate a message but never lose one (the
workers ignore duplicates, and a redriven message of a task that already ended is a no-op).

  <class>        ${WORKLOAD_CLASSES.join(', ')}
  --limit <n>    move at most n messages (default: all)`,
  options: { limit: { type: 'string' } },
  positionals: { min: 1, max: 1, names: '<class>' },
  run: async (context) => {
    const className = classArgument(context);
    const limit = positiveInt('limit', context.values.limit, 1_000_000, 1_000_000);
    const admin = requireAdmin(context.target());
    const { sqs, client } = await sqsFor(admin);
    const { url: targetUrl, deadLetterUrl } = admin.queues[className];
    let moved = 0;
    let idleSince: number | undefined;
    try {
      while (moved < limit && !context.signal.aborted) {
        const { Messages = [] } = await client.send(
          new sqs.ReceiveMessageCommand({ QueueUrl: deadLetterUrl, MaxNumberOfMessages: Math.min(10, limit - moved), VisibilityTimeout: 60, WaitTimeSeconds: 1, MessageAttributeNames: ['All'] }),
        );
        if (Messages.length === 0) {
          // Done, unless messages are in flight (being peeked at): wait a little for them to return.
          const { Attributes = {} } = await client.send(new sqs.GetQueueAttributesCommand({ QueueUrl: deadLetterUrl, AttributeNames: ['ApproximateNumberOfMessagesNotVisible'] }));
          idleSince ??= Date.now();
          if (Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0) === 0 || Date.now() - idleSince > REDRIVE_IN_FLIGHT_GRACE_MS) break;
          continue;
        }
        idleSince = undefined;
        const sent = await client.send(
          new sqs.SendMessageBatchCommand({
            QueueUrl: targetUrl,
            Entries: Messages.map((message, i) => ({
              Id: String(i),
              MessageBody: message.Body ?? '',
              ...(message.MessageAttributes && Object.keys(message.MessageAttributes).length ? { MessageAttributes: attributesOf(message.MessageAttributes) } : {}),
            })),
          }),
        );
        const ok = new Set((sent.Successful ?? []).map((entry) => entry.Id));
        const toDelete = Messages.filter((_, i) => ok.has(String(i)));
        if (toDelete.length) {
          await client.send(new sqs.DeleteMessageBatchCommand({ QueueUrl: deadLetterUrl, Entries: toDelete.map((message, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle! })) }));
        }
        moved += toDelete.length;
        if (sent.Failed?.length) throw new Error(`SQS refused ${sent.Failed.length} message(s): ${sent.Failed[0]?.Message ?? sent.Failed[0]?.Code}`);
      }
    } finally {
      client.destroy();
    }
    if (context.out.json) context.out.document({ class: className, moved });
    else context.out.line(`${className}: moved ${moved} message(s) from the DLQ back to the queue`);
    return ExitCode.ok;
  },
};
