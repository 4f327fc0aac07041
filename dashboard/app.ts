/**
 * The Offload dashboard: a tenant's tasks (newest first, with "Load more"), each task's progress
 * streamed live, a form to submit `completion` tasks, and queue depths per workload class. Plain
 * TypeScript and DOM on top of the client SDK; bundled for browsers by `dashboard/build.ts`.
 */
import { OffloadClient, UnauthorizedError } from '../client/sdk/index.ts';
import { byId, messageOf, showError } from './dom.ts';
import { QueuePanel } from './queue-panel.ts';
import { CredentialSession, loadConfig, type DashboardConfig } from './session.ts';
import { SubmitForm } from './submit-form.ts';
import { TaskList } from './task-list.ts';
import { TaskView } from './task-view.ts';

/** How often the task list and the queue depths are re-read while the tab is visible. */
export const REFRESH_MS = { tasks: 3_000, queues: 5_000 } as const;

const start = async (): Promise<void> => {
  let config: DashboardConfig;
  try {
    config = await loadConfig();
  } catch (error) {
    document.body.textContent = `The dashboard cannot start: ${messageOf(error)}`;
    return;
  }
  const session = new CredentialSession(config);
  // The API is this site's origin: CloudFront routes /v1/* to the HTTP API and /dashboard/* here.
  const client = new OffloadClient({ endpoint: location.origin, webSocketUrl: config.webSocketUrl, credential: () => session.credential() });
  const current = () => client;

  const signInSection = byId('sign-in');
  const signInForm = byId<HTMLFormElement>('sign-in-form');
  const signInError = byId('sign-in-error');
  const useDev = byId<HTMLButtonElement>('use-dev');
  const app = byId('app');
  const sessionBar = byId('session');
  const sessionLabel = byId('session-label');

  const view = new TaskView(current, (taskId, status) => list.updateStatus(taskId, status));
  const list = new TaskList(current, (taskId) => {
    list.select(taskId);
    void view.show(taskId);
  });
  const queues = new QueuePanel(current);
  new SubmitForm(current, (task) => {
    list.prepend(task);
    list.select(task.taskId);
    void view.show(task.taskId);
  });

  let timers: ReturnType<typeof setInterval>[] = [];
  // Bumped by every sign-in and sign-out: a sign-in still loading when the user signs out (or signs
  // in again) must not finish, or it would bring its panels and refresh timers back.
  let epoch = 0;
  const signedOut = (message?: string) => {
    epoch++;
    for (const timer of timers) clearInterval(timer);
    timers = [];
    view.close();
    list.clear();
    queues.clear();
    app.hidden = true;
    sessionBar.hidden = true;
    signInSection.hidden = false;
    useDev.hidden = !session.hasDevCredential;
    showError(signInError, message);
  };
  const signedIn = async () => {
    const mine = ++epoch;
    // Check the credential once before showing anything.
    try {
      await client.list({ limit: 1 });
    } catch (error) {
      if (mine !== epoch) return;
      session.signOut();
      return signedOut(error instanceof UnauthorizedError ? 'That credential was not accepted (unknown, expired or revoked).' : messageOf(error));
    }
    if (mine !== epoch) return;
    signInSection.hidden = true;
    app.hidden = false;
    sessionBar.hidden = false;
    sessionLabel.textContent = session.describe();
    await Promise.all([list.refresh(), queues.refresh()]);
    if (mine !== epoch) return;
    const whenVisible = (refresh: () => Promise<void>) => () => {
      if (!document.hidden) void refresh();
    };
    timers = [setInterval(whenVisible(() => list.refresh()), REFRESH_MS.tasks), setInterval(whenVisible(() => queues.refresh()), REFRESH_MS.queues)];
  };

  signInForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const input = byId<HTMLInputElement>('credential');
    try {
      session.signIn(input.value);
    } catch (error) {
      return showError(signInError, messageOf(error));
    }
    input.value = '';
    void signedIn();
  });
  useDev.addEventListener('click', () => {
    session.useDev();
    void signedIn();
  });
  byId('sign-out').addEventListener('click', () => {
    session.signOut();
    signedOut();
  });

  if (session.current) await signedIn();
  else signedOut();
  document.body.dataset.ready = 'true';
};

void start();
