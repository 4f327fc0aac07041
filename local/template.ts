import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** One resource of a CloudFormation template. */
export interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
  readonly DependsOn?: string | string[];
}

/** A synthesized CloudFormation template. */
export interface Template {
  readonly Resources: Record<string, TemplateResource>;
  readonly Outputs?: Record<string, { Value: unknown }>;
}

/** The template does something the local runtime cannot emulate; names the resource and property. */
export class UnsupportedTemplateError extends Error {
  public constructor(logicalId: string, property: string, detail: string) {
    super(`Unsupported in the local runtime: ${logicalId}.${property}: ${detail}`);
    this.name = 'UnsupportedTemplateError';
  }
}

/** What Ref and Fn::GetAtt resolve to for each resource, filled in as local resources come up. */
export interface ResourceValues {
  ref: string;
  attributes: Record<string, string>;
}

/** Local values of the pseudo parameters. */
export const LOCAL_ACCOUNT = '000000000000' as const;
export const LOCAL_REGION = 'us-east-1' as const;

/** Stack name of a template loaded without one (`AWS::StackName`): the app's default. */
const DEFAULT_STACK_NAME = 'Offload';

const PSEUDO: Record<string, string> = {
  'AWS::Region': LOCAL_REGION,
  'AWS::AccountId': LOCAL_ACCOUNT,
  'AWS::Partition': 'aws',
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::NoValue': '',
};

/** The part of a cloud assembly's `manifest.json` naming its stacks. */
interface AssemblyManifest {
  readonly artifacts?: Record<string, { readonly type: string; readonly properties?: { readonly stackName?: string } }>;
}

