import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { createContext, Script, type Context } from 'node:vm';
import { type LocalTemplate, UnsupportedTemplateError } from './template.ts';

/** A query string parameter, header or cookie as CloudFront Functions see it. */
interface FieldValue {
  value: string;
  multiValue?: { value: string }[];
}

/** The `request` of a CloudFront Functions event (viewer request). */
export interface FunctionRequest {
  method: string;
  uri: string;
  querystring: Record<string, FieldValue>;
  headers: Record<string, FieldValue>;
  cookies: Record<string, FieldValue>;
}

/** What a viewer-request function decided: forward a (possibly changed) request, or answer itself. */
export type ViewerRequestOutcome =
  | { readonly kind: 'request'; readonly path: string; readonly headers: IncomingHttpHeaders }
  | { readonly kind: 'response'; readonly status: number; readonly headers: Record<string, string>; readonly body: Buffer };

/** The function failed or returned something CloudFront would not accept (CloudFront answers `503`). */
export class FunctionExecutionError extends Error {
  public constructor(functionName: string, cause: unknown) {
    super(`CloudFront function ${functionName} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'FunctionExecutionError';
  }
}

const RUNTIMES = new Set(['cloudfront-js-1.0', 'cloudfront-js-2.0']);
/**
 * Local stand-in for CloudFront's compute budget (which counts CPU, not wall time): a function
 * stuck this long is failed. Generous, because this machine's cores are shared with everything
 * else the local runtime runs, and a busy moment must not fail a function CloudFront would run.
 */
const TIMEOUT_MS = 1_000;

const field = (values: readonly string[]): FieldValue => ({ value: values[0] ?? '', ...(values.length > 1 ? { multiValue: values.map((value) => ({ value })) } : {}) });

/**
 * A CloudFront Function (`AWS::CloudFront::Function`) run as CloudFront runs it on a viewer
 * request: the template's `FunctionCode` evaluated once in its own V8 context (no `require`, no
 * Node globals), its `handler(event)` called with CloudFront's event structure (version 1.0,
 * lower-case header names, `{value, multiValue?}` fields). A returned object with `statusCode` is
 * the answer (its `body` a string or `{data, encoding: 'text' | 'base64'}`); otherwise it is the
 * request to continue with (its `uri`, `querystring` and `headers` are used). KeyValueStore
 * (`import cf from 'cloudfront'`) is not emulated and refused at start.
 */
export class LocalCloudFrontFunction {
  private readonly context: Context;
  private readonly call = new Script('handler(__event)', { filename: 'invoke.js' });

  private constructor(
    public readonly name: string,
    code: string,
  ) {
    this.context = createContext({ console: { log: () => undefined } });
    new Script(code, { filename: `${name}.js` }).runInContext(this.context, { timeout: TIMEOUT_MS });
    if (typeof this.context.handler !== 'function') throw new Error(`${name} defines no handler function`);
  }

  /** The function a `FunctionAssociations[].FunctionARN` (`Fn::GetAtt [<id>, FunctionARN]`) names. */
  public static fromTemplate(template: LocalTemplate, arn: unknown, where: string): LocalCloudFrontFunction {
    const logicalId = ((arn as { 'Fn::GetAtt'?: [string, string] } | null)?.['Fn::GetAtt'] ?? [])[0];
    if (!logicalId) throw new UnsupportedTemplateError(where, 'FunctionARN', 'only functions of this template (Fn::GetAtt <id>.FunctionARN) are supported');
    const resource = template.resource(logicalId);
    if (resource.Type !== 'AWS::CloudFront::Function') throw new UnsupportedTemplateError(where, 'FunctionARN', `${logicalId} is not a CloudFront function`);
    const properties = (resource.Properties ?? {}) as Record<string, any>;
    const runtime = String(properties.FunctionConfig?.Runtime ?? '');
    if (!RUNTIMES.has(runtime)) throw new UnsupportedTemplateError(logicalId, 'FunctionConfig.Runtime', `runtime ${runtime} is not supported`);
    if (properties.FunctionConfig?.KeyValueStoreAssociations) throw new UnsupportedTemplateError(logicalId, 'FunctionConfig.KeyValueStoreAssociations', 'KeyValueStore is not emulated');
    const code = template.resolveString(properties.FunctionCode, `${logicalId}.FunctionCode`);
    if (/^\s*import\s/m.test(code)) throw new UnsupportedTemplateError(logicalId, 'FunctionCode', 'imports (KeyValueStore) are not emulated');
    return new LocalCloudFrontFunction(logicalId, code);
  }

  /**
   * Runs the function on a viewer request. `path` is the request target (path and query string).
   * @throws FunctionExecutionError when the function throws, times out or returns no request or response
   */
  public async viewerRequest(request: { readonly method: string; readonly path: string; readonly headers: IncomingHttpHeaders; readonly viewerIp: string }, distribution: { readonly id: string; readonly domainName: string }): Promise<ViewerRequestOutcome> {
    const url = new URL(request.path, 'http://local');
    const querystring: Record<string, FieldValue> = {};
    for (const name of new Set(url.searchParams.keys())) querystring[name] = field(url.searchParams.getAll(name));
    const headers: Record<string, FieldValue> = {};
    for (const [name, value] of Object.entries(request.headers)) if (value !== undefined && name !== 'cookie') headers[name] = field(Array.isArray(value) ? value : [value]);
    const cookies: Record<string, FieldValue> = {};
    for (const pair of String(request.headers.cookie ?? '').split(';')) {
      const at = pair.indexOf('=');
      if (at > 0) cookies[pair.slice(0, at).trim()] = { value: pair.slice(at + 1).trim() };
    }
    const event = {
      version: '1.0',
      context: { distributionDomainName: distribution.domainName, distributionId: distribution.id, eventType: 'viewer-request', requestId: randomUUID() },
      viewer: { ip: request.viewerIp },
      request: { method: request.method, uri: url.pathname, querystring, headers, cookies } satisfies FunctionRequest,
    };
    let result: unknown;
    try {
      this.context.__event = event;
      result = await this.call.runInContext(this.context, { timeout: TIMEOUT_MS });
    } catch (error) {
      throw new FunctionExecutionError(this.name, error);
    }
    if (result === null || typeof result !== 'object') throw new FunctionExecutionError(this.name, 'returned neither a request nor a response');
    const returned = result as Record<string, any>;
    if (returned.statusCode !== undefined) return { kind: 'response', status: Number(returned.statusCode), headers: flatten(returned.headers), body: bodyOf(returned.body) };
    const out = new URLSearchParams();
    for (const [name, value] of Object.entries((returned.querystring ?? {}) as Record<string, FieldValue>)) {
      for (const one of value.multiValue ?? [{ value: value.value }]) out.append(name, one.value);
    }
    const search = out.toString();
    const forwarded: IncomingHttpHeaders = {};
    for (const [name, value] of Object.entries((returned.headers ?? {}) as Record<string, FieldValue>)) forwarded[name.toLowerCase()] = value.multiValue ? value.multiValue.map((one) => one.value).join(', ') : value.value;
    const cookieHeader = Object.entries((returned.cookies ?? {}) as Record<string, FieldValue>).map(([name, value]) => `${name}=${value.value}`).join('; ');
    if (cookieHeader) forwarded.cookie = cookieHeader;
    return { kind: 'request', path: `${String(returned.uri ?? url.pathname)}${search ? `?${search}` : ''}`, headers: forwarded };
  }
}

const flatten = (headers: unknown): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries((headers ?? {}) as Record<string, FieldValue>)) out[name.toLowerCase()] = value.multiValue ? value.multiValue.map((one) => one.value).join(', ') : String(value.value);
  return out;
};

const bodyOf = (body: unknown): Buffer => {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  const { data, encoding } = body as { data?: unknown; encoding?: unknown };
  return Buffer.from(String(data ?? ''), encoding === 'base64' ? 'base64' : 'utf8');
};
