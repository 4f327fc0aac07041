import * as z from 'zod/mini';
import { findTaskDefinition, SUBMITTABLE_TYPES } from '../tasks/registry.ts';
import { ValidationError } from './errors.ts';
import { assertMayChange } from './scope.ts';
import { newTaskId } from './ids.ts';
import { admit, type AdmissionStore } from './admission.ts';
import { lifecycleEvent } from './events.ts';
import { routesWebhooks } from './webhook-presence.ts';
import type { SessionStore } from './session.ts';
import { DetailType, isTerminal, type Principal, type TaskRecord, type TaskView, toTaskView } from './model.ts';
import type { EventPublisher, TaskStore } from './ports.ts';
import { fingerprint, hashIdempotencyKey, IdempotencyInProgressError, IdempotencyMismatchError, type IdempotencyStore } from './idempotency.ts';

/** The submit envelope (`POST /v1/tasks` body, WebSocket `submit` message). */
export const SubmitRequest = z.strictObject({
  type: z.string().check(z.minLength(1), z.maxLength(64)),
  input: z.record(z.string(), z.unknown()),
  sessionId: z.optional(z.string().check(z.regex(/^[A-Za-z0-9._:-]{1,128}$/, 'sessionId must be 1-128 characters of [A-Za-z0-9._:-]'))),
});
export type SubmitRequest = z.infer<typeof SubmitRequest>;

/** Renders a zod failure as one readable sentence naming the offending paths. */
export const describeIssues = (error: z.core.$ZodError): string =>
  error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(body)'}: ${issue.message}`)
    .join('; ');

/** Validates the envelope and the input against the task type's schema. */
export const validateSubmit = (body: unknown): { request: SubmitRequest; input: unknown } => {
  const envelope = SubmitRequest.safeParse(body);
  if (!envelope.success) throw new ValidationError(describeIssues(envelope.error));
  const definition = SUBMITTABLE_TYPES.has(envelope.data.type) ? findTaskDefinition(envelope.data.type) : undefined;
  if (!definition) throw new ValidationError(`Unknown task type "${envelope.data.type}".`);
  const input = definition.input.safeParse(envelope.data.input);
  if (!input.success) throw new ValidationError(`input.${describeIssues(input.error)}`);
  return { request: envelope.data, input: input.data };
};

/** Dependencies of the submit path. */
export interface SubmitDeps {
  readonly tasks: TaskStore;
  readonly events: EventPublisher;
  readonly idempotency?: IdempotencyStore;
  /** Session ordering; absent = sessions are labels only. */
  readonly sessions?: SessionStore;
  /** Per-tenant in-flight limit; absent = unlimited. */
  readonly admission?: { readonly store: AdmissionStore; readonly limit: number };
  readonly now?: () => Date;
}

/** What the submit path knows about the request beyond its body. */
export interface SubmitContext {
  /** Correlation id of the request (see correlation.ts), stored on the task and its events. */
  readonly correlationId?: string;
}

/** The outcome of a submit. */
export interface SubmitResult {
  readonly task: TaskView;
  /** True when an Idempotency-Key replay answered with the original task. */
  readonly replayed: boolean;
}

/**
 * The acknowledgement path: validate, record, emit. Nothing slow, nothing external. With an
 * `Idempotency-Key` (IETF draft semantics): the same key and body within 24 hours answers the
 * original task (`replayed`); a different body `422`; a concurrent request with the key `409`. The
 * task id is fixed when the key is first claimed, so a request that crashed midway and is retried
 * completes the same task instead of creating a second one.
 *
 * @example
 * ```ts
 * const { task } = await submitTask(deps, principal, { type: 'completion', input: { prompt: 'hi' } });
 * ```
 */
export const submitTask = async (deps: SubmitDeps, principal: Principal, body: unknown, idempotencyKey?: string, context: SubmitContext = {}): Promise<SubmitResult> => {
  assertMayChange(principal, 'submit tasks');
  const { request, input } = validateSubmit(body);
  const now = (deps.now ?? (() => new Date()))();
  if (idempotencyKey === undefined) return { task: await record(deps, principal, request, input, newTaskId(now.getTime()), now, context), replayed: false };
  if (!deps.idempotency) throw new Error('idempotency store not configured');
  const keyHash = hashIdempotencyKey(idempotencyKey);
  const claim = await deps.idempotency.claim(principal.tenantId, keyHash, fingerprint(request), newTaskId(now.getTime()));
  if (claim.kind === 'in-progress') throw new IdempotencyInProgressError();
  if (claim.kind === 'mismatch') throw new IdempotencyMismatchError();
  if (claim.kind === 'replay') {
    const original = await deps.tasks.get(claim.taskId);
    if (original) return { task: toTaskView(original), replayed: true };
  }
  try {
    const existing = await deps.tasks.get(claim.taskId);
    const task = existing ? toTaskView(existing) : await record(deps, principal, request, input, claim.taskId, now, context);
    if (existing?.status === 'queued' && existing.attempts === 0) await emitSubmitted(deps, existing, now);
    await deps.idempotency.complete(principal.tenantId, keyHash);
    return { task, replayed: false };
  } catch (error) {
    await deps.idempotency.release(principal.tenantId, keyHash).catch(() => undefined);
    throw error;
  }
};

const record = async (deps: SubmitDeps, principal: Principal, request: SubmitRequest, input: unknown, taskId: string, now: Date, context: SubmitContext): Promise<TaskView> => {
  const definition = findTaskDefinition(request.type)!;
  // Admission reads back, with the same write, whether the tenant has webhook endpoints.
  const admitted = deps.admission ? await admit(deps.admission.store, principal.tenantId, taskId, deps.admission.limit, (ids) => terminalAmong(deps.tasks, ids)) : undefined;
  const iso = now.toISOString();
  const ordered = request.sessionId !== undefined && definition.ordering === 'session' && deps.sessions;
  const sessionSeq = ordered ? await deps.sessions!.enqueue(principal.tenantId, request.sessionId!, taskId) : undefined;
  const task: TaskRecord = {
    taskId,
    tenantId: principal.tenantId,
    type: definition.type,
    class: definition.class,
    status: 'queued',
    input,
    ...(request.sessionId !== undefined ? { sessionId: request.sessionId } : {}),
    ...(sessionSeq !== undefined ? { sessionSeq } : {}),
    attempts: 0,
    progressSeq: 0,
    createdAt: iso,
    updatedAt: iso,
    ...(context.correlationId !== undefined ? { correlationId: context.correlationId } : {}),
    ...(admitted ? { webhooks: routesWebhooks(admitted.webhooks) } : {}),
  };
  try {
    await deps.tasks.create(task);
  } catch (error) {
    await deps.admission?.store.release(principal.tenantId, taskId).catch(() => undefined);
    throw error;
  }
  await emitSubmitted(deps, task, now);
  return toTaskView(task);
};

/** Which of these tasks are terminal (or gone): their admission slots can be freed. */
export const terminalAmong = async (tasks: TaskStore, taskIds: readonly string[]): Promise<ReadonlySet<string>> => {
  const done = new Set<string>();
  for (const taskId of taskIds) {
    const task = await tasks.get(taskId);
    if (!task || isTerminal(task.status)) done.add(taskId);
  }
  return done;
};

/** Emits "Task Submitted"; consumers deduplicate by task id, so emitting twice is harmless. */
const emitSubmitted = async (deps: SubmitDeps, task: TaskRecord, now: Date): Promise<void> => {
  await deps.events.publish(DetailType.submitted, lifecycleEvent(task, { status: 'queued' }, now.getTime()));
};
