import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { LambdaInvocationError, LambdaThrottledError } from './errors.ts';
import type { InProcessTransport } from './in-process-transport.ts';

/** Configuration of one local function, taken from its template resource. */
export interface LocalFunctionConfig {
  readonly logicalId: string;
  readonly functionName: string;
  readonly arn: string;
  /** Directory of the bundled asset. */
  readonly codeDir: string;
  /** `file.export`, as in the template's Handler. */
  readonly handler: string;
  readonly timeoutSeconds: number;
  readonly memorySize: number;
  readonly environment: Record<string, string>;
  /** Reserved concurrency; environments beyond it are refused. */
  readonly reservedConcurrency?: number;
  /**
   * Scheduling priority (Linux nice value, 0–19) of this function's environment threads. On AWS
   * every function runs on capacity of its own; on one machine the runtime gives queue-driven
   * background work a lower priority so it cannot starve the request path it shares the cores
   * with. @default 0
   */
  readonly cpuNice?: number;
  /** Directory of the V8 compile cache shared by every environment (module.enableCompileCache). @default none */
  readonly compileCacheDir?: string;
  /**
   * Local only: the SDK calls of this function's environments to the endpoints `transport` serves
   * cross a MessagePort instead of loopback HTTP (see {@link InProcessTransport}). @default none (HTTP)
   */
  readonly transport?: InProcessTransport;
}

/** Per-function counters. */
export interface FunctionStats {
  invocations: number;
  errors: number;
  timeouts: number;
  throttles: number;
  /** Environments that died (threw outside an invocation, exited, ran out of memory) after init. */
  crashes: number;
  /** Environments created for an invocation that found none free (the invocation waited for the init). */
  coldStarts: number;
  /** Environments created ahead of demand, in the background, to keep warm ones ready (see {@link LocalFunction.keepWarm}). */
  prewarmed: number;
  initMsTotal: number;
  /** CPU time of the environments' threads (user + system), in ms: spent in init, and in invocations. */
  initCpuMsTotal: number;
  invokeCpuMsTotal: number;
}

/** Where a function's log lines go. */
export type LogSink = (functionName: string, line: string) => void;

interface Environment {
  readonly id: string;
  readonly worker: Worker;
  /** Code generation the environment was created with; older ones are retired when released. */
  readonly generation: number;
  busy: boolean;
  dead: boolean;
  pending?: { id: string; since: number; resolve: (value: unknown) => void; reject: (error: Error) => void; timer: NodeJS.Timeout };
}

/** How much costlier a creation counts while the machine is saturated (see LocalFunction.scaleUp). */
const SATURATED_INIT_FACTOR = 4;
/**
 * A function whose invocations take under {@link SHORT_INVOCATION_MS} (the running ones included)
 * is not scaled past {@link SHORT_FUNCTION_ENVIRONMENTS} environments on demand: locally they all
 * share this machine's cores, which that many already keep busy (see LocalFunction.scaleUp).
 */
const SHORT_INVOCATION_MS = 1_000;
const SHORT_FUNCTION_ENVIRONMENTS = 2 * Math.max(1, availableParallelism());

/**
 * Whether this process used more than 90% of the machine's cores over the last ~0.5 s (sampled
 * every 250 ms while asked; the sampler does not keep the process alive).
 */
const machineSaturated = (() => {
  const cores = Math.max(1, availableParallelism());
  let sampler: NodeJS.Timeout | undefined;
  let last = { at: performance.now(), cpu: process.cpuUsage() };
  let saturated = false;
  let askedAt = 0;
  const sample = (): void => {
    const now = performance.now();
    const cpu = process.cpuUsage();
    const usedMs = (cpu.user - last.cpu.user + cpu.system - last.cpu.system) / 1000;
    saturated = usedMs / Math.max(1, now - last.at) > 0.9 * cores;
    last = { at: now, cpu };
    // Not asked for a minute: stop sampling until asked again.
    if (now - askedAt > 60_000 && sampler) {
      clearInterval(sampler);
      sampler = undefined;
    }
  };
  return Object.assign(
    (): boolean => {
      askedAt = performance.now();
      return saturated;
    },
    {
      /** Starts sampling (each environment's creation calls this, so the answer is current before a burst). */
      watch: (): void => {
        askedAt = performance.now();
        if (sampler) return;
        last = { at: askedAt, cpu: process.cpuUsage() };
        sampler = setInterval(sample, 250);
        sampler.unref();
      },
    },
  );
})();

