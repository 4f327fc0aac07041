// Runs inside a worker thread: one Lambda execution environment. Loads the bundled handler once
// (the cold start), then serves invocations one at a time, like the Lambda runtime interface.
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { createRequire, enableCompileCache, registerHooks } from 'node:module';
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

const { entry, handlerName, functionName, functionArn, memorySize, logGroupName, runtimeModulesFrom, cpuNice, compileCacheDir, transport } = workerData;

// Local only, never on AWS: environments share this machine's cores with the emulators, so
// background functions run at a lower priority. On Linux a nice value set on a thread id applies
// to that thread alone (/proc/thread-self names it); elsewhere this is skipped.
if (cpuNice > 0) {
  try {
    setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), cpuNice);
  } catch {
    /* not Linux: every environment keeps the process's priority */
  }
}
// Every environment compiles the same bundles and SDK modules; a shared on-disk V8 code cache
// spares the repeated compilation (a cold start's code and semantics are unchanged).
if (compileCacheDir) enableCompileCache(compileCacheDir);

// The Lambda Node.js runtime ships the AWS SDK v3 outside the function's code; bundles therefore
// leave `@aws-sdk/*` external. Emulate that: resolve it from the project's node_modules when the
// asset itself does not contain it.
const PROVIDED = /^@aws-sdk\/|^@smithy\//;
registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (error) {
      if (!PROVIDED.test(specifier)) throw error;
      return nextResolve(specifier, { ...context, parentURL: runtimeModulesFrom });
    }
  },
});
if ((process.env.NODE_OPTIONS ?? '').includes('--enable-source-maps')) process.setSourceMapsEnabled(true);

// Local only: calls of the provided SDK to the local engines' endpoints travel over a MessagePort
// to the runtime (no TCP, no HTTP framing); the SDK still builds, signs and parses the real wire
// format (in-process-http-handler.mjs). A bundle carrying its own SDK copy keeps plain HTTP.
if (transport) {
  const provided = createRequire(runtimeModulesFrom);
  const { NodeHttpHandler } = provided('@smithy/node-http-handler');
  const { HttpResponse, buildQueryString } = provided('@smithy/core/protocols');
  const { installInProcessTransport } = await import('./in-process-http-handler.mjs');
  installInProcessTransport({ port: transport.port, origins: transport.origins, NodeHttpHandler, HttpResponse, buildQueryString });
}

const serializeError = (error) =>
  error instanceof Error
    ? { errorType: error.name || 'Error', errorMessage: error.message, stack: (error.stack ?? '').split('\n') }
    : { errorType: 'Error', errorMessage: String(error) };

/** Runtimes that still accept `(event, context, callback)` handlers; the default (nodejs24.x) refuses them. */
const CALLBACK_RUNTIMES = /_nodejs(1\d|20|22)\.x$/;
const CALLBACK_REMOVED =
  'ERROR: AWS Lambda has removed support for callback-based function handlers starting with Node.js 24. You need to modify this function to use a supported handler signature to use Node.js 24 or later.';

let handler;
let initError;
const started = performance.now();
try {
  const module = await import(pathToFileURL(entry).href);
  handler = module[handlerName];
  if (typeof handler !== 'function') throw new Error(`${entry} does not export a function named ${handlerName}`);
  // nodejs24.x removed callback-style handlers: a handler declaring a third parameter fails init.
  if (handler.length >= 3 && !CALLBACK_RUNTIMES.test(process.env.AWS_EXECUTION_ENV ?? '')) {
    throw Object.assign(new Error(CALLBACK_REMOVED), { name: 'Runtime.CallbackHandlerDeprecated' });
  }
} catch (error) {
  initError = serializeError(error);
}
/** This thread's CPU time in microseconds (user + system): the runtime's per-function CPU accounting. */
const threadCpuUs = () => {
  const { user, system } = process.threadCpuUsage();
  return user + system;
};
parentPort.postMessage({ type: 'ready', initMs: performance.now() - started, initCpuUs: threadCpuUs(), error: initError });

const invoke = (event, context) =>
  new Promise((resolve, reject) => {
    let settled = false;
    const callback = (error, result) => {
      if (settled) return;
      settled = true;
      error ? reject(error) : resolve(result);
    };
    try {
      const returned = handler(event, context, callback);
      if (returned && typeof returned.then === 'function') returned.then((value) => callback(null, value), (error) => callback(error));
      else if (handler.length < 3) callback(null, returned);
    } catch (error) {
      callback(error);
    }
  });

parentPort.on('message', async (message) => {
  if (message.type !== 'invoke') return;
  const deadline = Date.now() + message.timeoutMs;
  const context = {
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: functionArn,
    memoryLimitInMB: String(memorySize),
    awsRequestId: message.requestId,
    logGroupName,
    logStreamName: `local/${message.environmentId}`,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
  const cpuFrom = threadCpuUs();
  try {
    const result = await invoke(message.event, context);
    parentPort.postMessage({ type: 'result', id: message.id, cpuUs: threadCpuUs() - cpuFrom, result: result === undefined ? null : JSON.parse(JSON.stringify(result)) });
  } catch (error) {
    parentPort.postMessage({ type: 'error', id: message.id, cpuUs: threadCpuUs() - cpuFrom, error: serializeError(error) });
  }
});
