import { downloadExport } from '../../core/download.ts';
import { requireEnv } from '../../store/clients.ts';
import { S3PresignedUrlSigner } from '../../store/s3-presigner.ts';
import { taskStore } from '../runtime.ts';
import { json, principalOf } from './http.ts';
import { httpHandler } from './wrap.ts';

let signer: S3PresignedUrlSigner | undefined;
const exportsSigner = (): S3PresignedUrlSigner => (signer ??= new S3PresignedUrlSigner(requireEnv('EXPORTS_BUCKET')));

/** `GET /v1/tasks/{id}/download`: a presigned URL of a succeeded export's NDJSON; never cached (it is a credential). */
export const handler = httpHandler(async (event) => {
  const principal = principalOf(event);
  const download = await downloadExport({ tasks: taskStore(), signer: exportsSigner() }, principal, event.pathParameters?.id);
  return json(200, download, { 'cache-control': 'no-store' });
});
