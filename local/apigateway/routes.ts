import { type LocalTemplate, UnsupportedTemplateError } from '../template.ts';

/** A compiled HTTP API route key (`GET /v1/tasks/{id}`, `ANY /{proxy+}`, `$default`). */
export interface CompiledRoute<T> {
  readonly routeKey: string;
  readonly method: string;
  readonly segments: readonly string[];
  readonly value: T;
}

/** Compiles a route key. */
export const compileRoute = <T>(routeKey: string, value: T): CompiledRoute<T> => {
  if (routeKey === '$default') return { routeKey, method: 'ANY', segments: [], value };
  const [method, path] = routeKey.split(' ');
  if (!method || !path?.startsWith('/')) throw new Error(`Invalid route key ${routeKey}`);
  return { routeKey, method: method.toUpperCase(), segments: path.split('/').slice(1), value };
};

/**
 * Matches a request against routes the way API Gateway HTTP APIs do: a route with a literal
 * segment beats a path variable, which beats a greedy `{proxy+}`; an exact method beats `ANY`;
 * `$default` catches the rest.
 */
export const matchRoute = <T>(
  routes: readonly CompiledRoute<T>[],
  method: string,
  path: string,
): { route: CompiledRoute<T>; pathParameters: Record<string, string> } | undefined => {
  const parts = path.split('/').slice(1);
  let best: { route: CompiledRoute<T>; pathParameters: Record<string, string>; score: number[] } | undefined;
  for (const route of routes) {
    if (route.routeKey === '$default') continue;
    if (route.method !== 'ANY' && route.method !== method) continue;
    const matched = matchSegments(route.segments, parts);
    if (!matched) continue;
    const score = [...matched.score, route.method === 'ANY' ? 0 : 1];
    if (!best || compareScores(score, best.score) > 0) best = { route, pathParameters: matched.pathParameters, score };
  }
  if (best) return { route: best.route, pathParameters: best.pathParameters };
  const fallback = routes.find((route) => route.routeKey === '$default');
  return fallback ? { route: fallback, pathParameters: {} } : undefined;
};

const compareScores = (a: number[], b: number[]): number => {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const difference = (a[i] ?? -1) - (b[i] ?? -1);
    if (difference !== 0) return difference;
  }
  return 0;
};

const matchSegments = (segments: readonly string[], parts: readonly string[]): { pathParameters: Record<string, string>; score: number[] } | undefined => {
  const pathParameters: Record<string, string> = {};
  const score: number[] = [];
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const greedy = /^\{(.+)\+\}$/.exec(segment);
    if (greedy) {
      const rest = parts.slice(i);
      if (rest.length === 0 || rest.join('/') === '') return undefined;
      pathParameters[greedy[1]!] = rest.map(decodeURIComponent).join('/');
      score.push(0);
      return { pathParameters, score };
    }
    const part = parts[i];
    if (part === undefined) return undefined;
    const variable = /^\{(.+)\}$/.exec(segment);
    if (variable) {
      if (part === '') return undefined;
      try {
        pathParameters[variable[1]!] = decodeURIComponent(part);
      } catch {
        pathParameters[variable[1]!] = part;
      }
      score.push(1);
    } else if (segment === part) {
      score.push(2);
    } else {
      return undefined;
    }
  }
  return parts.length === segments.length ? { pathParameters, score } : undefined;
};

/** The function a Lambda integration or authorizer URI points at (its logical id). */
export const functionOfUri = (template: LocalTemplate, uri: unknown, where: string): string => {
  const found: string[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) {
        if (key === 'Fn::GetAtt' && Array.isArray(inner) && template.template.Resources[inner[0] as string]?.Type === 'AWS::Lambda::Function') {
          found.push(inner[0] as string);
        } else if (key === 'Ref' && template.template.Resources[inner as string]?.Type === 'AWS::Lambda::Function') {
          found.push(inner as string);
        } else walk(inner);
      }
    }
  };
  walk(uri);
  if (found.length !== 1) throw new UnsupportedTemplateError(where, 'IntegrationUri', 'only Lambda proxy integrations are supported');
  return found[0]!;
};

/** The logical id an `integrations/<ref>` route target points at. */
export const integrationOfTarget = (target: unknown, where: string): string => {
  const parts = (target as { 'Fn::Join'?: [string, unknown[]] })?.['Fn::Join']?.[1];
  const ref = parts?.find((part): part is { Ref: string } => typeof part === 'object' && part !== null && 'Ref' in part);
  if (!ref) throw new UnsupportedTemplateError(where, 'Target', 'expected integrations/<Ref>');
  return ref.Ref;
};

/** Token bucket for stage throttling (rate per second, burst capacity). */
export class TokenBucket {
  private tokens: number;
  private last = Date.now();
  public constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }
  public take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
