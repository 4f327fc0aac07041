import type { ProgressEntry } from './model.ts';

/** Tunables of progress coalescing. */
export interface ProgressWriterOptions {
  /** Minimum time between two writes, in ms: bounds writes and pushes per task per second. */
  readonly intervalMs: number;
}

/**
 * Coalesces a task's progress reports into at most one write per `intervalMs`, however fast the
 * task reports. Reports that arrive while a write is pending are folded with `merge`. Sequence
 * numbers are assigned here, contiguously, starting after `startSeq`.
 */
export class ProgressWriter<P> {
  private pending: { data: P } | undefined;
  private seq: number;
  private lastWrite = 0;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private failure: unknown;

  public constructor(
    startSeq: number,
    private readonly write: (entry: ProgressEntry) => Promise<void>,
    private readonly merge: (pending: P, next: P) => P,
    private readonly options: ProgressWriterOptions,
  ) {
    this.seq = startSeq;
  }

  /** The last sequence number handed to `write`. */
  public get lastSeq(): number {
    return this.seq;
  }

  /** Queues a report. Rejects once a write has failed (for example because the task was cancelled). */
  public async report(data: P): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    this.pending = this.pending ? { data: this.merge(this.pending.data, data) } : { data };
    if (this.timer) return;
    const wait = Math.max(0, this.lastWrite + this.options.intervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flushPending();
    }, wait);
  }

  /** Writes whatever is pending now and waits for every write to settle; rethrows a write failure. */
  public async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.flushPending();
    await this.chain;
    if (this.failure !== undefined) throw this.failure;
  }

  /** Drops anything pending without writing it. */
  public discard(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
  }

  private flushPending(): void {
    const pending = this.pending;
    if (!pending || this.failure !== undefined) return;
    this.pending = undefined;
    const entry: ProgressEntry = { seq: ++this.seq, data: pending.data, at: new Date().toISOString() };
    this.lastWrite = Date.now();
    this.chain = this.chain.then(() =>
      this.write(entry).catch((error: unknown) => {
        this.failure = error;
      }),
    );
  }
}
