import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceSendError, startSqs, type LocalSqs } from '../../local/engines/sqs.ts';
import { FaultInjector } from '../../local/faults.ts';
import { LocalTemplate, type Template } from '../../local/template.ts';

// The hop AWS services (EventBridge targets and dead-letter queues) take into a queue: straight
// into the store, validated as the public endpoint validates, and subject to the same injected faults.
const template: Template = {
  Resources: {
    Plain: { Type: 'AWS::SQS::Queue', Properties: { VisibilityTimeout: 5, MaximumMessageSize: 1024 } },
    Ordered: { Type: 'AWS::SQS::Queue', Properties: { FifoQueue: true, QueueName: 'ordered.fifo' } },
  },
};

describe('local SQS: SendMessage from an AWS service', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'offload-sqs-service-'));
  const local = new LocalTemplate(template, dir, {});
  const faults = new FaultInjector({ probabilities: { sqsFail: 1 } });
  let sqs: LocalSqs;
  const arnOf = (logicalId: string) => local.resolveString({ 'Fn::GetAtt': [logicalId, 'Arn'] }, 'test');
  const urlOf = (logicalId: string) => local.resolveString({ Ref: logicalId }, 'test');

  beforeAll(async () => {
    faults.enabled = false;
    sqs = await startSqs(local, { dataDir: path.join(dir, 'data'), faults });
  });
  afterAll(async () => {
    await sqs?.stop();
    rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
  });

  it('enqueues the body and attributes for the queue consumers', async () => {
    // Act
    const { messageId } = sqs.sendFromService(arnOf('Plain'), '{"detail":"x"}', { messageAttributes: { RULE_ARN: { DataType: 'String', StringValue: 'arn:rule' } } });
    const { Messages } = await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: urlOf('Plain'), MessageAttributeNames: ['All'], WaitTimeSeconds: 1 }));
    // Assess
    expect(Messages?.[0]).toMatchObject({ MessageId: messageId, Body: '{"detail":"x"}', MessageAttributes: { RULE_ARN: { DataType: 'String', StringValue: 'arn:rule' } } });
  });

  it('refuses what the endpoint refuses: an unknown queue, a body over the queue maximum, a FIFO message without a group', () => {
    // Act / Assess
    expect(() => sqs.sendFromService('arn:aws:sqs:us-east-1:000000000000:nope', 'x')).toThrow(expect.objectContaining({ name: 'ServiceSendError', code: 'AWS.SimpleQueueService.NonExistentQueue' }));
    expect(() => sqs.sendFromService(arnOf('Plain'), 'x'.repeat(2048))).toThrow(expect.objectContaining({ code: 'InvalidParameterValue', message: expect.stringContaining('1024') }));
    expect(() => sqs.sendFromService(arnOf('Ordered'), 'x')).toThrow(ServiceSendError);
    expect(sqs.sendFromService(arnOf('Ordered'), 'x', { messageGroupId: 'g', messageDeduplicationId: 'd1' }).messageId).toMatch(/./);
  });

  it('fails with the injected fault (InternalError) while faults are on', () => {
    // Prepare
    faults.enabled = true;
    // Act / Assess
    try {
      expect(() => sqs.sendFromService(arnOf('Plain'), 'x')).toThrow(expect.objectContaining({ code: 'InternalError' }));
    } finally {
      faults.enabled = false;
    }
    expect(faults.injected.sqsFail).toBe(1);
  });
});
