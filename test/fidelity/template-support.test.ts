import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startRuntime } from '../../local/runtime.ts';
import { LocalTemplate, UnsupportedTemplateError } from '../../local/template.ts';

describe('templates the local runtime cannot run are refused, naming resource and property', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  const cdkOut = (resources: Record<string, unknown>): string => {
    const dir = mkdtempSync(path.join(tmpdir(), 'offload-unsupported-'));
    dirs.push(dir);
    writeFileSync(path.join(dir, 'Offload.template.json'), JSON.stringify({ Resources: resources }));
    writeFileSync(path.join(dir, 'Offload.assets.json'), JSON.stringify({ version: '1', files: {} }));
    return dir;
  };

  it('refuses a resource type it does not emulate', async () => {
    // Prepare
    const out = cdkOut({ Database: { Type: 'AWS::RDS::DBInstance', Properties: {} } });
    // Act
    const started = startRuntime({ cdkOut: out, dir: path.join(out, 'state'), ports: 'dynamic', logs: 'silent' });
    // Assess
    await expect(started).rejects.toThrow(UnsupportedTemplateError);
    await expect(started).rejects.toThrow(/Database\.Type: AWS::RDS::DBInstance/);
  });

  it('refuses a queue property it cannot honour', async () => {
    // Prepare
    const out = cdkOut({ Jobs: { Type: 'AWS::SQS::Queue', Properties: { RedriveAllowPolicy: { redrivePermission: 'denyAll' } } } });
    // Act / Assess
    await expect(startRuntime({ cdkOut: out, dir: path.join(out, 'state'), ports: 'dynamic', logs: 'silent' })).rejects.toThrow(/Jobs\.RedriveAllowPolicy/);
  });

  it('refuses an intrinsic function it cannot resolve', () => {
    // Prepare
    const template = new LocalTemplate({ Resources: {} }, '.', {});
    // Act / Assess
    expect(() => template.resolve({ 'Fn::ImportValue': 'shared-vpc' }, 'Worker.Environment.Variables.VPC')).toThrow(/Worker\.Environment\.Variables\.VPC\.Fn::ImportValue/);
  });
});
