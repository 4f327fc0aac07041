import { z } from 'zod';
import { findTaskDefinition } from '../tasks/registry.ts';
import { ValidationError } from './errors.ts';
import { newTaskId, ulid } from './ids.ts';
import { DetailType, type Principal, type TaskRecord, type TaskView, toTaskView } from './model.ts';
import type { EventPublisher, TaskStore } from './ports.ts';

/** The submit envelope (`POST /v1/tasks` body, WebSocket `submit` message). */
export const SubmitRequest = z.strictObject({
  type: z.string().min(1).max(64),
  input: z.record(z.string(), z.unknown()),
  sessionId: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,128}$/, 'sessionId must be 1-128 characters of [A-Za-z0-9._:-]')
    .optional(),
});
export type SubmitRequest = z.infer<typeof SubmitRequest>;

/** Renders a zod failure as one readable sentence naming the offending paths. */
export const describeIssues = (error: z.ZodError): string =>
  error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(body)'}: ${issue.message}`)
    .join('; ');

/** Validates the envelope and the input against the task type's schema. */
export const validateSubmit = (body: unknown): { request: SubmitRequest; input: unknown } => {
  const envelope = SubmitRequest.safeParse(body);
  if (!envelope.success) throw new ValidationError(describeIssues(envelope.error));
  const definition = findTaskDefinition(envelope.data.type);
  if (!definition) throw new ValidationError(`Unknown task type "${envelope.data.type}".`);
  const input = definition.input.safeParse(envelope.data.input);
  if (!input.success) throw new ValidationError(`input.${describeIssues(input.error)}`);
  return { request: envelope.data, input: input.data };
};

/** Dependencies of the submit path. */
export interface SubmitDeps {
  readonly tasks: TaskStore;
  readonly events: EventPublisher;
  readonly now?: () => Date;
}

/**
 * The acknowledgement path: validate, record, emit. Nothing slow, nothing external.
 *
 * @example
 * ```ts
 * const view = await submitTask(deps, principal, { type: 'completion', input: { prompt: 'hi' } });
 * ```
 */
export const submitTask = async (deps: SubmitDeps, principal: Principal, body: unknown): Promise<TaskView> => {
  const { request, input } = validateSubmit(body);
  const definition = findTaskDefinition(request.type)!;
  const now = (deps.now ?? (() => new Date()))();
  const iso = now.toISOString();
  const task: TaskRecord = {
    taskId: newTaskId(now.getTime()),
    tenantId: principal.tenantId,
    type: definition.type,
    class: definition.class,
    status: 'queued',
    input,
    ...(request.sessionId !== undefined ? { sessionId: request.sessionId } : {}),
    attempts: 0,
    progressSeq: 0,
    createdAt: iso,
    updatedAt: iso,
  };
  await deps.tasks.create(task);
  await deps.events.publish(DetailType.submitted, {
    eventId: `evt_${ulid(now.getTime())}`,
    taskId: task.taskId,
    tenantId: task.tenantId,
    type: task.type,
    class: task.class,
    ...(task.sessionId !== undefined ? { sessionId: task.sessionId } : {}),
    status: 'queued',
  });
  return toTaskView(task);
};
