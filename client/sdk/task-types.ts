/**
 * The shipped task types, derived from their definitions in `lambdas/tasks/` with type-only
 * imports: no runtime code of the service ends up in an SDK bundle. Add a submittable definition
 * here to type it in the SDK.
 */
import type { completion } from '../../lambdas/tasks/completion.ts';
import type { TaskDefinition } from '../../lambdas/tasks/definition.ts';
import type { taskExport } from '../../lambdas/tasks/task-export.ts';

/** Maps task definitions (by type name) to their input, progress and result types. */
export type TaskTypesOf<Definitions extends { readonly [type: string]: TaskDefinition<any, any, any> }> = {
  readonly [K in keyof Definitions]: Definitions[K] extends TaskDefinition<infer I, infer P, infer R> ? { readonly input: I; readonly progress: P; readonly result: R } : never;
};

/**
 * The task types clients may submit to an Offload deployment:
 * - `completion`: input `{ prompt, maxTokens?, model? }`, progress `{ text }`, result `{ text, model, usage }`.
 * - `tasks.export`: input `{ status?, limit? }`, progress `{ done, total }`, result `{ bucket, key, tasks, bytes }`.
 *
 * @example
 * ```ts
 * type CompletionProgress = OffloadTaskTypes['completion']['progress']; // { readonly text: string }
 * ```
 */
export type OffloadTaskTypes = TaskTypesOf<{ completion: typeof completion; 'tasks.export': typeof taskExport }>;