/** An exponentially weighted mean (recent samples weigh 0.2); 0 means none yet. */
const recentMean = (mean: number, sample: number): number => (mean === 0 ? sample : 0.8 * mean + 0.2 * sample);

/** A queued invocation's claim on the next free environment. */
interface Ticket {
  readonly queuedAt: number;
  resolve(environment: Environment): void;
  reject(error: Error): void;
}

const BOOTSTRAP = path.join(import.meta.dirname, 'bootstrap.mjs');

/**
 * Cold starts in progress across the whole runtime are capped: each loads and compiles the AWS
 * SDK in a fresh thread, and dozens at once on a small machine starve the emulators' event loop
 * (invocations then time out). Callers beyond the cap wait for a creation slot (or a warm
 * environment) instead.
 */
const creation = (() => {
  const limit = Math.max(2, availableParallelism());
  let active = 0;
  let backgroundActive = 0;
  const queue: (() => void)[] = [];
  /** Ahead-of-demand creations: one at a time runtime-wide, and only while no invocation waits for a slot. */
  const background: (() => void)[] = [];
  const next = (): void => {
    const waiting = queue.shift();
    if (waiting) {
      active++;
      waiting();
      return;
    }
    if (backgroundActive === 0 && active < limit) {
      const warm = background.shift();
      if (warm) {
        active++;
        backgroundActive++;
        warm();
      }
    }
  };
  return {
    acquire: async (priority: 'invocation' | 'background' = 'invocation'): Promise<void> => {
      if (priority === 'invocation') {
        if (active < limit) {
          active++;
          return;
        }
        await new Promise<void>((resolve) => queue.push(resolve));
        return;
      }
      if (backgroundActive === 0 && active < limit && queue.length === 0) {
        active++;
        backgroundActive++;
        return;
      }
      await new Promise<void>((resolve) => background.push(resolve));
    },
    release: (priority: 'invocation' | 'background' = 'invocation'): void => {
      active--;
      if (priority === 'background') backgroundActive--;
      next();
    },
  };
})();
/** The project's package.json: where the emulated runtime's provided modules (AWS SDK) resolve from. */
const RUNTIME_MODULES_FROM = pathToFileURL(path.resolve(import.meta.dirname, '../../package.json')).href;
const DEFAULT_CONCURRENCY = 50;
/** Init time assumed before a function's first environment has reported one (see LocalFunction.scaleUp). */
const DEFAULT_INIT_ESTIMATE_MS = 200;
/** Lambda's Init phase limit; a cold start gets it on top of the function timeout before it fails. */
const INIT_LIMIT_MS = 10_000;

/**
 * One function's execution environments: worker threads, each running the bundled handler with its
 * own `process.env`. Warm environments are reused; a cold start is counted when one is created;
 * an invocation past its timeout ends its environment (as on AWS); a handler that throws, rejects,
 * hangs or exits never affects the runtime or other invocations.
 */
export class LocalFunction {
  public readonly stats: FunctionStats = { invocations: 0, errors: 0, timeouts: 0, throttles: 0, crashes: 0, coldStarts: 0, prewarmed: 0, initMsTotal: 0, initCpuMsTotal: 0, invokeCpuMsTotal: 0 };
  private readonly environments: Environment[] = [];
  /** Invocations waiting for an environment, first come, first served (see {@link checkout}). */
  private readonly queue: Ticket[] = [];
  /** Creations under way for queued invocations (a subset of `creating`). */
  private creatingOnDemand = 0;
  /** Threads of environments still in their init (see {@link shutdown}). */
  private readonly initializing = new Set<Worker>();
  private scaleUpTimer: NodeJS.Timeout | undefined;
  /** Exponentially weighted means of recent invocation durations and environment inits, in ms (see {@link scaleUp}). */
  private meanDurationMs = 0;
  private meanInitMs = 0;
  private creating = 0;
  private generation = 0;
  /** Environments to keep (see {@link keepWarm}). */
  private warmTarget = 0;
  /** An ahead-of-demand creation is queued or running. */
  private prewarming = false;
  private stopped = false;
  /** Whether an invocation ran since the last {@link replaceCode}. */
  private invokedSinceReplace = false;
  /**
   * Fault injection: asked at each invocation whether to end it mid-way, and how (set by the
   * runtime in fault-injection runs). @default none
   */
  public faultPlan?: () => { readonly kind: 'workerKill' | 'invocationTimeout'; readonly delayMs: number } | undefined;

