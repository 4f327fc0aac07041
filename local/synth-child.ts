import { execFile } from 'node:child_process';
import path from 'node:path';

/** The repository root (where `lib/`, `lambdas/` and `node_modules/` are). */
export const PROJECT_DIR = path.resolve(import.meta.dirname, '..');

/**
 * Synthesizes the app in a child process into `outdir`, so edited stack or handler code is always
 * loaded fresh and the runtime process never loads aws-cdk-lib. Resolves with the stack name.
 */
export const synthesizeInChild = (outdir: string, projectDir: string = PROJECT_DIR): Promise<string> =>
  new Promise((resolve, reject) => {
    const tsx = path.join(projectDir, 'node_modules', '.bin', 'tsx');
    execFile(tsx, [path.join(projectDir, 'local', 'synth-cli.ts'), outdir], { cwd: projectDir, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        const detail = stderr.split('\n').filter((line) => line.trim() && !line.includes('nodedir')).slice(-15).join('\n');
        reject(new Error(`synth failed:\n${detail}`, { cause: error }));
      } else resolve(stdout.trim().split('\n').pop() ?? 'Offload');
    });
  });
