// The load generator: a child process of its own (clients live outside the system under test,
// and 10,000 WebSockets need their own file descriptors). The parent sends one command over IPC;
// the child answers with a summary. Every loop is bounded in count and in time.
//
// Commands: `offload-sessions` (WebSocket connect, HTTP submit, subscribe, stream to the terminal
// status), `sync-sessions` (one streamed HTTP request per session against the baseline), `ack`
// (open-loop submits at a fixed rate), `submit` (submit a batch and return the task ids),
// `sequential` (submits one at a time: the idle, warm ack latency).
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket from 'ws';
import { countBy, sleep, summarize, type LatencySummary } from './stats.ts';

/** What every session submits. */
export interface TaskInput {
  readonly prompt: string;
  readonly maxTokens: number;
  readonly model: string;
}

export interface OffloadSessionsCommand {
  readonly kind: 'offload-sessions';
  readonly httpUrl: string;
  readonly wsUrl: string;
  /** API keys; session i uses keys[i % keys.length]. */
  readonly keys: readonly string[];
  readonly sessions: number;
  readonly connectRate: number;
  readonly maxHandshakes: number;
  readonly submitRate: number;
  /** Submits in flight beyond this wait (so an overloaded server is driven at its pace, not buried). */
  readonly maxInflightSubmits: number;
  readonly input: TaskInput;
  /** Whole-level time budget (connect + submit + stream). */
  readonly deadlineMs: number;
  /** Sessions whose progress log is fetched afterwards to compute delivery latency. */
  readonly deliverySample: number;
  /**
   * When the sessions are done (and their sockets closed), tell the parent (`{ phase: 'streamed' }`)
   * and wait for its `{ continue: true }` before the delivery-sample reads, so the parent can count
   * the sessions' own calls without the measurement's reads. @default false
   */
  readonly checkpoint?: boolean;
}

export interface SyncSessionsCommand {
  readonly kind: 'sync-sessions';
  readonly url: string;
  readonly sessions: number;
  readonly submitRate: number;
  readonly input: TaskInput;
  /** A request with no byte for this long is abandoned (a typical gateway/LB timeout). */
  readonly idleTimeoutMs: number;
  readonly deadlineMs: number;
}

export interface AckCommand {
  readonly kind: 'ack';
  readonly httpUrl: string;
  readonly keys: readonly string[];
  readonly rate: number;
  readonly durationMs: number;
  readonly input: TaskInput;
  /** Requests in flight beyond this are counted as not sent (the client cannot keep up). */
  readonly maxInflight: number;
}

export interface SubmitCommand {
  readonly kind: 'submit';
  readonly httpUrl: string;
  readonly keys: readonly string[];
  readonly count: number;
  readonly rate: number;
  readonly input: TaskInput;
}

export interface SequentialCommand {
  readonly kind: 'sequential';
  readonly httpUrl: string;
  readonly keys: readonly string[];
  readonly count: number;
  /** Pause between one answer and the next submit. */
  readonly gapMs: number;
  readonly input: TaskInput;
}

export type LoadCommand = OffloadSessionsCommand | SyncSessionsCommand | AckCommand | SubmitCommand | SequentialCommand;

/** Result of a sessions command (both architectures). */
export interface SessionsResult {
  readonly sessions: number;
  readonly connected: number;
  readonly acked: number;
  readonly held: number;
  readonly errors: number;
  readonly errorsByKind: Record<string, number>;
  readonly retries: Record<string, number>;
  readonly ack: LatencySummary;
  readonly firstProgress: LatencySummary;
  readonly completion: LatencySummary;
  readonly delivery: LatencySummary;
  readonly connectMs: number;
  readonly submitMs: number;
  readonly totalMs: number;
  readonly clientEventLoopP99Ms: number | null;
  readonly clientCpuPct: number;
}

export interface AckResult {
  readonly rate: number;
  readonly sent: number;
  readonly notSent: number;
  readonly accepted: number;
  readonly errorsByKind: Record<string, number>;
  readonly latency: LatencySummary;
  readonly achievedRate: number;
}

export interface SequentialResult {
  readonly count: number;
  readonly accepted: number;
  readonly errorsByKind: Record<string, number>;
  readonly latency: LatencySummary;
}

export interface SubmitResult {
  /** Accepted tasks with the index (into the command's keys) of the key that submitted each. */
  readonly tasks: { taskId: string; keyIndex: number }[];
  readonly firstSubmitAt: number;
  readonly lastAckAt: number;
  readonly errorsByKind: Record<string, number>;
  readonly ack: LatencySummary;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256, keepAliveMsecs: 10_000 });

