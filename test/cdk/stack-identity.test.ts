import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Construct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app.ts';
import { InvalidStackNameError } from '../../lib/errors.ts';
import { OffloadStack } from '../../lib/offload-stack.ts';
import { accountUniqueName } from '../../lib/physical-names.ts';
import { testApp } from '../support/cdk-app.ts';

/**
 * Deploy identity: the stack name (context `stackName`, CloudFormation's rules) and the physical
 * names of resources whose names are unique per account, not per region or stack. Two Offload
 * stacks in one account (another region, or another name) must never claim the same name.
 */

/** Building the whole stack takes seconds, more on a busy machine. */
const SYNTH_TIMEOUT_MS = 300_000;

type Resource = { Type: string; Properties?: Record<string, any> };
type TemplateJson = { Resources: Record<string, Resource> };

/** Resource types whose explicit names are unique per account (or globally), and where the name is. */
const ACCOUNT_GLOBAL_NAMES: Readonly<Record<string, (properties: Record<string, any>) => unknown>> = {
  'AWS::CloudFront::OriginAccessControl': (p) => p.OriginAccessControlConfig?.Name,
  'AWS::CloudFront::CachePolicy': (p) => p.CachePolicyConfig?.Name,
  'AWS::CloudFront::OriginRequestPolicy': (p) => p.OriginRequestPolicyConfig?.Name,
  'AWS::CloudFront::ResponseHeadersPolicy': (p) => p.ResponseHeadersPolicyConfig?.Name,
  'AWS::CloudFront::Function': (p) => p.Name,
  'AWS::CloudFront::KeyValueStore': (p) => p.Name,
  'AWS::IAM::Role': (p) => p.RoleName,
  'AWS::IAM::ManagedPolicy': (p) => p.ManagedPolicyName,
  'AWS::IAM::InstanceProfile': (p) => p.InstanceProfileName,
  'AWS::IAM::User': (p) => p.UserName,
  'AWS::IAM::Group': (p) => p.GroupName,
  'AWS::S3::Bucket': (p) => p.BucketName,
  'AWS::CloudWatch::Dashboard': (p) => p.DashboardName,
};

/** Every explicit account-global name in a template, by logical id. */
const accountGlobalNames = (template: Template): Record<string, unknown> => {
  const { Resources } = template.toJSON() as TemplateJson;
  return Object.fromEntries(
    Object.entries(Resources)
      .map(([id, resource]) => [id, ACCOUNT_GLOBAL_NAMES[resource.Type]?.(resource.Properties ?? {})] as const)
      .filter(([, name]) => name !== undefined),
  );
};

const originAccessControlName = (template: Template): unknown => {
  const controls = Object.values(template.findResources('AWS::CloudFront::OriginAccessControl'));
  expect(controls).toHaveLength(1);
  return (controls[0] as Resource).Properties!.OriginAccessControlConfig.Name;
};

// Built once for the file: an env-agnostic stack named by context, and the default-named stack in two regions.
const named = buildApp(testApp({ stackName: 'MyOffload' }));
const namedTemplate = Template.fromStack(named);
const east = Template.fromStack(new OffloadStack(testApp(), 'Offload', { env: { region: 'us-east-1' } }));
const west = Template.fromStack(new OffloadStack(testApp(), 'Offload', { env: { region: 'eu-west-1' } }));

describe('stack name', { timeout: SYNTH_TIMEOUT_MS }, () => {
  it('is Offload by default', () => {
    // Act
    const stack = buildApp(testApp());
    // Assess
    expect(stack.stackName).toBe('Offload');
    expect(stack.artifactId).toBe('Offload');
  });

  it('follows context stackName (the construct id too, so cdk ls and the template file carry it)', () => {
    // Prepare / Act: built once for the file
    // Assess
    expect(named.stackName).toBe('MyOffload');
    expect(named.artifactId).toBe('MyOffload');
  });

  it.each([
    ['1Offload', 'starts with a digit'],
    ['my_offload', 'holds an underscore'],
    ['Off load', 'holds a space'],
    ['', 'is empty'],
    [`O${'f'.repeat(128)}`, 'is longer than 128 characters'],
  ])('refuses "%s" (%s) at synth time', (stackName) => {
    // Act / Assess
    expect(() => buildApp(testApp({ stackName }))).toThrow(InvalidStackNameError);
  });
});

describe('account-global names', () => {
  it('gives the dashboard origin access control a different name in each region and for each stack name', () => {
    // Act
    const names = [originAccessControlName(east), originAccessControlName(west)];
    const agnostic = JSON.stringify(originAccessControlName(namedTemplate));
    // Assess
    expect(names).toEqual(['Offload-Dashboard-us-east-1', 'Offload-Dashboard-eu-west-1']);
    expect(agnostic).toContain('MyOffload-Dashboard-');
    expect(agnostic).toContain(JSON.stringify({ Ref: 'AWS::Region' }));
  });

  it('names every account-global resource after its stack and region', () => {
    // Act
    const names = accountGlobalNames(namedTemplate);
    const offenders = Object.entries(names).filter(([, name]) => {
      const text = JSON.stringify(name);
      return !text.includes('MyOffload') || !text.includes(JSON.stringify({ Ref: 'AWS::Region' }));
    });
    // Assess
    expect(Object.keys(names).length).toBeGreaterThanOrEqual(2);
    expect(offenders).toEqual([]);
  });

  it('differs between regions for every account-global resource', () => {
    // Act
    const eastNames = Object.values(accountGlobalNames(east)).map(String);
    const westNames = Object.values(accountGlobalNames(west)).map(String);
    // Assess
    expect(eastNames.length).toBeGreaterThanOrEqual(2);
    expect(eastNames.filter((name) => westNames.includes(name))).toEqual([]);
  });

  it.each([
    ['ap-southeast-5', 'a region known at synth time'],
    [undefined, 'a region known only at deploy time (budgeted at 20 characters)'],
  ] as [string | undefined, string][])('keeps a 64-character name within its limit for the longest stack names, unique by a hash (%s: %s)', (region, _case) => {
    // Prepare: two 128-character stack names that differ only at the end
    const scopeIn = (stackName: string) => new Construct(new Stack(testApp(), stackName, region ? { env: { region } } : {}), 'Site');
    const long = 'O'.repeat(127);
    // Act
    const [a, b] = [scopeIn(`${long}a`), scopeIn(`${long}b`)].map((scope) => Stack.of(scope).resolve(accountUniqueName(scope, 'Dashboard', 64)) as unknown);
    // A deploy-time region counts as the longest region code today (15 characters).
    const lengthOf = (name: unknown): number =>
      typeof name === 'string' ? name.length : (name as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1].reduce<number>((sum, part) => sum + (typeof part === 'string' ? part.length : 15), 0);
    // Assess
    expect(a).not.toEqual(b);
    expect(lengthOf(a)).toBeLessThanOrEqual(64);
    expect(JSON.stringify(a)).toMatch(/^"?.*O{20,}-[0-9a-f]{8}-Dashboard-/);
  });
});
