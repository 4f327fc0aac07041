import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { createHash } from 'node:crypto';
import { Agent } from 'node:http';
import type { LocalSqs } from '../engines/sqs.ts';
import type { ApiCallCounter } from '../http-util.ts';
import { LOCAL_REGION } from '../template.ts';
import type { LocalFunction } from './lambda-service.ts';
import { InProcessRequestHandler, type InProcessTransport } from './in-process-transport.ts';

/** Settings of one SQS event source mapping, from the template. */
export interface SqsEventSourceConfig {
  readonly logicalId: string;
  readonly queueArn: string;
  readonly queueUrl: string;
  readonly batchSize: number;
  readonly maxBatchingWindowSeconds: number;
  /** ScalingConfig.MaximumConcurrency (2–1000); undefined = limited only by the function. */
  readonly maxConcurrency?: number;
  readonly reportBatchItemFailures: boolean;
  /**
   * Credentials of the function's execution role: Lambda's pollers receive and delete messages as
   * that role, so the queue's IAM checks see it. @default the runtime's own (administrator) credentials
   */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
  /** The pollers' calls to the queue go in process through this transport (see {@link InProcessTransport}). @default none (HTTP) */
  readonly transport?: InProcessTransport;
}

/**
 * Pollers kept waiting on an idle queue. One: the local queue (fauxqs) wakes every waiting long
 * poll for each message it gets, and all but one then return empty, so each extra idle poller
 * costs one more (empty) ReceiveMessage per message on the runtime's main thread. A second poller
 * still starts as soon as the first takes a batch (see `loop`).
 */
const IDLE_POLLERS = 1;

interface BatchResponse {
  batchItemFailures?: { itemIdentifier?: string }[];
}

/**
 * Polls an SQS queue and invokes a function with batches, like Lambda's event source mapping:
 * up to `maxConcurrency` batches in flight; on success the batch is deleted; on a function error
 * nothing is deleted (the messages reappear after the visibility timeout and go to the DLQ after
 * `maxReceiveCount`); with `ReportBatchItemFailures` only the reported items are kept.
 */
export class SqsEventSource {
  /** ReceiveMessage calls made, those that returned nothing, and messages received (the polling cost per message). */
  public readonly stats = { receives: 0, emptyReceives: 0, messages: 0 };
  private running = false;
  private inflight = 0;
  private pollers = 0;
  private maxPollers = 1;
  private readonly loops: Promise<void>[] = [];
  private readonly abort = new AbortController();
  private client: SQSClient | undefined;

  public constructor(
    public readonly config: SqsEventSourceConfig,
    private readonly fn: () => LocalFunction,
    private readonly sqs: LocalSqs,
    private readonly counter: ApiCallCounter,
    private readonly log: (line: string) => void,
  ) {}

  /**
   * Starts polling. Like Lambda's pollers, it scales with the queue: a few pollers wait on an idle
   * queue, and one more starts whenever every poller is busy with a batch, up to one per allowed
   * concurrent batch; the extra pollers stop at their first empty receive. (Dozens of idle long
   * polls per queue would each be woken for every message sent.)
   */
  public start(): void {
    this.running = true;
    this.maxPollers = Math.max(1, Math.min(this.config.maxConcurrency ?? this.fn().concurrencyLimit, this.fn().concurrencyLimit));
    this.client ??= this.config.credentials ? this.roleClient(this.config.credentials, this.maxPollers + 4) : this.sqs.newClient(this.maxPollers + 4);
    // With a batching window, one poller gathers while the queue is quiet (two would split each batch).
    const idle = this.config.maxBatchingWindowSeconds > 0 ? 1 : IDLE_POLLERS;
    for (let i = 0; i < Math.min(idle, this.maxPollers); i++) this.spawn(true);
  }

