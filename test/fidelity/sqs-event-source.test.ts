import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSqs, type LocalSqs } from '../../local/engines/sqs.ts';
import { ApiCallCounter } from '../../local/http-util.ts';
import type { LocalFunction } from '../../local/lambda/lambda-service.ts';
import { SqsEventSource, type SqsEventSourceConfig } from '../../local/lambda/sqs-event-source.ts';
import type { LocalTemplate } from '../../local/template.ts';
import { eventually, FixtureApp, localFunction, Scratch, sleep } from './support.ts';

/** Processes a batch as the message bodies say: sleep, throw (whole batch fails) or report the item as failed. */
const CONSUMER = `
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export const handler = async (event) => {
  const batchItemFailures = [];
  for (const record of event.Records) {
    const body = JSON.parse(record.body);
    if (body.sleep) await sleep(body.sleep);
    if (body.throw) throw new Error('batch failed on purpose');
    if (body.fail) batchItemFailures.push({ itemIdentifier: record.messageId });
    if (body.bogus) batchItemFailures.push({ itemIdentifier: 'not-a-message-of-this-batch' });
  }
  return { batchItemFailures };
};
`;

const SCENARIOS = ['Batch', 'Fail', 'Timed', 'Partial', 'Malformed', 'Ignored', 'Concurrency', 'Scaling', 'Shape', 'Window'] as const;
type Scenario = (typeof SCENARIOS)[number];

/** A LocalFunction seen from the event source: records every batch and how many run at once. */
const observe = (fn: LocalFunction) => {
  const seen = { batches: [] as { Records: any[] }[], inflight: 0, maxInflight: 0 };
  const proxy = {
    get concurrencyLimit() {
      return fn.concurrencyLimit;
    },
    invoke: async (event: { Records: any[] }) => {
      seen.batches.push(event);
      seen.maxInflight = Math.max(seen.maxInflight, ++seen.inflight);
      try {
        return await fn.invoke(event);
      } finally {
        seen.inflight--;
      }
    },
  } as unknown as LocalFunction;
  return { proxy, seen, records: () => seen.batches.flatMap((batch) => batch.Records) };
};

