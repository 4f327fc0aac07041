import { credentialExpired, DELIVERY_DEFAULTS, dropExpired, lastSeqOf, statusMessage, type DeliveredTask } from './delivery.ts';
import type { ProgressEntry } from './model.ts';
import type { ConnectionStore, Pusher, Subscription, TaskStore } from './ports.ts';
import { packProgress } from './progress-batch.ts';

/** Dependencies of the worker's live sender. */
export interface LiveDeliveryDeps {
  /** Read only for a subscriber that resumes before what the sender holds in memory. */
  readonly tasks: Pick<TaskStore, 'listProgress'>;
  readonly connections: Pick<ConnectionStore, 'listSubscriptions' | 'unsubscribe' | 'removeConnection'>;
  readonly pusher: Pusher;
  /** A failed query or push; delivery failures never fail the task (subscribers can resume). */
  readonly onError: (error: unknown, connectionId: string) => void;
}

/** Schedules the sender's deferred subscriber query (a test drives it with a modelled clock). */
export interface LiveTimers {
  set(callback: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

/** Tunables of the worker's live sender. */
export interface LiveDeliveryOptions {
  /**
   * Least time between two subscriber queries while the task runs. A subscriber that appears
   * meanwhile is found by the next query, at most this long after the entry it lacks was written,
   * and gets everything from its `after` then. @default 1000
   */
  readonly refreshMs: number;
  /** Bytes of this attempt's newest entries kept in memory to replay to new subscribers without a read. @default 1 MB */
  readonly bufferBytes: number;
  /** Entries read per page for a subscriber resuming before the buffer. @default 1000 */
  readonly pageSize: number;
  /** Entries are packed into `progressBatch` messages of at most this size when a subscriber is behind. */
  readonly maxBatchBytes: number;
  /** Status messages above this size omit `result`. */
  readonly maxMessageBytes: number;
  /** @default Date.now */
  readonly now: () => number;
  /** @default setTimeout / clearTimeout */
  readonly timers: LiveTimers;
}

const defaults: LiveDeliveryOptions = {
  refreshMs: 1_000,
  bufferBytes: 1024 * 1024,
  pageSize: DELIVERY_DEFAULTS.pageSize,
  maxBatchBytes: DELIVERY_DEFAULTS.maxBatchBytes,
  maxMessageBytes: DELIVERY_DEFAULTS.maxMessageBytes,
  now: () => Date.now(),
  timers: { set: (callback, ms) => setTimeout(callback, ms), clear: (handle) => clearTimeout(handle as NodeJS.Timeout) },
};

/** One connection as this sender knows it. */
interface Peer {
  readonly connectionId: string;
  credentialExpiresAt: number | undefined;
  /** The highest seq this sender has sent there (the subscription's `after` before the first push). */
  sent: number;
  statusSent: boolean;
  /** Still subscribed as of the last query. */
  active: boolean;
  /** Answered 410, or its credential expired: never pushed to again by this sender. */
  dropped: boolean;
  /** A delivery round is queued and has not started yet (it will see everything known when it does). */
  queued: boolean;
  /** This connection's pushes, one after another, so that they arrive in order. */
  chain: Promise<void>;
}

/**
 * The running worker's sender of its task's progress: the only live sender, with no delivery
 * bookkeeping in the store (no lease, cursor or flag writes; see the wire rule in `delivery.ts`).
 *
 * For one attempt it keeps in memory the connections it knows, the highest seq it sent to each,
 * and the newest entries (`bufferBytes`, seeded with the entries earlier attempts committed), so a
 * new subscriber is replayed from its subscription's `after` without a read when the buffer covers
 * it (otherwise from `listProgress`), then follows live. Pushes to one connection go through one
 * promise chain, so they arrive in order; a connection that lags gets its pending entries packed.
 *
 * Subscribers are queried (strongly consistent) at most once per `refreshMs` while entries are
 * written, with a trailing query for entries written since the last one started, and always once
 * after the terminal write. With one subscriber and a write every 200 ms that is 0.2 queries and
 * no store writes per entry. Why no entry is missed: every committed entry is followed by a query
 * that starts after it; a subscription written before that query is found by it and replayed from
 * its `after`; one written after it is replayed by its own subscribe handler, whose read of the
 * task follows the subscription write and so sees that entry (and, after the terminal write, the
 * terminal status).
 *
 * A subscription whose connection's credential has expired is never pushed to: it is removed and
 * the connection closed (`dropExpired`). A connection that answers `410` is removed; neither ever
 * fails the task.
 */
export class LiveDelivery {
  private readonly options: LiveDeliveryOptions;
  private readonly peers = new Map<string, Peer>();
  /** Committed entries, contiguous and ascending, the newest `bufferBytes` of them. */
  private readonly buffer: { entry: ProgressEntry; bytes: number }[] = [];
  private bufferedBytes = 0;
  /** The highest committed seq this sender knows. */
  private latest: number;
  /** `latest` when the last subscriber query started: entries above it need another query. */
  private queriedThrough = -1;
  private lastQueryAt = Number.NEGATIVE_INFINITY;
  private query: Promise<void> | undefined;
  private timer: unknown;
  private terminal: DeliveredTask | undefined;
  private closed = false;

  /**
   * @param committed the task's `progressSeq` when this attempt claimed it.
   * @param earlier entries earlier attempts committed (ascending, up to `committed`), to seed the buffer.
   */
  public constructor(
    private readonly deps: LiveDeliveryDeps,
    private readonly taskId: string,
    committed: number,
    earlier: readonly ProgressEntry[] = [],
    options: Partial<LiveDeliveryOptions> = {},
  ) {
    this.options = { ...defaults, ...options };
    this.latest = committed;
    for (const entry of earlier) if (entry.seq <= committed) this.remember(entry);
  }

  /** An entry was committed (call in seq order). Pushes it to the known subscribers; never throws. */
  public progress(entry: ProgressEntry): void {
    if (this.closed || this.terminal || entry.seq <= this.latest) return;
    this.remember(entry);
    this.latest = entry.seq;
    for (const peer of this.peers.values()) this.deliverSoon(peer);
    this.refreshSoon();
  }

  /**
   * The task is terminal (its state and every entry up to `task.progressSeq` committed): queries
   * the subscribers once more, sends each what it lacks and then the status, and waits for it.
   */
  public async finish(task: DeliveredTask): Promise<void> {
    if (this.closed || this.terminal) return;
    this.terminal = task;
    this.latest = Math.max(this.latest, task.progressSeq);
    this.cancelTimer();
    await this.query; // one that started before the terminal write does not count
    await this.runQuery();
    for (const peer of this.peers.values()) this.deliverSoon(peer);
    await this.settled();
    this.stop();
  }

  /**
   * The attempt ends without a terminal state (a retry, a lost lease): the entries written since
   * the last query are still offered to subscribers that appeared meanwhile, then the sender stops.
   */
  public async close(): Promise<void> {
    if (this.closed) return;
    this.cancelTimer();
    await this.query;
    if (!this.terminal && this.latest > this.queriedThrough) await this.runQuery();
    await this.settled();
    this.stop();
  }

  private stop(): void {
    this.closed = true;
    this.cancelTimer();
  }

  /** Waits for the query in flight and every push queued so far. */
  public async settled(): Promise<void> {
    await this.query;
    await Promise.all([...this.peers.values()].map((peer) => peer.chain));
  }

  private remember(entry: ProgressEntry): void {
    const last = this.buffer.at(-1);
    if (last && entry.seq !== last.entry.seq + 1) {
      this.buffer.length = 0; // keep the buffer contiguous
      this.bufferedBytes = 0;
    }
    const bytes = Buffer.byteLength(JSON.stringify(entry.data ?? null)) + 32;
    this.buffer.push({ entry, bytes });
    this.bufferedBytes += bytes;
    while (this.buffer.length > 1 && this.bufferedBytes > this.options.bufferBytes) this.bufferedBytes -= this.buffer.shift()!.bytes;
  }

  /** Queries now if the last query is `refreshMs` old, else once it is; nothing if no entry needs one. */
  private refreshSoon(): void {
    if (this.closed || this.terminal || this.query || this.timer !== undefined || this.latest <= this.queriedThrough) return;
    const wait = this.lastQueryAt + this.options.refreshMs - this.options.now();
    if (wait <= 0) {
      void this.runQuery();
      return;
    }
    this.timer = this.options.timers.set(() => {
      this.timer = undefined;
      this.refreshSoon();
    }, wait);
  }

  private cancelTimer(): void {
    if (this.timer === undefined) return;
    this.options.timers.clear(this.timer);
    this.timer = undefined;
  }

  /** One subscriber query (never two at once); a failed one is retried by the next `refreshSoon`. */
  private runQuery(): Promise<void> {
    if (this.query) return this.query;
    const before = this.queriedThrough;
    this.queriedThrough = this.latest;
    this.lastQueryAt = this.options.now();
    this.query = this.deps.connections
      .listSubscriptions(this.taskId)
      .then(
        (subscriptions) => this.apply(subscriptions),
        (error: unknown) => {
          this.queriedThrough = before;
          this.deps.onError(error, '*');
        },
      )
      .finally(() => {
        this.query = undefined;
        this.refreshSoon();
      });
    return this.query;
  }

  /** Adopts a query's answer: new subscribers are replayed from their `after`; vanished ones stop. */
  private apply(subscriptions: readonly Subscription[]): void {
    const now = this.options.now();
    const current = new Set<string>();
    for (const subscription of subscriptions) {
      current.add(subscription.connectionId);
      let peer = this.peers.get(subscription.connectionId);
      if (peer?.dropped) continue;
      if (!peer) {
        peer = { connectionId: subscription.connectionId, credentialExpiresAt: undefined, sent: subscription.after, statusSent: false, active: true, dropped: false, queued: false, chain: Promise.resolve() };
        this.peers.set(subscription.connectionId, peer);
      }
      peer.active = true;
      peer.credentialExpiresAt = subscription.credentialExpiresAt;
      if (credentialExpired(subscription, now)) this.expire(peer);
      else this.deliverSoon(peer);
    }
    for (const peer of this.peers.values()) if (!current.has(peer.connectionId)) peer.active = false;
  }

  /** Queues a delivery round on the connection's chain unless one is already waiting. */
  private deliverSoon(peer: Peer): void {
    if (peer.queued || !peer.active || peer.dropped) return;
    peer.queued = true;
    peer.chain = peer.chain
      .then(() => {
        peer.queued = false;
        return this.deliver(peer);
      })
      .catch((error: unknown) => this.deps.onError(error, peer.connectionId));
  }

  /** Sends the connection every entry it lacks up to the latest, then (terminal) the status. */
  private async deliver(peer: Peer): Promise<void> {
    while (peer.active && !peer.dropped && peer.sent < this.latest) {
      const upTo = this.latest;
      const entries = await this.entriesAfter(peer.sent, upTo);
      if (entries.length === 0) return; // the log lacks them (never expected): no status after a hole
      for (const message of packProgress(this.taskId, entries, this.options.maxBatchBytes)) {
        if (!this.mayPush(peer)) return;
        if ((await this.deps.pusher.post(peer.connectionId, message)) === 'gone') return this.gone(peer);
        peer.sent = lastSeqOf(message);
      }
    }
    const terminal = this.terminal;
    if (!terminal || peer.statusSent || peer.sent < terminal.progressSeq || !this.mayPush(peer)) return;
    if ((await this.deps.pusher.post(peer.connectionId, statusMessage(terminal, this.options.maxMessageBytes))) === 'gone') return this.gone(peer);
    peer.statusSent = true;
  }

  /** Whether the connection may get a push now; one whose credential expired is dropped instead. */
  private mayPush(peer: Peer): boolean {
    if (!peer.active || peer.dropped) return false;
    if (peer.credentialExpiresAt !== undefined && peer.credentialExpiresAt <= this.options.now()) {
      this.expire(peer);
      return false;
    }
    return true;
  }

  private expire(peer: Peer): void {
    if (peer.dropped) return;
    peer.dropped = true;
    // Off the connection's chain: the chain may be the caller.
    dropExpired(this.deps, { taskId: this.taskId, connectionId: peer.connectionId }).catch((error: unknown) => this.deps.onError(error, peer.connectionId));
  }

  private async gone(peer: Peer): Promise<void> {
    peer.dropped = true;
    await this.deps.connections.removeConnection(peer.connectionId);
  }

  /** Committed entries with `after < seq <= upTo`, from memory when it holds `after + 1`, else read. */
  private async entriesAfter(after: number, upTo: number): Promise<ProgressEntry[]> {
    const first = this.buffer[0]?.entry.seq;
    if (first !== undefined && first <= after + 1 && this.buffer.at(-1)!.entry.seq > after) {
      return this.buffer.slice(after + 1 - first, after + 1 - first + this.options.pageSize).map(({ entry }) => entry).filter((entry) => entry.seq <= upTo);
    }
    return (await this.deps.tasks.listProgress(this.taskId, after, this.options.pageSize)).filter((entry) => entry.seq <= upTo);
  }
}
