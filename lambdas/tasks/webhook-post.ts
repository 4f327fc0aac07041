import { lookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { isLoopbackAddress, refusedRange } from '../core/address-policy.ts';
import { WEBHOOK_LIMITS } from '../core/webhook-limits.ts';
import { WebhookDeliveryError, WebhookDestinationRefusedError, WebhookTimeoutError } from './webhook-errors.ts';

/** One address a host name resolves to. */
export interface ResolvedAddress {
  readonly address: string;
  /** 4 or 6. */
  readonly family: number;
}

/** Resolves a host name to every address it has. */
export type Resolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

/** The system resolver (getaddrinfo, as `http.request` would use), every address. */
export const systemResolver: Resolver = (hostname) => lookup(hostname, { all: true, order: 'verbatim' });

/** Options of {@link postWebhook}. */
export interface PostOptions {
  /** Aborts the attempt (task cancelled, lease lost, task timeout). */
  readonly signal: AbortSignal;
  /** Accept loopback addresses (`127.0.0.0/8`, `::1`) and plain HTTP to them: the local runtime only. */
  readonly allowLoopback: boolean;
  /** Whole-attempt limit: resolution, connect, TLS, request, response headers and body. @default WEBHOOK_LIMITS.attemptMs */
  readonly timeoutMs?: number;
  /** Response body bytes read before the connection is closed. @default WEBHOOK_LIMITS.responseBytes */
  readonly maxResponseBytes?: number;
  /** @default systemResolver */
  readonly resolve?: Resolver;
}

/** What the endpoint answered. */
export interface PostOutcome {
  readonly status: number;
  /** The address the request went to: the one that was checked. */
  readonly address: string;
  /** Response body bytes received (reading stops at the limit; one socket read may pass it). */
  readonly bytesRead: number;
  /** The body was cut off (the limit, the time limit, or the endpoint closed early). */
  readonly truncated: boolean;
}

const hostOf = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, '$1');

/**
 * Resolves the destination once and checks every address it has; returns the one to connect to.
 * A literal address is checked as is. Any refused address refuses the destination.
 */
export const pinDestination = async (url: URL, options: Pick<PostOptions, 'allowLoopback' | 'resolve'>): Promise<ResolvedAddress> => {
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && options.allowLoopback)) throw new WebhookDestinationRefusedError(`${url.protocol} is not allowed; use https.`);
  const host = hostOf(url);
  let addresses: readonly ResolvedAddress[];
  if (isIP(host)) addresses = [{ address: host, family: isIP(host) }];
  else {
    try {
      addresses = await (options.resolve ?? systemResolver)(host);
    } catch (error) {
      throw new WebhookDeliveryError(`Could not resolve ${host}: ${(error as Error).message}`, { cause: error });
    }
  }
  if (addresses.length === 0) throw new WebhookDeliveryError(`${host} has no addresses.`);
  for (const { address } of addresses) {
    if (options.allowLoopback && isLoopbackAddress(address)) continue;
    const refused = refusedRange(address);
    if (refused) throw WebhookDestinationRefusedError.forAddress(host, address, refused);
  }
  if (url.protocol === 'http:' && !addresses.every(({ address }) => isLoopbackAddress(address))) throw new WebhookDestinationRefusedError('plain http is only allowed to loopback receivers.');
  return addresses[0]!;
};

/** A `lookup` that answers every query with the checked address: the connection cannot be rebound by a second resolution. */
const pinnedLookup =
  (target: ResolvedAddress): LookupFunction =>
  (_hostname, options, callback) => {
    if (options.all) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  };

/**
 * POSTs one webhook: resolve the host once, refuse it if any address is not globally reachable,
 * connect to the checked address (TLS still verifies, and sends SNI for, the host name), read at
 * most `maxResponseBytes` of the answer and close the connection, all within `timeoutMs`. The
 * status decides the outcome; once the headers are in, a body cut short does not change it.
 *
 * @throws WebhookDestinationRefusedError the destination is not allowed (not retryable).
 * @throws WebhookTimeoutError no answer within the time limit.
 * @throws WebhookDeliveryError the endpoint could not be reached.
 */
export const postWebhook = async (url: URL, request: { readonly headers: Readonly<Record<string, string>>; readonly body: string }, options: PostOptions): Promise<PostOutcome> => {
  const timeoutMs = options.timeoutMs ?? WEBHOOK_LIMITS.attemptMs;
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new WebhookTimeoutError(timeoutMs)), timeoutMs);
  const signal = AbortSignal.any([options.signal, deadline.signal]);
  try {
    const target = await raceAbort(pinDestination(url, options), signal);
    return await send(url, target, request, options.maxResponseBytes ?? WEBHOOK_LIMITS.responseBytes, signal);
  } finally {
    clearTimeout(timer);
  }
};

const raceAbort = <T>(promise: Promise<T>, signal: AbortSignal): Promise<T> => {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
};

const send = (url: URL, target: ResolvedAddress, request: { readonly headers: Readonly<Record<string, string>>; readonly body: string }, maxBytes: number, signal: AbortSignal): Promise<PostOutcome> =>
  new Promise<PostOutcome>((resolve, reject) => {
    let settled = false;
    /** Set once the response headers are in: from then on the status is the outcome. */
    let answer: ((truncated: boolean) => void) | undefined;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      outcome();
    };
    const secure = url.protocol === 'https:';
    const req = (secure ? https : http).request(
      {
        method: 'POST',
        protocol: url.protocol,
        hostname: hostOf(url),
        port: url.port || (secure ? 443 : 80),
        path: `${url.pathname}${url.search}`,
        headers: { ...request.headers, 'content-length': String(Buffer.byteLength(request.body)) },
        agent: false,
        lookup: pinnedLookup(target),
        signal,
      },
      (res) => {
        const status = res.statusCode ?? 0;
        let bytesRead = 0;
        const respond = (truncated: boolean) => settle(() => resolve({ status, address: target.address, bytesRead, truncated }));
        answer = respond;
        res.on('data', (chunk: Buffer) => {
          bytesRead += chunk.length;
          if (bytesRead < maxBytes) return;
          respond(true);
          req.destroy();
        });
        res.on('end', () => respond(false));
        // After the headers, a body that breaks off (the time limit, a reset) does not change the outcome.
        res.on('error', () => respond(true));
        res.on('close', () => respond(true));
      },
    );
    req.on('error', (error) => {
      if (answer) answer(true);
      else settle(() => reject(signal.aborted ? signal.reason : new WebhookDeliveryError(`Delivery failed: ${error.message}`, { cause: error })));
    });
    req.end(request.body);
  });
