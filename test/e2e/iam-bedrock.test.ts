import { App } from 'aws-cdk-lib';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app.ts';
import { cdkJsonContext } from '../../lib/cdk-context.ts';
import { simulatedTokens } from '../../lambdas/tasks/models/simulated.ts';
import type { IamStatement } from '../../local/iam/types.ts';
import type { Template } from '../../local/template.ts';
import { call, startHarness, type Harness } from './harness.ts';

const MODEL_ID = 'anthropic.claude-3-haiku-20240307-v1:0';
const MODEL = `bedrock:${MODEL_ID}`;
const ACTION = 'bedrock:InvokeModelWithResponseStream';
const MAX_TOKENS = 12;

/** Synthesizes the app as `cdk synth -c bedrock=true -c allowedModels=sim-1,<MODEL>` would, into a temp dir. */
const synthesizeWithBedrock = (): string => {
  const outdir = path.join(mkdtempSync(path.join(tmpdir(), 'offload-bedrock-')), 'cdk.out');
  const app = new App({ outdir, context: { ...cdkJsonContext(), bedrock: 'true', allowedModels: `sim-1,${MODEL}` } });
  buildApp(app);
  app.synth();
  return outdir;
};

/** A copy of the assembly without the workers' Bedrock statement; answers the roles it was removed from. */
const withoutBedrockGrant = (source: string): { cdkOut: string; roleIds: string[] } => {
  const cdkOut = path.join(mkdtempSync(path.join(tmpdir(), 'offload-bedrock-denied-')), 'cdk.out');
  cpSync(source, cdkOut, { recursive: true });
  const templateFile = readdirSync(cdkOut)
    .filter((file) => file.endsWith('.template.json'))
    .map((file) => path.join(cdkOut, file))
    .find((file) => readFileSync(file, 'utf8').includes(ACTION));
  if (!templateFile) throw new Error(`no template grants ${ACTION}`);
  const template = JSON.parse(readFileSync(templateFile, 'utf8')) as Template;
  const roleIds: string[] = [];
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::IAM::Policy') continue;
    const properties = resource.Properties as { Roles: { Ref?: string }[]; PolicyDocument: { Statement: IamStatement[] } };
    const kept = properties.PolicyDocument.Statement.filter((statement) => ![statement.Action].flat().includes(ACTION));
    if (kept.length === properties.PolicyDocument.Statement.length) continue;
    properties.PolicyDocument.Statement = kept;
    roleIds.push(...properties.Roles.map((role) => role.Ref!));
  }
  if (roleIds.length === 0) throw new Error(`no ${ACTION} statement removed`);
  writeFileSync(templateFile, JSON.stringify(template));
  return { cdkOut, roleIds };
};

/** Submits a Bedrock completion and polls it to a final status. */
const runCompletion = async (harness: Harness, prompt: string): Promise<any> => {
  const http = harness.runtime.endpoints.httpApi;
  const apiKey = harness.runtime.endpoints.devTenant.apiKey;
  const submitted = await call(`${http}/v1/tasks`, { apiKey, body: { type: 'completion', input: { prompt, maxTokens: MAX_TOKENS, model: MODEL } } });
  expect(submitted.status).toBe(202);
  for (const until = Date.now() + 60_000; Date.now() < until; await new Promise((resolve) => setTimeout(resolve, 250))) {
    const task = await call(`${http}/v1/tasks/${submitted.body.taskId}`, { apiKey });
    if (['succeeded', 'failed', 'cancelled'].includes(task.body.status)) return task.body;
  }
  throw new Error(`task ${submitted.body.taskId} did not finish`);
};

const runtimeLog = (harness: Harness): string => readFileSync(path.join(harness.dir, 'runtime.log'), 'utf8');

describe('IAM enforcement covers Amazon Bedrock (local ConverseStream endpoint)', () => {
  let cdkOut: string;
  let denied: { cdkOut: string; roleIds: string[] };
  beforeAll(() => {
    cdkOut = synthesizeWithBedrock();
    denied = withoutBedrockGrant(cdkOut);
  }, 300_000);
  afterAll(() => {
    for (const dir of [cdkOut, denied?.cdkOut]) if (dir) rmSync(path.dirname(dir), { recursive: true, force: true });
  });

  it('streams the simulated text of a Bedrock model the workers are granted', async () => {
    // Prepare
    const harness = await startHarness({ cdkOut });
    try {
      // Act
      const task = await runCompletion(harness, 'hello bedrock');
      // Assess
      expect(task).toMatchObject({ status: 'succeeded', result: { text: simulatedTokens(MODEL_ID, 'hello bedrock', MAX_TOKENS).join('') } });
      expect(task.result.usage).toMatchObject({ completionTokens: MAX_TOKENS });
      expect(runtimeLog(harness)).not.toContain('denied: AccessDenied');
    } finally {
      await harness.stop();
    }
  }, 180_000);

  it('fails the task when the workers\u2019 Bedrock statement is removed, and logs role, action and resource', async () => {
    // Prepare
    const harness = await startHarness({ cdkOut: denied.cdkOut });
    try {
      // Act
      const task = await runCompletion(harness, 'hello bedrock');
      // Assess
      expect(task.status).toBe('failed');
      const line = /\[iam\] denied: AccessDenied: User: arn:aws:sts::000000000000:assumed-role\/([^/]+)\/\S+ is not authorized to perform: (\S+) on resource: (\S+) because no identity-based policy allows/.exec(runtimeLog(harness));
      expect(line).not.toBeNull();
      expect(denied.roleIds).toContain(line![1]);
      expect(line![2]).toBe(ACTION);
      expect(line![3]).toBe(`arn:aws:bedrock:us-east-1::foundation-model/${MODEL_ID}`);
    } finally {
      await harness.stop();
    }
  }, 180_000);
});
