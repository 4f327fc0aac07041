import { EventBridgeClient, PutEventsCommand, TestEventPatternCommand } from '@aws-sdk/client-eventbridge';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSqs, type LocalSqs } from '../../local/engines/sqs.ts';
import { LocalEventBridge } from '../../local/eventbridge/eventbridge-service.ts';
import { parseSchedule } from '../../local/eventbridge/schedule.ts';
import { ApiCallCounter } from '../../local/http-util.ts';
import { LocalTemplate, UnsupportedTemplateError, type Template } from '../../local/template.ts';

const QUEUE = (id: string) => ({ Type: 'AWS::SQS::Queue', Properties: { VisibilityTimeout: 5 } }) as const;
const target = (queue: string, extra: Record<string, unknown> = {}) => ({ Arn: { 'Fn::GetAtt': [queue, 'Arn'] }, Id: queue, ...extra });

const template: Template = {
  Resources: {
    Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'app-bus' } },
    Whole: QUEUE('Whole'),
    Picked: QUEUE('Picked'),
    Shaped: QUEUE('Shaped'),
    Ticks: QUEUE('Ticks'),
    WholeRule: {
      Type: 'AWS::Events::Rule',
      Properties: { EventBusName: { Ref: 'Bus' }, EventPattern: { source: ['offload'], 'detail-type': ['Task Submitted'], detail: { class: ['interactive'] } }, Targets: [target('Whole')] },
    },
    PickedRule: {
      Type: 'AWS::Events::Rule',
      Properties: { EventBusName: { Ref: 'Bus' }, EventPattern: { source: ['offload'], detail: { taskId: [{ prefix: 'tsk_' }] } }, Targets: [target('Picked', { InputPath: '$.detail.taskId' })] },
    },
    ShapedRule: {
      Type: 'AWS::Events::Rule',
      Properties: {
        EventBusName: { Ref: 'Bus' },
        EventPattern: { 'detail-type': ['Task Failed'] },
        Targets: [target('Shaped', { InputTransformer: { InputPathsMap: { id: '$.detail.taskId', type: '$.detail-type' }, InputTemplate: '{"task": <id>, "what": "<type> happened"}' } })],
      },
    },
    TickRule: { Type: 'AWS::Events::Rule', Properties: { Name: 'ticker', ScheduleExpression: 'rate(1 minute)', Targets: [target('Ticks')] } },
  },
};

