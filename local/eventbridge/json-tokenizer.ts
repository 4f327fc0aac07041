/**
 * A pull tokenizer for strict JSON (RFC 8259), shaped like Jackson's `JsonParser.nextToken()` which
 * EventBridge uses: it keeps duplicated object keys, the source text of numbers, and reports syntax
 * errors only when the reader gets to them, so a pattern's first error is found in document order.
 */

/** The kinds of token, named after Jackson's `JsonToken`. */
export type JsonTokenType =
  | 'START_OBJECT'
  | 'END_OBJECT'
  | 'START_ARRAY'
  | 'END_ARRAY'
  | 'FIELD_NAME'
  | 'VALUE_STRING'
  | 'VALUE_NUMBER'
  | 'VALUE_TRUE'
  | 'VALUE_FALSE'
  | 'VALUE_NULL';

/** One token; `text` is the decoded string, the number's source text, or the punctuation itself. */
export interface JsonToken {
  readonly type: JsonTokenType;
  readonly text: string;
  /** Offset of the token's first character in the source. */
  readonly offset: number;
}

/** Malformed JSON; the message follows Jackson's wording. */
export class JsonSyntaxError extends Error {
  override readonly name = 'JsonSyntaxError';
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(message);
    this.offset = offset;
  }
}

type FrameState = 'first' | 'afterComma' | 'afterName' | 'afterValue';

interface Frame {
  readonly kind: 'object' | 'array';
  state: FrameState;
}

const ESCAPES: Readonly<Record<string, string>> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const WORD = /[A-Za-z0-9_$]+/y;

/** Describes a character as Jackson does in its messages: `'x' (code 120)`. */
const describe = (char: string): string => {
  const code = char.codePointAt(0) ?? 0;
  return code < 0x20 ? `(CTRL-CHAR, code ${code})` : `'${char}' (code ${code})`;
};

/** Reads JSON text one token at a time. */
export class JsonTokenizer {
  private readonly text: string;
  private pos = 0;
  private readonly stack: Frame[] = [];
  private rootDone = false;

  constructor(text: string) {
    this.text = text;
  }

  /** The next token, or `undefined` once the root value is complete (or the text is empty). */
  next(): JsonToken | undefined {
    this.skipWhitespace();
    const frame = this.stack.at(-1);
    if (!frame) return this.rootDone ? this.endOfDocument() : this.firstRootToken();
    return frame.kind === 'object' ? this.nextInObject(frame) : this.nextInArray(frame);
  }

  /** True when only whitespace is left after the root value. */
  atEnd(): boolean {
    this.skipWhitespace();
    return this.stack.length === 0 && this.pos >= this.text.length;
  }

  private firstRootToken(): JsonToken | undefined {
    if (this.pos >= this.text.length) return undefined;
    return this.readValue();
  }

  private endOfDocument(): undefined {
    if (this.pos < this.text.length) {
      throw this.error(`Unexpected character (${describe(this.peekChar())}): expected end-of-input after the root value`);
    }
    return undefined;
  }

  private nextInObject(frame: Frame): JsonToken {
    this.ensureMore('Object');
    const char = this.peekChar();
    switch (frame.state) {
      case 'first':
        if (char === '}') return this.close('END_OBJECT');
        return this.readFieldName(frame);
      case 'afterComma':
        return this.readFieldName(frame);
      case 'afterName':
        if (char !== ':') throw this.error(`Unexpected character (${describe(char)}): was expecting a colon to separate field name and value`);
        this.pos++;
        this.skipWhitespace();
        this.ensureMore('Object');
        return this.readValue();
      case 'afterValue':
        if (char === '}') return this.close('END_OBJECT');
        if (char !== ',') throw this.error(`Unexpected character (${describe(char)}): was expecting comma to separate Object entries`);
        this.pos++;
        frame.state = 'afterComma';
        this.skipWhitespace();
        this.ensureMore('Object');
        return this.readFieldName(frame);
    }
  }

  private nextInArray(frame: Frame): JsonToken {
    this.ensureMore('Array');
    const char = this.peekChar();
    if (frame.state === 'afterValue') {
      if (char === ']') return this.close('END_ARRAY');
      if (char !== ',') throw this.error(`Unexpected character (${describe(char)}): was expecting comma to separate Array entries`);
      this.pos++;
      frame.state = 'afterComma';
      this.skipWhitespace();
      this.ensureMore('Array');
      return this.readValue();
    }
    if (frame.state === 'first' && char === ']') return this.close('END_ARRAY');
    return this.readValue();
  }

  private readFieldName(frame: Frame): JsonToken {
    const offset = this.pos;
    const char = this.peekChar();
    if (char !== '"') throw this.error(`Unexpected character (${describe(char)}): was expecting double-quote to start field name`);
    const name = this.readString();
    frame.state = 'afterName';
    return { type: 'FIELD_NAME', text: name, offset };
  }

