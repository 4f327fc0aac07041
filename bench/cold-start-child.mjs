// Measures one module initialisation in a fresh Node process: resolves `@aws-sdk/*` the way the
// Lambda runtime provides it (from outside the bundle; here the project's node_modules, as the
// local runtime's bootstrap does), imports the bundle, and prints the import time.
// Usage: node cold-start-child.mjs <bundle.mjs> <file URL to resolve provided modules from>
import { registerHooks } from 'node:module';
import { pathToFileURL } from 'node:url';

const [entry, providedFrom] = process.argv.slice(2);
const PROVIDED = /^@aws-sdk\/|^@smithy\//;
registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (error) {
      if (!PROVIDED.test(specifier)) throw error;
      return nextResolve(specifier, { ...context, parentURL: providedFrom });
    }
  },
});
if ((process.env.NODE_OPTIONS ?? '').includes('--enable-source-maps')) process.setSourceMapsEnabled(true);
const started = performance.now();
const module = await import(pathToFileURL(entry).href);
const initMs = performance.now() - started;
if (typeof module.handler !== 'function') throw new Error(`${entry} exports no handler`);
process.stdout.write(`${JSON.stringify({ initMs, processReadyMs: performance.now() })}\n`);
