import { isTerminalStatus, type ConnectionEvent, type OffloadClient, type TaskStatus } from '../client/sdk/index.ts';
import { byId, el, localTime, messageOf, setStatus, showError } from './dom.ts';

/** Text of one progress entry: `completion` streams `{text}`; other types are shown as JSON. */
const textOf = (data: unknown): string => {
  if (data !== null && typeof data === 'object' && typeof (data as { text?: unknown }).text === 'string') return (data as { text: string }).text;
  return `${JSON.stringify(data)}\n`;
};

/**
 * One task, live: its details, then its progress streamed in with the SDK's `watch` (each entry
 * once and in order, resumed on its own after a dropped connection), then its terminal status.
 * Selecting another task aborts the previous watch.
 */
export class TaskView {
  private readonly section = byId('detail');
  private readonly id = byId('detail-id');
  private readonly status = byId('detail-status');
  private readonly meta = byId('detail-meta');
  private readonly connection = byId('detail-connection');
  private readonly stream = byId<HTMLPreElement>('detail-stream');
  private readonly outcome = byId('detail-outcome');
  private readonly error = byId('detail-error');
  private watching: AbortController | undefined;

  public constructor(
    private readonly client: () => OffloadClient,
    private readonly onStatus: (taskId: string, status: TaskStatus) => void,
  ) {}

  /** Stops the current watch and hides the view. */
  public close(): void {
    this.watching?.abort(new Error('closed'));
    this.watching = undefined;
    this.section.hidden = true;
  }

  /** Shows a task and streams its progress until it is terminal (or another task is selected). */
  public async show(taskId: string): Promise<void> {
    this.watching?.abort(new Error('another task was selected'));
    const watching = new AbortController();
    this.watching = watching;
    this.section.hidden = false;
    this.section.dataset.taskId = taskId;
    this.id.textContent = taskId;
    this.stream.replaceChildren();
    this.meta.textContent = '';
    this.connection.textContent = '';
    this.outcome.textContent = '';
    showError(this.error, undefined);
    this.setStatus(taskId, 'queued', false);
    const client = this.client();
    try {
      const describe = (task: { type: string; createdAt: string; attempts: number }) => {
        this.meta.textContent = `${task.type} · created ${localTime(task.createdAt)} · attempts ${task.attempts}`;
      };
      const task = await client.get(taskId, { signal: watching.signal });
      if (watching.signal.aborted) return;
      describe(task);
      this.setStatus(taskId, task.status);
      const onConnection = (event: ConnectionEvent) => {
        if (watching.signal.aborted) return;
        this.connection.textContent =
          event.type === 'subscribed' ? '· live' : event.type === 'reconnecting' ? `· reconnecting (attempt ${event.attempt})…` : '· connection dropped';
      };
      for await (const event of client.watch(taskId, { signal: watching.signal, onConnection })) {
        if (event.kind === 'progress') {
          if (this.status.dataset.status === 'queued') this.setStatus(taskId, 'running');
          this.stream.append(textOf(event.data));
          this.stream.scrollTop = this.stream.scrollHeight;
        } else if (event.kind === 'gap') {
          this.stream.append(el('span', { class: 'gap' }, `[entries ${event.after + 1}–${event.before - 1} could not be fetched]`));
        } else {
          this.setStatus(taskId, event.status);
          this.connection.textContent = '';
          void client.get(taskId, { signal: watching.signal }).then(describe, () => undefined);
          const result = event.result as { model?: unknown; usage?: unknown } | undefined;
          if (event.error) showError(this.error, `${event.error.code}: ${event.error.message}`);
          else if (typeof result?.model === 'string') this.outcome.textContent = `model ${result.model}${result.usage ? ` · usage ${JSON.stringify(result.usage)}` : ''}`;
        }
      }
    } catch (error) {
      if (watching.signal.aborted) return;
      this.connection.textContent = '';
      showError(this.error, `Live stream stopped: ${messageOf(error)}. Select the task again to resume.`);
    }
  }

  private setStatus(taskId: string, status: TaskStatus, notify = true): void {
    setStatus(this.status, status);
    this.section.dataset.status = status;
    if (notify) this.onStatus(taskId, status);
    if (isTerminalStatus(status)) this.connection.textContent = '';
  }
}
