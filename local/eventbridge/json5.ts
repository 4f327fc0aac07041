/**
 * Just enough JSON5 for fixture files: strips `//` and `/* *\/` comments and trailing commas, leaving
 * plain JSON text whose values keep their original spelling (numbers as written, duplicated keys).
 */

/** Removes comments and trailing commas outside strings. Other JSON5 syntax is not supported. */
export const stripJson5 = (text: string): string => {
  const withoutComments = removeComments(text);
  return removeTrailingCommas(withoutComments);
};

const stringEnd = (text: string, start: number): number => {
  const quote = text[start];
  let index = start + 1;
  while (index < text.length && text[index] !== quote) index += text[index] === '\\' ? 2 : 1;
  return index + 1;
};

const removeComments = (text: string): string => {
  let out = '';
  let index = 0;
  while (index < text.length) {
    const char = text[index];
    if (char === '"' || char === "'") {
      const end = stringEnd(text, index);
      out += text.slice(index, end);
      index = end;
    } else if (text.startsWith('//', index)) {
      index = text.indexOf('\n', index);
      if (index < 0) index = text.length;
    } else if (text.startsWith('/*', index)) {
      const end = text.indexOf('*/', index + 2);
      index = end < 0 ? text.length : end + 2;
      out += ' ';
    } else {
      out += char;
      index++;
    }
  }
  return out;
};

const removeTrailingCommas = (text: string): string => {
  let out = '';
  let index = 0;
  while (index < text.length) {
    const char = text[index] ?? '';
    if (char === '"') {
      const end = stringEnd(text, index);
      out += text.slice(index, end);
      index = end;
      continue;
    }
    if (char === ',' && /^\s*[\]}]/.test(text.slice(index + 1))) {
      index++;
      continue;
    }
    out += char;
    index++;
  }
  return out;
};

/**
 * The raw text of each member of the top-level object of a JSON document (keys decoded, values
 * exactly as written), in order.
 */
export const topLevelMembers = (json: string): Map<string, string> => {
  const members = new Map<string, string>();
  let index = json.indexOf('{') + 1;
  for (;;) {
    index = skipSpaceAndCommas(json, index);
    if (index >= json.length || json[index] === '}') return members;
    const keyEnd = stringEnd(json, index);
    const key = JSON.parse(json.slice(index, keyEnd)) as string;
    const valueStart = skipSpaceAndCommas(json, json.indexOf(':', keyEnd) + 1);
    const valueEnd = valueEndIndex(json, valueStart);
    members.set(key, json.slice(valueStart, valueEnd).trim());
    index = valueEnd;
  }
};

const skipSpaceAndCommas = (text: string, start: number): number => {
  let index = start;
  while (index < text.length && /[\s,]/.test(text[index] ?? '')) index++;
  return index;
};

/** Where the value starting at `start` ends: at the `,` or `}` that closes it at depth 0. */
const valueEndIndex = (text: string, start: number): number => {
  let depth = 0;
  let index = start;
  while (index < text.length) {
    const char = text[index];
    if (char === '"') {
      index = stringEnd(text, index);
      continue;
    }
    if (char === '{' || char === '[') depth++;
    else if (char === '}' || char === ']') {
      if (depth === 0) return index;
      depth--;
    } else if (char === ',' && depth === 0) return index;
    index++;
  }
  return index;
};
