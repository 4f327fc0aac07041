import { readFileSync } from 'node:fs';

/**
 * The faults the local runtime can inject. Each answers the way AWS does, so clients react as in
 * production (the SDKs retry throttles and 5xx; the event source redelivers; clients reconnect).
 */
export const FAULT_KINDS = [
  /** A worker invocation's environment dies mid-task (the message returns after its visibility timeout). */
  'workerKill',
  /** A worker invocation is ended as timed out mid-task. */
  'invocationTimeout',
  /** EventBridge `PutEvents` answers 500 InternalException. */
  'putEventsFail',
  /** EventBridge `PutEvents` answers 400 ThrottlingException. */
  'putEventsThrottle',
  /** A DynamoDB call answers 500 InternalServerError (not applied). */
  'dynamodbFail',
  /** A DynamoDB call answers 400 ProvisionedThroughputExceededException (not applied). */
  'dynamodbThrottle',
  /** An SQS call (other than ReceiveMessage) answers 500 InternalError. */
  'sqsFail',
  /** An SQS call (other than ReceiveMessage) answers 400 ThrottlingException. */
  'sqsThrottle',
  /** `@connections` POST answers 410 Gone, and the connection is closed (it is gone). */
  'connections410',
  /** `@connections` POST answers 429 LimitExceededException. */
  'connections429',
  /** A WebSocket connection is dropped right after a message was pushed to it. */
  'webSocketDrop',
  /** The whole local runtime was restarted (recorded by whoever restarts it). */
  'runtimeRestart',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Fault-injection configuration: a probability per kind (per call, push or invocation). */
export interface FaultConfig {
  /** Probability in [0, 1] per opportunity; kinds left out never fire. */
  readonly probabilities: Partial<Record<FaultKind, number>>;
  /** Seed of the pseudo-random sequence, for reproducible runs. @default 1 */
  readonly seed?: number;
  /** A killed or timed-out invocation dies after a random delay up to this. @default 2000 */
  readonly maxKillDelayMs?: number;
}

/** Thrown for an invalid fault configuration. */
export class FaultConfigError extends Error {
  public constructor(message: string) {
    super(`Invalid fault configuration: ${message}`);
    this.name = 'FaultConfigError';
  }
}

const DEFAULTS = { seed: 1, maxKillDelayMs: 2_000 } as const;

/**
 * Decides, reproducibly, when to inject each kind of fault and counts what it injected. Off by
 * default: the runtime creates one only when given a configuration (option `faults`, or the
 * environment: `OFFLOAD_FAULTS` as JSON, or `OFFLOAD_FAULTS_FILE` naming a JSON file).
 *
 * @example
 * ```ts
 * const faults = new FaultInjector({ probabilities: { dynamodbThrottle: 0.02, workerKill: 0.05 } });
 * const runtime = await startRuntime({ faults });
 * faults.enabled = false; // verify the outcome without faults
 * console.log(faults.injected);
 * ```
 */
export class FaultInjector {
  /** Faults fire only while enabled. */
  public enabled = true;
  public readonly injected: Record<FaultKind, number> = Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<FaultKind, number>;
  public readonly config: Required<FaultConfig>;
  private state: number;

  public constructor(config: FaultConfig) {
    const isObject = (value: unknown): value is object => typeof value === 'object' && value !== null && !Array.isArray(value);
    // A configuration read from JSON may be any value: check its shape before reading it.
    if (!isObject(config)) throw new FaultConfigError('the configuration must be a JSON object');
    const merged = { ...DEFAULTS, ...config };
    for (const key of Object.keys(config)) {
      if (!['probabilities', 'seed', 'maxKillDelayMs'].includes(key)) throw new FaultConfigError(`unknown option ${key}`);
    }
    if (!isObject(merged.probabilities)) throw new FaultConfigError('probabilities must be an object of fault kind to probability');
    for (const [kind, probability] of Object.entries(merged.probabilities)) {
      if (!(FAULT_KINDS as readonly string[]).includes(kind)) throw new FaultConfigError(`unknown fault kind ${kind}`);
      if (typeof probability !== 'number' || !(probability >= 0 && probability <= 1)) throw new FaultConfigError(`${kind} must be a probability in [0, 1]`);
    }
    if (!Number.isInteger(merged.seed)) throw new FaultConfigError('seed must be an integer');
    if (typeof merged.maxKillDelayMs !== 'number' || !(merged.maxKillDelayMs >= 0 && Number.isFinite(merged.maxKillDelayMs))) {
      throw new FaultConfigError('maxKillDelayMs must be a non-negative number of milliseconds');
    }
    this.config = merged as Required<FaultConfig>;
    this.state = merged.seed >>> 0 || 1;
  }

  /** Reads `OFFLOAD_FAULTS` (JSON) or `OFFLOAD_FAULTS_FILE`; undefined when neither is set. */
  public static fromEnvironment(env: NodeJS.ProcessEnv = process.env): FaultInjector | undefined {
    let source: string;
    let text: string;
    if (env.OFFLOAD_FAULTS !== undefined) {
      source = 'OFFLOAD_FAULTS';
      text = env.OFFLOAD_FAULTS;
    } else if (env.OFFLOAD_FAULTS_FILE) {
      source = `OFFLOAD_FAULTS_FILE (${env.OFFLOAD_FAULTS_FILE})`;
      try {
        text = readFileSync(env.OFFLOAD_FAULTS_FILE, 'utf8');
      } catch (error) {
        throw new FaultConfigError(`${source} cannot be read: ${(error as Error).message}`);
      }
    } else return undefined;
    let config: unknown;
    try {
      config = JSON.parse(text);
    } catch (error) {
      throw new FaultConfigError(`${source} is not valid JSON: ${(error as Error).message}`);
    }
    return new FaultInjector(config as FaultConfig);
  }

  /** Whether to inject a fault of `kind` now (counted when it fires). */
  public roll(kind: FaultKind): boolean {
    const probability = this.config.probabilities[kind] ?? 0;
    if (!this.enabled || probability <= 0) return false;
    if (this.random() >= probability) return false;
    this.injected[kind]++;
    return true;
  }

  /** Counts a fault injected from outside (a runtime restart). */
  public record(kind: FaultKind): void {
    this.injected[kind]++;
  }

  /** A delay in [0, max) for a killed invocation. */
  public killDelayMs(): number {
    return Math.floor(this.random() * this.config.maxKillDelayMs);
  }

  /** mulberry32: small, fast, good enough for fault scheduling, reproducible from the seed. */
  private random(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

/** An AWS-shaped error answer for an injected fault. */
export interface FaultAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** DynamoDB (JSON 1.0) answers: a throttle or an internal error, neither applied. */
export const dynamodbFault = (faults: FaultInjector | undefined, operation: string): FaultAnswer | undefined => {
  if (!faults || !operation || operation === 'CreateTable' || operation === 'DescribeTable') return undefined;
  const answer = (status: number, type: string, message: string): FaultAnswer => ({
    status,
    headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'fault-injected' },
    body: JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, message }),
  });
  if (faults.roll('dynamodbThrottle')) return answer(400, 'ProvisionedThroughputExceededException', 'The level of configured provisioned throughput for the table was exceeded (fault injected).');
  if (faults.roll('dynamodbFail')) return answer(500, 'InternalServerError', 'Internal server error (fault injected)');
  return undefined;
};

/** SQS (JSON protocol) answers for calls other than ReceiveMessage: a throttle or an internal error. */
export const sqsFault = (faults: FaultInjector | undefined, operation: string): FaultAnswer | undefined => {
  if (!faults || !operation || ['ReceiveMessage', 'CreateQueue', 'GetQueueUrl', 'GetQueueAttributes', 'SetQueueAttributes'].includes(operation)) return undefined;
  const answer = (status: number, type: string, fault: string, message: string): FaultAnswer => ({
    status,
    headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-query-error': `${type};${fault}`, 'x-amzn-requestid': 'fault-injected' },
    body: JSON.stringify({ __type: `com.amazonaws.sqs#${type}`, message }),
  });
  if (faults.roll('sqsThrottle')) return answer(400, 'ThrottlingException', 'Sender', 'Rate exceeded (fault injected)');
  if (faults.roll('sqsFail')) return answer(500, 'InternalError', 'Receiver', 'We encountered an internal error (fault injected)');
  return undefined;
};
