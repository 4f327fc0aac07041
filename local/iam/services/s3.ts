import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { CallAuthorization, HttpAnswer, RequiredPermission } from '../caller.ts';

/** Bucket sub-resources (`?versioning`, …) read with GET and written with PUT, by their IAM action suffix. */
const BUCKET_SUBRESOURCES: Record<string, string> = {
  acl: 'BucketAcl',
  cors: 'BucketCORS',
  encryption: 'EncryptionConfiguration',
  lifecycle: 'LifecycleConfiguration',
  logging: 'BucketLogging',
  notification: 'BucketNotification',
  ownershipControls: 'BucketOwnershipControls',
  policy: 'BucketPolicy',
  policyStatus: 'BucketPolicyStatus',
  publicAccessBlock: 'BucketPublicAccessBlock',
  tagging: 'BucketTagging',
  versioning: 'BucketVersioning',
  website: 'BucketWebsite',
  'object-lock': 'BucketObjectLockConfiguration',
};

const objectKeysOfDelete = (body: Buffer): string[] =>
  [...body.toString('utf8').matchAll(/<Key>([\s\S]*?)<\/Key>/g)].map((match) =>
    match[1]!.replace(/&(lt|gt|amp|quot|apos);/g, (_entity, name: string) => ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" })[name]!),
  );

/**
 * The permissions a path-style S3 request needs: `s3:GetObject`/`PutObject`/`DeleteObject`/… on
 * the object ARN, `s3:ListBucket` (and the bucket sub-resource actions) on the bucket ARN,
 * `s3:ListAllMyBuckets` for the service root. A copy also needs `s3:GetObject` on its source;
 * a multi-object delete needs `s3:DeleteObject` on every key.
 */
export const s3Permissions = (method: string, url: string, headers: IncomingHttpHeaders, body: Buffer): RequiredPermission[] => {
  const parsed = new URL(url, 'http://local');
  const query = parsed.searchParams;
  const [rawBucket, ...rawKey] = parsed.pathname.slice(1).split('/');
  const bucket = decodeURIComponent(rawBucket ?? '');
  const key = rawKey.map(decodeURIComponent).join('/');
  const verb = method.toUpperCase();
  if (!bucket) return [{ action: 's3:ListAllMyBuckets', resource: '*' }];
  const bucketArn = `arn:aws:s3:::${bucket}`;
  const on = (action: string, resource = bucketArn): RequiredPermission => ({ action: `s3:${action}`, resource });
  if (!key) {
    if (verb === 'POST' && query.has('delete')) return objectKeysOfDelete(body).map((objectKey) => on('DeleteObject', `${bucketArn}/${objectKey}`));
    const sub = Object.keys(BUCKET_SUBRESOURCES).find((name) => query.has(name));
    if (sub && (verb === 'GET' || verb === 'HEAD')) return [on(sub === 'policyStatus' ? 'GetBucketPolicyStatus' : `Get${BUCKET_SUBRESOURCES[sub]}`)];
    if (sub && verb === 'PUT') return [on(`Put${BUCKET_SUBRESOURCES[sub]}`)];
    if (sub && verb === 'DELETE') return [on(sub === 'policy' ? 'DeleteBucketPolicy' : `Put${BUCKET_SUBRESOURCES[sub]}`)];
    if (query.has('location')) return [on('GetBucketLocation')];
    if (query.has('versions')) return [on('ListBucketVersions')];
    if (query.has('uploads')) return [on('ListBucketMultipartUploads')];
    if (verb === 'PUT') return [on('CreateBucket')];
    if (verb === 'DELETE') return [on('DeleteBucket')];
    return [on('ListBucket')];
  }
  const objectArn = `${bucketArn}/${key}`;
  const versioned = query.has('versionId') ? 'Version' : '';
  if (query.has('tagging')) return [on(verb === 'GET' ? `GetObject${versioned}Tagging` : verb === 'DELETE' ? `DeleteObject${versioned}Tagging` : `PutObject${versioned}Tagging`, objectArn)];
  if (query.has('acl')) return [on(verb === 'GET' ? `GetObject${versioned}Acl` : `PutObject${versioned}Acl`, objectArn)];
  if (query.has('attributes')) return [on(`GetObject${versioned}Attributes`, objectArn)];
  if (verb === 'GET' || verb === 'HEAD') return [on(query.has('uploadId') ? 'ListMultipartUploadParts' : `GetObject${versioned}`, objectArn)];
  if (verb === 'DELETE') return [on(query.has('uploadId') ? 'AbortMultipartUpload' : `DeleteObject${versioned}`, objectArn)];
  const copySource = headers['x-amz-copy-source'];
  const permissions = [on('PutObject', objectArn)];
  if (verb === 'PUT' && typeof copySource === 'string') {
    const source = decodeURIComponent(copySource.replace(/^\//, '').split('?')[0]!);
    permissions.push(on('GetObject', `arn:aws:s3:::${source}`));
  }
  return permissions;
};

const xml = (status: number, code: string, message: string, extra = ''): HttpAnswer => {
  const requestId = randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase();
  return {
    status,
    headers: { 'content-type': 'application/xml', 'x-amz-request-id': requestId },
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message.replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c]!)}</Message>${extra}<RequestId>${requestId}</RequestId><HostId>${Buffer.from(requestId).toString('base64')}</HostId></Error>`,
  };
};

/**
 * S3's refusal: `403 AccessDenied` with the message naming session, action and the quoted resource
 * ARN; `403 InvalidAccessKeyId` for a key never issued; `403 AccessDenied` for anonymous requests.
 */
export const s3Refusal = (outcome: Exclude<CallAuthorization, { allowed: true }>): HttpAnswer => {
  if (outcome.why === 'denied') {
    const { resource } = outcome.permission;
    return xml(403, 'AccessDenied', outcome.decision.message.replace(`on resource: ${resource}`, `on resource: "${resource}"`));
  }
  if (outcome.why === 'unrecognized') {
    return xml(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', `<AWSAccessKeyId>${outcome.accessKeyId.replace(/[<>&]/g, '')}</AWSAccessKeyId>`);
  }
  return xml(403, 'AccessDenied', 'Access Denied');
};
