// 4. Cold start. For every Lambda of the synthesized stack, two ways of shipping the AWS SDK:
// - `runtime SDK`: the bundle as deployed (minified ESM, `@aws-sdk/*` external, loaded from the
//   runtime's copy; here the project's node_modules, as the local runtime's bootstrap does);
// - `bundled SDK`: the same bundle re-bundled by esbuild with the SDK inside (tree-shaken,
//   minified ESM, `module` main fields first), so the application code is identical.
// Each is measured as module initialisation in a fresh Node process, next to a minimal function
// that imports the same SDK packages and creates one client of each (built and shipped the same
// way), and next to a hello-world handler. The stack is the one the synthesized assembly holds.
import { build, type BuildOptions } from 'esbuild';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { assemblyStackId, LocalTemplate } from '../local/template.ts';
import { BENCH_DIR, PROJECT_DIR, type BenchContext } from './harness.ts';
import { median, round } from './stats.ts';

/** One way of shipping a function: its bundle and its initialisation. */
export interface ColdStartVariant {
  readonly bundleBytes: number;
  readonly initMs: number | null;
  readonly processReadyMs: number | null;
  /** Module init of the minimal function creating the same SDK clients, shipped the same way. */
  readonly sdkBaselineInitMs: number | null;
  /** initMs / sdkBaselineInitMs. */
  readonly ratioToSdkBaseline: number | null;
}

export interface ColdStartRow {
  readonly function: string;
  /** `function`: a Lambda of the stack; `baseline`: hello world or a minimal SDK-clients function. */
  readonly kind: 'function' | 'baseline';
  /** As deployed (SDK from the runtime). */
  readonly bundleBytes: number;
  readonly initMs: number | null;
  readonly helloWorldInitMs: number | null;
  /** initMs / helloWorldInitMs. */
  readonly ratio: number | null;
  /** Process start to handler ready (Node start-up + initialisation), and its ratio to hello world's. */
  readonly processReadyMs: number | null;
  readonly processRatio: number | null;
  /** The `@aws-sdk/*` packages the bundle imports. */
  readonly sdkPackages: readonly string[];
  /** Minimal function with the same SDK clients, SDK from the runtime. */
  readonly sdkBaselineInitMs: number | null;
  readonly ratioToSdkBaseline: number | null;
  /** The same code with the SDK bundled into the function (null when the rebuild failed, or in quick mode for all but the largest bundle of each SDK package set). */
  readonly bundledSdk: ColdStartVariant | null;
  readonly memoryMB: number;
  readonly runs: number;
}

const CHILD = path.join(BENCH_DIR, 'cold-start-child.mjs');
const PROVIDED_FROM = pathToFileURL(path.join(PROJECT_DIR, 'package.json')).href;

interface Sample {
  readonly initMs: number;
  readonly processReadyMs: number;
}