  public constructor(
    public config: LocalFunctionConfig,
    private readonly log: LogSink,
    private readonly maxWaitMs = 30_000,
  ) {}

  /** Concurrency limit: reserved concurrency, or the local default. */
  public get concurrencyLimit(): number {
    return this.config.reservedConcurrency ?? DEFAULT_CONCURRENCY;
  }

  /** Environments currently running an invocation. */
  public get busyCount(): number {
    return this.environments.filter((environment) => environment.busy).length;
  }

  /**
   * Invokes the function synchronously (RequestResponse). Waits up to `maxWaitMs` for a free
   * environment when at the concurrency limit, then throws {@link LambdaThrottledError}.
   */
  public async invoke(event: unknown): Promise<unknown> {
    const environment = await this.checkout();
    this.stats.invocations++;
    this.invokedSinceReplace = true;
    const id = randomUUID();
    const startedAt = performance.now();
    try {
      return await new Promise<unknown>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.stats.timeouts++;
          this.kill(environment);
          reject(new LambdaInvocationError(this.config.functionName, 'Sandbox.Timedout', `Task timed out after ${this.config.timeoutSeconds.toFixed(2)} seconds`));
        }, this.config.timeoutSeconds * 1000);
        environment.pending = { id, since: startedAt, resolve, reject, timer };
        const plan = this.faultPlan?.();
        if (plan) {
          const faultTimer = setTimeout(() => {
            if (environment.pending?.id !== id) return;
            clearTimeout(timer);
            if (plan.kind === 'invocationTimeout') this.stats.timeouts++;
            this.log(this.config.functionName, `fault injected: ${plan.kind} of invocation ${id} after ${plan.delayMs} ms`);
            this.kill(environment);
            reject(
              plan.kind === 'invocationTimeout'
                ? new LambdaInvocationError(this.config.functionName, 'Sandbox.Timedout', `Task timed out (fault injected after ${plan.delayMs} ms)`)
                : new LambdaInvocationError(this.config.functionName, 'Runtime.ExitError', `Runtime exited (fault injected after ${plan.delayMs} ms)`),
            );
          }, plan.delayMs);
          faultTimer.unref();
        }
        environment.worker.postMessage({
          type: 'invoke',
          id,
          requestId: id,
          environmentId: environment.id,
          event,
          timeoutMs: this.config.timeoutSeconds * 1000,
        });
      });
    } catch (error) {
      this.stats.errors++;
      throw error;
    } finally {
      environment.pending = undefined;
      const duration = performance.now() - startedAt;
      this.meanDurationMs = recentMean(this.meanDurationMs, duration);
      if (environment.dead || environment.generation !== this.generation) {
        environment.busy = false;
        if (!environment.dead) this.kill(environment);
        this.scaleUp();
      } else {
        this.offer(environment);
      }
      this.replenish();
    }
  }

  /**
   * Keeps at least `count` warm environments, as AWS keeps environments between requests: created
   * now in the background (one creation at a time runtime-wide, and only while no invocation waits
   * for a creation slot, so start-up never starves the engines) and again whenever one ends (a
   * timeout, a crash), never beyond the concurrency limit. A burst of up to `count` concurrent
   * invocations then pays no cold start; environments a bigger burst creates on demand are kept as
   * before, and none is created ahead of demand beyond `count`. After new code is swapped in
   * ({@link replaceCode}), the next invocation cold-starts, as on AWS, before warm ones are made
   * again. 0 turns it off. @default 0 (a function made directly keeps none)
   */
  public keepWarm(count: number): void {
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`warm environments must be a non-negative integer, got ${count}`);
    this.warmTarget = count;
    this.replenish();
  }

  /** Whether warm environments are still being created to reach the {@link keepWarm} target. */
  public get warming(): boolean {
    return this.prewarming;
  }

  /** Starts one background creation when fewer environments than the warm target exist (each completion re-checks). */
  private replenish(): void {
    if (this.prewarming || this.stopped || this.warmTarget === 0) return;
    const live = this.environments.filter((environment) => this.isCurrent(environment)).length;
    if (live + this.creating >= this.warmTarget || this.environments.length + this.creating >= this.concurrencyLimit) return;
    // Code swapped in and not yet invoked: the next invocation cold-starts first (as on AWS).
    if (this.generation > 0 && !this.invokedSinceReplace) return;
    this.prewarming = true;
    this.creating++;
    const generation = this.generation;
    void (async () => {
      let retryAfterMs = 0;
      await creation.acquire('background');
      try {
        if (this.stopped || generation !== this.generation) return;
        await this.addEnvironment('prewarm', generation);
      } catch (error) {
        this.log(this.config.functionName, `warm environment not created: ${(error as Error).message}`);
        retryAfterMs = 5_000;
      } finally {
        creation.release('background');
        this.creating--;
        this.prewarming = false;
      }
      if (retryAfterMs) setTimeout(() => this.replenish(), retryAfterMs).unref();
      else this.replenish();
    })();
  }

  /**
   * Swaps in new code (hot reload): idle environments end now, busy ones when their invocation
   * finishes; the next invocation cold-starts on the new code.
   */
  public replaceCode(codeDir: string): void {
    this.config = { ...this.config, codeDir };
    this.generation++;
    this.invokedSinceReplace = false;
    for (const environment of [...this.environments]) if (!environment.busy) this.kill(environment);
  }

  /** Waits until no invocation is running, or `timeoutMs` passed. */
  public async drain(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.busyCount > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  /** Ends every environment (used on reload and shutdown). */
  public async shutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.scaleUpTimer);
    // Environments still in their init end too (their creation then fails, or is discarded).
    await Promise.all([...this.initializing].map((worker) => worker.terminate()));
    await Promise.all(
      this.environments.splice(0).map((environment) => {
        environment.dead = true;
        return environment.worker.terminate();
      }),
    );
  }

  /**
   * An environment for one invocation: a free one at once; otherwise the invocation queues (first
   * come, first served) and an environment is created for it, within the concurrency limit. A
   * queued invocation takes whichever comes first, an environment finishing its invocation or the
   * one created for it; a creation that is overtaken joins the pool warm. (AWS routes the request to
   * the new environment; locally, where every environment shares the machine's cores, waiting out
   * a cold start when another environment frees up milliseconds later only adds latency. Which
   * environment serves an invocation is not observable by the function.) A creation that fails
   * fails the first queued invocation with its init error; past `maxWaitMs` an invocation is
   * throttled.
   */
  private checkout(): Promise<Environment> {
    const idle = this.environments.find((environment) => !environment.busy && this.isCurrent(environment));
    if (idle) {
      idle.busy = true;
      return Promise.resolve(idle);
    }
    return new Promise<Environment>((resolve, reject) => {
      const ticket: Ticket = {
        queuedAt: performance.now(),
        resolve: (environment) => {
          clearTimeout(timer);
          resolve(environment);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        const index = this.queue.indexOf(ticket);
        if (index < 0) return;
        this.queue.splice(index, 1);
        this.stats.throttles++;
        reject(new LambdaThrottledError(this.config.functionName));
      }, this.maxWaitMs);
      this.queue.push(ticket);
      this.scaleUp();
    });
  }

  /**
   * Starts creations for queued invocations, within the concurrency limit, one at a time per
   * function. Locally a creation costs ~0.2 s of the CPU that every environment and engine shares,
   * so one is started only when the queue would take longer to drain on the environments there are
   * than a cold start takes: queued × duration / environments > the function's mean init time
   * (counted 4x while the machine is saturated), or once an invocation has waited past twice the
   * init time (at least 1 s); a function with no live environment creates one at once. Each new
   * environment's effect on the queue is seen before the next is started, and a function of short
   * invocations (under 1 s) stops at two environments per core. Front-door functions thus absorb
   * a burst on a few warm environments instead of creating dozens whose inits take the cores from
   * the invocations they were meant to serve; long ones (workers, waiting on a model) scale out as
   * their invocations queue. Throttling is unchanged: it follows the concurrency limit, and a
   * queued invocation waits at most `maxWaitMs`. Re-checked as the queue waits.
   */
  private scaleUp(): void {
    const oldest = this.queue[0];
    if (!oldest || this.stopped) return;
    const live = this.environments.filter((environment) => this.isCurrent(environment)).length;
    const saturated = machineSaturated();
    // On a saturated machine an init takes its CPU from everything else: count it as costlier.
    const initMs = (this.meanInitMs || DEFAULT_INIT_ESTIMATE_MS) * (saturated ? SATURATED_INIT_FACTOR : 1);
    const overdueAfterMs = Math.max(1_000, 2 * initMs);
    // How long an invocation takes: the recent mean, or longer while the running ones already took longer.
    const now = performance.now();
    const durationMs = this.environments.reduce((longest, environment) => Math.max(longest, environment.pending ? now - environment.pending.since : 0), this.meanDurationMs);
    while (this.creatingOnDemand < this.queue.length && this.environments.length + this.creating < this.concurrencyLimit) {
      const servers = live + this.creating;
      const drainMs = (this.queue.length * durationMs) / Math.max(1, servers);
      // One creation at a time per function: each new environment's effect on the queue is seen
      // before the next is started (locally its init takes the cores the queue is waiting for).
      const overdue = now - oldest.queuedAt >= overdueAfterMs;
      if (servers > 0 && (this.creatingOnDemand > 0 || (drainMs <= initMs && !overdue))) break;
      // Short invocations on a few environments already keep every core busy: more only add inits.
      if (servers >= SHORT_FUNCTION_ENVIRONMENTS && durationMs < SHORT_INVOCATION_MS) break;
      this.creating++;
      this.creatingOnDemand++;
      void this.createOnDemand();
    }
    if (this.queue.length > this.creatingOnDemand && !this.scaleUpTimer) {
      // Re-check while invocations wait (durations and the saturation change as they do).
      this.scaleUpTimer = setTimeout(() => {
        this.scaleUpTimer = undefined;
        this.scaleUp();
      }, Math.min(250, Math.max(10, durationMs)));
      this.scaleUpTimer.unref();
    }
  }

  private async createOnDemand(): Promise<void> {
    const generation = this.generation;
    let slot = false;
    try {
      await creation.acquire();
      slot = true;
      // While this waited for a slot, the queue may have been served by environments coming free.
      if (this.queue.length === 0 || this.stopped) return;
      await this.addEnvironment('invocation', generation);
    } catch (error) {
      this.queue.shift()?.reject(error as Error);
    } finally {
      if (slot) creation.release();
      this.creating--;
      this.creatingOnDemand--;
      this.scaleUp();
    }
  }

  /** Creates an environment and adds it to the pool (offered to the queue), unless the code or the function changed meanwhile. */
  private async addEnvironment(reason: 'invocation' | 'prewarm', generation: number): Promise<void> {
    const environment = await this.create(reason);
    if (this.stopped || generation !== this.generation) {
      this.kill(environment);
      return;
    }
    this.environments.push(environment);
    this.offer(environment);
  }

  /** Alive and running the current code. */
  private isCurrent(environment: Environment): boolean {
    return !environment.dead && environment.generation === this.generation;
  }

  /** Hands a free environment to the first queued invocation, or leaves it idle. */
  private offer(environment: Environment): void {
    const ticket = this.queue.shift();
    environment.busy = Boolean(ticket);
    ticket?.resolve(environment);
  }

  private create(reason: 'invocation' | 'prewarm'): Promise<Environment> {
    const [file, handlerName] = splitHandler(this.config.handler);
    const entry = resolveEntry(this.config.codeDir, file);
    machineSaturated.watch();
    const transport = this.config.transport?.connect();
    const worker = new Worker(BOOTSTRAP, {
      // A plain Node environment, as on Lambda: no loaders inherited from the runtime's own process.
      execArgv: [],
      env: { ...this.config.environment },
      workerData: {
        entry,
        handlerName,
        functionName: this.config.functionName,
        functionArn: this.config.arn,
        memorySize: this.config.memorySize,
        logGroupName: `/aws/lambda/${this.config.functionName}`,
        runtimeModulesFrom: RUNTIME_MODULES_FROM,
        cpuNice: this.config.cpuNice ?? 0,
        ...(this.config.compileCacheDir ? { compileCacheDir: this.config.compileCacheDir } : {}),
        ...(transport ? { transport: { port: transport, origins: this.config.transport!.origins } } : {}),
      },
      ...(transport ? { transferList: [transport] } : {}),
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: Math.max(64, this.config.memorySize) },
    });
    const environment: Environment = { id: randomUUID().slice(0, 8), worker, generation: this.generation, busy: false, dead: false };
    this.initializing.add(worker);
    for (const stream of [worker.stdout, worker.stderr]) {
      createInterface({ input: stream }).on('line', (line) => this.log(this.config.functionName, line));
    }
    if (reason === 'invocation') this.stats.coldStarts++;
    else this.stats.prewarmed++;
    return new Promise((resolve, reject) => {
      // Until the module has loaded, an exit, a crash or a hang fails the cold start (instead of never settling).
      let ready = false;
      const initFailed = (errorType: string, message: string) => {
        this.initializing.delete(worker);
        clearTimeout(initTimer);
        void worker.terminate();
        reject(new LambdaInvocationError(this.config.functionName, errorType, message));
      };
      const initTimer = setTimeout(() => initFailed('Sandbox.Timedout', `Init timed out after ${(INIT_LIMIT_MS / 1000 + this.config.timeoutSeconds).toFixed(2)} seconds`), INIT_LIMIT_MS + this.config.timeoutSeconds * 1000);
      worker.once('message', (message: { type: string; initMs: number; initCpuUs?: number; error?: { errorType: string; errorMessage: string } }) => {
        ready = true;
        this.initializing.delete(worker);
        clearTimeout(initTimer);
        this.stats.initMsTotal += message.initMs;
        this.meanInitMs = recentMean(this.meanInitMs, message.initMs);
        this.stats.initCpuMsTotal += (message.initCpuUs ?? 0) / 1000;
        if (message.error) {
          const { errorType } = message.error;
          initFailed(errorType.startsWith('Runtime.') ? errorType : `Runtime.${errorType}`, message.error.errorMessage);
          return;
        }
        worker.on('message', (reply: { type: string; id: string; cpuUs?: number; result?: unknown; error?: { errorType: string; errorMessage: string; stack?: string[] } }) => {
          const pending = environment.pending;
          if (!pending || pending.id !== reply.id) return;
          clearTimeout(pending.timer);
          this.stats.invokeCpuMsTotal += (reply.cpuUs ?? 0) / 1000;
          if (reply.type === 'result') pending.resolve(reply.result);
          else pending.reject(new LambdaInvocationError(this.config.functionName, reply.error?.errorType ?? 'Error', reply.error?.errorMessage ?? '', reply.error?.stack));
        });
        resolve(environment);
      });
      worker.on('error', (error) => (ready ? this.crash(environment, 'Runtime.UnhandledError', error.message) : initFailed('Runtime.UnhandledError', error.message)));
      worker.on('exit', (code) => (ready ? this.crash(environment, 'Runtime.ExitError', `Runtime exited with code ${code}`) : initFailed('Runtime.ExitError', `Runtime exited with code ${code}`)));
    });
  }

  private crash(environment: Environment, errorType: string, message: string): void {
    if (environment.dead) return; // ended on purpose (timeout, reload, shutdown)
    this.stats.crashes++;
    this.log(this.config.functionName, `environment ${environment.id} crashed: ${errorType}: ${message}`);
    environment.dead = true;
    this.remove(environment);
    const pending = environment.pending;
    if (pending) {
      clearTimeout(pending.timer);
      pending.reject(new LambdaInvocationError(this.config.functionName, errorType, message));
    }
    this.replenish();
  }

  private kill(environment: Environment): void {
    environment.dead = true;
    this.remove(environment);
    void environment.worker.terminate();
  }

  private remove(environment: Environment): void {
    const index = this.environments.indexOf(environment);
    if (index >= 0) this.environments.splice(index, 1);
  }
}

const splitHandler = (handler: string): [string, string] => {
  const dot = handler.lastIndexOf('.');
  return [handler.slice(0, dot), handler.slice(dot + 1)];
};

const resolveEntry = (codeDir: string, file: string): string => {
  const found = ['.mjs', '.js', '.cjs'].map((extension) => path.join(codeDir, file + extension)).find((candidate) => existsSync(candidate));
  if (!found) throw new LambdaInvocationError(path.basename(codeDir), 'Runtime.ImportModuleError', `Cannot find handler file ${file} in ${codeDir}`);
  return found;
};
