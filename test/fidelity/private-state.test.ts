import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensurePrivateDir, writePrivateFile } from '../../local/private-file.ts';

/** The local runtime's state (endpoints.json with the dev key, dev-tenant.json) is readable by its owner only. */
describe('local runtime: private state files', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'offload-private-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const modeOf = (file: string) => statSync(file).mode & 0o777;

  it('writes a new file 0600 whatever the umask', () => {
    // Prepare
    const file = path.join(root, 'new.json');
    const umask = process.umask(0o000);
    // Act
    try {
      writePrivateFile(file, '{"apiKey":"ofk_x"}\n');
    } finally {
      process.umask(umask);
    }
    // Assess
    expect(modeOf(file)).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toBe('{"apiKey":"ofk_x"}\n');
  });

  it('tightens a file an older runtime left readable by others', () => {
    // Prepare
    const file = path.join(root, 'endpoints.json');
    writeFileSync(file, '{}');
    chmodSync(file, 0o644);
    // Act
    writePrivateFile(file, '{"devTenant":{}}');
    // Assess
    expect(modeOf(file)).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toBe('{"devTenant":{}}');
  });

  it('creates the state directory 0700, and tightens an existing one', () => {
    // Prepare
    const fresh = path.join(root, 'fresh', '.offload');
    const existing = path.join(root, 'existing');
    mkdirSync(existing, { mode: 0o755 });
    chmodSync(existing, 0o755);
    // Act
    ensurePrivateDir(fresh);
    ensurePrivateDir(existing);
    // Assess
    expect(modeOf(fresh)).toBe(0o700);
    expect(modeOf(existing)).toBe(0o700);
  });
});
