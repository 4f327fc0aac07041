import type { Template } from '../template.ts';
import { EventSourceMappingError } from './errors.ts';
import { literalNumber, literalText, referencedId, resourcesOfType } from './template-references.ts';

const MAPPING = 'AWS::Lambda::EventSourceMapping' as const;

/** Lambda's bounds for SQS event source mappings (Lambda API reference: CreateEventSourceMapping, ScalingConfig). */
export const SQS_EVENT_SOURCE_LIMITS = {
  /** `ScalingConfig.MaximumConcurrency`: "Minimum value of 2. Maximum value of 1000." */
  maximumConcurrency: { min: 2, max: 1000 },
  /** `BatchSize`: "For standard queues the maximum is 10,000. For FIFO queues the maximum is 10." */
  batchSize: { min: 1, standardMax: 10_000, fifoMax: 10 },
  /** Above this batch size a standard queue's mapping needs a batching window of at least 1 second. */
  batchSizeWithoutWindow: 10,
} as const;

/** CloudFormation defaults when the template leaves them out: SQS VisibilityTimeout and Lambda Timeout (seconds). */
const DEFAULT_VISIBILITY_TIMEOUT = 30;
const DEFAULT_FUNCTION_TIMEOUT = 3;

/** AWS's validation message for a number outside a documented range. */
const rangeMessage = (value: number, member: string, min: number, max: number): string =>
  `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: Member must have value ${value < min ? `greater than or equal to ${min}` : `less than or equal to ${max}`}`;

/**
 * SQS event source mappings Lambda would not create: `ScalingConfig.MaximumConcurrency` outside
 * 2..1000; `BatchSize` outside 1..10,000 (1..10 for a FIFO queue); a batch size above 10 without a
 * batching window; a queue whose visibility timeout is shorter than the function's timeout
 * (Lambda: "Invalid request provided: Queue visibility timeout: 30 seconds is less than Function
 * timeout: 120 seconds"). Values that are not literals are not checked.
 */
export const checkEventSourceMappings = (template: Template): EventSourceMappingError[] => {
  const errors: EventSourceMappingError[] = [];
  const fail = (logicalId: string, property: string, awsMessage: string, detail?: string) =>
    errors.push(new EventSourceMappingError({ logicalId, resourceType: MAPPING, property, awsMessage, ...(detail ? { detail } : {}) }));
  for (const [logicalId, mapping] of resourcesOfType(template, MAPPING)) {
    const properties = mapping.Properties ?? {};
    const queueId = referencedId(properties.EventSourceArn);
    const queue = queueId ? template.Resources[queueId] : undefined;
    const arn = literalText(properties.EventSourceArn);
    const isSqs = queue?.Type === 'AWS::SQS::Queue' || (arn !== undefined && /^arn:[^:]+:sqs:/.test(arn));
    if (!isSqs) continue;
    const fifo = String(queue?.Properties?.FifoQueue) === 'true' || (arn?.endsWith('.fifo') ?? false);
    const { maximumConcurrency, batchSize: batchLimits, batchSizeWithoutWindow } = SQS_EVENT_SOURCE_LIMITS;

    const concurrency = literalNumber((properties.ScalingConfig as { MaximumConcurrency?: unknown } | undefined)?.MaximumConcurrency);
    if (concurrency !== undefined && (concurrency < maximumConcurrency.min || concurrency > maximumConcurrency.max)) {
      fail(logicalId, 'ScalingConfig.MaximumConcurrency', rangeMessage(concurrency, 'scalingConfig.maximumConcurrency', maximumConcurrency.min, maximumConcurrency.max));
    }

    const batchSize = literalNumber(properties.BatchSize);
    const batchMax = fifo ? batchLimits.fifoMax : batchLimits.standardMax;
    if (batchSize !== undefined && (batchSize < batchLimits.min || batchSize > batchMax)) {
      fail(
        logicalId,
        'BatchSize',
        fifo && batchSize > batchMax ? `For FIFO queues the maximum is ${batchMax}.` : rangeMessage(batchSize, 'batchSize', batchLimits.min, batchMax),
        fifo ? `${queueId ?? arn} is a FIFO queue (Lambda API reference, CreateEventSourceMapping BatchSize)` : undefined,
      );
    } else if (batchSize !== undefined && batchSize > batchSizeWithoutWindow && (literalNumber(properties.MaximumBatchingWindowInSeconds) ?? 0) < 1) {
      fail(logicalId, 'MaximumBatchingWindowInSeconds', 'Invalid request provided: Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10');
    }

    const functionId = referencedId(properties.FunctionName);
    const fn = functionId ? template.Resources[functionId] : undefined;
    if (queue && fn?.Type === 'AWS::Lambda::Function') {
      const visibility = queue.Properties?.VisibilityTimeout === undefined ? DEFAULT_VISIBILITY_TIMEOUT : literalNumber(queue.Properties.VisibilityTimeout);
      const timeout = fn.Properties?.Timeout === undefined ? DEFAULT_FUNCTION_TIMEOUT : literalNumber(fn.Properties.Timeout);
      if (visibility !== undefined && timeout !== undefined && visibility < timeout) {
        fail(
          logicalId,
          'EventSourceArn',
          `Invalid request provided: Queue visibility timeout: ${visibility} seconds is less than Function timeout: ${timeout} seconds`,
          `${queueId}.VisibilityTimeout must be at least ${functionId}.Timeout`,
        );
      }
    }
  }
  return errors;
};
