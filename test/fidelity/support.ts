import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalFunction, type LocalFunctionConfig } from '../../local/lambda/lambda-service.ts';
import { localArn, LocalTemplate, type TemplateResource } from '../../local/template.ts';

/** A temp directory for one test file; {@link Scratch.cleanup} removes it. */
export class Scratch {
  public readonly root = mkdtempSync(path.join(tmpdir(), 'offload-fidelity-'));
  /** Where fixture handlers append what they saw (one JSON line per record). */
  public readonly out = path.join(this.root, 'out');

  public constructor() {
    mkdirSync(this.out);
  }

  /** Writes a fixture asset (`<root>/<name>/index.mjs`) and returns its directory. */
  public asset(name: string, source: string): string {
    const dir = path.join(this.root, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'index.mjs'), source);
    return dir;
  }

  /** JSON lines a fixture appended to `<out>/<name>.jsonl`. */
  public records(name: string): any[] {
    const file = path.join(this.out, `${name}.jsonl`);
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));
  }

  public cleanup(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** Source lines a fixture handler can use to record what it saw into `<OUT_DIR>/<name>.jsonl`. */
export const RECORD = `
import { appendFileSync } from 'node:fs';
const record = (name, value) => appendFileSync(process.env.OUT_DIR + '/' + name + '.jsonl', JSON.stringify(value) + '\\n');
`;

/** A Lambda function built directly (no template), with a 1 s timeout unless told. */
export const localFunction = (codeDir: string, config: Partial<LocalFunctionConfig> = {}, maxWaitMs?: number): LocalFunction => {
  const functionName = config.functionName ?? `fidelity-${path.basename(codeDir)}`;
  return new LocalFunction(
    {
      logicalId: functionName,
      functionName,
      arn: localArn('lambda', `function:${functionName}`),
      codeDir,
      handler: 'index.handler',
      timeoutSeconds: 1,
      memorySize: 256,
      environment: {},
      ...config,
    },
    () => undefined,
    maxWaitMs,
  );
};

/**
 * Fixture assets laid out as `cdk synth` lays them out: `<outdir>/asset.<hash>/index.mjs`,
 * referenced from a function's `Code.S3Key` (`<hash>.zip`) and the asset manifest.
 */
export class FixtureApp {
  public readonly resources: Record<string, TemplateResource> = {};
  private readonly assets: Record<string, { source: { path: string } }> = {};

  public constructor(private readonly scratch: Scratch) {}

  /** Adds an `AWS::Lambda::Function` whose code is `source`. */
  public fn(logicalId: string, source: string, properties: Record<string, unknown> = {}): this {
    const hash = logicalId.toLowerCase().padEnd(16, '0');
    this.scratch.asset(`asset.${hash}`, source);
    this.assets[hash] = { source: { path: `asset.${hash}` } };
    this.resources[logicalId] = {
      Type: 'AWS::Lambda::Function',
      Properties: { Code: { S3Bucket: 'cdk-assets', S3Key: `${hash}.zip` }, Handler: 'index.handler', Runtime: 'nodejs24.x', Timeout: 1, MemorySize: 128, ...properties },
    };
    return this;
  }

  public add(logicalId: string, resource: TemplateResource): this {
    this.resources[logicalId] = resource;
    return this;
  }

  public template(): LocalTemplate {
    return new LocalTemplate({ Resources: this.resources }, this.scratch.root, this.assets);
  }

  /** The template's functions as local functions, the way the runtime builds them (code from the asset, environment resolved). */
  public functions(template: LocalTemplate, environment: Record<string, string> = {}): Map<string, LocalFunction> {
    const functions = new Map<string, LocalFunction>();
    for (const [logicalId, resource] of template.ofType('AWS::Lambda::Function')) {
      const properties = resource.Properties ?? {};
      const variables = ((properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {}) as Record<string, unknown>;
      const resolved = Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, template.resolveString(value, logicalId)]));
      functions.set(
        logicalId,
        localFunction(template.assetPathOf(logicalId), {
          logicalId,
          functionName: `Offload-${logicalId}`,
          timeoutSeconds: Number(properties.Timeout ?? 3),
          memorySize: Number(properties.MemorySize ?? 128),
          environment: { ...resolved, ...environment },
        }),
      );
    }
    return functions;
  }
}

/** `integrations/<Ref>` target and a Lambda proxy integration, as CDK synthesizes them. */
export const lambdaUri = (functionId: string) => ({
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':apigateway:', { Ref: 'AWS::Region' }, ':lambda:path/2015-03-31/functions/', { 'Fn::GetAtt': [functionId, 'Arn'] }, '/invocations']],
});

/** Adds an AWS_PROXY integration and a route to `app`. */
export const route = (app: FixtureApp, apiId: string, routeKey: string, functionId: string, extra: Record<string, unknown> = {}): string => {
  const id = `${apiId}Route${routeKey.replace(/[^A-Za-z0-9]/g, '')}${Object.keys(app.resources).length}`;
  app.add(`${id}Integration`, { Type: 'AWS::ApiGatewayV2::Integration', Properties: { ApiId: { Ref: apiId }, IntegrationType: 'AWS_PROXY', IntegrationUri: lambdaUri(functionId), PayloadFormatVersion: '2.0' } });
  app.add(id, { Type: 'AWS::ApiGatewayV2::Route', Properties: { ApiId: { Ref: apiId }, RouteKey: routeKey, AuthorizationType: 'NONE', Target: { 'Fn::Join': ['', ['integrations/', { Ref: `${id}Integration` }]] }, ...extra } });
  return id;
};

/** Polls until `check` returns a truthy value or `timeoutMs` passes. */
export const eventually = async <T>(check: () => T | Promise<T>, timeoutMs = 10_000, intervalMs = 25): Promise<T> => {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
};

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Largest number of [start, end] intervals overlapping at any instant. */
export const maxOverlap = (intervals: readonly (readonly [number, number])[]): number => {
  const edges = intervals.flatMap(([start, end]) => [[start, 1] as const, [end, -1] as const]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let current = 0;
  let max = 0;
  for (const [, delta] of edges) max = Math.max(max, (current += delta));
  return max;
};
