import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { S3OriginReader } from './cdn.ts';
import { type LocalTemplate, UnsupportedTemplateError } from './template.ts';

/** The custom resource type of aws-cdk-lib's `BucketDeployment`. */
export const BUCKET_DEPLOYMENT_TYPE = 'Custom::CDKBucketDeployment' as const;

/** Properties the emulation understands; anything else stops start-up. */
const PROPERTIES = new Set([
  'ServiceToken',
  'SourceBucketNames',
  'SourceObjectKeys',
  'SourceMarkers',
  'SourceMarkersConfig',
  'DestinationBucketName',
  'DestinationBucketKeyPrefix',
  'Prune',
  'RetainOnDelete',
  'SystemMetadata',
  'OutputObjectKeys',
  // Invalidation: the local CDN's cache lives in memory and starts empty with every run.
  'WaitForDistributionInvalidation',
  'DistributionId',
  'DistributionPaths',
]);
const SYSTEM_METADATA = new Set(['cache-control', 'content-type']);

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** The function and layer ids that implement the template's bucket deployments (run by the runtime itself, never as functions). */
export const bucketDeploymentProviders = (template: LocalTemplate): { functions: Set<string>; layers: Set<string> } => {
  const functions = new Set<string>();
  const layers = new Set<string>();
  for (const [logicalId, resource] of template.ofType(BUCKET_DEPLOYMENT_TYPE)) {
    const functionId = ((resource.Properties?.ServiceToken as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt'] ?? [])[0];
    if (!functionId || template.resource(functionId).Type !== 'AWS::Lambda::Function') {
      throw new UnsupportedTemplateError(logicalId, 'ServiceToken', 'expected Fn::GetAtt of a function of this stack');
    }
    functions.add(functionId);
    for (const layer of (template.resource(functionId).Properties?.Layers as { Ref?: string }[] | undefined) ?? []) if (layer.Ref) layers.add(layer.Ref);
  }
  return { functions, layers };
};

/** Every file below `dir`, as paths relative to it with `/` separators. */
const filesOf = (dir: string, prefix = ''): string[] =>
  readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? filesOf(full, `${prefix}${name}/`) : [`${prefix}${name}`];
  });

/** Options of {@link deployBuckets}. */
export interface BucketDeploymentOptions {
  /** Rewrites applied to rendered marker values (AWS endpoint URLs to local ones), as `[from, to]` prefixes. */
  readonly rewrites?: readonly (readonly [string, string])[];
  readonly log?: (line: string) => void;
}

/**
 * Does locally what the `BucketDeployment` custom resource does on AWS when the stack deploys:
 * copies each source asset (a directory in the cloud assembly) into the destination bucket under
 * the key prefix, with deploy-time markers (`<<marker:…>>`, the tokens of `Source.jsonData`)
 * replaced by their local values, the system metadata (`Cache-Control`) and a content type by
 * extension, then deletes other objects under the prefix (`Prune`).
 */
export const deployBuckets = async (template: LocalTemplate, s3: S3Client, options: BucketDeploymentOptions = {}): Promise<{ bucket: string; prefix: string; keys: string[] }[]> => {
  const deployed: { bucket: string; prefix: string; keys: string[] }[] = [];
  for (const [logicalId, resource] of template.ofType(BUCKET_DEPLOYMENT_TYPE)) {
    const properties = resource.Properties ?? {};
    for (const key of Object.keys(properties)) if (!PROPERTIES.has(key)) throw new UnsupportedTemplateError(logicalId, key, 'bucket deployment property not supported');
    const metadata = (properties.SystemMetadata ?? {}) as Record<string, string>;
    for (const key of Object.keys(metadata)) if (!SYSTEM_METADATA.has(key)) throw new UnsupportedTemplateError(logicalId, `SystemMetadata.${key}`, 'not supported');
    const bucket = template.resolveString(properties.DestinationBucketName, `${logicalId}.DestinationBucketName`);
    const prefix = properties.DestinationBucketKeyPrefix === undefined ? '' : template.resolveString(properties.DestinationBucketKeyPrefix, `${logicalId}.DestinationBucketKeyPrefix`);
    const keys = (properties.SourceObjectKeys as unknown[] | undefined) ?? [];
    const markers = (properties.SourceMarkers as Record<string, unknown>[] | undefined) ?? [];
    const markersConfig = (properties.SourceMarkersConfig as { jsonEscape?: boolean }[] | undefined) ?? [];
    const written = new Set<string>();
    for (const [index, objectKey] of keys.entries()) {
      const source = template.assetPathOfKey(template.resolveString(objectKey, `${logicalId}.SourceObjectKeys`), logicalId);
      if (!statSync(source).isDirectory()) throw new UnsupportedTemplateError(logicalId, 'SourceObjectKeys', `${String(objectKey)} is a file asset; only directory sources are supported`);
      const replacements = Object.entries(markers[index] ?? {}).map(([marker, value]) => {
        const resolved = template.resolveString(value, `${logicalId}.SourceMarkers`);
        return [marker, markersConfig[index]?.jsonEscape ? JSON.stringify(resolved).slice(1, -1) : resolved] as const;
      });
      for (const file of filesOf(source)) {
        let body: Buffer | string = readFileSync(path.join(source, file));
        if (replacements.length) {
          let text = body.toString('utf8');
          for (const [marker, value] of replacements) text = text.split(marker).join(value);
          for (const [from, to] of options.rewrites ?? []) text = text.split(from).join(to);
          body = text;
        }
        const key = `${prefix}${file}`;
        await s3.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: body,
            ContentType: metadata['content-type'] ?? CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
            ...(metadata['cache-control'] ? { CacheControl: metadata['cache-control'] } : {}),
          }),
        );
        written.add(key);
      }
    }
    if (properties.Prune !== false) {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ...(prefix ? { Prefix: prefix } : {}) }));
      const stale = (listed.Contents ?? []).map((object) => object.Key!).filter((key) => key && !written.has(key));
      if (stale.length) await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: stale.map((Key) => ({ Key })) } }));
    }
    options.log?.(`${logicalId}: ${written.size} objects to s3://${bucket}/${prefix}`);
    deployed.push({ bucket, prefix, keys: [...written].sort() });
  }
  return deployed;
};

/**
 * Reads objects for the CDN's S3 origins, as S3 answers CloudFront through origin access control:
 * `200` with the object's `Content-Type`, `Cache-Control`, `ETag` and `Last-Modified`, `304` for a
 * matching `If-None-Match`, and `403` for a missing key (no `s3:ListBucket`, so no `404`).
 */
export const s3OriginReader =
  (s3: S3Client): S3OriginReader =>
  async (bucket, key, ifNoneMatch) => {
    try {
      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const headers: Record<string, string> = {};
      if (object.ContentType) headers['content-type'] = object.ContentType;
      if (object.CacheControl) headers['cache-control'] = object.CacheControl;
      if (object.ETag) headers.etag = object.ETag;
      if (object.LastModified) headers['last-modified'] = object.LastModified.toUTCString();
      const body = Buffer.from(await object.Body!.transformToByteArray());
      if (ifNoneMatch && object.ETag && ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === object.ETag)) {
        const { 'content-type': _type, ...rest } = headers;
        return { status: 304, headers: rest, body: Buffer.alloc(0) };
      }
      return { status: 200, headers, body };
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === 'NoSuchKey' || name === 'NotFound' || name === 'NoSuchBucket') {
        return { status: 403, headers: { 'content-type': 'application/xml' }, body: Buffer.from('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>') };
      }
      throw error;
    }
  };
