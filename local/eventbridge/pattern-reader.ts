import { JsonSyntaxError, JsonTokenizer, type JsonToken, type JsonTokenType } from './json-tokenizer.ts';
import { InvalidEventPatternError, PatternValueError } from './pattern-errors.ts';

/**
 * The token stream of a pattern's JSON text, with errors turned into
 * {@link InvalidEventPatternError}s: syntax errors when they are reached, and rule violations
 * through {@link PatternReader.fail}.
 */
export class PatternReader {
  private readonly tokens: JsonTokenizer;

  constructor(text: string) {
    this.tokens = new JsonTokenizer(text);
  }

  /** The next token, or `undefined` at the end of the text. */
  nextOrEnd(): JsonToken | undefined {
    try {
      return this.tokens.next();
    } catch (error) {
      throw this.wrap(error);
    }
  }

  /** The next token (inside an object or array there always is one, or the JSON is malformed). */
  next(): JsonToken {
    const token = this.nextOrEnd();
    if (!token) throw new InvalidEventPatternError('Unexpected end-of-input');
    return token;
  }

  /** Reads the next token and fails with `reason` unless it is of type `type`. */
  expect(type: JsonTokenType, reason: string): JsonToken {
    const token = this.next();
    if (token.type !== type) this.fail(reason);
    return token;
  }

  /** Fails with AWS's reason. */
  fail(reason: string): never {
    throw new InvalidEventPatternError(reason);
  }

  /** Runs `build`, turning a {@link PatternValueError} (bad number, address or wildcard) into a failure. */
  guard<T>(build: () => T): T {
    try {
      return build();
    } catch (error) {
      if (error instanceof PatternValueError) throw new InvalidEventPatternError(error.message, { cause: error });
      throw error;
    }
  }

  private wrap(error: unknown): unknown {
    return error instanceof JsonSyntaxError ? new InvalidEventPatternError(error.message, { cause: error }) : error;
  }
}
