import type { TaskDefinition } from './definition.ts';
import { completion } from './completion.ts';
import { webhookDelivery } from './webhook-delivery.ts';
import { taskExport } from './task-export.ts';

/**
 * Every shipped task type. Adding a type = adding its definition file and listing it here; its
 * workload class already has a queue, DLQ and worker.
 */
export const TASK_DEFINITIONS: readonly TaskDefinition<any, any, any>[] = [completion, webhookDelivery, taskExport];

/** Types clients may submit (internal types are created by the system only). */
export const SUBMITTABLE_TYPES: ReadonlySet<string> = new Set([completion.type, taskExport.type]);

const byType = new Map(TASK_DEFINITIONS.map((definition) => [definition.type, definition]));

/** The definition of a task type, or undefined. */
export const findTaskDefinition = (type: string): TaskDefinition<any, any, any> | undefined => byType.get(type);
