import { build } from 'esbuild';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');

describe('client SDK: runs in browsers', () => {
  it('bundles for the browser with no Node built-ins and no service runtime code', async () => {
    // Act
    const result = await build({
      entryPoints: [path.join(root, 'client/sdk/index.ts')],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    // Assess
    const inputs = Object.keys(result.metafile.inputs);
    const imports = Object.values(result.metafile.inputs).flatMap((input) => input.imports.map((imported) => imported.path));
    const builtins = new Set([...builtinModules, ...builtinModules.map((name) => `node:${name}`)]);
    expect(result.errors).toEqual([]);
    expect(imports.filter((imported) => builtins.has(imported) || imported.startsWith('node:'))).toEqual([]);
    expect(inputs.every((input) => input.startsWith('client/sdk/'))).toBe(true);
    expect(inputs).toContain('client/sdk/watch.ts');
    const code = result.outputFiles[0]!.text;
    expect(code).toContain('OffloadClient');
    expect(code).not.toMatch(/\brequire\(/);
  });
});