  /** A client of its own (long polls never share a pool with senders), signing as the function's role. */
  private roleClient(credentials: NonNullable<SqsEventSourceConfig['credentials']>, maxSockets: number): SQSClient {
    return new SQSClient({
      endpoint: this.sqs.endpoint,
      region: LOCAL_REGION,
      credentials,
      maxAttempts: 5,
      requestHandler: this.config.transport
        ? new InProcessRequestHandler(this.config.transport, new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets }) }))
        : new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets }) }),
    });
  }

  private spawn(persistent: boolean): void {
    this.pollers++;
    // Uncounted at once when a poller decides to end (not a microtask later, when its promise
    // settles): pollers deciding together must each see the others' decisions.
    let counted = true;
    const uncount = () => {
      if (!counted) return;
      counted = false;
      this.pollers--;
    };
    const loop = this.loop(persistent, uncount).finally(() => {
      uncount();
      const index = this.loops.indexOf(loop);
      if (index >= 0) this.loops.splice(index, 1);
    });
    this.loops.push(loop);
  }

  /** Stops polling; waits up to `graceMs` for batches in flight (their messages stay in the queue otherwise). */
  public async stop(graceMs = 5_000): Promise<void> {
    this.running = false;
    this.abort.abort();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled(this.loops), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    // A role client is this source's own (the engine destroys the clients it made itself).
    if (this.config.credentials) {
      this.client?.destroy();
      this.client = undefined;
    }
  }

  /** Batches currently being processed. */
  public get inflightBatches(): number {
    return this.inflight;
  }

  private async loop(persistent: boolean, uncount: () => void): Promise<void> {
    while (this.running) {
      try {
        const messages = await this.receive();
        if (!this.running) return;
        if (messages.length === 0) {
          // An extra poller ends when its queue is quiet, but never leaves the queue without one
          // waiting: if every other poller is busy with a batch, it stays.
          if (persistent || this.pollers - this.inflight <= 1) continue;
          uncount();
          return;
        }
        // Every poller busy (this one included, from now on): let one more wait for the next batch.
        if (this.inflight + 1 >= this.pollers && this.pollers < this.maxPollers) this.spawn(false);
        this.inflight++;
        try {
          await this.process(messages);
        } finally {
          this.inflight--;
        }
      } catch (error) {
        if (!this.running) return;
        this.log(`event source ${this.config.logicalId}: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  /**
   * One batch, as the Lambda event source mapping gathers it: a long poll for the first messages;
   * then, with a batching window, more until the window (counted from the first message) ends or the
   * batch is full; without one, whatever is already there.
   */
  private async receive(): Promise<Message[]> {
    const messages: Message[] = [];
    const windowMs = this.config.maxBatchingWindowSeconds * 1000;
    let windowEnds = 0;
    do {
      const waitSeconds = messages.length === 0 ? 20 : windowMs > 0 ? Math.min(20, Math.max(0, Math.ceil((windowEnds - Date.now()) / 1000))) : 0;
      this.counter.add('sqs', 'ReceiveMessage');
      this.stats.receives++;
      const { Messages = [] } = await this.client!.send(
        new ReceiveMessageCommand({
          QueueUrl: this.config.queueUrl,
          MaxNumberOfMessages: Math.min(10, this.config.batchSize - messages.length),
          WaitTimeSeconds: waitSeconds, // long polling, as the Lambda event source mapping does
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
        { abortSignal: this.abort.signal },
      );
      if (messages.length === 0 && Messages.length > 0) windowEnds = Date.now() + windowMs;
      messages.push(...Messages);
      this.stats.messages += Messages.length;
      if (Messages.length === 0) this.stats.emptyReceives++;
      if (Messages.length === 0 && messages.length > 0 && windowMs === 0) break;
    } while (this.running && messages.length > 0 && messages.length < this.config.batchSize && Date.now() < windowEnds);
    return messages;
  }

  private async process(messages: Message[]): Promise<void> {
    const event = { Records: messages.map((message) => this.record(message)) };
    let keep: Set<string>;
    try {
      const response = (await this.fn().invoke(event)) as BatchResponse | null;
      keep = this.failedItems(response, messages);
    } catch (error) {
      this.log(`event source ${this.config.logicalId}: invocation failed, batch returns to the queue: ${(error as Error).message}`);
      keep = new Set(messages.map((message) => message.MessageId!));
    }
    const done = messages.filter((message) => !keep.has(message.MessageId!));
    if (done.length) {
      this.counter.add('sqs', 'DeleteMessageBatch');
      await this.client!.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.config.queueUrl,
          Entries: done.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })),
        }),
      );
    }
  }

  /** Messages to keep: the reported failures; everything if the response is malformed (as AWS does). */
  private failedItems(response: BatchResponse | null, messages: Message[]): Set<string> {
    if (!this.config.reportBatchItemFailures || !response || !Array.isArray(response.batchItemFailures)) return new Set();
    const ids = new Set(messages.map((message) => message.MessageId!));
    const failed = new Set<string>();
    for (const failure of response.batchItemFailures) {
      if (!failure?.itemIdentifier || !ids.has(failure.itemIdentifier)) return ids;
      failed.add(failure.itemIdentifier);
    }
    return failed;
  }

  private record(message: Message) {
    const attributes = message.Attributes ?? {};
    return {
      messageId: message.MessageId!,
      receiptHandle: message.ReceiptHandle!,
      body: message.Body ?? '',
      attributes: {
        ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
        SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
        SenderId: attributes.SenderId ?? 'LOCAL',
        ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
        ...(attributes.MessageGroupId ? { MessageGroupId: attributes.MessageGroupId } : {}),
        ...(attributes.MessageDeduplicationId ? { MessageDeduplicationId: attributes.MessageDeduplicationId } : {}),
        ...(attributes.SequenceNumber ? { SequenceNumber: attributes.SequenceNumber } : {}),
      },
      messageAttributes: Object.fromEntries(
        Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
          name,
          { stringValue: value.StringValue, binaryValue: value.BinaryValue, stringListValues: [], binaryListValues: [], dataType: value.DataType },
        ]),
      ),
      md5OfBody: message.MD5OfBody ?? createHash('md5').update(message.Body ?? '').digest('hex'),
      eventSource: 'aws:sqs',
      eventSourceARN: this.config.queueArn,
      awsRegion: LOCAL_REGION,
    };
  }
}
