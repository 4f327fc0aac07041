/** The text EventBridge puts before every reason it gives for rejecting an event pattern. */
export const PATTERN_ERROR_PREFIX = 'Event pattern is not valid. Reason: ';

/**
 * An event pattern that EventBridge would refuse (`InvalidEventPatternException`, HTTP 400).
 *
 * `message` is the first line of AWS's message (`Event pattern is not valid. Reason: ...`) and
 * `reason` is the part after the prefix. `cause` carries the underlying JSON syntax error, if any.
 */
export class InvalidEventPatternError extends Error {
  override readonly name = 'InvalidEventPatternException';

  /** The reason alone, without {@link PATTERN_ERROR_PREFIX}. */
  readonly reason: string;

  constructor(reason: string, options?: { cause?: unknown }) {
    super(PATTERN_ERROR_PREFIX + reason, options);
    this.reason = reason;
  }
}

/**
 * A rule that a value in a pattern breaks (a bad number, IP address or wildcard). The pattern compiler
 * turns it into an {@link InvalidEventPatternError} with the same reason.
 */
export class PatternValueError extends Error {
  override readonly name = 'PatternValueError';
}
