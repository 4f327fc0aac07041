import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { issueApiKey } from '../../lambdas/core/auth.ts';
import { mintClientToken } from '../../lambdas/core/client-token.ts';
import type { TenantStore } from '../../lambdas/core/ports.ts';
import { findCredentials, scanLogFiles } from '../support/credential-scan.ts';

/**
 * The log scan the e2e and bad-input suites rely on: it must find a real credential planted in a
 * log file, in the encodings a log line could carry it in, and must not flag clean text.
 */

const signingKey = async () => 'k'.repeat(64);
/** Real credentials, made the way the service makes them. */
const credentials = async (tenantId = 'ten_scan') => {
  const store = { putApiKey: async () => undefined } as unknown as TenantStore;
  const { apiKey, keyId } = await issueApiKey(store, tenantId, '2026-11-23T12:00:00.000Z');
  const { token } = await mintClientToken(signingKey, { tenantId, keyId }, { ttlSeconds: 600 });
  return { apiKey, clientToken: token, webhookSecret: 'whsec_9f3c2a7e1b4d8c6f0a5e2d7b3c9f1e4a' };
};
const line = (message: Record<string, unknown>) => `2026-11-23T12:00:00.000Z [HttpApiFunction] ${JSON.stringify({ level: 'INFO', ...message })}`;
const CLEAN_LOG = [
  line({ message: 'request', method: 'GET', path: '/v1/tasks/tsk_01M849C7620B60EW7584K8WCF2', status: 200, credential: 'ofk_…(masked)' }),
  line({ message: 'authorizer', principal: { tenantId: 'ten_scan', kind: 'apiKey' }, authorization: 'Bearer [REDACTED]' }),
  line({ message: 'webhook delivered', webhookId: 'whk_01HZZZZZZZZZZZZZZZZZZZZZZZ', signature: 't=1,v1=…' }),
].join('\n');

describe('credential log scan', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'credential-scan-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const logFile = (name: string, text: string) => {
    const file = path.join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  it('finds an API key, a client token and a bearer header planted in a log file, naming file and credential', async () => {
    // Prepare
    const issued = await credentials();
    const planted = [
      CLEAN_LOG,
      line({ message: 'debug', apiKey: issued.apiKey }),
      line({ message: 'ws connect', url: `/live?token=${encodeURIComponent(issued.clientToken)}` }),
      `2026-11-23T12:00:01.000Z [gateway] headers: Authorization: Bearer ${issued.clientToken}`,
    ].join('\n');
    const clean = logFile('clean.log', CLEAN_LOG);
    const dirty = logFile('runtime.log', planted);
    // Act
    const scan = scanLogFiles([clean, dirty], issued);
    // Assess
    expect(scan.files).toEqual([
      { file: clean, bytes: Buffer.byteLength(CLEAN_LOG) },
      { file: dirty, bytes: Buffer.byteLength(planted) },
    ]);
    expect(scan.hits.every((hit) => hit.startsWith(`${dirty}: `))).toBe(true);
    expect(scan.hits.filter((hit) => hit.includes(': apiKey (form #'))).toHaveLength(1);
    expect(scan.hits.filter((hit) => hit.includes(': clientToken (form #'))).toHaveLength(2);
    expect(scan.hits.some((hit) => hit.includes('Authorization: Bearer [CREDENTIAL]'))).toBe(true);
    expect(scan.hits.some((hit) => hit.includes('webhookSecret'))).toBe(false);
  });

  it('finds a bearer header whose credential is JSON-escaped, URL-encoded or inside base64 text', async () => {
    // Prepare
    const { apiKey } = await credentials();
    const header = `Bearer ${apiKey}`;
    const encodings = {
      json: line({ headers: { authorization: header } }),
      url: `GET /v1/tasks?auth=${encodeURIComponent(header)}`,
      base64: `payload ${Buffer.from(JSON.stringify({ authorization: header })).toString('base64')}`,
      base64url: `payload ${Buffer.from(`x${header}`).toString('base64url')}`,
    };
    for (const [encoding, text] of Object.entries(encodings)) {
      // Act
      const { hits } = scanLogFiles([logFile(`${encoding}.log`, `${CLEAN_LOG}\n${text}\n`)], { apiKey });
      // Assess
      expect(hits, encoding).toHaveLength(1);
    }
  });

  it('flags nothing in clean text, even with look-alike prefixes and other credentials of the same shape', async () => {
    // Prepare
    const issued = await credentials();
    const others = await credentials('ten_other'); // same shapes, different values
    const text = `${CLEAN_LOG}\n${line({ note: 'ofk_ oft_ whsec_ Bearer' })}\n${line({ apiKey: others.apiKey, token: others.clientToken })}\n`;
    const file = logFile('runtime.log', text);
    // Act
    const scan = scanLogFiles([file], issued);
    // Assess
    expect(scan.files).toEqual([{ file, bytes: Buffer.byteLength(text) }]);
    expect(scan.hits).toEqual([]);
    expect(findCredentials(text, others)).toHaveLength(2); // the scan does see those, under their own names
  });
});
