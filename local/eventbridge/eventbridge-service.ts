import type { FaultInjector } from '../faults.ts';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { close, listen, readBody, sendJson, type ApiCallCounter } from '../http-util.ts';
import type { LocalSqs } from '../engines/sqs.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION, type LocalTemplate, UnsupportedTemplateError, localArn } from '../template.ts';
import { InvalidEventPatternError, matchesEventPattern, parseEventPattern, type CompiledPattern } from './pattern.ts';
import { applyInputTransform, type TargetInput } from './input.ts';
import { authorizeCall, callerOf, type HttpAnswer } from '../iam/caller.ts';
import type { IamEnforcer } from '../iam/mode.ts';
import { eventBridgePermissions } from '../iam/services/eventbridge.ts';
import { json11Refusal } from '../iam/services/json-refusal.ts';
import { parseSchedule, type Schedule } from './schedule.ts';
import { eventsSendMessage, serviceInvokeFunction, SERVICE_PRINCIPALS, type IamAuthorizer, type IamDenial } from '../iam/service-hops.ts';

/** A rule target the emulator can deliver to. */
interface LocalTarget {
  readonly id: string;
  readonly arn: string;
  readonly input: TargetInput;
  readonly messageGroupId?: string;
  readonly maxAttempts: number;
  readonly deadLetterArn?: string;
}

interface LocalRule {
  readonly name: string;
  readonly arn: string;
  readonly busName: string;
  /** Event pattern rules match events; schedule rules fire on their schedule instead. */
  readonly pattern?: CompiledPattern;
  readonly schedule?: Schedule;
  readonly targets: readonly LocalTarget[];
}

/** Options of {@link LocalEventBridge}. */
export interface LocalEventBridgeOptions {
  /** Invokes a Lambda function target asynchronously (by ARN). */
  readonly invokeFunction?: (arn: string, event: unknown) => Promise<unknown>;
  /** Multiplies schedule intervals (0.001 turns a minute into 60 ms), for tests and demos. @default 1 */
  readonly scheduleTimeScale?: number;
  /** Injects PutEvents failures and throttles (fault-injection runs). @default none */
  readonly faults?: FaultInjector;
  /**
   * Authorizes each delivery as AWS does (the target queue's policy or the function's permissions
   * must allow `events.amazonaws.com` for the rule), in the runtime's IAM mode. @default no checks
   */
  readonly iam?: IamAuthorizer;
  /**
   * Authorizes the API's callers (PutEvents and the rest) by their credentials against their
   * roles' policies, in the runtime's IAM mode; a refusal answers AccessDeniedException. @default no checks
   */
  readonly callerIam?: IamEnforcer;
}

/** Why a delivery failed for good, as EventBridge records it on the dead-letter message. */
interface DeliveryFailure {
  /** `ERROR_CODE`: `NO_PERMISSIONS` for a refused delivery, `SDK_CLIENT_ERROR` otherwise. */
  readonly code: string;
  readonly message: string;
  /** `RETRY_ATTEMPTS`: attempts after the first. */
  readonly retryAttempts: number;
  /** `EXHAUSTED_RETRY_CONDITION`, only when the retry policy ran out (never for errors EventBridge does not retry). */
  readonly exhausted?: 'MaximumRetryAttempts' | 'MaximumEventAgeInSeconds';
}

/** The event envelope EventBridge delivers. */
export interface BusEvent {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': string;
  readonly source: string;
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: string[];
  readonly detail: unknown;
}

const MAX_ENTRIES = 10;
const MAX_REQUEST_BYTES = 256 * 1024;

class ServiceError extends Error {
  public constructor(
    public readonly type: string,
    message: string,
    public readonly status = 400,
  ) {
    super(message);
  }
}

/**
 * Local Amazon EventBridge: `PutEvents` and `TestEventPattern` over the AWS JSON 1.1 protocol,
 * the template's buses and pattern rules, and delivery to SQS targets (with `Input`, `InputPath`,
 * `InputTransformer` and `SqsParameters`), retried, then sent to the target's DLQ. With an IAM
 * authorizer, each delivery must be allowed by the target's queue policy or Lambda permissions
 * (principal `events.amazonaws.com`, `aws:SourceArn` the rule): a refused one is not retried.
 */
