import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalTemplate, assemblyStackId } from '../../local/template.ts';

/**
 * The local runtime runs the stack under the name it was synthesized with (context `stackName`,
 * default `Offload`): the assembly's manifest names the stack's files, and `AWS::StackName`
 * resolves to the stack's CloudFormation name.
 */

const root = mkdtempSync(path.join(tmpdir(), 'offload-stack-name-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A minimal assembly: manifest.json naming one stack, its template and asset manifest. */
const assembly = (artifactId: string, properties: Record<string, unknown> = {}): string => {
  const dir = mkdtempSync(path.join(root, 'cdk.out-'));
  const stack = { type: 'aws:cloudformation:stack', properties: { templateFile: `${artifactId}.template.json`, ...properties } };
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ version: '55.0.0', artifacts: { [`${artifactId}.assets`]: { type: 'cdk:asset-manifest' }, [artifactId]: stack } }));
  writeFileSync(path.join(dir, `${artifactId}.template.json`), JSON.stringify({ Resources: {} }));
  writeFileSync(path.join(dir, `${artifactId}.assets.json`), JSON.stringify({ version: '55.0.0', files: {} }));
  return dir;
};

describe('stack name in the local runtime', () => {
  it('finds the stack of an assembly synthesized with -c stackName=MyOffload, and resolves AWS::StackName to it', () => {
    // Prepare
    const dir = assembly('MyOffload');
    // Act
    const id = assemblyStackId(dir);
    const template = LocalTemplate.load(dir, id);
    // Assess
    expect(id).toBe('MyOffload');
    expect(template.resolve({ Ref: 'AWS::StackName' })).toBe('MyOffload');
    expect(template.resolve({ 'Fn::Sub': '${AWS::StackName}-${AWS::Region}' })).toBe('MyOffload-us-east-1');
  });

  it('uses the CloudFormation name the manifest gives when it differs from the artifact id', () => {
    // Prepare
    const dir = assembly('Offload', { stackName: 'Offload-Staging' });
    // Act
    const template = LocalTemplate.load(dir, assemblyStackId(dir));
    // Assess
    expect(template.stackName).toBe('Offload-Staging');
    expect(template.resolve({ Ref: 'AWS::StackName' })).toBe('Offload-Staging');
  });

  it('keeps Offload for a template built without a name', () => {
    // Act / Assess
    expect(new LocalTemplate({ Resources: {} }, root, {}).resolve({ Ref: 'AWS::StackName' })).toBe('Offload');
  });
});
