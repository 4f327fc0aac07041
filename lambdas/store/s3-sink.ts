import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { NdjsonSink } from '../core/ports.ts';

/** `AWS_S3_FORCE_PATH_STYLE=true` only for local endpoints (the local runtime sets it). */
const s3 = new S3Client({ maxAttempts: 5, forcePathStyle: process.env.AWS_S3_FORCE_PATH_STYLE === 'true' });

/** {@link NdjsonSink} writing NDJSON objects to an S3 bucket (SSE-S3 by bucket default). */
export class S3Sink implements NdjsonSink {
  public constructor(private readonly bucket: string) {}

  public async write(key: string, ndjson: string): Promise<void> {
    await s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: ndjson, ContentType: 'application/x-ndjson' }));
  }
}