const measureOnce = (entry: string, env: Record<string, string>): Promise<Sample> =>
  new Promise((resolve, reject) => {
    execFile(process.execPath, [CHILD, entry, PROVIDED_FROM], { cwd: PROJECT_DIR, env, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`${path.basename(path.dirname(entry))}: ${stderr.split('\n').slice(-5).join(' ') || error.message}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop()!) as Sample);
    });
  });

/** The stack's bundling settings (lib/constructs/offload-function.ts). */
const BANNER = "import { createRequire as __offloadCreateRequire } from 'node:module'; const require = __offloadCreateRequire(import.meta.url);";
const COMMON: BuildOptions = { bundle: true, minify: true, platform: 'node', target: 'node24', format: 'esm', mainFields: ['module', 'main'], logLevel: 'silent' };

/** Builds `source` with the stack's settings, the SDK left to the runtime. */
const buildRuntimeSdk = async (source: string, outfile: string): Promise<string> => {
  await build({ ...COMMON, entryPoints: [source], outfile, sourcemap: true, external: ['@aws-sdk/*'], banner: { js: BANNER } });
  return outfile;
};

/**
 * Bundles `entry` (a deployed bundle or a baseline's source) with the SDK inside: tree-shaken,
 * minified ESM. The `require` of the banner serves CommonJS parts of the SDK's dependencies.
 */
const buildBundledSdk = async (entry: string, outfile: string): Promise<string> => {
  await build({
    ...COMMON,
    entryPoints: [entry],
    outfile,
    sourcemap: true,
    treeShaking: true,
    nodePaths: [path.join(PROJECT_DIR, 'node_modules')],
    banner: { js: "import { createRequire as __bundledSdkCreateRequire } from 'node:module'; const require = __bundledSdkCreateRequire(import.meta.url);" },
  });
  return outfile;
};

/** `@aws-sdk/*` packages a bundle imports (static imports of the minified ESM, or `require`). */
const sdkImports = (bundle: string): string[] => {
  const code = readFileSync(bundle, 'utf8');
  const found = new Set<string>();
  for (const match of code.matchAll(/(?:from\s*|import\s*\(\s*|require\s*\(\s*)["'](@aws-sdk\/[^"'/]+)["']/g)) found.add(match[1]!);
  return [...found].sort();
};

/** The client class a `@aws-sdk/client-*` package exports (e.g. `DynamoDBClient`). */
const clientClassOf = async (pkg: string): Promise<string | undefined> => {
  const module = (await import(pkg)) as Record<string, unknown>;
  return Object.keys(module).find((name) => name.endsWith('Client') && !name.startsWith('_') && typeof module[name] === 'function' && typeof (module[name] as { prototype?: { send?: unknown } }).prototype?.send === 'function');
};

/**
 * Source of a minimal handler that imports `packages` and creates one client of each at module
 * scope, as the functions do (lib-dynamodb: a document client over a DynamoDB client; helpers
 * without a client are imported whole).
 */
const sdkBaselineSource = async (packages: readonly string[]): Promise<string> => {
  const lines: string[] = [];
  const created: string[] = [];
  for (const [index, pkg] of packages.entries()) {
    if (pkg === '@aws-sdk/lib-dynamodb') {
      lines.push(`import { DynamoDBDocumentClient as Doc${index} } from '@aws-sdk/lib-dynamodb';`, `import { DynamoDBClient as DocBase${index} } from '@aws-sdk/client-dynamodb';`);
      created.push(`Doc${index}.from(new DocBase${index}({ maxAttempts: 5 }))`);
      continue;
    }
    const clientClass = pkg.startsWith('@aws-sdk/client-') ? await clientClassOf(pkg).catch(() => undefined) : undefined;
    if (clientClass) {
      lines.push(`import { ${clientClass} as Client${index} } from '${pkg}';`);
      created.push(`new Client${index}({ maxAttempts: 5 })`);
    } else {
      lines.push(`import * as Module${index} from '${pkg}';`);
      created.push(`Module${index}`);
    }
  }
  lines.push(`const clients = [${created.join(', ')}];`, "export const handler = async () => ({ statusCode: 200, body: String(clients.length) });", '');
  return lines.join('\n');
};

interface Measured {
  readonly name: string;
  readonly entry: string;
  readonly env: Record<string, string>;
}

export const runColdStart = async (context: BenchContext): Promise<ColdStartRow[]> => {
  const runs = context.quick ? 1 : 5;
  const stackId = assemblyStackId(context.cdkOut);
  const template = LocalTemplate.load(context.cdkOut, stackId);
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
  const buildDir = path.join(context.workDir, 'cold-start');
  mkdirSync(buildDir, { recursive: true });
  // Quick mode (CI checks only the shape, in under two minutes): the SDK-bundled variant of one
  // function per distinct set of SDK packages, the largest bundle of each set.
  const bundledToo = new Set<string>();
  if (context.quick) {
    const largestOfSet = new Map<string, { logicalId: string; bytes: number }>();
    for (const [logicalId, resource] of ownFunctions) {
      const entry = path.join(template.assetPathOf(logicalId), `${String(resource.Properties?.Handler ?? 'index.handler').split('.')[0]}.mjs`);
      const key = sdkImports(entry).join(',');
      const bytes = statSync(entry).size;
      if ((largestOfSet.get(key)?.bytes ?? -1) < bytes) largestOfSet.set(key, { logicalId, bytes });
    }
    for (const { logicalId } of largestOfSet.values()) bundledToo.add(logicalId);
  } else for (const [logicalId] of ownFunctions) bundledToo.add(logicalId);
  const functions = await Promise.all(
    ownFunctions.map(async ([logicalId, resource]) => {
      const properties = resource.Properties ?? {};
      const variables = ((properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {}) as Record<string, unknown>;
      // Values that are CloudFormation intrinsics resolve only at deploy time: a placeholder string
      // stands in (module initialisation reads them but makes no call).
      const env = Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, typeof value === 'string' ? value : `local-${name.toLowerCase()}`]));
      const codeDir = template.assetPathOf(logicalId);
      const entry = path.join(codeDir, `${String(properties.Handler ?? 'index.handler').split('.')[0]}.mjs`);
      const name = logicalId.replace(/[0-9A-F]{8}$/, '');
      const bundled = bundledToo.has(logicalId)
        ? await buildBundledSdk(entry, path.join(buildDir, 'bundled', name, 'index.mjs')).catch((error: unknown) => {
            context.log(`  ${name}: bundling the SDK in failed: ${(error as Error).message.split('\n')[0]}`);
            return undefined;
          })
        : undefined;
      const fullEnv: Record<string, string> = { ...baseEnv, ...env, AWS_LAMBDA_FUNCTION_NAME: logicalId };
      return { name, entry, bundled, sdkPackages: sdkImports(entry), env: fullEnv, memoryMB: Number(properties.MemorySize ?? 128) };
    }),
  );
  // The stack sets NODE_OPTIONS=--enable-source-maps on every function; the baselines get the same.
  const baselineEnv = { ...baseEnv, NODE_OPTIONS: functions[0]?.env.NODE_OPTIONS ?? '' };
  const helloSource = path.join(buildDir, 'hello-world', 'hello.ts');
  mkdirSync(path.dirname(helloSource), { recursive: true });
  writeFileSync(helloSource, "export const handler = async () => ({ statusCode: 200, body: 'hello world' });\n");
  const hello = await buildRuntimeSdk(helloSource, path.join(buildDir, 'hello-world', 'index.mjs'));

  // One minimal SDK-clients function per distinct set of SDK packages, built both ways.
  const baselineName = (packages: readonly string[]) => `minimal SDK clients (${packages.map((pkg) => pkg.replace(/^@aws-sdk\/(client-)?/, '')).join(', ') || 'none'})`;
  const baselines = new Map<string, { name: string; packages: readonly string[]; runtime: string; bundled: string | undefined }>();
  for (const fn of functions) {
    const key = fn.sdkPackages.join(',');
    if (baselines.has(key)) continue;
    const dir = path.join(buildDir, `sdk-baseline-${baselines.size}`);
    mkdirSync(dir, { recursive: true });
    const source = path.join(dir, 'handler.mjs');
    writeFileSync(source, await sdkBaselineSource(fn.sdkPackages));
    const runtimeBuild = await buildRuntimeSdk(source, path.join(dir, 'runtime', 'index.mjs'));
    const bundledBuild = await buildBundledSdk(source, path.join(dir, 'bundled', 'index.mjs')).catch(() => undefined);
    baselines.set(key, { name: baselineName(fn.sdkPackages), packages: fn.sdkPackages, runtime: runtimeBuild, bundled: bundledBuild });
  }

  const measured: Measured[] = [
    { name: 'hello-world', entry: hello, env: baselineEnv },
    ...[...baselines.values()].flatMap((baseline) => [
      { name: `${baseline.name}|runtime`, entry: baseline.runtime, env: baselineEnv },
      ...(baseline.bundled ? [{ name: `${baseline.name}|bundled`, entry: baseline.bundled, env: baselineEnv }] : []),
    ]),
    ...functions.flatMap((fn) => [{ name: `${fn.name}|runtime`, entry: fn.entry, env: fn.env }, ...(fn.bundled ? [{ name: `${fn.name}|bundled`, entry: fn.bundled, env: fn.env }] : [])]),
  ];
  const samples = new Map<string, { initMs: number[]; processReadyMs: number[] }>();
  // Interleaved rounds, one process at a time, so background noise spreads evenly over every
  // function and both variants.
  const warmRounds = context.quick ? 0 : 1;
  for (let round_ = 0; round_ < runs + warmRounds; round_++) {
    const counted = round_ >= warmRounds; // a first round warms the OS file cache only
    for (const item of measured) {
      const sample = await measureOnce(item.entry, item.env).catch((error: unknown) => {
        context.log(`  ${item.name}: ${(error as Error).message}`);
        return undefined;
      });
      if (!sample || !counted) continue;
      const entry = samples.get(item.name) ?? { initMs: [], processReadyMs: [] };
      entry.initMs.push(sample.initMs);
      entry.processReadyMs.push(sample.processReadyMs);
      samples.set(item.name, entry);
    }
  }
  const initOf = (name: string) => median(samples.get(name)?.initMs ?? []);
  const readyOf = (name: string) => median(samples.get(name)?.processReadyMs ?? []);
  const ratio = (a: number | null, b: number | null) => (a !== null && b ? round(a / b) : null);
  const helloInit = initOf('hello-world');
  const helloReady = readyOf('hello-world');
  const variant = (name: string, file: string, baselineInit: number | null): ColdStartVariant => ({
    bundleBytes: statSync(file).size,
    initMs: round(initOf(name)),
    processReadyMs: round(readyOf(name)),
    sdkBaselineInitMs: round(baselineInit),
    ratioToSdkBaseline: ratio(initOf(name), baselineInit),
  });
  const rows: ColdStartRow[] = functions.map((fn) => {
    const baseline = baselines.get(fn.sdkPackages.join(','))!;
    const runtimeName = `${fn.name}|runtime`;
    const baselineRuntimeInit = initOf(`${baseline.name}|runtime`);
    return {
      function: fn.name,
      kind: 'function',
      bundleBytes: statSync(fn.entry).size,
      initMs: round(initOf(runtimeName)),
      helloWorldInitMs: round(helloInit, 2),
      ratio: ratio(initOf(runtimeName), helloInit),
      processReadyMs: round(readyOf(runtimeName)),
      processRatio: ratio(readyOf(runtimeName), helloReady),
      sdkPackages: fn.sdkPackages,
      sdkBaselineInitMs: round(baselineRuntimeInit),
      ratioToSdkBaseline: ratio(initOf(runtimeName), baselineRuntimeInit),
      bundledSdk: fn.bundled ? variant(`${fn.name}|bundled`, fn.bundled, initOf(`${baseline.name}|bundled`)) : null,
      memoryMB: fn.memoryMB,
      runs,
    };
  });
  for (const baseline of baselines.values()) {
    const init = initOf(`${baseline.name}|runtime`);
    rows.push({
      function: baseline.name,
      kind: 'baseline',
      bundleBytes: statSync(baseline.runtime).size,
      initMs: round(init),
      helloWorldInitMs: round(helloInit, 2),
      ratio: ratio(init, helloInit),
      processReadyMs: round(readyOf(`${baseline.name}|runtime`)),
      processRatio: ratio(readyOf(`${baseline.name}|runtime`), helloReady),
      sdkPackages: baseline.packages,
      sdkBaselineInitMs: round(init),
      ratioToSdkBaseline: init !== null ? 1 : null,
      bundledSdk: baseline.bundled ? variant(`${baseline.name}|bundled`, baseline.bundled, initOf(`${baseline.name}|bundled`)) : null,
      memoryMB: 128,
      runs,
    });
  }
  rows.push({
    function: 'hello-world',
    kind: 'baseline',
    bundleBytes: statSync(hello).size,
    initMs: round(helloInit, 2),
    helloWorldInitMs: round(helloInit, 2),
    ratio: helloInit !== null ? 1 : null,
    processReadyMs: round(helloReady),
    processRatio: helloReady !== null ? 1 : null,
    sdkPackages: [],
    sdkBaselineInitMs: null,
    ratioToSdkBaseline: null,
    bundledSdk: null,
    memoryMB: 128,
    runs,
  });
  return rows;
};
