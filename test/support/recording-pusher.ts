import type { Pusher, ServerMessage } from '../../lambdas/core/ports.ts';

/**
 * An in-memory {@link Pusher} recording every message per connection. Connections listed in
 * `gone` answer `gone` (as a 410 from `@connections` would). `delayMs` makes each post yield for a
 * while, so concurrent drainers interleave.
 */
export class RecordingPusher implements Pusher {
  public readonly sent: { connectionId: string; message: ServerMessage }[] = [];
  public readonly gone = new Set<string>();

  /** Runs before each post is recorded (for example to write more progress mid-delivery). */
  public onPost: ((connectionId: string, message: ServerMessage) => Promise<void>) | undefined;

  public constructor(private readonly delayMs = 0) {}

  public async post(connectionId: string, message: ServerMessage): Promise<'ok' | 'gone'> {
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    if (this.onPost) await this.onPost(connectionId, message);
    if (this.gone.has(connectionId)) return 'gone';
    this.sent.push({ connectionId, message });
    return 'ok';
  }

  /** Connections closed through {@link close}, in order. */
  public readonly closed: string[] = [];

  public async close(connectionId: string): Promise<'ok' | 'gone'> {
    if (this.gone.has(connectionId)) return 'gone';
    this.closed.push(connectionId);
    this.gone.add(connectionId); // a closed connection answers 410 from then on
    return 'ok';
  }

  /** Messages delivered to one connection, in order. */
  public to(connectionId: string): ServerMessage[] {
    return this.sent.filter((entry) => entry.connectionId === connectionId).map((entry) => entry.message);
  }
}
