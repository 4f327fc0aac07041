import { queueUrlVariables, readQueueDepths } from '../../core/queue-depths.ts';
import { requireEnv } from '../../store/clients.ts';
import { SqsQueueDepthReader } from '../../store/queue-depth-reader.ts';
import { CacheControl, cacheableJson, principalOf } from './http.ts';
import { httpHandler } from './wrap.ts';

const reader = new SqsQueueDepthReader((workloadClass) => {
  const names = queueUrlVariables(workloadClass);
  return { queueUrl: requireEnv(names.queueUrl), deadLetterQueueUrl: requireEnv(names.deadLetterQueueUrl) };
});

/** `GET /v1/queues`: visible, in-flight and dead-lettered message counts per workload class. */
export const handler = httpHandler(async (event) => {
  const principal = principalOf(event);
  return cacheableJson(event, await readQueueDepths(reader, principal), CacheControl.live);
});
