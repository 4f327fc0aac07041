import type { DetailType, TaskEventDetail } from '../../lambdas/core/model.ts';
import type { EventPublisher } from '../../lambdas/core/ports.ts';

/** An {@link EventPublisher} that records every event it is given, in order. */
export class RecordingPublisher implements EventPublisher {
  public readonly events: { detailType: DetailType; detail: TaskEventDetail }[] = [];
  public async publish(detailType: DetailType, detail: TaskEventDetail): Promise<void> {
    this.events.push({ detailType, detail });
  }
  /** Task ids of the `Task Submitted` events (dispatches and wake-ups). */
  public get submitted(): string[] {
    return this.events.filter((event) => event.detailType === 'Task Submitted').map((event) => event.detail.taskId);
  }
}

/** A task logger that drops everything. */
export const silentLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
