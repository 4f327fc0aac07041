import type { Template, TemplateResource } from '../template.ts';

/**
 * Reading a template the way CloudFormation plans it, without deploying anything: literal values,
 * which resource a property points at, and which resources one waits for.
 */

/** A number written as a literal (number or numeric string), or `undefined` (absent, or an intrinsic the preflight cannot know). */
export const literalNumber = (value: unknown): number | undefined => {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return undefined;
};

/** The logical id a `Ref`, `Fn::GetAtt` (array or dotted form) points at, or `undefined`. */
export const referencedId = (value: unknown): string | undefined => {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const { Ref: ref, 'Fn::GetAtt': getAtt } = value as { Ref?: unknown; 'Fn::GetAtt'?: unknown };
  if (typeof ref === 'string') return ref.startsWith('AWS::') ? undefined : ref;
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  if (typeof getAtt === 'string') return getAtt.split('.')[0];
  return undefined;
};

/** The text of a string property: a literal, or the literal parts of an `Fn::Join` / the template of an `Fn::Sub`. */
export const literalText = (value: unknown): string | undefined => {
  if (typeof value === 'string') return value;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const { 'Fn::Join': join, 'Fn::Sub': sub } = value as { 'Fn::Join'?: unknown; 'Fn::Sub'?: unknown };
  if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
    return join[1].map((part) => (typeof part === 'string' ? part : '')).join(join[0]);
  }
  if (typeof sub === 'string') return sub;
  if (Array.isArray(sub) && typeof sub[0] === 'string') return sub[0];
  return undefined;
};

/** The resources one resource directly waits for: its `DependsOn` and every `Ref`, `Fn::GetAtt` and `${...}` of `Fn::Sub` in its properties. */
export const directDependencies = (resource: TemplateResource): Set<string> => {
  const found = new Set<string>(resource.DependsOn === undefined ? [] : Array.isArray(resource.DependsOn) ? resource.DependsOn : [resource.DependsOn]);
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (value === null || typeof value !== 'object') return;
    const id = referencedId(value);
    if (id) found.add(id);
    const sub = (value as { 'Fn::Sub'?: unknown })['Fn::Sub'];
    const text = typeof sub === 'string' ? sub : Array.isArray(sub) && typeof sub[0] === 'string' ? sub[0] : undefined;
    for (const [, name] of text?.matchAll(/\$\{([^}!]+)\}/g) ?? []) if (!name!.startsWith('AWS::')) found.add(name!.split('.')[0]!);
    Object.values(value).forEach(visit);
  };
  visit(resource.Properties);
  return found;
};

/** Whether CloudFormation creates `dependency` before `logicalId` (a chain of dependencies leads there). */
export const dependsOn = (template: Template, logicalId: string, dependency: string): boolean => {
  const seen = new Set<string>();
  const pending = [logicalId];
  while (pending.length > 0) {
    const current = pending.pop()!;
    const resource = template.Resources[current];
    if (seen.has(current) || !resource) continue;
    seen.add(current);
    for (const next of directDependencies(resource)) {
      if (next === dependency) return true;
      pending.push(next);
    }
  }
  return false;
};

/** Resources of a type, as `[logicalId, resource]` pairs. */
export const resourcesOfType = (template: Template, type: string): [string, TemplateResource][] => Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
