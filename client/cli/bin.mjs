#!/usr/bin/env node
// The `offload` bin: registers tsx's ESM loader and runs the TypeScript CLI in place (no build
// step; tsx caches transpiled files, so later starts are fast). Admin commands load the AWS SDK
// lazily, and `offload dev` loads the local runtime only when asked for.
const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  process.stderr.write(`offload needs Node 22 or newer (this is ${process.version}). In this repository, \`npx offload\` and npm scripts use the Node 24 that \`npm ci\` installs.\n`);
  process.exit(2);
}
const { register } = await import('tsx/esm/api');
register();
const { main } = await import('./main.ts');
const code = await main(process.argv.slice(2));
process.exitCode = code;
// Exit once output is flushed, without waiting for idle keep-alive sockets.
const flushed = (stream) => (stream.writableLength === 0 ? Promise.resolve() : new Promise((resolve) => stream.once('drain', resolve)));
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
process.exit(code);
