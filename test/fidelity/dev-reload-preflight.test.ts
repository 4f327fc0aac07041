import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startDevServer, type DevServer } from '../../local/dev-server.ts';
import { readCloudAssembly } from '../../local/preflight/cloud-assembly.ts';
import { PROJECT_DIR } from '../../local/synth-child.ts';
import { call } from '../e2e/harness.ts';

/**
 * `offload dev` re-synthesizes on edits: an edit whose template AWS would refuse at deploy time is
 * refused too, and the stack already running keeps serving. The project here is a stand-in whose
 * `local/synth-cli.ts` (what the dev server runs to synthesize) copies a prepared assembly: the
 * synthesized one first, then a copy one function of which reserves the account's whole quota.
 */
describe('a reload whose template AWS would refuse', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'offload-dev-preflight-'));
  const project = path.join(root, 'project');
  const next = path.join(project, 'next-assembly.txt');
  let server: DevServer;

  beforeAll(async () => {
    mkdirSync(path.join(project, 'local'), { recursive: true });
    symlinkSync(path.join(PROJECT_DIR, 'node_modules'), path.join(project, 'node_modules'), 'dir');
    writeFileSync(
      path.join(project, 'local', 'synth-cli.ts'),
      "import { cpSync, readFileSync } from 'node:fs';\n" +
        "cpSync(readFileSync(new URL('../next-assembly.txt', import.meta.url), 'utf8'), process.argv[2]!, { recursive: true });\n" +
        "process.stdout.write('Offload\\n');\n",
    );
    writeFileSync(next, inject('cdkOut'));
    server = await startDevServer({ projectDir: project, dir: path.join(root, 'state'), ports: 'dynamic', logs: 'file', watch: false });
  });

  afterAll(async () => {
    await server?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('fails with the preflight\u2019s reason and keeps the running stack serving', async () => {
    // Prepare
    const refused = path.join(root, 'reserving');
    cpSync(inject('cdkOut'), refused, { recursive: true });
    const { templateFile } = readCloudAssembly(refused);
    const template = JSON.parse(readFileSync(templateFile, 'utf8')) as { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };
    const [functionId, fn] = Object.entries(template.Resources).find(([, resource]) => resource.Type === 'AWS::Lambda::Function')!;
    fn.Properties = { ...fn.Properties, ReservedConcurrentExecutions: 1000 };
    writeFileSync(templateFile, JSON.stringify(template));
    writeFileSync(next, refused);
    const before = server.runtime;
    // Act
    const outcome = await server.reload();
    const listed = await call(`${server.runtime.endpoints.httpApi}/v1/tasks`, { apiKey: server.runtime.endpoints.devTenant.apiKey });
    // Assess
    expect(outcome.kind).toBe('failed');
    expect(outcome.kind === 'failed' && outcome.error).toContain(`AWS would refuse ${functionId} (AWS::Lambda::Function), property ReservedConcurrentExecutions`);
    expect(server.runtime).toBe(before);
    expect(listed.status).toBe(200);
  });
});
