import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { IamStatement } from '../../local/iam/types.ts';
import type { Template } from '../../local/template.ts';
import { call, startHarness, type Harness } from './harness.ts';

const completion = (prompt: string) => ({ type: 'completion', input: { prompt, maxTokens: 10, model: 'sim-fast' } });

/** What the mutation removed, to build the message AWS would answer with. */
interface Mutation {
  readonly cdkOut: string;
  readonly functionId: string;
  readonly roleId: string;
  readonly busId: string;
}

/**
 * Copies the synthesized assembly and removes `events:PutEvents` from the HTTP submit function's
 * policy: the submit handler can no longer publish the task-submitted event, as on AWS.
 */
const withoutSubmitPutEvents = (): Mutation => {
  const cdkOut = path.join(mkdtempSync(path.join(tmpdir(), 'offload-iam-')), 'cdk.out');
  cpSync(inject('cdkOut'), cdkOut, { recursive: true });
  const templateFile = readdirSync(cdkOut)
    .filter((file) => file.endsWith('.template.json'))
    .map((file) => path.join(cdkOut, file))
    .find((file) => readFileSync(file, 'utf8').includes('"HttpSubmit'));
  if (!templateFile) throw new Error('no template with the HTTP submit function');
  const template = JSON.parse(readFileSync(templateFile, 'utf8')) as Template;
  const [functionId, fn] = Object.entries(template.Resources).find(([id, resource]) => id.startsWith('HttpSubmit') && resource.Type === 'AWS::Lambda::Function')!;
  const roleId = (fn.Properties!.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  const busId = Object.entries(template.Resources).find(([, resource]) => resource.Type === 'AWS::Events::EventBus')![0];
  let removed = 0;
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::IAM::Policy') continue;
    const properties = resource.Properties as { Roles: { Ref?: string }[]; PolicyDocument: { Statement: IamStatement[] } };
    if (!properties.Roles.some((role) => role.Ref === roleId)) continue;
    const kept = properties.PolicyDocument.Statement.filter((statement) => ![statement.Action].flat().includes('events:PutEvents'));
    removed += properties.PolicyDocument.Statement.length - kept.length;
    properties.PolicyDocument.Statement = kept;
  }
  if (removed !== 1) throw new Error(`expected one events:PutEvents statement on ${roleId}, removed ${removed}`);
  writeFileSync(templateFile, JSON.stringify(template));
  return { cdkOut, functionId, roleId, busId };
};

/** The AccessDenied message AWS gives the submit function for the mutated policy. */
const expectedDenial = (harness: Harness, mutation: Mutation): string => {
  const functionName = harness.runtime.functions.get(mutation.functionId)!.config.functionName;
  const bus = harness.runtime.template.resolveString({ Ref: mutation.busId }, 'test');
  return (
    `User: arn:aws:sts::000000000000:assumed-role/${mutation.roleId}/${functionName} is not authorized to perform: events:PutEvents ` +
    `on resource: arn:aws:events:us-east-1:000000000000:event-bus/${bus} because no identity-based policy allows the events:PutEvents action`
  );
};

const runtimeLog = (harness: Harness): string => readFileSync(path.join(harness.dir, 'runtime.log'), 'utf8');

describe('IAM enforcement: a permission missing from the template fails locally as on AWS', () => {
  let mutation: Mutation;
  beforeAll(() => {
    mutation = withoutSubmitPutEvents();
  });
  afterAll(() => rmSync(path.dirname(mutation.cdkOut), { recursive: true, force: true }));

  it('strict (the default): POST /v1/tasks fails with a 5xx problem and the runtime log names role, action and resource', async () => {
    // Prepare
    const harness = await startHarness({ cdkOut: mutation.cdkOut });
    try {
      // Act
      const response = await call(`${harness.runtime.endpoints.httpApi}/v1/tasks`, { apiKey: harness.runtime.endpoints.devTenant.apiKey, body: completion('denied') });

      // Assess
      expect(response.status).toBeGreaterThanOrEqual(500);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      expect(runtimeLog(harness)).toContain(`[iam] denied: AccessDenied: ${expectedDenial(harness, mutation)}`);
    } finally {
      await harness.stop();
    }
  });

  it('soft: the same submit succeeds and the runtime log records the would-be denial', async () => {
    // Prepare
    const harness = await startHarness({ cdkOut: mutation.cdkOut, iam: 'soft' });
    try {
      // Act
      const response = await call(`${harness.runtime.endpoints.httpApi}/v1/tasks`, { apiKey: harness.runtime.endpoints.devTenant.apiKey, body: completion('soft') });

      // Assess
      expect(response.status).toBe(202);
      expect(runtimeLog(harness)).toContain(`[iam] would deny (--iam soft): AccessDenied: ${expectedDenial(harness, mutation)}`);
    } finally {
      await harness.stop();
    }
  });

  it('strict on the unmodified assembly: the submit succeeds and nothing is denied', async () => {
    // Prepare
    const harness = await startHarness();
    try {
      // Act
      const response = await call(`${harness.runtime.endpoints.httpApi}/v1/tasks`, { apiKey: harness.runtime.endpoints.devTenant.apiKey, body: completion('allowed') });

      // Assess
      expect(response.status).toBe(202);
      expect(harness.runtime.iam.mode).toBe('strict');
      expect(runtimeLog(harness)).not.toContain('[iam] denied');
    } finally {
      await harness.stop();
    }
  });
});
