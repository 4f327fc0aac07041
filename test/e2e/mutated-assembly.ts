import { mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { assemblyStackId, type TemplateResource } from '../../local/template.ts';

/** The template's resources, as a mutation edits them. */
export type Resources = Record<string, TemplateResource & { Properties: Record<string, any> }>;

/**
 * A copy of the shared synth output whose template `mutate` edited (the assets are symlinked): the
 * runtime then runs a stack that AWS would run with the same mistake.
 */
export const mutatedCdkOut = (label: string, mutate: (resources: Resources) => void): string => {
  const source = inject('cdkOut');
  const dir = mkdtempSync(path.join(tmpdir(), `offload-${label}-`));
  const file = `${assemblyStackId(source)}.template.json`;
  for (const entry of readdirSync(source)) if (entry !== file) symlinkSync(path.join(source, entry), path.join(dir, entry));
  const template = JSON.parse(readFileSync(path.join(source, file), 'utf8')) as { Resources: Resources };
  mutate(template.Resources);
  writeFileSync(path.join(dir, file), JSON.stringify(template));
  return dir;
};
