import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { ClassQueueDepth, QueueDepthReader } from '../core/queue-depths.ts';
import type { WorkloadClass } from '../core/model.ts';

// Address the regional (or configured) endpoint, not the host inside the queue URL.
const sqs = new SQSClient({ maxAttempts: 3, useQueueUrlAsEndpoint: false });

/** A class's queue and dead-letter queue URLs. */
export interface ClassQueueUrls {
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
}

const count = (attributes: Record<string, string> | undefined, name: string): number => {
  const value = Number(attributes?.[name] ?? 0);
  return Number.isSafeInteger(value) && value >= 0 ? value : 0;
};

/** Queue depths from SQS `GetQueueAttributes` (approximate counts, as SQS itself reports them). */
export class SqsQueueDepthReader implements QueueDepthReader {
  public constructor(private readonly urlsOf: (workloadClass: WorkloadClass) => ClassQueueUrls) {}

  public async read(workloadClass: WorkloadClass): Promise<Omit<ClassQueueDepth, 'class'>> {
    const urls = this.urlsOf(workloadClass);
    const [queue, deadLetter] = await Promise.all([
      sqs.send(new GetQueueAttributesCommand({ QueueUrl: urls.queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] })),
      sqs.send(new GetQueueAttributesCommand({ QueueUrl: urls.deadLetterQueueUrl, AttributeNames: ['ApproximateNumberOfMessages'] })),
    ]);
    return {
      visible: count(queue.Attributes, 'ApproximateNumberOfMessages'),
      inFlight: count(queue.Attributes, 'ApproximateNumberOfMessagesNotVisible'),
      deadLetter: count(deadLetter.Attributes, 'ApproximateNumberOfMessages'),
    };
  }
}
