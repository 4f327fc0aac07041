import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { PresignedUrlSigner } from '../core/ports.ts';

/**
 * Signs with the function's own credentials (its role on AWS), so a URL can read only what the
 * role may read: `s3:GetObject` under `exports/`. Path style only for local endpoints
 * (`AWS_S3_FORCE_PATH_STYLE=true`, set by the local runtime). Checksums only where an operation
 * requires them: otherwise the SDK's flexible-checksum defaults add `x-amz-checksum-mode` (or, with
 * only one of the two settings, an `x-amz-checksum-crc32` of the empty request body) to the URL.
 */
const s3 = new S3Client({
  forcePathStyle: process.env.AWS_S3_FORCE_PATH_STYLE === 'true',
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});

/**
 * {@link PresignedUrlSigner} over S3 query-string SigV4 (`X-Amz-Signature`, `X-Amz-Expires`). The
 * URL also asks S3 to answer with `Content-Type: application/x-ndjson` and a download file name.
 * On AWS a URL stops working at its expiry or when the credentials that signed it expire, whichever
 * comes first.
 */
export class S3PresignedUrlSigner implements PresignedUrlSigner {
  public constructor(private readonly bucket: string) {}

  public async signGet(key: string, options: { readonly expiresInSeconds: number; readonly signedAt: Date; readonly fileName: string }): Promise<string> {
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: key,
      ResponseContentType: 'application/x-ndjson',
      ResponseContentDisposition: `attachment; filename="${options.fileName.replace(/[^\w.-]/g, '_')}"`,
    });
    return getSignedUrl(s3, command, { expiresIn: options.expiresInSeconds, signingDate: options.signedAt });
  }
}
