import { randomBytes } from 'node:crypto';
import type { S3OriginReader } from '../cdn.ts';
import type { LocalTemplate } from '../template.ts';
import { cloudFrontGetObject, distributionArn, type IamAuthorizer } from './service-hops.ts';

/** S3's answer to a request its bucket policy refuses. */
const accessDenied = () => ({
  status: 403,
  headers: { 'content-type': 'application/xml' },
  body: Buffer.from(
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>${randomBytes(8).toString('hex').toUpperCase()}</RequestId><HostId>${randomBytes(24).toString('base64')}</HostId></Error>`,
  ),
});

/** The logical ids of the buckets a distribution reads through origin access control. */
export const originAccessControlBuckets = (template: LocalTemplate, distributionId: string): Set<string> => {
  const config = (template.resource(distributionId).Properties?.DistributionConfig ?? {}) as { Origins?: Record<string, unknown>[] };
  const buckets = new Set<string>();
  for (const origin of config.Origins ?? []) {
    if (!origin.S3OriginConfig || origin.OriginAccessControlId === undefined) continue;
    const bucketId = ((origin.DomainName as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt'] ?? [])[0];
    if (bucketId) buckets.add(bucketId);
  }
  return buckets;
};

/**
 * S3 answering CloudFront's origin requests as the bucket policy decides: with origin access
 * control, CloudFront signs each read as `cloudfront.amazonaws.com` with `AWS:SourceArn` = the
 * distribution's ARN, and S3 answers `403 AccessDenied` (which CloudFront passes on) unless the
 * bucket policy allows `s3:GetObject` for that. Buckets not behind origin access control are read
 * as before.
 *
 * @param distributionId the distribution's logical id (its `Ref`, the distribution id, resolved on use)
 */
export const withOriginAccessControl = (reader: S3OriginReader, iam: IamAuthorizer, template: LocalTemplate, distributionId: string): S3OriginReader => {
  const bucketIds = originAccessControlBuckets(template, distributionId);
  let signed: Set<string> | undefined;
  return async (bucket, key, ifNoneMatch) => {
    // Bucket names are known once the S3 engine created the buckets: resolve on first use.
    signed ??= new Set([...bucketIds].map((id) => template.resolveString({ Ref: id }, `${distributionId}.Origins`)));
    if (signed.has(bucket)) {
      const arn = distributionArn(template.resolveString({ Ref: distributionId }, `${distributionId}.Arn`));
      if (!iam.authorize(cloudFrontGetObject(bucket, key, arn)).allowed) return accessDenied();
    }
    return reader(bucket, key, ifNoneMatch);
  };
};
