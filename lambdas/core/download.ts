import { ConflictError, NotFoundError } from './errors.ts';
import { EXPORT_TASK_TYPE, exportKey } from './export-object.ts';
import type { Principal } from './model.ts';
import type { PresignedUrlSigner, TaskStore } from './ports.ts';
import { getVisibleTask } from './read.ts';

/** How long a download URL works: long enough to start a download, short enough not to be shared. */
export const DOWNLOAD_URL_TTL_SECONDS = 300 as const;

/** `GET /v1/tasks/{id}/download`: where to fetch the export, and until when. */
export interface TaskDownload {
  /** A presigned S3 GET URL of the export's NDJSON object; it needs no credential. */
  readonly url: string;
  /** ISO-8601 time the URL stops working. */
  readonly expiresAt: string;
}

/** Dependencies of {@link downloadExport}. */
export interface DownloadDeps {
  readonly tasks: TaskStore;
  readonly signer: PresignedUrlSigner;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/**
 * A short-lived URL of a finished export's NDJSON. The task is read like `GET /v1/tasks/{id}`:
 * unknown ids, malformed ids, other tenants' tasks and tasks outside a client token's scope answer
 * the same `404`; a task-scoped token may download the tasks it is scoped to (downloading is a
 * read). A task of another type has no download (`404`, its detail says why); an export that has
 * not succeeded has no file yet, or never will (`409`). The object key is derived from the tenant
 * and the task, never read from the task's result, so a URL can only ever name the caller's own
 * export.
 *
 * @example
 * ```ts
 * const { url, expiresAt } = await downloadExport({ tasks, signer }, principal, 'tsk_01J…');
 * const ndjson = await (await fetch(url)).text();
 * ```
 */
export const downloadExport = async (deps: DownloadDeps, principal: Principal, taskId: unknown): Promise<TaskDownload> => {
  const task = await getVisibleTask(deps.tasks, principal, taskId);
  if (task.type !== EXPORT_TASK_TYPE) throw new NotFoundError(`Task ${task.taskId} is a ${task.type} task; only ${EXPORT_TASK_TYPE} tasks have a download.`);
  if (task.status === 'queued' || task.status === 'running') throw new ConflictError(`The export is still ${task.status}; download it once it succeeded.`);
  if (task.status !== 'succeeded') throw new ConflictError(`The export ${task.status}; it has no file. Submit a new ${EXPORT_TASK_TYPE} task.`);
  const signedAt = (deps.now ?? (() => new Date()))();
  const url = await deps.signer.signGet(exportKey(task.tenantId, task.taskId), {
    expiresInSeconds: DOWNLOAD_URL_TTL_SECONDS,
    signedAt,
    fileName: `${task.taskId}.ndjson`,
  });
  return { url, expiresAt: new Date(signedAt.getTime() + DOWNLOAD_URL_TTL_SECONDS * 1000).toISOString() };
};