export class LocalEventBridge {
  public endpoint = '';
  /** The endpoint's HTTP server (its request listener also serves the in-process transport of the function threads). */
  public readonly server: Server;
  private readonly rules: LocalRule[] = [];
  private readonly buses = new Set<string>(['default']);
  private readonly inflight = new Set<Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  public constructor(
    private readonly template: LocalTemplate,
    private readonly sqs: LocalSqs,
    private readonly counter: ApiCallCounter,
    private readonly log: (line: string) => void,
    private readonly options: LocalEventBridgeOptions = {},
  ) {
    this.server = createServer((request, response) => void this.handle(request, response));
  }

  /** Registers buses and rules from the template; throws for anything unsupported. */
  public load(): void {
    for (const [logicalId, resource] of this.template.ofType('AWS::Events::EventBus')) {
      const name = String(resource.Properties?.Name ?? `Offload-${logicalId}`);
      this.buses.add(name);
      this.template.register(logicalId, { ref: name, attributes: { Arn: localArn('events', `event-bus/${name}`), Name: name } });
    }
    for (const [logicalId, resource] of this.template.ofType('AWS::Events::Rule')) {
      const properties = resource.Properties ?? {};
      if (properties.State === 'DISABLED') continue;
      const busName = (properties.EventBusName ? this.template.resolveString(properties.EventBusName, logicalId) : 'default').split('/').pop()!;
      const name = String(properties.Name ?? `Offload-${logicalId}`);
      const arn = localArn('events', busName === 'default' ? `rule/${name}` : `rule/${busName}/${name}`);
      let pattern: CompiledPattern | undefined;
      let schedule: Schedule | undefined;
      try {
        if (properties.EventPattern !== undefined) pattern = parseEventPattern(JSON.stringify(this.template.resolve(properties.EventPattern, logicalId)));
        if (properties.ScheduleExpression !== undefined) schedule = parseSchedule(this.template.resolveString(properties.ScheduleExpression, logicalId));
      } catch (error) {
        throw new UnsupportedTemplateError(logicalId, properties.ScheduleExpression !== undefined ? 'ScheduleExpression' : 'EventPattern', (error as Error).message);
      }
      if (!pattern && !schedule) throw new UnsupportedTemplateError(logicalId, 'EventPattern', 'a rule needs an EventPattern or a ScheduleExpression');
      const targets = ((properties.Targets as Record<string, unknown>[] | undefined) ?? []).map((target) => this.target(logicalId, target));
      this.rules.push({ name, arn, busName, ...(pattern ? { pattern } : {}), ...(schedule ? { schedule } : {}), targets });
      this.template.register(logicalId, { ref: name, attributes: { Arn: arn } });
    }
  }

  public async start(port?: number): Promise<string> {
    this.endpoint = `http://127.0.0.1:${await listen(this.server, port)}`;
    for (const rule of this.rules) if (rule.schedule) this.arm(rule);
    return this.endpoint;
  }

