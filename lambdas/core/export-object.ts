/**
 * Where a `tasks.export` task's NDJSON lives: shared by the task that writes it (the batch worker)
 * and the download route that signs URLs for it, so neither trusts a key read from elsewhere.
 */

/** The task type whose result is a downloadable NDJSON export. */
export const EXPORT_TASK_TYPE = 'tasks.export' as const;

/**
 * Object key of an export: one per tenant and export task, so a retried attempt overwrites its own
 * object and a tenant's exports all sit under its own prefix.
 *
 * @example
 * ```ts
 * exportKey('ten_01J…', 'tsk_01J…'); // 'exports/ten_01J…/tsk_01J….ndjson'
 * ```
 */
export const exportKey = (tenantId: string, taskId: string): string => `exports/${tenantId}/${taskId}.ndjson`;
