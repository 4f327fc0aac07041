import { JsonSyntaxError, JsonTokenizer, type JsonToken } from './json-tokenizer.ts';

/**
 * A JSON document as EventBridge reads it: object members stay in order with duplicated keys kept,
 * and numbers keep their source text (`300.0` and `300` are different texts).
 */
export type JsonNode =
  | { readonly kind: 'object'; readonly members: readonly (readonly [string, JsonNode])[] }
  | { readonly kind: 'array'; readonly items: readonly JsonNode[] }
  | { readonly kind: 'string'; readonly text: string }
  | { readonly kind: 'number'; readonly raw: string }
  | { readonly kind: 'literal'; readonly raw: 'true' | 'false' | 'null' };

/** Parses strict JSON text into a {@link JsonNode}; throws {@link JsonSyntaxError}. */
export const parseJsonDocument = (text: string): JsonNode => {
  const tokens = new JsonTokenizer(text);
  const first = tokens.next();
  if (!first) throw new JsonSyntaxError('No content to map due to end-of-input', 0);
  const root = readNode(tokens, first);
  tokens.next(); // throws on anything but trailing whitespace
  return root;
};

const readNode = (tokens: JsonTokenizer, token: JsonToken): JsonNode => {
  switch (token.type) {
    case 'START_OBJECT':
      return readObject(tokens);
    case 'START_ARRAY':
      return readArray(tokens);
    case 'VALUE_STRING':
      return { kind: 'string', text: token.text };
    case 'VALUE_NUMBER':
      return { kind: 'number', raw: token.text };
    case 'VALUE_TRUE':
      return { kind: 'literal', raw: 'true' };
    case 'VALUE_FALSE':
      return { kind: 'literal', raw: 'false' };
    case 'VALUE_NULL':
      return { kind: 'literal', raw: 'null' };
    default:
      throw new JsonSyntaxError(`Unexpected token ${token.text}`, token.offset);
  }
};

const nextToken = (tokens: JsonTokenizer): JsonToken => {
  const token = tokens.next();
  if (!token) throw new JsonSyntaxError('Unexpected end-of-input', 0);
  return token;
};

const readObject = (tokens: JsonTokenizer): JsonNode => {
  const members: [string, JsonNode][] = [];
  for (let token = nextToken(tokens); token.type !== 'END_OBJECT'; token = nextToken(tokens)) {
    members.push([token.text, readNode(tokens, nextToken(tokens))]);
  }
  return { kind: 'object', members };
};

const readArray = (tokens: JsonTokenizer): JsonNode => {
  const items: JsonNode[] = [];
  for (let token = nextToken(tokens); token.type !== 'END_ARRAY'; token = nextToken(tokens)) {
    items.push(readNode(tokens, token));
  }
  return { kind: 'array', items };
};

/**
 * Converts an already-parsed JavaScript value (as `JSON.parse` would give) into a {@link JsonNode}.
 * Values JSON cannot hold (`undefined`, functions, symbols, non-finite numbers) are dropped from
 * objects and become `null` in arrays, as `JSON.stringify` does.
 */
export const jsonNodeFromValue = (value: unknown): JsonNode | undefined => {
  const json = toJsonable(value);
  if (json === null) return { kind: 'literal', raw: 'null' };
  switch (typeof json) {
    case 'string':
      return { kind: 'string', text: json };
    case 'number':
      return Number.isFinite(json) ? { kind: 'number', raw: JSON.stringify(json) } : { kind: 'literal', raw: 'null' };
    case 'bigint':
      return { kind: 'number', raw: json.toString() };
    case 'boolean':
      return { kind: 'literal', raw: json ? 'true' : 'false' };
    case 'object':
      return Array.isArray(json) ? arrayNode(json) : objectNode(json as Record<string, unknown>);
    default:
      return undefined;
  }
};

const toJsonable = (value: unknown): unknown => {
  const withToJson = value as { toJSON?: unknown } | null | undefined;
  return typeof withToJson?.toJSON === 'function' ? (withToJson.toJSON as () => unknown)() : value;
};

const arrayNode = (values: readonly unknown[]): JsonNode => ({
  kind: 'array',
  items: values.map((item) => jsonNodeFromValue(item) ?? { kind: 'literal', raw: 'null' }),
});

const objectNode = (record: Record<string, unknown>): JsonNode => {
  const members: [string, JsonNode][] = [];
  for (const [key, item] of Object.entries(record)) {
    const node = jsonNodeFromValue(item);
    if (node) members.push([key, node]);
  }
  return { kind: 'object', members };
};
