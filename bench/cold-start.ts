// 4. Cold start. For every Lambda of the synthesized stack: the bundle as deployed (minified ESM,
// AWS SDK left to the runtime) and its module initialisation time in a fresh Node process, next to
// a hello-world handler bundled with the same esbuild settings and measured the same way.
import { build } from 'esbuild';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { LocalTemplate } from '../local/template.ts';
import { BENCH_DIR, PROJECT_DIR, type BenchContext } from './harness.ts';
import { median, round } from './stats.ts';

export interface ColdStartRow {
  readonly function: string;
  readonly bundleBytes: number;
  readonly initMs: number | null;
  readonly helloWorldInitMs: number | null;
  /** initMs / helloWorldInitMs. */
  readonly ratio: number | null;
  /** Process start to handler ready (Node start-up + initialisation), and its ratio to hello world's. */
  readonly processReadyMs: number | null;
  readonly processRatio: number | null;
  readonly memoryMB: number;
  readonly runs: number;
}

const CHILD = path.join(BENCH_DIR, 'cold-start-child.mjs');
const PROVIDED_FROM = pathToFileURL(path.join(PROJECT_DIR, 'package.json')).href;

const measureOnce = (entry: string, env: Record<string, string>): Promise<{ initMs: number; processReadyMs: number }> =>
  new Promise((resolve, reject) => {
    execFile(process.execPath, [CHILD, entry, PROVIDED_FROM], { cwd: PROJECT_DIR, env, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`${path.basename(path.dirname(entry))}: ${stderr.split('\n').slice(-5).join(' ') || error.message}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop()!) as { initMs: number; processReadyMs: number });
    });
  });

/** Builds the hello-world handler with the stack's bundling settings (lib/constructs/offload-function.ts). */
const buildHelloWorld = async (dir: string): Promise<string> => {
  mkdirSync(dir, { recursive: true });
  const source = path.join(dir, 'hello.ts');
  writeFileSync(source, "export const handler = async () => ({ statusCode: 200, body: 'hello world' });\n");
  const outfile = path.join(dir, 'index.mjs');
  await build({
    entryPoints: [source],
    outfile,
    bundle: true,
    minify: true,
    sourcemap: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    external: ['@aws-sdk/*'],
    banner: { js: "import { createRequire as __offloadCreateRequire } from 'node:module'; const require = __offloadCreateRequire(import.meta.url);" },
    logLevel: 'silent',
  });
  return outfile;
};

export const runColdStart = async (context: BenchContext): Promise<ColdStartRow[]> => {
  const runs = context.quick ? 1 : 5;
  const template = LocalTemplate.load(context.cdkOut, 'Offload');
  const baseEnv: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
  };
  // Only the project's own Node.js handlers (esbuild bundles ending in .mjs): the stack also holds
  // CDK-provided functions (the dashboard's BucketDeployment handler is Python) that are not ours to
  // measure.
  const ownFunctions = template.ofType('AWS::Lambda::Function').filter(([logicalId, resource]) => {
    const properties = resource.Properties ?? {};
    const handlerFile = `${String(properties.Handler ?? 'index.handler').split('.')[0]}.mjs`;
    if (!String(properties.Runtime ?? '').startsWith('nodejs')) return false;
    try {
      return existsSync(path.join(template.assetPathOf(logicalId), handlerFile));
    } catch {
      return false; // inline code, not an asset of this app
    }
  });
  const functions = ownFunctions.map(([logicalId, resource]) => {
    const properties = resource.Properties ?? {};
    const variables = ((properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {}) as Record<string, unknown>;
    // Values that are CloudFormation intrinsics resolve only at deploy time: a placeholder string
    // stands in (module initialisation reads them but makes no call).
    const env = Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, typeof value === 'string' ? value : `local-${name.toLowerCase()}`]));
    const codeDir = template.assetPathOf(logicalId);
    const entry = path.join(codeDir, `${String(properties.Handler ?? 'index.handler').split('.')[0]}.mjs`);
    const fullEnv: Record<string, string> = { ...baseEnv, ...env, AWS_LAMBDA_FUNCTION_NAME: logicalId };
    return { name: logicalId.replace(/[0-9A-F]{8}$/, ''), entry, env: fullEnv, memoryMB: Number(properties.MemorySize ?? 128) };
  });
  const hello = await buildHelloWorld(path.join(context.workDir, 'hello-world'));
  // The stack sets NODE_OPTIONS=--enable-source-maps on every function; hello world gets the same.
  const helloEnv = { ...baseEnv, NODE_OPTIONS: functions[0]?.env.NODE_OPTIONS ?? '' };
  const samples = new Map<string, { initMs: number[]; processReadyMs: number[] }>();
  const record = (name: string, sample: { initMs: number; processReadyMs: number }) => {
    const entry = samples.get(name) ?? { initMs: [], processReadyMs: [] };
    entry.initMs.push(sample.initMs);
    entry.processReadyMs.push(sample.processReadyMs);
    samples.set(name, entry);
  };
  // Interleaved rounds (hello world first in each), one process at a time, so background noise
  // spreads evenly over every function.
  const warmRounds = context.quick ? 0 : 1;
  for (let round_ = 0; round_ < runs + warmRounds; round_++) {
    const measured = round_ >= warmRounds; // a first round warms the OS file cache only
    const helloSample = await measureOnce(hello, helloEnv);
    if (measured) record('hello-world', helloSample);
    for (const fn of functions) {
      const sample = await measureOnce(fn.entry, fn.env).catch((error: unknown) => {
        context.log(`  ${(error as Error).message}`);
        return undefined;
      });
      if (sample && measured) record(fn.name, sample);
    }
  }
  const helloInit = median(samples.get('hello-world')?.initMs ?? []);
  const helloReady = median(samples.get('hello-world')?.processReadyMs ?? []);
  const rows: ColdStartRow[] = functions.map((fn) => {
    const sample = samples.get(fn.name);
    const initMs = median(sample?.initMs ?? []);
    const readyMs = median(sample?.processReadyMs ?? []);
    return {
      function: fn.name,
      bundleBytes: statSync(fn.entry).size,
      initMs: round(initMs),
      helloWorldInitMs: round(helloInit, 2),
      ratio: initMs !== null && helloInit ? round(initMs / helloInit) : null,
      processReadyMs: round(readyMs),
      processRatio: readyMs !== null && helloReady ? round(readyMs / helloReady) : null,
      memoryMB: fn.memoryMB,
      runs,
    };
  });
  rows.push({
    function: 'hello-world',
    bundleBytes: statSync(hello).size,
    initMs: round(helloInit, 2),
    helloWorldInitMs: round(helloInit, 2),
    ratio: 1,
    processReadyMs: round(helloReady),
    processRatio: 1,
    memoryMB: 128,
    runs,
  });
  return rows;
};
