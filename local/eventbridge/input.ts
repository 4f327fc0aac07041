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
    const values = Object.fromEntries(
      Object.entries(target.inputTransformer.InputPathsMap ?? {}).map(([name, jsonPath]) => [name, selectPath(event, jsonPath)]),
    );
    return target.inputTransformer.InputTemplate.replace(/(")?<([A-Za-z0-9_.-]+)>(")?/g, (whole, open: string | undefined, name: string, end: string | undefined) => {
      if (!(name in values) && name !== 'aws.events.event.json' && name !== 'aws.events.event') return whole;
      const value = name.startsWith('aws.events.event') ? event : values[name];
      if (open && end) return typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(JSON.stringify(value ?? null));
      const text = typeof value === 'string' ? value : JSON.stringify(value ?? null);
      return (open ?? '') + text + (end ?? '');
    });
  }
  return JSON.stringify(event);
};
