import type { OffloadClient, SubmittedTask, OffloadTaskTypes } from '../client/sdk/index.ts';
import { byId, messageOf, showError } from './dom.ts';

/** The models offered (the simulated ones every deployment serves). */
export const MODELS = ['sim-1', 'sim-fast'] as const;

/** Submits a `completion` task from the form (prompt, maxTokens, model). */
export class SubmitForm {
  private readonly form = byId<HTMLFormElement>('submit-form');
  private readonly button = byId<HTMLButtonElement>('submit');
  private readonly error = byId('submit-error');

  public constructor(
    private readonly client: () => OffloadClient,
    private readonly onSubmitted: (task: SubmittedTask<OffloadTaskTypes, 'completion'>) => void,
  ) {
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.submit();
    });
  }

  private async submit(): Promise<void> {
    const data = new FormData(this.form);
    const prompt = String(data.get('prompt') ?? '');
    const maxTokens = Number(data.get('maxTokens'));
    const model = String(data.get('model'));
    if (!prompt.trim()) return showError(this.error, 'A prompt is required.');
    if (!Number.isInteger(maxTokens) || maxTokens < 1 || maxTokens > 4096) return showError(this.error, 'Max tokens must be a whole number from 1 to 4096.');
    if (!(MODELS as readonly string[]).includes(model)) return showError(this.error, `Model must be one of ${MODELS.join(', ')}.`);
    this.button.disabled = true;
    try {
      const task = await this.client().submit('completion', { prompt, maxTokens, model });
      showError(this.error, undefined);
      this.onSubmitted(task);
    } catch (error) {
      showError(this.error, `Not submitted: ${messageOf(error)}`);
    } finally {
      this.button.disabled = false;
    }
  }
}