/** Launches `count` operations at a fixed rate (open loop: launches do not wait for completions). */
const pace = async (count: number, rate: number, deadline: number, launch: (index: number, intendedAt: number) => void, gate?: () => Promise<void>): Promise<number> => {
  const start = performance.now();
  let next = 0;
  while (next < count && Date.now() < deadline) {
    const now = performance.now();
    const due = Math.min(count, Math.floor(((now - start) * rate) / 1000) + 1);
    while (next < due && Date.now() < deadline) {
      if (gate) await gate();
      if (Date.now() >= deadline) break;
      launch(next, start + (next * 1000) / rate);
      next++;
    }
    await sleep(Math.max(1, Math.min(20, 1000 / rate)));
  }
  return next;
};

interface HttpAnswer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** Agent of the after-the-level reads, so they never queue behind the level's own requests. */
const readAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });

/**
 * One HTTP request over a keep-alive pool. `timeoutMs` bounds the whole request, including any
 * wait for a pooled socket.
 */
const request = (url: string, method: string, headers: Record<string, string>, body: string | undefined, timeoutMs: number, pool: http.Agent = agent): Promise<HttpAnswer> =>
  new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: body !== undefined ? { ...headers, 'content-length': String(Buffer.byteLength(body)) } : headers, agent: pool }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', reject);
    });
    const timer = setTimeout(() => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })), timeoutMs);
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(body);
  });

const errorCode = (error: unknown): string => {
  const code = (error as { code?: string }).code;
  return code ?? ((error as Error).message || 'error').slice(0, 40);
};

