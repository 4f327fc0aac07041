import { ForbiddenError, type OffloadClient } from '../client/sdk/index.ts';
import { byId, el, messageOf, showError } from './dom.ts';

/** Queue depths per workload class (`GET /v1/queues`): waiting, in flight, dead-lettered. */
export class QueuePanel {
  private readonly body = byId<HTMLTableElement>('queues').tBodies[0]!;
  private readonly updated = byId('queues-updated');
  private readonly error = byId('queues-error');

  public constructor(private readonly client: () => OffloadClient) {}

  public clear(): void {
    this.body.replaceChildren();
    this.updated.textContent = '';
  }

  public async refresh(): Promise<void> {
    try {
      const { items } = await this.client().queueDepths();
      this.body.replaceChildren(
        ...items.map((depth) =>
          el(
            'tr',
            { 'data-class': depth.class },
            el('td', {}, depth.class),
            el('td', { 'data-field': 'visible' }, String(depth.visible)),
            el('td', { 'data-field': 'inFlight' }, String(depth.inFlight)),
            el('td', { 'data-field': 'deadLetter', ...(depth.deadLetter > 0 ? { class: 'dlq-nonzero' } : {}) }, String(depth.deadLetter)),
          ),
        ),
      );
      this.updated.textContent = `updated ${new Date().toLocaleTimeString()}`;
      showError(this.error, undefined);
    } catch (error) {
      showError(this.error, error instanceof ForbiddenError ? 'Queue depths need an API key or a tenant-wide client token.' : `Could not read queue depths: ${messageOf(error)}`);
    }
  }
}
