import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { synthesize } from '../local/synth.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A synth output shared by every end-to-end test file (synthesizing takes ~10 s). */
    cdkOut: string;
  }
}

/** Synthesizes the real app once per test run; end-to-end files boot runtimes from it. */
export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(path.join(tmpdir(), 'offload-synth-'));
  const cdkOut = path.join(dir, 'cdk.out');
  synthesize(cdkOut);
  project.provide('cdkOut', cdkOut);
  return () => rmSync(dir, { recursive: true, force: true });
}
