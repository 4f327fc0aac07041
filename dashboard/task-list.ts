import { isTerminalStatus, type OffloadClient, type TaskSummary, type OffloadTaskTypes } from '../client/sdk/index.ts';
import { byId, el, localTime, messageOf, setStatus, showError, statusBadge } from './dom.ts';

type Summary = TaskSummary<OffloadTaskTypes>;

/** Page size of the first page and of each "Load more". */
export const PAGE_SIZE = 20;
/** The API's largest page: the refresh re-reads at most this many of the newest tasks. */
const MAX_PAGE = 100;
/** How long a task submitted here is shown before a listing confirms it (listings are edge-cached for a second). */
const PENDING_MS = 10_000;

/**
 * The tenant's tasks, newest first (`GET /v1/tasks`): the first page, more on "Load more", and a
 * periodic refresh of the newest (up to 100) so statuses stay current. Rows are keyed by task id.
 */
export class TaskList {
  private readonly body = byId<HTMLTableElement>('tasks').tBodies[0]!;
  private readonly loadMore = byId<HTMLButtonElement>('load-more');
  private readonly empty = byId('tasks-empty');
  private readonly error = byId('tasks-error');
  private tasks: Summary[] = [];
  private nextCursor: string | undefined;
  private selected: string | undefined;
  private refreshing = false;
  /** Terminal statuses seen on live streams. */
  private readonly settled = new Map<string, Summary['status']>();
  /** Tasks submitted from this page, by when, until a listing shows them. */
  private readonly pending = new Map<string, number>();

  public constructor(
    private readonly client: () => OffloadClient,
    private readonly onSelect: (taskId: string) => void,
  ) {
    this.loadMore.addEventListener('click', () => void this.more());
  }

  /** Forgets everything (sign-out). */
  public clear(): void {
    this.tasks = [];
    this.nextCursor = undefined;
    this.selected = undefined;
    this.pending.clear();
    this.settled.clear();
    this.render();
  }

  /** Re-reads the newest tasks (as many as are shown, 20 to 100), merging them into the list. */
  public async refresh(): Promise<void> {
    if (this.refreshing) return;
    this.refreshing = true;
    try {
      const limit = Math.min(MAX_PAGE, Math.max(PAGE_SIZE, this.tasks.length));
      const page = await this.client().list({ limit });
      // A terminal status seen on the live stream wins over a listing cached a second earlier.
      const items = page.items.map((task) => (this.settled.has(task.taskId) ? { ...task, status: this.settled.get(task.taskId)! } : task));
      const fresh = new Set(items.map((task) => task.taskId));
      const oldest = items[items.length - 1]?.taskId;
      const now = Date.now();
      for (const [taskId, at] of this.pending) if (fresh.has(taskId) || now - at > PENDING_MS) this.pending.delete(taskId);
      // Keep what lies beyond this page (loaded with "Load more"), and tasks just submitted that a
      // cached listing may not show yet. Task ids are ULIDs: lexical order is creation order.
      const kept = this.tasks.filter((task) => !fresh.has(task.taskId) && ((oldest !== undefined && page.nextCursor !== undefined && task.taskId < oldest) || this.pending.has(task.taskId)));
      this.tasks = [...kept.filter((task) => this.pending.has(task.taskId)), ...items, ...kept.filter((task) => !this.pending.has(task.taskId))];
      // The page's cursor continues after the newest `limit` tasks: right unless more than that is loaded.
      if (this.tasks.length <= limit) this.nextCursor = page.nextCursor;
      showError(this.error, undefined);
    } catch (error) {
      showError(this.error, `Could not list tasks: ${messageOf(error)}`);
    } finally {
      this.refreshing = false;
      this.render();
    }
  }

  /** Loads the next page. */
  public async more(): Promise<void> {
    if (this.nextCursor === undefined) return;
    this.loadMore.disabled = true;
    try {
      const page = await this.client().list({ limit: PAGE_SIZE, cursor: this.nextCursor });
      const known = new Set(this.tasks.map((task) => task.taskId));
      this.tasks.push(...page.items.filter((task) => !known.has(task.taskId)));
      this.nextCursor = page.nextCursor;
      showError(this.error, undefined);
    } catch (error) {
      showError(this.error, `Could not load more tasks: ${messageOf(error)}`);
    } finally {
      this.loadMore.disabled = false;
      this.render();
    }
  }

  /** Adds a task just submitted at the top (the next refresh confirms it). */
  public prepend(task: Summary): void {
    this.pending.set(task.taskId, Date.now());
    this.tasks = [task, ...this.tasks.filter((known) => known.taskId !== task.taskId)];
    this.render();
  }

  /** Updates one task's status in place (from its live stream). */
  public updateStatus(taskId: string, status: Summary['status']): void {
    if (isTerminalStatus(status)) this.settled.set(taskId, status);
    const index = this.tasks.findIndex((task) => task.taskId === taskId);
    if (index < 0 || this.tasks[index]!.status === status) return;
    this.tasks[index] = { ...this.tasks[index]!, status };
    const badge = this.body.querySelector<HTMLElement>(`tr[data-task-id="${CSS.escape(taskId)}"] .status`);
    if (badge) setStatus(badge, status);
    badge?.closest('tr')?.setAttribute('data-status', status);
  }

  /** Highlights the selected task. */
  public select(taskId: string): void {
    this.selected = taskId;
    for (const row of Array.from(this.body.rows)) row.classList.toggle('selected', row.dataset.taskId === taskId);
  }

  private render(): void {
    const rows = this.tasks.map((task) => {
      const open = el('button', { type: 'button', class: 'link', title: task.taskId }, task.taskId);
      const row = el(
        'tr',
        { 'data-task-id': task.taskId, 'data-status': task.status },
        el('td', {}, open),
        el('td', {}, task.type),
        el('td', {}, statusBadge(task.status)),
        el('td', { title: task.createdAt }, localTime(task.createdAt)),
      );
      if (task.taskId === this.selected) row.classList.add('selected');
      row.addEventListener('click', () => this.onSelect(task.taskId));
      return row;
    });
    this.body.replaceChildren(...rows);
    this.empty.hidden = this.tasks.length > 0;
    this.loadMore.hidden = this.nextCursor === undefined;
  }
}
