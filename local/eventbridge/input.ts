/** How a rule target shapes what it delivers. */
export interface TargetInput {
  /** Constant JSON text delivered instead of the event. */
  readonly input?: string;
  /** JSONPath (`$.detail`, `$.detail.taskId`) selecting part of the event. */
  readonly inputPath?: string;
  readonly inputTransformer?: { readonly InputPathsMap?: Record<string, string>; readonly InputTemplate: string };
}

/** Evaluates the simple JSONPath subset EventBridge accepts (`$`, `$.a.b`, `$.a[0]`). */
export const selectPath = (event: unknown, jsonPath: string): unknown => {
  if (jsonPath === '$') return event;
  if (!jsonPath.startsWith('$.')) throw new Error(`Unsupported JSONPath ${jsonPath}`);
  let current: unknown = event;
  for (const part of jsonPath.slice(2).split('.')) {
    const match = /^([^[\]]+)((?:\[\d+\])*)$/.exec(part);
    if (!match) throw new Error(`Unsupported JSONPath ${jsonPath}`);
    current = current !== null && typeof current === 'object' ? (current as Record<string, unknown>)[match[1]!] : undefined;
    for (const index of match[2]!.matchAll(/\[(\d+)\]/g)) current = Array.isArray(current) ? current[Number(index[1])] : undefined;
  }
  return current;
};

/** The message body a target delivers for an event. */
export const applyInputTransform = (target: TargetInput, event: unknown): string => {
  if (target.input !== undefined) return target.input;
  if (target.inputPath !== undefined) return JSON.stringify(selectPath(event, target.inputPath) ?? null);
  if (target.inputTransformer) {
    const values: Record<string, unknown> = Object.fromEntries(
      Object.entries(target.inputTransformer.InputPathsMap ?? {}).map(([name, jsonPath]) => [name, selectPath(event, jsonPath)]),
    );
    values['aws.events.event'] = event;
    values['aws.events.event.json'] = event;
    return fillTemplate(target.inputTransformer.InputTemplate, values);
  }
  return JSON.stringify(event);
};

/**
 * Fills `<name>` placeholders the way EventBridge does: in a JSON template, a placeholder outside a
 * string literal becomes the value's JSON (strings quoted) and one inside a string literal is
 * spliced in as text; in a plain-text template every value is spliced in as text.
 */
export const fillTemplate = (template: string, values: Record<string, unknown>): string => {
  const isJson = /^\s*[[{]/.test(template);
  let out = '';
  let inString = false;
  for (let i = 0; i < template.length; i++) {
    const char = template[i]!;
    if (char === '"' && template[i - 1] !== '\\') inString = !inString;
    if (char === '<') {
      const end = template.indexOf('>', i);
      const name = end > i ? template.slice(i + 1, end) : '';
      if (name && Object.hasOwn(values, name)) {
        const value = values[name];
        if (isJson && !inString) out += JSON.stringify(value ?? null);
        else {
          const text = typeof value === 'string' ? value : JSON.stringify(value ?? null);
          out += isJson ? JSON.stringify(text).slice(1, -1) : text;
        }
        i = end;
        continue;
      }
    }
    out += char;
  }
  return out;
};
