import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';

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
