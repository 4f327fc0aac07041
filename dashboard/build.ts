import { buildSync, type Metafile } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';

/** The dashboard's sources. */
export const DASHBOARD_DIR = import.meta.dirname;

/** What a built dashboard holds (`config.json` is added by whoever serves it). */
export const DASHBOARD_FILES = ['index.html', 'app.js', 'styles.css'] as const;

const BUILTINS = new Set([...builtinModules, ...builtinModules.map((name) => `node:${name}`)]);

/** Thrown when the bundle would pull in Node-only code. */
export class DashboardBuildError extends Error {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DashboardBuildError';
  }
}

/** Node built-ins imported by anything in the bundle (must be none). */
export const nodeImportsOf = (metafile: Metafile): string[] =>
  Object.values(metafile.inputs).flatMap((input) => input.imports.map((imported) => imported.path)).filter((imported) => BUILTINS.has(imported) || imported.startsWith('node:'));

/**
 * Builds the dashboard into `outDir`: `app.ts` bundled with the client SDK by esbuild for browsers
 * (ES2022 modules, minified), plus `index.html` and `styles.css`. Synchronous, so the CDK app can
 * call it while synthesizing. Fails if any Node built-in would end up in the bundle.
 *
 * @example
 * ```ts
 * const { metafile } = buildDashboard(mkdtempSync(path.join(tmpdir(), 'dashboard-')));
 * ```
 */
export const buildDashboard = (outDir: string): { readonly outDir: string; readonly metafile: Metafile } => {
  mkdirSync(outDir, { recursive: true });
  const result = buildSync({
    entryPoints: [path.join(DASHBOARD_DIR, 'app.ts')],
    outfile: path.join(outDir, 'app.js'),
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    metafile: true,
    logLevel: 'silent',
  });
  const nodeImports = nodeImportsOf(result.metafile);
  if (nodeImports.length) throw new DashboardBuildError(`The dashboard bundle would import Node built-ins: ${nodeImports.join(', ')}`);
  for (const file of ['index.html', 'styles.css']) copyFileSync(path.join(DASHBOARD_DIR, file), path.join(outDir, file));
  return { outDir, metafile: result.metafile };
};