/** An assembly's manifest; empty for a directory holding only a template and its assets. */
const readManifest = (outdir: string): AssemblyManifest => {
  const file = path.join(outdir, 'manifest.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as AssemblyManifest) : {};
};

/**
 * The artifact id of the one stack in a synthesized cloud assembly (its files are
 * `<id>.template.json` and `<id>.assets.json`): `Offload`, or what context `stackName` made it.
 * A directory without `manifest.json` (a bare template and asset manifest) holds `Offload`.
 */
export const assemblyStackId = (outdir: string): string => {
  if (!existsSync(path.join(outdir, 'manifest.json'))) return DEFAULT_STACK_NAME;
  const stacks = Object.entries(readManifest(outdir).artifacts ?? {}).filter(([, artifact]) => artifact.type === 'aws:cloudformation:stack');
  if (stacks.length !== 1) throw new UnsupportedTemplateError(outdir, 'manifest.json', `the local runtime runs exactly one stack, the assembly has ${stacks.length}`);
  return stacks[0]![0];
};

/**
 * A loaded template with an intrinsic-function resolver. Resource values (what `Ref` and
 * `Fn::GetAtt` give) are registered by the emulators as they create local resources.
 */
export class LocalTemplate {
  public readonly values = new Map<string, ResourceValues>();

  public constructor(
    public readonly template: Template,
    public readonly assetDir: string,
    private readonly assets: Record<string, { source: { path: string } }>,
    /** What `AWS::StackName` resolves to. */
    public readonly stackName: string = DEFAULT_STACK_NAME,
  ) {}

  /** Loads `<outdir>/<stack>.template.json` and its asset manifest (`stackName`: the stack's artifact id). */
  public static load(outdir: string, stackName: string): LocalTemplate {
    const template = JSON.parse(readFileSync(path.join(outdir, `${stackName}.template.json`), 'utf8')) as Template;
    const manifest = JSON.parse(readFileSync(path.join(outdir, `${stackName}.assets.json`), 'utf8')) as {
      files: Record<string, { source: { path: string } }>;
    };
    // The CloudFormation name is the artifact id unless the stack was given another one.
    const name = readManifest(outdir).artifacts?.[stackName]?.properties?.stackName ?? stackName;
    return new LocalTemplate(template, outdir, manifest.files, name);
  }

  /** Resources of a type, as `[logicalId, resource]` pairs. */
  public ofType(type: string): [string, TemplateResource][] {
    return Object.entries(this.template.Resources).filter(([, resource]) => resource.Type === type);
  }

  public resource(logicalId: string): TemplateResource {
    const resource = this.template.Resources[logicalId];
    if (!resource) throw new Error(`Template has no resource ${logicalId}`);
    return resource;
  }

  /** Directory holding the bundled code of a Lambda function resource. */
  public assetPathOf(logicalId: string): string {
    const code = this.resource(logicalId).Properties?.Code as { S3Key?: string } | undefined;
    const hash = code?.S3Key?.replace(/\.zip$/, '');
    const asset = hash ? this.assets[hash] : undefined;
    if (!asset) throw new UnsupportedTemplateError(logicalId, 'Code', 'only file assets synthesized by this app are supported');
    return path.join(this.assetDir, asset.source.path);
  }

  /** Local path of a file asset of this app, by the object key the template names (`<hash>.zip`). */
  public assetPathOfKey(objectKey: string, where: string): string {
    const asset = this.assets[objectKey.replace(/\.zip$/, '')];
    if (!asset) throw new UnsupportedTemplateError(where, 'SourceObjectKeys', `${objectKey} is not an asset synthesized by this app`);
    return path.join(this.assetDir, asset.source.path);
  }

  public register(logicalId: string, value: ResourceValues): void {
    this.values.set(logicalId, value);
  }

  /** Resolves intrinsic functions in a value to local strings. */
  public resolve(value: unknown, where = '(template)'): unknown {
    if (Array.isArray(value)) return value.map((item) => this.resolve(item, where));
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1) {
      const [fn, arg] = entries[0]!;
      switch (fn) {
        case 'Ref':
          return this.ref(arg as string, where);
        case 'Fn::GetAtt': {
          const [id, attribute] = Array.isArray(arg) ? (arg as string[]) : (arg as string).split('.');
          return this.getAtt(id!, attribute!, where);
        }
        case 'Fn::Join': {
          const [separator, parts] = arg as [string, unknown[]];
          return (this.resolve(parts, where) as unknown[]).join(separator);
        }
        case 'Fn::Sub':
          return this.sub(arg as string | [string, Record<string, unknown>], where);
        case 'Fn::Select': {
          const [index, list] = arg as [number | string, unknown];
          return (this.resolve(list, where) as unknown[])[Number(index)];
        }
        case 'Fn::Split': {
          const [separator, source] = arg as [string, unknown];
          return String(this.resolve(source, where)).split(separator);
        }
        default:
          if (fn.startsWith('Fn::')) throw new UnsupportedTemplateError(where, fn, 'intrinsic function not supported');
      }
    }
    return Object.fromEntries(entries.map(([key, inner]) => [key, this.resolve(inner, where)]));
  }

  /** Resolves to a string, or throws naming the place. */
  public resolveString(value: unknown, where: string): string {
    const resolved = this.resolve(value, where);
    if (typeof resolved !== 'string' && typeof resolved !== 'number') {
      throw new UnsupportedTemplateError(where, '', `expected a string, got ${JSON.stringify(resolved)}`);
    }
    return String(resolved);
  }

  private ref(name: string, where: string): string {
    if (name === 'AWS::StackName') return this.stackName;
    if (name in PSEUDO) return PSEUDO[name]!;
    const value = this.values.get(name);
    if (!value) throw new UnsupportedTemplateError(where, 'Ref', `${name} (${this.template.Resources[name]?.Type ?? 'unknown'}) has no local value`);
    return value.ref;
  }

  private getAtt(id: string, attribute: string, where: string): string {
    const value = this.values.get(id)?.attributes[attribute];
    if (value === undefined) {
      throw new UnsupportedTemplateError(where, 'Fn::GetAtt', `${id}.${attribute} (${this.template.Resources[id]?.Type ?? 'unknown'}) has no local value`);
    }
    return value;
  }

  private sub(arg: string | [string, Record<string, unknown>], where: string): string {
    const [text, variables] = typeof arg === 'string' ? [arg, {}] : arg;
    return text.replace(/\$\{([^}!]+)\}/g, (_match, name: string) => {
      if (name in variables) return String(this.resolve(variables[name], where));
      if (name.includes('.')) {
        const [id, attribute] = name.split('.');
        return this.getAtt(id!, attribute!, where);
      }
      return this.ref(name, where);
    });
  }
}

/** An ARN in the local account and region. */
export const localArn = (service: string, resource: string): string => `arn:aws:${service}:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${resource}`;