  private readValue(): JsonToken {
    const offset = this.pos;
    const char = this.peekChar();
    if (char === '{' || char === '[') {
      this.pos++;
      this.stack.push({ kind: char === '{' ? 'object' : 'array', state: 'first' });
      return { type: char === '{' ? 'START_OBJECT' : 'START_ARRAY', text: char, offset };
    }
    if (char === '"') return this.completeValue({ type: 'VALUE_STRING', text: this.readString(), offset });
    if (char === '-' || (char >= '0' && char <= '9')) return this.completeValue({ type: 'VALUE_NUMBER', text: this.readNumber(), offset });
    if (/[A-Za-z]/.test(char)) return this.completeValue(this.readLiteral(offset));
    throw this.error(`Unexpected character (${describe(char)}): expected a value`);
  }

  private readLiteral(offset: number): JsonToken {
    WORD.lastIndex = this.pos;
    const word = WORD.exec(this.text)?.[0] ?? '';
    this.pos += word.length;
    if (word === 'true') return { type: 'VALUE_TRUE', text: word, offset };
    if (word === 'false') return { type: 'VALUE_FALSE', text: word, offset };
    if (word === 'null') return { type: 'VALUE_NULL', text: word, offset };
    throw new JsonSyntaxError(
      `Unrecognized token '${word}': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')`,
      offset,
    );
  }

  private readNumber(): string {
    const start = this.pos;
    if (this.text[start] === '-' && !/\d/.test(this.text[start + 1] ?? '')) {
      throw this.error(`Unexpected character (${describe(this.text[start + 1] ?? ' ')}) in numeric value: expected digit (0-9) to follow minus sign, for valid numeric value`);
    }
    NUMBER.lastIndex = start;
    const text = NUMBER.exec(this.text)?.[0] ?? '';
    this.pos = start + text.length;
    const following = this.text[this.pos] ?? '';
    if (/^-?0\d/.test(this.text.slice(start, start + 3))) throw new JsonSyntaxError('Invalid numeric value: Leading zeroes not allowed', start);
    if (following === '.') throw this.error(`Unexpected character (${describe(this.text[this.pos + 1] ?? ' ')}) in numeric value: Decimal point not followed by a digit`);
    if (following === 'e' || following === 'E') {
      throw this.error(`Unexpected character (${describe(this.text[this.pos + 1] ?? ' ')}) in numeric value: Exponent indicator not followed by a digit`);
    }
    return text;
  }

  private readString(): string {
    this.pos++; // opening quote
    let out = '';
    let runStart = this.pos;
    for (;;) {
      if (this.pos >= this.text.length) throw this.error('Unexpected end-of-input: was expecting closing quote for a string value');
      const code = this.text.charCodeAt(this.pos);
      if (code === 0x22) break;
      if (code < 0x20) {
        throw this.error(`Illegal unquoted character (${describe(this.text[this.pos] ?? '')}): has to be escaped using backslash to be included in string value`);
      }
      if (code === 0x5c) {
        out += this.text.slice(runStart, this.pos) + this.readEscape();
        runStart = this.pos;
        continue;
      }
      this.pos++;
    }
    out += this.text.slice(runStart, this.pos);
    this.pos++; // closing quote
    return out;
  }

  private readEscape(): string {
    const char = this.text[this.pos + 1];
    if (char === undefined) throw this.error('Unexpected end-of-input in character escape sequence');
    this.pos += 2;
    const simple = ESCAPES[char];
    if (simple !== undefined) return simple;
    if (char !== 'u') throw this.error(`Unrecognized character escape ${describe(char)}`);
    const hex = this.text.slice(this.pos, this.pos + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw this.error('Unexpected character in unicode escape: expected a hex-digit for character escape sequence');
    this.pos += 4;
    return String.fromCharCode(Number.parseInt(hex, 16));
  }

  private completeValue(token: JsonToken): JsonToken {
    const frame = this.stack.at(-1);
    if (frame) frame.state = 'afterValue';
    else this.rootDone = true;
    return token;
  }

  private close(type: 'END_OBJECT' | 'END_ARRAY'): JsonToken {
    const offset = this.pos;
    this.pos++;
    this.stack.pop();
    return this.completeValue({ type, text: type === 'END_OBJECT' ? '}' : ']', offset });
  }

  private ensureMore(kind: 'Object' | 'Array'): void {
    if (this.pos >= this.text.length) throw this.error(`Unexpected end-of-input: expected close marker for ${kind}`);
  }

  private peekChar(): string {
    return String.fromCodePoint(this.text.codePointAt(this.pos) ?? 0);
  }

  private skipWhitespace(): void {
    while (this.pos < this.text.length) {
      const code = this.text.charCodeAt(this.pos);
      if (code !== 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) return;
      this.pos++;
    }
  }

  private error(message: string): JsonSyntaxError {
    return new JsonSyntaxError(message, this.pos);
  }
}
