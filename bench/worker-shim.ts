// Lambda environments of the local runtime are worker threads. Started without `execArgv`, a
// worker inherits the parent's: under `tsx` that includes tsx's loader, so every module a bundled
// Lambda loads (the whole AWS SDK) goes through tsx's transform hooks, multiplying cold-start CPU
// (profiled: ~3 s of CPU per environment instead of ~0.15 s). The bundles are plain ESM and the
// bootstrap is plain JS, so they need no loader. Until the runtime passes `execArgv: []` itself
// (recommended change in local/lambda/lambda-service.ts, `new Worker(BOOTSTRAP, {...})`), the
// benchmark starts environments without the inherited loader. Must be imported before the runtime.
import { createRequire, syncBuiltinESMExports } from 'node:module';

const require = createRequire(import.meta.url);
const threads = require('node:worker_threads') as typeof import('node:worker_threads');
const Original = threads.Worker;

/** Whether the shim is active (recorded in the results). */
export const workerShimActive = process.execArgv.some((arg) => arg.includes('tsx'));

if (workerShimActive && !(Original as { offloadBenchShim?: boolean }).offloadBenchShim) {
  class Worker extends Original {
    public static offloadBenchShim = true;
    public constructor(filename: string | URL, options: import('node:worker_threads').WorkerOptions = {}) {
      super(filename, options.execArgv === undefined && String(filename).endsWith('bootstrap.mjs') ? { ...options, execArgv: [] } : options);
    }
  }
  threads.Worker = Worker;
  syncBuiltinESMExports();
}
