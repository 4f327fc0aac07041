import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { lifecycleEvent } from '../core/events.ts';
import { DetailType, type TaskRecord, type WorkloadClass } from '../core/model.ts';

// Address the regional (or configured) endpoint, not the host inside the queue URL.
const sqs = new SQSClient({ maxAttempts: 3, useQueueUrlAsEndpoint: false });

/**
 * Delays a message's next delivery (retry backoff): the worker's own queue message becomes visible
 * again after `seconds` instead of after the full visibility timeout.
 */
export const delayRedelivery = async (queueUrl: string, receiptHandle: string, seconds: number): Promise<void> => {
  await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: Math.max(0, Math.min(43_200, Math.round(seconds))) }));
};

/**
 * Parks a message in the dead-letter queue, with why, so the DLQ holds exactly the tasks that
 * failed for good (operators inspect and redrive it).
 */
export const sendToDeadLetterQueue = async (dlqUrl: string, body: string, reason: { taskId: string; code: string; message: string }): Promise<void> => {
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: dlqUrl,
      MessageBody: body,
      MessageAttributes: {
        taskId: { DataType: 'String', StringValue: reason.taskId },
        errorCode: { DataType: 'String', StringValue: reason.code.slice(0, 256) },
        errorMessage: { DataType: 'String', StringValue: reason.message.slice(0, 1024) || '-' },
      },
    }),
  );
};

/**
 * Parks failed tasks in their class's dead-letter queue: the message is the task's `Task Submitted`
 * event (as the class queue carries it), with the task id and the error as message attributes.
 * A class without a configured DLQ URL is skipped.
 *
 * @example
 * ```ts
 * const deadLetter = deadLetterPublisher({ interactive: process.env.DLQ_URL });
 * await deadLetter(task);
 * ```
 */
export const deadLetterPublisher =
  (urls: Readonly<Partial<Record<WorkloadClass, string>>>) =>
  async (task: TaskRecord): Promise<void> => {
    const url = urls[task.class];
    if (!url) return;
    const body = JSON.stringify({ source: 'offload', 'detail-type': DetailType.submitted, time: task.createdAt, detail: lifecycleEvent(task, { status: 'queued' }) });
    await sendToDeadLetterQueue(url, body, { taskId: task.taskId, code: task.error?.code ?? 'Failed', message: task.error?.message ?? '' });
  };
