import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cfnLint, describeMatches } from '../support/cfn-lint.ts';

/**
 * The project's own CDK CLI, run exactly as a user runs it from the repository (its `cdk.json`,
 * its pinned `aws-cdk`): `cdk ls` and `cdk synth` with and without model-provider context, then
 * cfn-lint on every synthesized template (errors fail, warnings are printed). Synthesis bundles
 * every Lambda, so each step gets minutes, not seconds, on a busy machine.
 */

const PROJECT_DIR = path.resolve(import.meta.dirname, '..', '..');
const CLI_TIMEOUT_MS = 600_000;
/** A Bedrock model id the stack accepts as `defaultModel` (Claude 3 Haiku, on-demand in most regions). */
const BEDROCK_MODEL = 'bedrock:anthropic.claude-3-haiku-20240307-v1:0';

/** Runs `npx cdk <args>` in the repository; resolves with stdout, rejects with the CLI's stderr. */
const cdk = (args: readonly string[]): Promise<string> =>
  new Promise((resolve, reject) => {
    execFile(
      'npx',
      ['cdk', ...args, '--no-notices'],
      { cwd: PROJECT_DIR, maxBuffer: 64 * 1024 * 1024, timeout: CLI_TIMEOUT_MS, env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true' } },
      (error, stdout, stderr) => (error ? reject(new Error(`cdk ${args.join(' ')} failed:\n${stderr.split('\n').slice(-30).join('\n')}`, { cause: error })) : resolve(stdout)),
    );
  });

/** The templates a cloud assembly holds. */
const templatesIn = (outdir: string): string[] => {
  const manifest = JSON.parse(readFileSync(path.join(outdir, 'manifest.json'), 'utf8')) as { artifacts: Record<string, { type: string; properties?: { templateFile?: string } }> };
  return Object.values(manifest.artifacts)
    .filter((artifact) => artifact.type === 'aws:cloudformation:stack')
    .map((artifact) => path.join(outdir, artifact.properties!.templateFile!));
};

/** Lints every template of an assembly; prints warnings, returns the errors. */
const lintErrors = async (outdir: string): Promise<string> => {
  const errors: string[] = [];
  for (const template of templatesIn(outdir)) {
    const matches = await cfnLint(template);
    const warnings = matches.filter((match) => match.Level !== 'Error');
    if (warnings.length) console.info(`cfn-lint warnings on ${path.basename(template)} (${warnings.length}):\n${describeMatches(warnings)}`);
    errors.push(describeMatches(matches.filter((match) => match.Level === 'Error' || match.Rule.Id.startsWith('E'))));
  }
  return errors.filter(Boolean).join('\n');
};

type TemplateJson = { Resources: Record<string, { Type: string; Properties?: Record<string, any> }> };
const readTemplate = (file: string): TemplateJson => JSON.parse(readFileSync(file, 'utf8')) as TemplateJson;

describe('cdk CLI (the repository as a user runs it)', () => {
  const scratch = mkdtempSync(path.join(tmpdir(), 'offload-cdk-cli-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  const plainOut = path.join(scratch, 'plain');
  const providersOut = path.join(scratch, 'providers');

  it('lists the one stack, Offload', { timeout: CLI_TIMEOUT_MS }, async () => {
    // Act
    const listed = await cdk(['ls']);
    // Assess
    expect(listed.trim().split('\n')).toEqual(['Offload']);
  });

  it('lists the stack under the name context stackName gives it', { timeout: CLI_TIMEOUT_MS }, async () => {
    // Act
    const listed = await cdk(['ls', '-c', 'stackName=MyOffload']);
    // Assess
    expect(listed.trim().split('\n')).toEqual(['MyOffload']);
  });

  it('synthesizes the default stack into -o <dir>, and cfn-lint finds no error', { timeout: CLI_TIMEOUT_MS }, async () => {
    // Act
    await cdk(['synth', '--quiet', '-o', plainOut]);
    const errors = await lintErrors(plainOut);
    // Assess
    expect(templatesIn(plainOut).map((file) => path.basename(file))).toEqual(['Offload.template.json']);
    expect(existsSync(path.join(plainOut, 'Offload.assets.json'))).toBe(true);
    expect(errors).toBe('');
  });

  it('synthesizes with Bedrock, an OpenAI-compatible server and a Bedrock default model, and cfn-lint finds no error', { timeout: CLI_TIMEOUT_MS }, async () => {
    // Act
    await cdk(['synth', '--quiet', '-o', providersOut, '-c', 'bedrock=true', '-c', 'openAiBaseUrl=https://models.example.com/v1', '-c', `defaultModel=${BEDROCK_MODEL}`]);
    const errors = await lintErrors(providersOut);
    // Assess
    const [templateFile] = templatesIn(providersOut);
    const variables = Object.values(readTemplate(templateFile!).Resources)
      .filter((resource) => resource.Type === 'AWS::Lambda::Function')
      .map((resource) => (resource.Properties?.Environment?.Variables ?? {}) as Record<string, unknown>);
    const workers = variables.filter((environment) => ['interactive', 'batch'].includes(String(environment.WORKLOAD_CLASS)));
    expect(workers).toHaveLength(2);
    expect(workers.every((environment) => environment.DEFAULT_MODEL === BEDROCK_MODEL && environment.BEDROCK_ENABLED === 'true' && environment.OPENAI_BASE_URL === 'https://models.example.com/v1')).toBe(true);
    expect(errors).toBe('');
  });
});