describe('SqsEventSource: Lambda event source mapping fidelity (fauxqs)', () => {
  const scratch = new Scratch();
  let template: LocalTemplate;
  let sqs: LocalSqs;
  let consumerDir: string;
  const running: SqsEventSource[] = [];
  const functions: LocalFunction[] = [];

  const url = (scenario: Scenario) => template.resolveString({ Ref: `Q${scenario}` }, 'test');
  const dlqUrl = (scenario: Scenario) => template.resolveString({ Ref: `Q${scenario}Dlq` }, 'test');
  const send = (scenario: Scenario, bodies: unknown[]) =>
    sqs.client.send(new SendMessageBatchCommand({ QueueUrl: url(scenario), Entries: bodies.map((body, index) => ({ Id: String(index), MessageBody: JSON.stringify(body) })) }));
  /** Messages in the queue, visible or in flight. */
  const depth = async (queueUrl: string) => {
    const { Attributes = {} } = await sqs.client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
    return Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible);
  };
  const start = (scenario: Scenario, settings: Partial<SqsEventSourceConfig>) => {
    const fn = localFunction(consumerDir, { functionName: `consumer-${scenario}`, timeoutSeconds: 1 });
    functions.push(fn);
    const observed = observe(fn);
    const source = new SqsEventSource(
      {
        logicalId: `Esm${scenario}`,
        queueArn: template.resolveString({ 'Fn::GetAtt': [`Q${scenario}`, 'Arn'] }, 'test'),
        queueUrl: url(scenario),
        batchSize: 10,
        maxBatchingWindowSeconds: 0,
        reportBatchItemFailures: false,
        ...settings,
      },
      () => observed.proxy,
      sqs,
      new ApiCallCounter(),
      () => undefined,
    );
    source.start();
    running.push(source);
    return observed;
  };

  beforeAll(async () => {
    consumerDir = scratch.asset('consumer', CONSUMER);
    const app = new FixtureApp(scratch);
    for (const scenario of SCENARIOS) {
      app.add(`Q${scenario}Dlq`, { Type: 'AWS::SQS::Queue', Properties: { MessageRetentionPeriod: 1209600 } });
      app.add(`Q${scenario}`, {
        Type: 'AWS::SQS::Queue',
        Properties: { VisibilityTimeout: scenario === 'Window' ? 30 : 1, RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [`Q${scenario}Dlq`, 'Arn'] }, maxReceiveCount: 2 } },
      });
    }
    template = app.template();
    sqs = await startSqs(template, {});
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((source) => source.stop(2_000)));
  });
  afterAll(async () => {
    await Promise.all(functions.map((fn) => fn.shutdown()));
    await sqs?.stop();
    scratch.cleanup();
  });

  it('invokes with batches of at most batchSize and deletes a successful batch', async () => {
    // Prepare
    await send('Batch', Array.from({ length: 7 }, (_, n) => ({ n })));
    // Act
    const observed = start('Batch', { batchSize: 3, maxConcurrency: 2 });
    await eventually(async () => observed.records().length >= 7 && (await depth(url('Batch'))) === 0);
    // Assess
    const sizes = observed.seen.batches.map((batch) => batch.Records.length);
    expect(Math.max(...sizes)).toBe(3);
    expect(sizes.every((size) => size <= 3)).toBe(true);
    expect(observed.records().map((record) => JSON.parse(record.body).n).sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('with a batching window gathers messages arriving within it (counted from the first) into one invocation', async () => {
    // Prepare
    await send('Window', [{ n: 1 }, { n: 2 }]);
    // Act
    const observed = start('Window', { batchSize: 100, maxBatchingWindowSeconds: 2 });
    await sleep(700);
    await send('Window', [{ n: 3 }]);
    await eventually(async () => observed.records().length >= 3 && (await depth(url('Window'))) === 0, 10_000);
    // Assess
    expect(observed.seen.batches.map((batch) => batch.Records.length)).toEqual([3]);
  });

  it('returns a failed batch to the queue: it reappears after the visibility timeout, then goes to the DLQ after maxReceiveCount', async () => {
    // Prepare
    await send('Fail', [{ throw: true, id: 'doomed' }]);
    // Act
    const observed = start('Fail', {});
    const dead = await eventually(async () => {
      const { Messages = [] } = await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl('Fail'), WaitTimeSeconds: 0 }));
      return Messages[0];
    }, 15_000);
    // Assess
    const deliveries = observed.records();
    expect(deliveries.map((record) => record.attributes.ApproximateReceiveCount)).toEqual(['1', '2']);
    expect(deliveries[1].messageId).toBe(deliveries[0].messageId);
    expect(observed.seen.batches).toHaveLength(2);
    expect(JSON.parse(dead!.Body!)).toEqual({ throw: true, id: 'doomed' });
    expect(await depth(url('Fail'))).toBe(0);
  });

  it('waits the visibility timeout before redelivering a failed batch', async () => {
    // Prepare
    await send('Timed', [{ throw: true, id: 'timed' }]);
    const times: number[] = [];
    // Act
    const observed = start('Timed', {});
    await eventually(() => {
      while (times.length < observed.seen.batches.length) times.push(Date.now());
      return observed.seen.batches.length >= 2;
    }, 10_000, 5);
    // Assess
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(900);
  });

  it('with ReportBatchItemFailures retries only the reported items', async () => {
    // Prepare
    await send('Partial', [{ n: 1 }, { n: 2, fail: true }, { n: 3 }]);
    // Act
    const observed = start('Partial', { reportBatchItemFailures: true });
    await eventually(async () => (await depth(dlqUrl('Partial'))) === 1 && (await depth(url('Partial'))) === 0, 15_000);
    // Assess
    const deliveries = (n: number) => observed.records().filter((record) => JSON.parse(record.body).n === n).length;
    expect([deliveries(1), deliveries(2), deliveries(3)]).toEqual([1, 2, 1]);
  });

  it('with ReportBatchItemFailures treats an unknown itemIdentifier as a failure of the whole batch', async () => {
    // Prepare
    await send('Malformed', [{ n: 1, bogus: true }, { n: 2 }]);
    // Act
    const observed = start('Malformed', { reportBatchItemFailures: true, maxConcurrency: 2 });
    await eventually(async () => (await depth(dlqUrl('Malformed'))) === 2 && (await depth(url('Malformed'))) === 0, 15_000);
    // Assess
    const deliveries = (n: number) => observed.records().filter((record) => JSON.parse(record.body).n === n).length;
    expect([deliveries(1), deliveries(2)]).toEqual([2, 2]);
  });

  it('without ReportBatchItemFailures ignores a partial batch response and deletes the whole batch', async () => {
    // Prepare
    await send('Ignored', [{ n: 1, fail: true }]);
    // Act
    const observed = start('Ignored', { reportBatchItemFailures: false });
    await eventually(async () => observed.records().length === 1 && (await depth(url('Ignored'))) === 0);
    await sleep(1_300); // longer than the visibility timeout: a kept message would be back
    // Assess
    expect(observed.records()).toHaveLength(1);
    expect(await depth(dlqUrl('Ignored'))).toBe(0);
  });

  it('never runs more batches at once than ScalingConfig.MaximumConcurrency', async () => {
    // Prepare
    await send('Concurrency', Array.from({ length: 8 }, (_, n) => ({ n, sleep: 200 })));
    // Act
    const observed = start('Concurrency', { batchSize: 1, maxConcurrency: 2 });
    await eventually(async () => observed.records().length >= 8 && (await depth(url('Concurrency'))) === 0, 15_000);
    // Assess
    expect(observed.seen.maxInflight).toBe(2);
    expect(observed.records()).toHaveLength(8);
  });

  it('scales its pollers with the backlog: from the idle few up to MaximumConcurrency, never beyond', async () => {
    // Prepare
    for (const first of [0, 10]) await send('Scaling', Array.from({ length: 10 }, (_, n) => ({ n: first + n, sleep: 300 })));
    // Act
    const observed = start('Scaling', { batchSize: 1, maxConcurrency: 5 });
    await eventually(async () => observed.records().length >= 20 && (await depth(url('Scaling'))) === 0, 20_000);
    // Assess
    expect(observed.seen.maxInflight).toBe(5);
    // (a cold start on this loaded machine can outlast the 1 s visibility timeout: a redelivery is allowed)
    expect(new Set(observed.records().map((record) => JSON.parse(record.body).n)).size).toBe(20);
  });

  it('builds records shaped like the SQS event Lambda sends', async () => {
    // Prepare
    const sent = await sqs.client.send(
      new SendMessageCommand({ QueueUrl: url('Shape'), MessageBody: '{"hello":"world"}', MessageAttributes: { kind: { DataType: 'String', StringValue: 'demo' } } }),
    );
    // Act
    const observed = start('Shape', {});
    await eventually(() => observed.records().length === 1);
    // Assess
    const [record] = observed.records();
    expect(Object.keys(record).sort()).toEqual(['attributes', 'awsRegion', 'body', 'eventSource', 'eventSourceARN', 'md5OfBody', 'messageAttributes', 'messageId', 'receiptHandle'].sort());
    expect(record).toMatchObject({
      messageId: sent.MessageId,
      receiptHandle: expect.any(String),
      body: '{"hello":"world"}',
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: expect.stringMatching(/^\d{13}$/),
        SenderId: expect.any(String),
        ApproximateFirstReceiveTimestamp: expect.stringMatching(/^\d{13}$/),
      },
      messageAttributes: { kind: { stringValue: 'demo', stringListValues: [], binaryListValues: [], dataType: 'String' } },
      md5OfBody: createHash('md5').update('{"hello":"world"}').digest('hex'),
      eventSource: 'aws:sqs',
      eventSourceARN: template.resolveString({ 'Fn::GetAtt': ['QShape', 'Arn'] }, 'test'),
      awsRegion: 'us-east-1',
    });
    expect(record.eventSourceARN).toMatch(/^arn:aws:sqs:us-east-1:\d{12}:Offload-QShape$/);
    expect(record.receiptHandle).not.toBe('');
  });
});
