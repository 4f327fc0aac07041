import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { startRuntime, type Runtime } from '../../local/runtime.ts';
import { readCloudAssembly } from '../../local/preflight/cloud-assembly.ts';
import { CloudAssemblyError, ReservedConcurrencyError } from '../../local/preflight/errors.ts';
import { PROJECT_DIR } from '../../local/synth-child.ts';
import { call } from '../e2e/harness.ts';

/**
 * Running an existing cloud assembly (`offload dev --assembly <dir>`, runtime option `cdkOut`):
 * the stack comes from the assembly's manifest.json, and a directory that is not an assembly, or an
 * assembly AWS would refuse, is refused before anything starts.
 */

type Manifest = { version: string; artifacts: Record<string, { type: string; properties?: Record<string, unknown>; dependencies?: string[]; displayName?: string }> };

const root = mkdtempSync(path.join(tmpdir(), 'offload-assembly-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A fresh copy of the assembly the test run synthesized (test/global-setup.ts). */
const copyAssembly = (name: string): string => {
  const dir = path.join(root, name);
  cpSync(inject('cdkOut'), dir, { recursive: true });
  return dir;
};
const readManifest = (dir: string): Manifest => JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
const writeManifest = (dir: string, manifest: Manifest): void => writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
const stackArtifactOf = (manifest: Manifest): string => Object.entries(manifest.artifacts).find(([, artifact]) => artifact.type === 'aws:cloudformation:stack')![0];

/** Runs `offload dev <args>` (the bin, as `npm start --` does) and resolves with its exit code and output. */
const offloadDev = (args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    execFile(process.execPath, [path.join(PROJECT_DIR, 'client', 'cli', 'bin.mjs'), 'dev', ...args], { cwd: root, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });

describe('running an existing cloud assembly', () => {
  let runtime: Runtime | undefined;
  afterAll(async () => runtime?.stop());

  it('runs the stack its manifest names, from files the manifest points at', async () => {
    // Prepare: the stack renamed, and its template and asset manifest moved, in the copy's manifest only
    const dir = copyAssembly('renamed');
    const manifest = readManifest(dir);
    const id = stackArtifactOf(manifest);
    const stack = manifest.artifacts[id]!;
    const assetsId = stack.dependencies!.find((dependency) => manifest.artifacts[dependency]?.type === 'cdk:asset-manifest')!;
    renameSync(path.join(dir, String(stack.properties!.templateFile)), path.join(dir, 'Elsewhere.template.json'));
    renameSync(path.join(dir, String(manifest.artifacts[assetsId]!.properties!.file)), path.join(dir, 'Elsewhere.assets.json'));
    delete manifest.artifacts[id];
    manifest.artifacts.Renamed = { ...stack, properties: { ...stack.properties, templateFile: 'Elsewhere.template.json' }, displayName: 'Renamed' };
    manifest.artifacts[assetsId]!.properties!.file = 'Elsewhere.assets.json';
    writeManifest(dir, manifest);
    // Act
    runtime = await startRuntime({ cdkOut: dir, dir: path.join(root, 'renamed-state'), ports: 'dynamic', logs: 'file' });
    const submitted = await call(`${runtime.endpoints.httpApi}/v1/tasks`, {
      apiKey: runtime.endpoints.devTenant.apiKey,
      body: { type: 'completion', input: { prompt: 'from an assembly', maxTokens: 5, model: 'sim-fast' } },
    });
    // Assess
    expect(runtime.template.stackName).toBe('Renamed');
    expect(existsSync(path.join(dir, `${id}.template.json`))).toBe(false);
    expect(submitted.status).toBe(202);
    expect(submitted.body.taskId).toEqual(expect.any(String));
  });

  it('refuses a stack AWS would refuse before starting anything', async () => {
    // Prepare: one function reserving the account's whole default quota
    const dir = copyAssembly('reserving');
    const stack = readCloudAssembly(dir);
    const template = JSON.parse(readFileSync(stack.templateFile, 'utf8')) as { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };
    const [functionId, fn] = Object.entries(template.Resources).find(([, resource]) => resource.Type === 'AWS::Lambda::Function')!;
    fn.Properties = { ...fn.Properties, ReservedConcurrentExecutions: 1000 };
    writeFileSync(stack.templateFile, JSON.stringify(template));
    const state = path.join(root, 'reserving-state');
    // Act
    const started = startRuntime({ cdkOut: dir, dir: state, ports: 'dynamic', logs: 'silent' });
    // Assess
    await expect(started).rejects.toThrow(ReservedConcurrencyError);
    await expect(started).rejects.toThrow(new RegExp(`${functionId} \\(AWS::Lambda::Function\\), property ReservedConcurrentExecutions: "Specified ReservedConcurrentExecutions`));
    expect(existsSync(path.join(state, 'data', 'dynamodb'))).toBe(false);
    expect(existsSync(path.join(state, 'endpoints.json'))).toBe(false);
  });

  it('asks which stack to run when the manifest lists several, and runs the one named', () => {
    // Prepare
    const dir = path.join(root, 'two-stacks');
    mkdirSync(dir);
    const stackArtifact = (templateFile: string) => ({ type: 'aws:cloudformation:stack', properties: { templateFile } });
    writeManifest(dir, { version: '55.0.0', artifacts: { Blue: stackArtifact('Blue.template.json'), Green: { ...stackArtifact('Green.template.json'), properties: { templateFile: 'Green.template.json', stackName: 'green-prod' } } } });
    // Act
    const unnamed = () => readCloudAssembly(dir);
    const named = readCloudAssembly(dir, 'green-prod');
    // Assess
    expect(unnamed).toThrow(CloudAssemblyError);
    expect(unnamed).toThrow(/it has 2 stacks \(Blue, Green \(stack green-prod\)\); the local runtime runs one: choose it with --stack <name>/);
    expect(named).toMatchObject({ artifactId: 'Green', stackName: 'green-prod', templateFile: path.join(dir, 'Green.template.json') });
  });
});

describe('offload dev --assembly', () => {
  it('refuses a directory without manifest.json, saying so', async () => {
    // Prepare
    const dir = path.join(root, 'not-an-assembly');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'template.json'), '{}');
    // Act
    const { code, stderr } = await offloadDev(['--assembly', dir, '--dir', path.join(root, 'cli-state')]);
    // Assess
    expect(code).toBe(2);
    expect(stderr).toContain(`offload dev: Cannot run the cloud assembly in ${dir}: it has no manifest.json, so it is not a cloud assembly`);
    expect(existsSync(path.join(root, 'cli-state', 'endpoints.json'))).toBe(false);
  });

  it('refuses an assembly AWS would refuse, with the preflight\u2019s reason on stderr', async () => {
    // Prepare: the manifest, template and asset manifest of the synthesized assembly (the preflight reads no more), one function reserving 950
    const source = readCloudAssembly(inject('cdkOut'));
    const dir = path.join(root, 'cli-reserving');
    mkdirSync(dir);
    for (const file of ['manifest.json', source.templateFile, source.assetManifestFile!]) cpSync(path.resolve(source.directory, file), path.join(dir, path.basename(file)));
    const templateFile = path.join(dir, path.basename(source.templateFile));
    const template = JSON.parse(readFileSync(templateFile, 'utf8')) as { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };
    const [functionId, fn] = Object.entries(template.Resources).find(([, resource]) => resource.Type === 'AWS::Lambda::Function')!;
    fn.Properties = { ...fn.Properties, ReservedConcurrentExecutions: 950 };
    writeFileSync(templateFile, JSON.stringify(template));
    // Act
    const refused = await offloadDev(['--assembly', dir, '--dir', path.join(root, 'cli-reserving-state'), '--quiet']);
    // Assess
    expect(refused.code).toBe(2);
    expect(refused.stdout).toContain('no hot reload in this mode');
    expect(refused.stderr).toContain(`offload dev: Deploy preflight: AWS would refuse ${functionId} (AWS::Lambda::Function), property ReservedConcurrentExecutions`);
    expect(refused.stderr).toContain('below its minimum value of [100].');
  });

  it.each([
    [['--stack', 'Offload'], '--stack chooses a stack of --assembly <dir>'],
    [['--account-concurrency', 'lots'], '--account-concurrency must be a positive integer, got "lots"'],
  ])('refuses %j as a usage error', async (args, message) => {
    // Prepare / Act
    const { code, stderr } = await offloadDev(args);
    // Assess
    expect(code).toBe(2);
    expect(stderr).toContain(message);
  });
});