/** Submits one task, retrying 429s (gateway throttle or tenant admission) with backoff. */
const submitTask = async (httpUrl: string, key: string, input: TaskInput, retries: Record<string, number>, deadline: number): Promise<{ taskId?: string; error?: string }> => {
  const body = JSON.stringify({ type: 'completion', input });
  for (let attempt = 0; attempt < 8; attempt++) {
    let answer: HttpAnswer;
    try {
      answer = await request(`${httpUrl}/v1/tasks`, 'POST', { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body, 30_000);
    } catch (error) {
      return { error: `submit-${errorCode(error)}` };
    }
    if (answer.status === 202) {
      try {
        return { taskId: (JSON.parse(answer.body) as { taskId: string }).taskId };
      } catch {
        return { error: 'submit-bad-json' };
      }
    }
    if (answer.status === 429 && Date.now() < deadline) {
      retries['submit-429'] = (retries['submit-429'] ?? 0) + 1;
      const retryAfter = Number(answer.headers['retry-after']);
      await sleep(Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : 200 * 2 ** attempt);
      continue;
    }
    return { error: `submit-http-${answer.status}` };
  }
  return { error: 'submit-429-exhausted' };
};

interface OffloadSession {
  ws?: WebSocket;
  key: string;
  taskId?: string;
  submitAt?: number;
  ackAt?: number;
  subscribedAt?: number;
  firstProgressAt?: number;
  lastSeq: number;
  /** Entries received again (resends the wire may carry; dropped, not errors). */
  duplicates?: number;
  received: { seq: number; at: number }[];
  doneAt?: number;
  error?: string;
  finished: boolean;
}

const now = (): number => performance.timeOrigin + performance.now();

const runOffloadSessions = async (command: OffloadSessionsCommand): Promise<SessionsResult> => {
  const started = Date.now();
  const deadline = started + command.deadlineMs;
  const retries: Record<string, number> = {};
  const sessions: OffloadSession[] = Array.from({ length: command.sessions }, (_, i) => ({ key: command.keys[i % command.keys.length]!, lastSeq: 0, received: [], finished: false }));
  let pendingDone = command.sessions;
  let allDone: () => void = () => undefined;
  const allDonePromise = new Promise<void>((resolve) => (allDone = resolve));
  const finish = (session: OffloadSession, error?: string): void => {
    if (session.finished) return;
    session.finished = true;
    if (error) session.error = error;
    if (--pendingDone === 0) allDone();
  };

  const onMessage = (session: OffloadSession, text: string): void => {
    const at = now();
    let message: Record<string, any>;
    try {
      message = JSON.parse(text) as Record<string, any>;
    } catch {
      return;
    }
    if (message.type === 'subscribed') session.subscribedAt ??= at;
    else if ((message.type === 'progress' || message.type === 'progressBatch') && message.taskId === session.taskId) {
      // As every client does (SPEC: at least once on the wire, in order): an entry at or below the
      // highest seq seen is a resend and is dropped; one beyond the next is a gap, an error.
      const entries: { seq: unknown }[] = message.type === 'progress' ? [message] : Array.isArray(message.entries) ? message.entries : [];
      for (const entry of entries) {
        const seq = Number(entry.seq);
        if (seq <= session.lastSeq) {
          session.duplicates = (session.duplicates ?? 0) + 1;
          continue;
        }
        if (seq !== session.lastSeq + 1 && !session.error) session.error = 'progress-gap';
        session.lastSeq = seq;
        session.firstProgressAt ??= at;
        session.received.push({ seq, at });
      }
    } else if (message.type === 'status' && message.taskId === session.taskId) {
      session.doneAt = at;
      finish(session, message.status === 'succeeded' ? session.error : `task-${String(message.status)}`);
    } else if (message.type === 'error') {
      finish(session, `ws-error-${String(message.status)}`);
    } else if (typeof message.message === 'string') {
      if (message.message === 'Too Many Requests' && session.taskId && !session.subscribedAt && Date.now() < deadline) {
        retries['subscribe-429'] = (retries['subscribe-429'] ?? 0) + 1;
        setTimeout(() => session.ws?.readyState === WebSocket.OPEN && session.ws.send(JSON.stringify({ action: 'subscribe', taskId: session.taskId, after: 0 })), 500);
      } else finish(session, `ws-gateway-${message.message.replace(/\s+/g, '-').toLowerCase()}`);
    }
  };

  // Phase 1: open every WebSocket (paced under the stage's connect rate; 429s retried with backoff).
  let handshakes = 0;
  let connected = 0;
  const connectOne = (session: OffloadSession, attempt: number): Promise<void> =>
    new Promise((resolve) => {
      handshakes++;
      const ws = new WebSocket(`${command.wsUrl}?token=${encodeURIComponent(session.key)}`, { handshakeTimeout: 30_000, perMessageDeflate: false });
      let settled = false;
      const settle = (): void => {
        if (!settled) {
          settled = true;
          handshakes--;
          resolve();
        }
      };
      ws.on('error', () => undefined);
      ws.once('open', () => {
        session.ws = ws;
        connected++;
        ws.on('message', (data) => onMessage(session, String(data)));
        ws.on('close', (code) => finish(session, `ws-closed-${code}`));
        settle();
      });
      ws.once('unexpected-response', (_request, response) => {
        const status = response.statusCode ?? 0;
        response.resume();
        ws.terminate();
        if (status === 429 && attempt < 6 && Date.now() < deadline) {
          retries['connect-429'] = (retries['connect-429'] ?? 0) + 1;
          handshakes--;
          settled = true;
          void sleep(250 * 2 ** attempt + Math.random() * 250).then(() => connectOne(session, attempt + 1)).then(resolve);
          return;
        }
        finish(session, `connect-http-${status}`);
        settle();
      });
      ws.once('error', (error) => {
        if (!session.ws) finish(session, `connect-${errorCode(error)}`);
        settle();
      });
    });
  const connecting: Promise<void>[] = [];
  const connectStart = Date.now();
  // Connections get at most 60% of the level's budget; the sessions connected by then go on.
  const connectDeadline = started + command.deadlineMs * 0.6;
  await pace(
    command.sessions,
    command.connectRate,
    connectDeadline,
    (index) => connecting.push(connectOne(sessions[index]!, 0)),
    async () => {
      while (handshakes >= command.maxHandshakes && Date.now() < connectDeadline) await sleep(5);
    },
  );
  await Promise.race([Promise.all(connecting), sleep(Math.max(0, connectDeadline - Date.now()))]);
  const connectMs = Date.now() - connectStart;

  // Phase 2: every connected session submits over HTTP (open loop at a fixed rate), then subscribes.
  const submitStart = Date.now();
  const live = sessions.filter((session) => session.ws && !session.finished);
  let submitting = 0;
  await pace(live.length, command.submitRate, deadline, (index, intendedAt) => {
    const session = live[index]!;
    session.submitAt = performance.timeOrigin + intendedAt;
    submitting++;
    void submitTask(command.httpUrl, session.key, command.input, retries, deadline).then(({ taskId, error }) => {
      submitting--;
      if (error || !taskId) return finish(session, error ?? 'submit-no-task');
      session.ackAt = now();
      session.taskId = taskId;
      if (session.ws?.readyState === WebSocket.OPEN) session.ws.send(JSON.stringify({ action: 'subscribe', taskId, after: 0 }));
      else finish(session, 'ws-closed-before-subscribe');
    });
  }, async () => {
    while (submitting >= command.maxInflightSubmits && Date.now() < deadline) await sleep(2);
  });
  for (const session of sessions) if (!session.ws && !session.finished) finish(session, 'not-connected-in-time');
  for (const session of sessions.filter((s) => s.ws && s.submitAt === undefined)) finish(session, 'submit-not-attempted');
  const submitMs = Date.now() - submitStart;

  // Phase 3: stream until every session has its terminal status, or the level's deadline.
  await Promise.race([allDonePromise, sleep(Math.max(0, deadline - Date.now()))]);
  for (const session of sessions) if (!session.finished) finish(session, session.taskId ? 'unfinished-at-deadline' : 'no-ack-at-deadline');
  const totalMs = Date.now() - started;
  if (command.checkpoint) {
    // The level is over: close every session (its $disconnect is part of the session), then let
    // the parent count before the measurement's own reads below.
    for (const session of sessions) session.ws?.terminate();
    await checkpoint('streamed');
  }

  // Phase 4: delivery latency = receipt time − the entry's `at` (stamped by the worker when it
  // wrote the entry), from the progress log of a sample of sessions; only live entries (written
  // after the client's subscription was confirmed) count, not replays.
  const succeeded = sessions.filter((session) => session.doneAt && !session.error);
  const step = Math.max(1, Math.floor(succeeded.length / Math.max(1, command.deliverySample)));
  const sample = succeeded.filter((_, index) => index % step === 0).slice(0, command.deliverySample);
  const delivery: number[] = [];
  let cursor = 0;
  const fetchEvents = async (): Promise<void> => {
    const readsUntil = Date.now() + 60_000;
    while (cursor < sample.length && Date.now() < readsUntil) {
      const session = sample[cursor++]!;
      try {
        const answer = await request(`${command.httpUrl}/v1/tasks/${session.taskId}/events?after=0&limit=1000`, 'GET', { authorization: `Bearer ${session.key}` }, undefined, 15_000, readAgent);
        if (answer.status !== 200) continue;
        const items = (JSON.parse(answer.body) as { items: { seq: number; at: string }[] }).items;
        const writtenAt = new Map(items.map((item) => [item.seq, Date.parse(item.at)]));
        for (const receipt of session.received) {
          const at = writtenAt.get(receipt.seq);
          if (at !== undefined && session.subscribedAt !== undefined && at >= session.subscribedAt) delivery.push(receipt.at - at);
        }
      } catch {
        // a failed read only shrinks the sample
      }
    }
  };
  await Promise.race([Promise.all(Array.from({ length: 16 }, fetchEvents)), sleep(75_000)]);
  readAgent.destroy();

  for (const session of sessions) session.ws?.terminate();
  agent.destroy();
  const errored = sessions.filter((session) => session.error);
  return {
    sessions: command.sessions,
    connected,
    acked: sessions.filter((session) => session.ackAt).length,
    held: sessions.length - errored.length,
    errors: errored.length,
    errorsByKind: countBy(errored.map((session) => session.error!)),
    retries,
    ack: summarize(sessions.filter((s) => s.ackAt && s.submitAt).map((s) => s.ackAt! - s.submitAt!)),
    firstProgress: summarize(sessions.filter((s) => s.firstProgressAt && s.submitAt).map((s) => s.firstProgressAt! - s.submitAt!)),
    completion: summarize(sessions.filter((s) => s.doneAt && s.submitAt).map((s) => s.doneAt! - s.submitAt!)),
    delivery: summarize(delivery),
    connectMs,
    submitMs,
    totalMs,
    ...clientLoad(),
  };
};

interface SyncSession {
  submitAt: number;
  firstByteAt?: number;
  firstProgressAt?: number;
  doneAt?: number;
  delivery: number[];
  error?: string;
}

const runSyncSessions = async (command: SyncSessionsCommand): Promise<SessionsResult> => {
  const started = Date.now();
  const deadline = started + command.deadlineMs;
  const body = JSON.stringify(command.input);
  const sessions: SyncSession[] = [];
  const running: Promise<void>[] = [];
  const one = (session: SyncSession): Promise<void> =>
    new Promise((resolve) => {
      const fail = (kind: string): void => {
        session.error ??= kind;
        resolve();
      };
      // A fresh connection per session, as independent browsers would open.
      const req = http.request(`${command.url}/v1/complete`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
        session.firstByteAt = now();
        if (res.statusCode !== 200) {
          res.resume();
          return fail(`http-${res.statusCode}`);
        }
        let buffered = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          const at = now();
          buffered += chunk;
          let newline: number;
          while ((newline = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, newline);
            buffered = buffered.slice(newline + 1);
            const message = JSON.parse(line) as { seq?: number; text?: string; at: number; status?: string };
            if (message.status) {
              session.doneAt = at;
              if (message.status !== 'succeeded') session.error ??= `task-${message.status}`;
            } else {
              session.firstProgressAt ??= at;
              session.delivery.push(at - message.at);
            }
          }
        });
        res.on('end', () => {
          if (!session.doneAt) session.error ??= 'truncated';
          resolve();
        });
        res.on('error', (error) => fail(`response-${errorCode(error)}`));
      });
      req.setTimeout(command.idleTimeoutMs, () => req.destroy(Object.assign(new Error('timeout'), { code: session.firstByteAt ? 'STREAM_TIMEOUT' : 'FIRST_BYTE_TIMEOUT' })));
      req.on('error', (error) => fail(errorCode(error) === 'FIRST_BYTE_TIMEOUT' ? `timeout-first-byte-${command.idleTimeoutMs / 1000}s` : `connection-${errorCode(error)}`));
      req.end(body);
    });
  const submitStart = Date.now();
  const launched = await pace(command.sessions, command.submitRate, deadline, (_index, intendedAt) => {
    const session: SyncSession = { submitAt: performance.timeOrigin + intendedAt, delivery: [] };
    sessions.push(session);
    running.push(one(session));
  });
  const submitMs = Date.now() - submitStart;
  await Promise.race([Promise.all(running), sleep(Math.max(0, deadline - Date.now()))]);
  for (const session of sessions) if (!session.doneAt && !session.error) session.error = 'unfinished-at-deadline';
  for (let i = launched; i < command.sessions; i++) sessions.push({ submitAt: 0, delivery: [], error: 'not-attempted' });
  const errored = sessions.filter((session) => session.error);
  agent.destroy();
  return {
    sessions: command.sessions,
    connected: sessions.filter((session) => session.firstByteAt).length,
    acked: sessions.filter((session) => session.firstByteAt && !session.error?.startsWith('http-')).length,
    held: sessions.length - errored.length,
    errors: errored.length,
    errorsByKind: countBy(errored.map((session) => session.error!)),
    retries: {},
    // The baseline's "ack" is its time to first byte: the moment a pool slot starts the work.
    ack: summarize(sessions.filter((s) => s.firstByteAt && !s.error?.startsWith('http-')).map((s) => s.firstByteAt! - s.submitAt)),
    firstProgress: summarize(sessions.filter((s) => s.firstProgressAt).map((s) => s.firstProgressAt! - s.submitAt)),
    completion: summarize(sessions.filter((s) => s.doneAt && !s.error).map((s) => s.doneAt! - s.submitAt)),
    delivery: summarize(sessions.flatMap((s) => s.delivery)),
    connectMs: 0,
    submitMs,
    totalMs: Date.now() - started,
    ...clientLoad(),
  };
};

