import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');
export const BIN = path.join(ROOT, 'client/cli/bin.mjs');

/** What a CLI run produced. */
export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout as it arrived, with arrival times (ms since spawn). */
  readonly chunks: readonly { readonly at: number; readonly text: string }[];
  /** ms from spawn to exit. */
  readonly exitedAt: number;
  /** stdout parsed as one JSON document or, when streaming, one per line. */
  json(): any;
  lines(): any[];
}

/**
 * Runs `offload <args>` as a child process (the package's bin, on this Node) with only the given
 * environment (plus PATH/HOME), so nothing of the machine's configuration leaks in. `stdin` is
 * piped to it (else stdin is closed); `onStdout` and `onSpawn` get the child (to signal it).
 */
export const runCli = (
  args: readonly string[],
  options: {
    env?: Record<string, string>;
    cwd?: string;
    timeoutMs?: number;
    stdin?: string;
    onStdout?: (text: string, child: ChildProcess) => void;
    onSpawn?: (child: ChildProcess) => void;
  } = {},
): Promise<CliRun> =>
  new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env },
      stdio: [options.stdin !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    if (options.stdin !== undefined) child.stdin!.end(options.stdin);
    options.onSpawn?.(child);
    const chunks: { at: number; text: string }[] = [];
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      chunks.push({ at: Date.now() - started, text });
      options.onStdout?.(text, child);
    });
    child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`offload ${args.join(' ')} timed out; stderr: ${stderr}`));
    }, options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const stdout = chunks.map((chunk) => chunk.text).join('');
      resolve({
        code,
        stdout,
        stderr,
        chunks,
        exitedAt: Date.now() - started,
        json: () => JSON.parse(stdout),
        lines: () => stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line)),
      });
    });
  });
