import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { LocalTemplate, type Template } from '../template.ts';
import { CloudAssemblyError } from './errors.ts';

/** The file that makes a directory a cloud assembly (`cdk synth -o <dir>` writes it). */
export const CLOUD_ASSEMBLY_MANIFEST = 'manifest.json' as const;

/** Artifact types of the cloud assembly manifest the runtime reads. */
const ARTIFACT = { stack: 'aws:cloudformation:stack', assets: 'cdk:asset-manifest', nested: 'cdk:cloud-assembly' } as const;

/** Stack a synth directory without a manifest is assumed to hold (`<name>.template.json`, `<name>.assets.json`). */
export const BARE_TEMPLATE_STACK = 'Offload' as const;

/** One CloudFormation stack of a cloud assembly: where its template and asset manifest are. */
export interface AssemblyStack {
  /** The assembly directory (absolute). */
  readonly directory: string;
  /** The stack's artifact id in the manifest (what `cdk deploy <id>` takes). */
  readonly artifactId: string;
  /** The CloudFormation stack name (the artifact's `stackName`, else its id). */
  readonly stackName: string;
  /** The template file (absolute). */
  readonly templateFile: string;
  /** The asset manifest naming the bundled Lambda code (absolute), when the stack has assets. */
  readonly assetManifestFile?: string;
}

interface ManifestArtifact {
  readonly type?: string;
  readonly displayName?: string;
  readonly dependencies?: readonly string[];
  readonly properties?: { readonly templateFile?: string; readonly stackName?: string; readonly file?: string; readonly directoryName?: string };
}

const readJson = <T>(directory: string, file: string, what: string): T => {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (error) {
    throw new CloudAssemblyError(directory, `cannot read its ${what} ${path.relative(directory, file) || file}: ${(error as Error).message}`, { cause: error });
  }
};

/**
 * Reads `<directory>/manifest.json` and returns its one CloudFormation stack (artifact type
 * `aws:cloudformation:stack`), or the one named `stack` (artifact id, stack name or display name).
 *
 * @throws CloudAssemblyError when the directory has no manifest, the manifest is unreadable, it has
 * no stack, several stacks and no `stack` was given, or no stack of that name
 *
 * @example
 * ```ts
 * const stack = readCloudAssembly('cdk.out'); // after `npx cdk synth -o cdk.out`
 * ```
 */
export const readCloudAssembly = (directory: string, stack?: string): AssemblyStack => {
  const dir = path.resolve(directory);
  const manifestFile = path.join(dir, CLOUD_ASSEMBLY_MANIFEST);
  if (!existsSync(manifestFile)) {
    throw new CloudAssemblyError(dir, `it has no ${CLOUD_ASSEMBLY_MANIFEST}, so it is not a cloud assembly (write one with \`npx cdk synth -o ${directory}\`)`);
  }
  const manifest = readJson<{ artifacts?: Record<string, ManifestArtifact> }>(dir, manifestFile, 'manifest');
  const artifacts = Object.entries(manifest.artifacts ?? {});
  const stacks = artifacts.filter(([, artifact]) => artifact.type === ARTIFACT.stack);
  const names = (id: string, artifact: ManifestArtifact) => [id, artifact.properties?.stackName ?? id, artifact.displayName ?? id];
  const listed = stacks.map(([id, artifact]) => (artifact.properties?.stackName && artifact.properties.stackName !== id ? `${id} (stack ${artifact.properties.stackName})` : id)).join(', ');
  let chosen: [string, ManifestArtifact] | undefined;
  if (stack !== undefined) {
    chosen = stacks.find(([id, artifact]) => names(id, artifact).includes(stack));
    if (!chosen) throw new CloudAssemblyError(dir, `it has no stack "${stack}" (its stacks: ${listed || 'none'})`);
  } else if (stacks.length === 1) {
    chosen = stacks[0]!;
  } else if (stacks.length === 0) {
    const nested = artifacts.filter(([, artifact]) => artifact.type === ARTIFACT.nested).map(([, artifact]) => artifact.properties?.directoryName);
    throw new CloudAssemblyError(
      dir,
      `its manifest lists no ${ARTIFACT.stack} artifact${nested.length ? ` (stacks of nested assemblies are not read: run one of ${nested.map((name) => path.join(directory, name ?? '')).join(', ')})` : ''}`,
    );
  } else {
    throw new CloudAssemblyError(dir, `it has ${stacks.length} stacks (${listed}); the local runtime runs one: choose it with --stack <name>`);
  }
  const [artifactId, artifact] = chosen;
  if (!artifact.properties?.templateFile) throw new CloudAssemblyError(dir, `stack ${artifactId} names no templateFile`);
  const assets = (artifact.dependencies ?? []).map((id) => manifest.artifacts?.[id]).find((dependency) => dependency?.type === ARTIFACT.assets);
  return {
    directory: dir,
    artifactId,
    stackName: artifact.properties.stackName ?? artifactId,
    templateFile: path.join(dir, artifact.properties.templateFile),
    ...(assets?.properties?.file ? { assetManifestFile: path.join(dir, assets.properties.file) } : {}),
  };
};

/**
 * The stack to run from a synth directory: read from its manifest when it has one (see
 * {@link readCloudAssembly}); a bare directory holding `<stack>.template.json` and
 * `<stack>.assets.json` (hand-made fixtures) is read as stack `stack` ({@link BARE_TEMPLATE_STACK} by default).
 */
export const locateStack = (directory: string, stack?: string): AssemblyStack => {
  const dir = path.resolve(directory);
  const bareName = stack ?? BARE_TEMPLATE_STACK;
  const bareTemplate = path.join(dir, `${bareName}.template.json`);
  if (existsSync(path.join(dir, CLOUD_ASSEMBLY_MANIFEST)) || !existsSync(bareTemplate)) return readCloudAssembly(directory, stack);
  return { directory: dir, artifactId: bareName, stackName: bareName, templateFile: bareTemplate, assetManifestFile: path.join(dir, `${bareName}.assets.json`) };
};

/** Loads a stack's template and its asset manifest (the bundled code of its functions). */
export const loadStackTemplate = (stack: AssemblyStack): LocalTemplate => {
  const template = readJson<Template>(stack.directory, stack.templateFile, 'template');
  const assets = stack.assetManifestFile ? readJson<{ files?: Record<string, { source: { path: string } }> }>(stack.directory, stack.assetManifestFile, 'asset manifest').files : undefined;
  return new LocalTemplate(template, stack.directory, assets ?? {}, stack.stackName);
};
