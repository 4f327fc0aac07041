import { synthesize } from './synth.ts';

/** `tsx local/synth-cli.ts <outdir>`: synthesizes the app in a fresh process (used for reloads). */
const outdir = process.argv[2];
if (!outdir) {
  process.stderr.write('usage: synth-cli <outdir>\n');
  process.exit(2);
}
process.stdout.write(`${synthesize(outdir)}\n`);