  /** Fires a schedule rule now (as its schedule would), returning the event it sent. */
  public fire(ruleName: string): BusEvent {
    const rule = this.rules.find((candidate) => candidate.name === ruleName && candidate.schedule);
    if (!rule) throw new Error(`No schedule rule ${ruleName}`);
    const event: BusEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: LOCAL_ACCOUNT,
      time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: LOCAL_REGION,
      resources: [rule.arn],
      detail: {},
    };
    this.dispatch(rule, event);
    return event;
  }

  /** Schedule rules, with their next fire time. */
  public get schedules(): { name: string; next: Date }[] {
    return this.rules.filter((rule) => rule.schedule).map((rule) => ({ name: rule.name, next: rule.schedule!.next(new Date()) }));
  }

  private arm(rule: LocalRule): void {
    if (this.stopped) return;
    const scale = this.options.scheduleTimeScale ?? 1;
    const now = Date.now();
    const delay = Math.max(0, (rule.schedule!.next(new Date(now)).getTime() - now) * scale);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.fire(rule.name);
      this.arm(rule);
    }, delay);
    timer.unref();
    this.timers.add(timer);
  }

  /** Waits until every accepted event has been delivered (or dead-lettered). */
  public async idle(): Promise<void> {
    while (this.inflight.size) await Promise.allSettled([...this.inflight]);
  }

  public async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await close(this.server);
    await this.idle();
  }

  /** Routes one event to every matching rule's targets (asynchronously, like EventBridge). */
  public route(busName: string, event: BusEvent): void {
    for (const rule of this.rules) {
      if (rule.busName !== busName || !rule.pattern || !matchesEventPattern(rule.pattern, event)) continue;
      this.dispatch(rule, event);
    }
  }

  private dispatch(rule: LocalRule, event: BusEvent): void {
    for (const target of rule.targets) {
      const delivery = this.deliver(rule, target, event).finally(() => this.inflight.delete(delivery));
      this.inflight.add(delivery);
    }
  }

  private target(ruleId: string, target: Record<string, unknown>): LocalTarget {
    const arn = this.template.resolveString(target.Arn, ruleId);
    if (!arn.startsWith('arn:aws:sqs:') && !arn.startsWith('arn:aws:lambda:')) {
      throw new UnsupportedTemplateError(ruleId, 'Targets.Arn', `only SQS and Lambda targets are supported, got ${arn}`);
    }
    for (const key of Object.keys(target)) {
      if (!['Arn', 'Id', 'Input', 'InputPath', 'InputTransformer', 'SqsParameters', 'RetryPolicy', 'DeadLetterConfig'].includes(key)) {
        throw new UnsupportedTemplateError(ruleId, `Targets.${key}`, 'target property not supported');
      }
    }
    const retry = target.RetryPolicy as { MaximumRetryAttempts?: number } | undefined;
    const dlq = target.DeadLetterConfig as { Arn?: unknown } | undefined;
    const sqsParameters = target.SqsParameters as { MessageGroupId?: string } | undefined;
    return {
      id: String(target.Id),
      arn,
      input: {
        ...(target.Input !== undefined ? { input: String(target.Input) } : {}),
        ...(target.InputPath !== undefined ? { inputPath: String(target.InputPath) } : {}),
        ...(target.InputTransformer !== undefined ? { inputTransformer: this.template.resolve(target.InputTransformer, ruleId) as TargetInput['inputTransformer'] } : {}),
      },
      ...(sqsParameters?.MessageGroupId ? { messageGroupId: sqsParameters.MessageGroupId } : {}),
      // Local delivery retries fast and a bounded number of times; on AWS the policy spans hours.
      maxAttempts: Math.min(1 + (retry?.MaximumRetryAttempts ?? 185), 8),
      ...(dlq?.Arn ? { deadLetterArn: this.template.resolveString(dlq.Arn, ruleId) } : {}),
    };
  }

  /**
   * Delivers one event to one target. A delivery the target's resource policy refuses is a failed
   * invocation that EventBridge does not retry (the permissions will not change by themselves): it
   * goes to the target's dead-letter queue at once, or is dropped without one. Other failures are
   * retried per the target's retry policy first.
   */
  private async deliver(rule: LocalRule, target: LocalTarget, event: BusEvent): Promise<void> {
    const refused = this.refusal(rule, target.arn);
    if (refused) {
      this.log(`rule ${rule.name} target ${target.id}: failed invocation NO_PERMISSIONS (not retried): ${refused.message}`);
      await this.deadLetter(rule, target, event, { code: 'NO_PERMISSIONS', message: refused.message, retryAttempts: 0 });
      return;
    }
    const body = applyInputTransform(target.input, event);
    for (let attempt = 1; attempt <= target.maxAttempts; attempt++) {
      try {
        await this.send(target.arn, body, target.messageGroupId, event.id);
        return;
      } catch (error) {
        if (attempt === target.maxAttempts) {
          this.log(`rule ${rule.name} target ${target.id}: delivery failed after ${attempt} attempts: ${(error as Error).message}`);
          await this.deadLetter(rule, target, event, { code: 'SDK_CLIENT_ERROR', message: (error as Error).message, retryAttempts: attempt - 1, exhausted: 'MaximumRetryAttempts' });
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt));
      }
    }
  }

  /** The denial of EventBridge's call to a target (SendMessage on a queue, InvokeFunction on a function) for a rule, if refused. */
  private refusal(rule: LocalRule, arn: string): IamDenial | undefined {
    if (!this.options.iam) return undefined;
    const request = arn.startsWith('arn:aws:lambda:') ? serviceInvokeFunction(SERVICE_PRINCIPALS.events, arn, rule.arn) : eventsSendMessage(arn, rule.arn);
    const decision = this.options.iam.authorize(request);
    return decision.allowed ? undefined : decision;
  }

  /**
   * Sends the event to the target's dead-letter queue with the attributes EventBridge sets
   * (`RULE_ARN`, `TARGET_ARN`, `ERROR_CODE`, `ERROR_MESSAGE`, `RETRY_ATTEMPTS`, and
   * `EXHAUSTED_RETRY_CONDITION` when the retry policy ran out). Without a dead-letter queue, or
   * when its policy refuses EventBridge (`InvocationsFailedToBeSentToDlq`), the event is dropped.
   */
  private async deadLetter(rule: LocalRule, target: LocalTarget, event: BusEvent, failure: DeliveryFailure): Promise<void> {
    if (!target.deadLetterArn) {
      this.log(`rule ${rule.name} target ${target.id}: event ${event.id} dropped (no dead-letter queue)`);
      return;
    }
    const refused = this.refusal(rule, target.deadLetterArn);
    if (refused) {
      this.log(`rule ${rule.name} target ${target.id}: event ${event.id} dropped: the dead-letter queue refused it (InvocationsFailedToBeSentToDlq): ${refused.message}`);
      return;
    }
    if (!this.sqs.urlByArn.has(target.deadLetterArn)) {
      this.log(`rule ${rule.name} target ${target.id}: event ${event.id} dropped: no local queue for ${target.deadLetterArn}`);
      return;
    }
    const text = (value: string) => ({ DataType: 'String', StringValue: value });
    this.counter.add('sqs', 'SendMessage');
    try {
      this.sqs.sendFromService(target.deadLetterArn, JSON.stringify(event), {
        messageAttributes: {
          RULE_ARN: text(rule.arn),
          TARGET_ARN: text(target.arn),
          ERROR_CODE: text(failure.code),
          ERROR_MESSAGE: text(failure.message.slice(0, 1000)),
          RETRY_ATTEMPTS: text(String(failure.retryAttempts)),
          ...(failure.exhausted ? { EXHAUSTED_RETRY_CONDITION: text(failure.exhausted) } : {}),
        },
      });
      this.log(`rule ${rule.name} target ${target.id}: event ${event.id} sent to the dead-letter queue (${failure.code})`);
    } catch (error) {
      this.log(`rule ${rule.name} target ${target.id}: event ${event.id} dropped: sending to the dead-letter queue failed: ${(error as Error).message}`);
    }
  }

  private async send(arn: string, body: string, messageGroupId: string | undefined, eventId: string): Promise<void> {
    if (arn.startsWith('arn:aws:lambda:')) {
      if (!this.options.invokeFunction) throw new Error('no Lambda service to invoke');
      this.counter.add('lambda', 'Invoke');
      await this.options.invokeFunction(arn, JSON.parse(body));
      return;
    }
    if (!this.sqs.urlByArn.has(arn)) throw new Error(`no local queue for ${arn}`);
    this.counter.add('sqs', 'SendMessage');
    // As the service integration does: into the queue, not through the public endpoint (see LocalSqs.sendFromService).
    this.sqs.sendFromService(arn, body, messageGroupId ? { messageGroupId, messageDeduplicationId: eventId } : {});
  }

  /** IAM for the API's callers: the answer AWS refuses the call with, or undefined to serve it. */
  private callerRefusal(request: IncomingMessage, operation: string, body: Record<string, unknown>): HttpAnswer | undefined {
    const iam = this.options.callerIam;
    if (!iam || iam.mode === 'off' || !operation) return undefined;
    const outcome = authorizeCall(iam, callerOf(iam, request.headers, request.url), eventBridgePermissions(operation, body), `events:${operation}`);
    return outcome.allowed ? undefined : json11Refusal(outcome);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    try {
      const target = String(request.headers['x-amz-target'] ?? '');
      const operation = target.startsWith('AWSEvents.') ? target.slice('AWSEvents.'.length) : '';
      const body = JSON.parse((await readBody(request, MAX_REQUEST_BYTES + 64 * 1024)).toString('utf8') || '{}') as Record<string, unknown>;
      this.counter.add('eventbridge', operation || 'Unknown');
      const refusal = this.callerRefusal(request, operation, body);
      if (refusal) {
        response.writeHead(refusal.status, refusal.headers).end(refusal.body);
        return;
      }
      let result: unknown;
      if (operation === 'PutEvents' && this.options.faults?.roll('putEventsThrottle')) throw new ServiceError('ThrottlingException', 'Rate exceeded (fault injected)');
      if (operation === 'PutEvents' && this.options.faults?.roll('putEventsFail')) throw new ServiceError('InternalException', 'Internal error (fault injected)', 500);
      if (operation === 'PutEvents') result = this.putEvents(body);
      else if (operation === 'TestEventPattern') result = this.testEventPattern(body);
      else if (operation === 'ListEventBuses') result = { EventBuses: [...this.buses].map((Name) => ({ Name, Arn: localArn('events', `event-bus/${Name}`) })) };
      else if (operation === 'ListRules') result = this.listRules(body);
      else throw new ServiceError('UnknownOperationException', `Operation ${operation || '(none)'} is not supported by the local EventBridge`);
      sendJson(response, 200, result, { 'content-type': 'application/x-amz-json-1.1' });
    } catch (error) {
      const serviceError =
        error instanceof ServiceError
          ? error
          : error instanceof InvalidEventPatternError
            ? new ServiceError('InvalidEventPatternException', error.message)
            : error instanceof SyntaxError
              ? new ServiceError('SerializationException', 'Request body is not valid JSON')
              : new ServiceError('InternalException', (error as Error).message, 500);
      sendJson(response, serviceError.status, { __type: serviceError.type, message: serviceError.message }, {
        'content-type': 'application/x-amz-json-1.1',
        'x-amzn-errortype': serviceError.type,
      });
    }
  }

  private putEvents(body: Record<string, unknown>): unknown {
    const entries = body.Entries;
    if (!Array.isArray(entries) || entries.length < 1 || entries.length > MAX_ENTRIES) {
      throw new ServiceError('ValidationException', `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to ${MAX_ENTRIES} and greater than or equal to 1`);
    }
    if (Buffer.byteLength(JSON.stringify(entries)) > MAX_REQUEST_BYTES) throw new ServiceError('ValidationException', 'Total size of the entries in the request is over the limit.');
    let failed = 0;
    const results = entries.map((raw: Record<string, unknown>) => {
      const outcome = this.putEntry(raw);
      if ('ErrorCode' in outcome) failed++;
      return outcome;
    });
    return { FailedEntryCount: failed, Entries: results };
  }

  private putEntry(entry: Record<string, unknown>): { EventId: string } | { ErrorCode: string; ErrorMessage: string } {
    const invalid = (message: string) => ({ ErrorCode: 'InvalidArgument', ErrorMessage: message });
    if (typeof entry.Source !== 'string' || entry.Source === '') return invalid('Parameter Source is not valid. Reason: Source is a required argument.');
    if (typeof entry.DetailType !== 'string' || entry.DetailType === '') return invalid('Parameter DetailType is not valid. Reason: DetailType is a required argument.');
    if (typeof entry.Detail !== 'string' || entry.Detail === '') return invalid('Parameter Detail is not valid. Reason: Detail is a required argument.');
    let detail: unknown;
    try {
      detail = JSON.parse(entry.Detail);
    } catch {
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    }
    if (detail === null || typeof detail !== 'object' || Array.isArray(detail)) return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    const busName = String(entry.EventBusName ?? 'default').split('/').pop()!;
    if (!this.buses.has(busName)) return { ErrorCode: 'ResourceNotFoundException', ErrorMessage: `Event bus ${busName} does not exist.` };
    const time = entry.Time !== undefined ? new Date(typeof entry.Time === 'number' ? entry.Time * 1000 : String(entry.Time)) : new Date();
    const event: BusEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': entry.DetailType,
      source: entry.Source,
      account: LOCAL_ACCOUNT,
      time: (Number.isNaN(time.getTime()) ? new Date() : time).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: LOCAL_REGION,
      resources: Array.isArray(entry.Resources) ? entry.Resources.map(String) : [],
      detail,
    };
    this.route(busName, event);
    return { EventId: event.id };
  }

  /** `ListRules` of one bus (`EventBusName` name or ARN, default `default`), optionally by `NamePrefix`. */
  private listRules(body: Record<string, unknown>): unknown {
    const busName = String(body.EventBusName ?? 'default').split('/').pop()!;
    if (!this.buses.has(busName)) throw new ServiceError('ResourceNotFoundException', `Event bus ${busName} does not exist.`);
    const prefix = typeof body.NamePrefix === 'string' ? body.NamePrefix : '';
    return {
      Rules: this.rules
        .filter((rule) => rule.busName === busName && rule.name.startsWith(prefix))
        .map((rule) => ({ Name: rule.name, Arn: rule.arn, EventBusName: rule.busName, State: 'ENABLED' })),
    };
  }

  private testEventPattern(body: Record<string, unknown>): unknown {
    if (typeof body.EventPattern !== 'string' || typeof body.Event !== 'string') {
      throw new ServiceError('ValidationException', 'EventPattern and Event are required strings.');
    }
    let event: unknown;
    try {
      event = JSON.parse(body.Event);
    } catch {
      throw new ServiceError('InvalidEventPatternException', 'Event is not valid JSON.');
    }
    return { Result: matchesEventPattern(parseEventPattern(body.EventPattern), event) };
  }
}