describe('local EventBridge service', () => {
  let sqs: LocalSqs;
  let bus: LocalEventBridge;
  let client: EventBridgeClient;
  const local = new LocalTemplate(template, mkdtempSync(path.join(tmpdir(), 'offload-eb-')), {});
  const urlOf = (logicalId: string) => local.resolveString({ Ref: logicalId }, 'test');
  const receive = async (logicalId: string, wait = 2) =>
    (await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: urlOf(logicalId), MaxNumberOfMessages: 10, WaitTimeSeconds: wait }))).Messages ?? [];

  beforeAll(async () => {
    sqs = await startSqs(local, {});
    bus = new LocalEventBridge(local, sqs, new ApiCallCounter(), () => undefined, { scheduleTimeScale: 0.002 });
    bus.load();
    const endpoint = await bus.start();
    client = new EventBridgeClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
  });
  afterAll(async () => {
    await bus?.stop();
    await sqs?.stop();
  });

  it('PutEvents routes a matching event, in the AWS envelope, to the rule target', async () => {
    // Act
    const response = await client.send(
      new PutEventsCommand({ Entries: [{ EventBusName: 'app-bus', Source: 'offload', DetailType: 'Task Submitted', Detail: JSON.stringify({ taskId: 'tsk_1', class: 'interactive' }) }] }),
    );
    await bus.idle();
    const [whole] = await receive('Whole');
    const [picked] = await receive('Picked');
    // Assess
    expect(response.FailedEntryCount).toBe(0);
    const event = JSON.parse(whole!.Body!);
    expect(event).toMatchObject({ version: '0', id: response.Entries![0]!.EventId, 'detail-type': 'Task Submitted', source: 'offload', account: '000000000000', region: 'us-east-1', resources: [], detail: { taskId: 'tsk_1' } });
    expect(event.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(picked!.Body).toBe('"tsk_1"');
  });

  it('applies an InputTransformer and does not deliver to rules that do not match', async () => {
    // Act
    await client.send(new PutEventsCommand({ Entries: [{ EventBusName: 'app-bus', Source: 'other', DetailType: 'Task Failed', Detail: '{"taskId":"t-9"}' }] }));
    await bus.idle();
    // Assess
    const [shaped] = await receive('Shaped');
    expect(JSON.parse(shaped!.Body!)).toEqual({ task: 't-9', what: 'Task Failed happened' });
    expect(await receive('Whole', 0)).toEqual([]);
  });

  it('reports per-entry failures and rejects more than 10 entries', async () => {
    // Act
    const response = await client.send(
      new PutEventsCommand({
        Entries: [
          { EventBusName: 'app-bus', Source: 'offload', DetailType: 'x', Detail: '{"ok":true}' },
          { EventBusName: 'app-bus', Source: 'offload', DetailType: 'x', Detail: 'not json' },
          { EventBusName: 'nope', Source: 'offload', DetailType: 'x', Detail: '{}' },
          { EventBusName: 'app-bus', Source: 'offload', DetailType: 'x' },
        ],
      }),
    );
    const tooMany = client.send(new PutEventsCommand({ Entries: Array.from({ length: 11 }, () => ({ Source: 's', DetailType: 'd', Detail: '{}' })) }));
    // Assess
    expect(response.FailedEntryCount).toBe(3);
    expect(response.Entries!.map((entry) => entry.ErrorCode ?? 'ok')).toEqual(['ok', 'MalformedDetail', 'ResourceNotFoundException', 'InvalidArgument']);
    await expect(tooMany).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('answers TestEventPattern and rejects invalid patterns with InvalidEventPatternException', async () => {
    const event = JSON.stringify({ id: '1', source: 'offload', 'detail-type': 'x', account: '1', region: 'us-east-1', time: '2026-01-01T00:00:00Z', resources: [], detail: { n: 5 } });
    const yes = await client.send(new TestEventPatternCommand({ Event: event, EventPattern: '{"detail":{"n":[{"numeric":[">",3]}]}}' }));
    const no = await client.send(new TestEventPatternCommand({ Event: event, EventPattern: '{"detail":{"n":[{"numeric":["<",3]}]}}' }));
    await expect(client.send(new TestEventPatternCommand({ Event: event, EventPattern: '{"detail":{"n":[{"numeric":[">"]}]}}' }))).rejects.toMatchObject({
      name: 'InvalidEventPatternException',
    });
    expect(yes.Result).toBe(true);
    expect(no.Result).toBe(false);
  });

  it('fires schedule rules on their schedule (time scaled) with the Scheduled Event shape', async () => {
    // Act: rate(1 minute) at scale 0.002 fires every ~120 ms.
    const messages = await receive('Ticks', 3);
    // Assess
    expect(messages.length).toBeGreaterThan(0);
    expect(JSON.parse(messages[0]!.Body!)).toMatchObject({
      source: 'aws.events',
      'detail-type': 'Scheduled Event',
      resources: ['arn:aws:events:us-east-1:000000000000:rule/ticker'],
      detail: {},
    });
  });

  it('refuses a template rule with an invalid pattern, naming the resource', () => {
    const bad = new LocalTemplate({ Resources: { Bad: { Type: 'AWS::Events::Rule', Properties: { EventPattern: { detail: { n: [{ numeric: ['>'] }] } }, Targets: [] } } } }, '.', {});
    expect(() => new LocalEventBridge(bad, sqs, new ApiCallCounter(), () => undefined).load()).toThrow(UnsupportedTemplateError);
    expect(() => new LocalEventBridge(bad, sqs, new ApiCallCounter(), () => undefined).load()).toThrow(/Bad\.EventPattern/);
  });
});

describe('schedule expressions', () => {
  const at = (iso: string) => new Date(iso);
  it('computes rate and cron fire times in UTC', () => {
    expect(parseSchedule('rate(5 minutes)').next(at('2026-11-23T10:00:30Z')).toISOString()).toBe('2026-11-23T10:05:00.000Z');
    expect(parseSchedule('cron(0/15 * * * ? *)').next(at('2026-11-23T10:07:00Z')).toISOString()).toBe('2026-11-23T10:15:00.000Z');
    expect(parseSchedule('cron(30 9 ? * MON-FRI *)').next(at('2026-11-28T12:00:00Z')).toISOString()).toBe('2026-11-30T09:30:00.000Z');
    expect(parseSchedule('cron(0 0 1 JAN ? 2027)').next(at('2026-11-23T00:00:00Z')).toISOString()).toBe('2027-01-01T00:00:00.000Z');
  });
  it('rejects malformed expressions', () => {
    expect(() => parseSchedule('rate(1 minutes)')).toThrow(/singular/);
    expect(() => parseSchedule('rate(0 minutes)')).toThrow();
    expect(() => parseSchedule('cron(* * * * * *)')).toThrow(/\?/);
    expect(() => parseSchedule('cron(0 0 L * ? *)')).toThrow(/not supported/);
    expect(() => parseSchedule('every day')).toThrow();
  });
});