const runAck = async (command: AckCommand): Promise<AckResult> => {
  const latencies: number[] = [];
  const errors: string[] = [];
  let inflight = 0;
  let notSent = 0;
  let accepted = 0;
  const body = JSON.stringify({ type: 'completion', input: command.input });
  const requests: Promise<void>[] = [];
  const count = Math.round((command.rate * command.durationMs) / 1000);
  const start = Date.now();
  await pace(count, command.rate, start + command.durationMs + 5_000, (index, intendedAt) => {
    if (inflight >= command.maxInflight) {
      notSent++;
      return;
    }
    inflight++;
    const key = command.keys[index % command.keys.length]!;
    requests.push(
      request(`${command.httpUrl}/v1/tasks`, 'POST', { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body, 30_000)
        .then((answer) => {
          // Latency from the scheduled send time, so a stalled client or server cannot hide queueing.
          latencies.push(performance.now() - intendedAt);
          if (answer.status === 202) accepted++;
          else errors.push(`http-${answer.status}`);
        })
        .catch((error: unknown) => {
          errors.push(errorCode(error));
        })
        .finally(() => inflight--),
    );
  });
  const sendMs = Date.now() - start;
  await Promise.all(requests);
  return {
    rate: command.rate,
    sent: requests.length,
    notSent,
    accepted,
    errorsByKind: countBy(errors),
    latency: summarize(latencies),
    achievedRate: Math.round((requests.length / Math.max(1, sendMs)) * 1000),
  };
};

const runSubmit = async (command: SubmitCommand): Promise<SubmitResult> => {
  const tasks: { taskId: string; keyIndex: number }[] = [];
  const errors: string[] = [];
  const acks: number[] = [];
  const retries: Record<string, number> = {};
  const requests: Promise<void>[] = [];
  const firstSubmitAt = Date.now();
  let lastAckAt = firstSubmitAt;
  await pace(command.count, command.rate, firstSubmitAt + 600_000, (index, intendedAt) => {
    requests.push(
      submitTask(command.httpUrl, command.keys[index % command.keys.length]!, command.input, retries, firstSubmitAt + 600_000).then(({ taskId, error }) => {
        if (taskId) {
          tasks.push({ taskId, keyIndex: index % command.keys.length });
          acks.push(performance.now() - intendedAt);
          lastAckAt = Date.now();
        } else errors.push(error ?? 'unknown');
      }),
    );
  });
  await Promise.all(requests);
  return { tasks, firstSubmitAt, lastAckAt, errorsByKind: { ...countBy(errors), ...Object.fromEntries(Object.entries(retries).map(([k, v]) => [`retried-${k}`, v])) }, ack: summarize(acks) };
};

const loopDelay = monitorEventLoopDelay({ resolution: 10 });
let cpuStart = process.cpuUsage();
let wallStart = Date.now();
const clientLoad = (): { clientEventLoopP99Ms: number | null; clientCpuPct: number } => {
  const cpu = process.cpuUsage(cpuStart);
  return {
    clientEventLoopP99Ms: loopDelay.count ? Math.round(loopDelay.percentile(99) / 1e5) / 10 : null,
    clientCpuPct: Math.round(((cpu.user + cpu.system) / 1000 / Math.max(1, Date.now() - wallStart)) * 100),
  };
};

/** Submits one task at a time (each after the previous answer and a pause): warm, idle ack latency. */
const runSequential = async (command: SequentialCommand): Promise<SequentialResult> => {
  const body = JSON.stringify({ type: 'completion', input: command.input });
  const latencies: number[] = [];
  const errors: string[] = [];
  let accepted = 0;
  for (let i = 0; i < command.count; i++) {
    const key = command.keys[i % command.keys.length]!;
    const started = performance.now();
    try {
      const answer = await request(`${command.httpUrl}/v1/tasks`, 'POST', { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body, 30_000);
      latencies.push(performance.now() - started);
      if (answer.status === 202) accepted++;
      else errors.push(`http-${answer.status}`);
    } catch (error) {
      errors.push(errorCode(error));
    }
    await sleep(command.gapMs);
  }
  return { count: command.count, accepted, errorsByKind: countBy(errors), latency: summarize(latencies) };
};

/**
 * Tells the parent process that `phase` is reached and waits for its go-ahead (immediately when
 * there is no parent).
 */
const checkpoint = (phase: string): Promise<void> =>
  new Promise((resolve) => {
    if (!process.send) return resolve();
    const onMessage = (message: { continue?: boolean }) => {
      if (!message?.continue) return;
      process.off('message', onMessage);
      resolve();
    };
    process.on('message', onMessage);
    process.send({ phase });
  });

/** Runs one command in this process (used by the child entry point below). */
export const runCommand = async (command: LoadCommand): Promise<unknown> => {
  loopDelay.reset();
  loopDelay.enable();
  cpuStart = process.cpuUsage();
  wallStart = Date.now();
  try {
    switch (command.kind) {
      case 'offload-sessions':
        return await runOffloadSessions(command);
      case 'sync-sessions':
        return await runSyncSessions(command);
      case 'ack':
        return await runAck(command);
      case 'submit':
        return await runSubmit(command);
      case 'sequential':
        return await runSequential(command);
    }
  } finally {
    loopDelay.disable();
  }
};

if (import.meta.filename === process.argv[1] && process.send) {
  process.once('message', (command: LoadCommand) => {
    runCommand(command).then(
      (result) => process.send!({ ok: true, result }, () => process.exit(0)),
      (error: unknown) => process.send!({ ok: false, error: String((error as Error)?.stack ?? error) }, () => process.exit(1)),
    );
  });
}
