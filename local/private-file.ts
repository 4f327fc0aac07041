import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';

/** Permissions of the local runtime's state: readable by the developer's own user only. */
export const PRIVATE_MODES = { directory: 0o700, file: 0o600 } as const;

/**
 * Creates a state directory (and its parents) readable by the owner only, tightening the mode of
 * one that already exists: it holds API keys and the local data.
 */
export const ensurePrivateDir = (dir: string): void => {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_MODES.directory });
  chmodSync(dir, PRIVATE_MODES.directory);
};

/**
 * Writes a file readable by the owner only (`0600`). `writeFileSync`'s `mode` applies to a new file
 * only, so an existing file's mode is set too: a key is never left readable by other users.
 */
export const writePrivateFile = (file: string, text: string): void => {
  writeFileSync(file, text, { mode: PRIVATE_MODES.file });
  chmodSync(file, PRIVATE_MODES.file);
};
