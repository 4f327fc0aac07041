import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { EVENT_SOURCE, type DetailType, type TaskEventDetail } from '../core/model.ts';
import type { EventPublisher } from '../core/ports.ts';
import { eventBridge } from './clients.ts';

/** PutEvents reports per-entry failures in a 200 response; this error surfaces them. */
export class PublishError extends Error {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PublishError';
  }
}

const RETRYABLE_ENTRY_ERRORS = new Set(['InternalFailure', 'ThrottlingException']);

/** {@link EventPublisher} on an EventBridge bus, retrying throttled or failed entries with backoff. */
export class EventBridgePublisher implements EventPublisher {
  public constructor(
    private readonly busName: string,
    private readonly maxAttempts = 4,
  ) {}

  public async publish(detailType: DetailType, detail: TaskEventDetail): Promise<void> {
    const entry = { EventBusName: this.busName, Source: EVENT_SOURCE, DetailType: detailType, Detail: JSON.stringify(detail), Resources: [] };
    for (let attempt = 1; ; attempt++) {
      const response = await eventBridge.send(new PutEventsCommand({ Entries: [entry] }));
      const failure = response.Entries?.[0];
      if (!response.FailedEntryCount && failure?.EventId) return;
      const code = failure?.ErrorCode ?? 'Unknown';
      if (!RETRYABLE_ENTRY_ERRORS.has(code) || attempt >= this.maxAttempts) {
        throw new PublishError(`PutEvents failed for ${detailType} ${detail.taskId}: ${code} ${failure?.ErrorMessage ?? ''}`.trim());
      }
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 50 * 2 ** attempt));
    }
  }
}
