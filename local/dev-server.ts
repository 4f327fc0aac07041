import { existsSync, readdirSync, rmSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { startRuntime, type Runtime, type RuntimeOptions } from './runtime.ts';
import { checkDeployPreflight } from './preflight/preflight.ts';
import { PROJECT_DIR, synthesizeInChild } from './synth-child.ts';
import { LocalTemplate, type Template } from './template.ts';

/** What a reload did. */
export type ReloadOutcome =
  | { readonly kind: 'code'; readonly functions: readonly string[] }
  | { readonly kind: 'stack' }
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'failed'; readonly error: string };

/** A local runtime that re-synthesizes when the project's code changes. */
export interface DevServer {
  /** The current runtime (replaced when the stack itself changes). */
  readonly runtime: Runtime;
  /** Re-synthesizes and applies the difference now. */
  reload(): Promise<ReloadOutcome>;
  stop(): Promise<void>;
}

/** Template without what changes when only handler code changes. */
const stackShape = (template: Template): string =>
  JSON.stringify(template.Resources, (key, value: unknown) => (key === 'S3Key' || key === 'aws:asset:path' ? undefined : value));

/**
 * Runs the local runtime and watches `lib/`, `lambdas/`, `bin/` and `dashboard/` (not when `cdkOut`
 * names an existing cloud assembly to run: that mode never reloads). A change re-synthesizes the app
 * (in a child process). If only Lambda code changed, just those functions get the new bundle: their
 * environments are retired and the next invocation cold-starts on it, with no restart and no state
 * lost. If the stack changed, the runtime restarts on the same data directory (nothing is lost
 * either: data is on disk).
 */
export const startDevServer = async (
  options: RuntimeOptions & { readonly watch?: boolean; readonly onReload?: (outcome: ReloadOutcome) => void },
): Promise<DevServer> => {
  const projectDir = options.projectDir ?? PROJECT_DIR;
  const dir = path.resolve(options.dir ?? '.offload');
  let generation = 0;
  for (const entry of existsSync(dir) ? readdirSync(dir) : []) if (/^cdk\.out\.\d+$/.test(entry)) rmSync(path.join(dir, entry), { recursive: true, force: true });
  /** Synth outputs some function still runs code from. */
  let outs = [path.join(dir, 'cdk.out')];
  let runtime = await startRuntime({ ...options, dir });
  let reloading: Promise<ReloadOutcome> | undefined;
  let again = false;

  const apply = async (): Promise<ReloadOutcome> => {
    const nextOut = path.join(dir, `cdk.out.${++generation}`);
    try {
      const stackName = await synthesizeInChild(nextOut, projectDir);
      const next = LocalTemplate.load(nextOut, stackName);
      // An edit AWS would refuse at deploy time is refused here too, while the previous stack keeps running.
      checkDeployPreflight(next.template, options);
      if (stackShape(next.template) !== stackShape(runtime.template.template)) {
        await runtime.stop();
        runtime = await startRuntime({ ...options, dir, cdkOut: nextOut, fresh: false });
        outs.forEach(retire);
        outs = [nextOut];
        return { kind: 'stack' };
      }
      const changed: string[] = [];
      for (const [logicalId, fn] of runtime.functions) {
        const codeDir = next.assetPathOf(logicalId);
        if (path.basename(codeDir) !== path.basename(fn.config.codeDir)) {
          fn.replaceCode(codeDir);
          changed.push(logicalId);
        }
      }
      if (changed.length === 0) {
        retire(nextOut);
        return { kind: 'unchanged' };
      }
      outs.push(nextOut);
      return { kind: 'code', functions: changed };
    } catch (error) {
      retire(nextOut);
      return { kind: 'failed', error: (error as Error).message };
    }
  };

  const reload = async (): Promise<ReloadOutcome> => {
    // An existing cloud assembly (options.cdkOut) is run as it is: there is nothing to re-synthesize.
    if (options.cdkOut !== undefined) return { kind: 'failed', error: `running the existing cloud assembly ${options.cdkOut}: no reload in this mode` };
    if (reloading) {
      again = true;
      return reloading;
    }
    reloading = (async () => {
      let outcome: ReloadOutcome;
      do {
        again = false;
        outcome = await apply();
        options.onReload?.(outcome);
      } while (again);
      return outcome;
    })().finally(() => (reloading = undefined));
    return reloading;
  };

  const watchers: FSWatcher[] = [];
  if (options.watch !== false && options.cdkOut === undefined) {
    let timer: NodeJS.Timeout | undefined;
    // dashboard/: its build is an asset of the stack (a change redeploys it through a restart).
    for (const folder of ['lib', 'lambdas', 'bin', 'dashboard']) {
      watchers.push(
        watch(path.join(projectDir, folder), { recursive: true }, () => {
          clearTimeout(timer);
          timer = setTimeout(() => void reload(), 300);
        }),
      );
    }
  }

  return {
    get runtime() {
      return runtime;
    },
    reload,
    stop: async () => {
      for (const watcher of watchers) watcher.close();
      await reloading;
      await runtime.stop();
    },
  };
};

/** Old synth outputs are removed a little later, once in-flight invocations have loaded their code. */
const retire = (outdir: string): void => {
  setTimeout(() => rmSync(outdir, { recursive: true, force: true }), 60_000).unref();
};
