import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { LambdaInvocationError, LambdaThrottledError } from './errors.ts';

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
}

/** Per-function counters. */
export interface FunctionStats {
  invocations: number;
  errors: number;
  timeouts: number;
  throttles: number;
  /** Environments that died (threw outside an invocation, exited, ran out of memory) after init. */
  crashes: number;
  coldStarts: number;
  initMsTotal: number;
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
  pending?: { id: string; resolve: (value: unknown) => void; reject: (error: Error) => void; timer: NodeJS.Timeout };
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
  const queue: (() => void)[] = [];
  return {
    acquire: async (): Promise<void> => {
      if (active < limit) {
        active++;
        return;
      }
      await new Promise<void>((resolve) => queue.push(resolve));
    },
    release: (): void => {
      const next = queue.shift();
      if (next) next();
      else active--;
    },
  };
})();
/** The project's package.json: where the emulated runtime's provided modules (AWS SDK) resolve from. */
const RUNTIME_MODULES_FROM = pathToFileURL(path.resolve(import.meta.dirname, '../../package.json')).href;
const DEFAULT_CONCURRENCY = 50;
/** Lambda's Init phase limit; a cold start gets it on top of the function timeout before it fails. */
const INIT_LIMIT_MS = 10_000;

/**
 * One function's execution environments: worker threads, each running the bundled handler with its
 * own `process.env`. Warm environments are reused; a cold start is counted when one is created;
 * an invocation past its timeout ends its environment (as on AWS); a handler that throws, rejects,
 * hangs or exits never affects the runtime or other invocations.
 */
export class LocalFunction {
  public readonly stats: FunctionStats = { invocations: 0, errors: 0, timeouts: 0, throttles: 0, crashes: 0, coldStarts: 0, initMsTotal: 0 };
  private readonly environments: Environment[] = [];
  private readonly waiters: (() => void)[] = [];
  private creating = 0;
  private generation = 0;
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
    const id = randomUUID();
    try {
      return await new Promise<unknown>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.stats.timeouts++;
          this.kill(environment);
          reject(new LambdaInvocationError(this.config.functionName, 'Sandbox.Timedout', `Task timed out after ${this.config.timeoutSeconds.toFixed(2)} seconds`));
        }, this.config.timeoutSeconds * 1000);
        environment.pending = { id, resolve, reject, timer };
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
      environment.busy = false;
      if (environment.generation !== this.generation) this.kill(environment);
      this.waiters.shift()?.();
    }
  }

  /**
   * Swaps in new code (hot reload): idle environments end now, busy ones when their invocation
   * finishes; the next invocation cold-starts on the new code.
   */
  public replaceCode(codeDir: string): void {
    this.config = { ...this.config, codeDir };
    this.generation++;
    for (const environment of [...this.environments]) if (!environment.busy) this.kill(environment);
  }

  /** Waits until no invocation is running, or `timeoutMs` passed. */
  public async drain(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.busyCount > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  /** Ends every environment (used on reload and shutdown). */
  public async shutdown(): Promise<void> {
    await Promise.all(
      this.environments.splice(0).map((environment) => {
        environment.dead = true;
        return environment.worker.terminate();
      }),
    );
  }

  private async checkout(): Promise<Environment> {
    const started = Date.now();
    for (;;) {
      const idle = this.environments.find((environment) => !environment.busy && !environment.dead && environment.generation === this.generation);
      if (idle) {
        idle.busy = true;
        return idle;
      }
      if (this.environments.length + this.creating < this.concurrencyLimit) {
        this.creating++;
        let slot = false;
        try {
          await creation.acquire();
          slot = true;
          // While waiting for the slot, an environment may have come free: prefer it.
          const freed = this.environments.find((environment) => !environment.busy && !environment.dead && environment.generation === this.generation);
          if (freed) {
            freed.busy = true;
            return freed;
          }
          const environment = await this.create();
          environment.busy = true;
          this.environments.push(environment);
          return environment;
        } finally {
          if (slot) creation.release();
          this.creating--;
        }
      }
      const waited = Date.now() - started;
      if (waited >= this.maxWaitMs) {
        this.stats.throttles++;
        throw new LambdaThrottledError(this.config.functionName);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.maxWaitMs - waited);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private create(): Promise<Environment> {
    const [file, handlerName] = splitHandler(this.config.handler);
    const entry = resolveEntry(this.config.codeDir, file);
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
      },
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: Math.max(64, this.config.memorySize) },
    });
    const environment: Environment = { id: randomUUID().slice(0, 8), worker, generation: this.generation, busy: false, dead: false };
    for (const stream of [worker.stdout, worker.stderr]) {
      createInterface({ input: stream }).on('line', (line) => this.log(this.config.functionName, line));
    }
    this.stats.coldStarts++;
    return new Promise((resolve, reject) => {
      // Until the module has loaded, an exit, a crash or a hang fails the cold start (instead of never settling).
      let ready = false;
      const initFailed = (errorType: string, message: string) => {
        clearTimeout(initTimer);
        void worker.terminate();
        reject(new LambdaInvocationError(this.config.functionName, errorType, message));
      };
      const initTimer = setTimeout(() => initFailed('Sandbox.Timedout', `Init timed out after ${(INIT_LIMIT_MS / 1000 + this.config.timeoutSeconds).toFixed(2)} seconds`), INIT_LIMIT_MS + this.config.timeoutSeconds * 1000);
      worker.once('message', (message: { type: string; initMs: number; error?: { errorType: string; errorMessage: string } }) => {
        ready = true;
        clearTimeout(initTimer);
        this.stats.initMsTotal += message.initMs;
        if (message.error) {
          const { errorType } = message.error;
          initFailed(errorType.startsWith('Runtime.') ? errorType : `Runtime.${errorType}`, message.error.errorMessage);
          return;
        }
        worker.on('message', (reply: { type: string; id: string; result?: unknown; error?: { errorType: string; errorMessage: string; stack?: string[] } }) => {
          const pending = environment.pending;
          if (!pending || pending.id !== reply.id) return;
          clearTimeout(pending.timer);
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
