import { createHash, createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOWNLOAD_URL_TTL_SECONDS, downloadExport } from '../../lambdas/core/download.ts';
import { ConflictError, NotFoundError } from '../../lambdas/core/errors.ts';
import { newTaskId } from '../../lambdas/core/ids.ts';
import type { Principal, TaskRecord } from '../../lambdas/core/model.ts';
import type { HttpResult } from '../../lambdas/handlers/http/http.ts';
import type { S3PresignedUrlSigner } from '../../lambdas/store/s3-presigner.ts';
import { DynamoTaskStore } from '../../lambdas/store/task-store.ts';
import { fakeContext } from '../support/lambda-context.ts';
import { httpEvent } from '../support/http-events.ts';
import { type LocalDynamo, startLocalDynamo, TEST_CREDENTIALS, useLocalAwsEnv } from '../support/local-dynamo.ts';
import { taskRecord } from '../support/tasks.ts';

/**
 * `GET /v1/tasks/{id}/download`: the use case over a real DynamoDB API (dynalite) and the real S3
 * presigner, and the handler around it. Signing needs no network; the URL's SigV4 signature is
 * recomputed here from the test credentials, independently of the SDK, so a URL S3 would refuse
 * fails the test (the local S3 does not check signatures).
 */

const BUCKET = 'offload-test-exports';
const TENANT = 'ten_download';
const OTHER = 'ten_other';

let dynamo: LocalDynamo;
let tasks: DynamoTaskStore;
let signer: S3PresignedUrlSigner;
let handler: typeof import('../../lambdas/handlers/http/download-task.ts').handler;

beforeAll(async () => {
  dynamo = await startLocalDynamo();
  useLocalAwsEnv({ dynamoEndpoint: dynamo.endpoint, tasksTable: dynamo.tasksTable, connectionsTable: dynamo.connectionsTable });
  // Nothing is fetched from S3 here; the endpoint only shapes the URL (path style, like the local runtime).
  process.env.AWS_ENDPOINT_URL_S3 = 'http://127.0.0.1:9';
  process.env.AWS_S3_FORCE_PATH_STYLE = 'true';
  process.env.EXPORTS_BUCKET = BUCKET;
  const { S3PresignedUrlSigner } = await import('../../lambdas/store/s3-presigner.ts');
  signer = new S3PresignedUrlSigner(BUCKET);
  ({ handler } = await import('../../lambdas/handlers/http/download-task.ts'));
  tasks = new DynamoTaskStore(dynamo.tasksTable, dynamo.docClient);
});

afterAll(async () => {
  await dynamo?.stop();
});

/** A stored `tasks.export` task of {@link TENANT}, succeeded unless overridden. */
const storedExport = async (overrides: Partial<TaskRecord> = {}): Promise<TaskRecord> => {
  const taskId = overrides.taskId ?? newTaskId();
  const task = taskRecord({
    taskId,
    tenantId: TENANT,
    type: 'tasks.export',
    class: 'batch',
    status: 'succeeded',
    input: {},
    result: { bucket: BUCKET, key: `exports/${TENANT}/${taskId}.ndjson`, tasks: 2, bytes: 120 },
    ...overrides,
  });
  await tasks.create(task);
  return task;
};

const owner: Principal = { tenantId: TENANT };

/** RFC 3986 encoding, as SigV4 canonicalizes query parameters. */
const rfc3986 = (value: string) => encodeURIComponent(value).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

/** The SigV4 query-string signature S3 expects for a presigned GET of this URL, under `secret`. */
const expectedSignature = (url: URL, secret: string): string => {
  const params = [...url.searchParams].filter(([name]) => name !== 'X-Amz-Signature');
  const query = params.map(([name, value]) => [rfc3986(name), rfc3986(value)]).sort(([a], [b]) => (a! < b! ? -1 : a! > b! ? 1 : 0)).map(([name, value]) => `${name}=${value}`).join('&');
  const canonical = ['GET', url.pathname, query, `host:${url.host}`, '', 'host', 'UNSIGNED-PAYLOAD'].join('\n');
  const amzDate = url.searchParams.get('X-Amz-Date')!;
  const scope = url.searchParams.get('X-Amz-Credential')!.split('/').slice(1).join('/');
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
  const [date, region, service, terminator] = scope.split('/') as [string, string, string, string];
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), terminator);
  return createHmac('sha256', key).update(toSign).digest('hex');
};

describe('downloadExport', () => {
  it('signs a SigV4 GET of exports/<tenant>/<task>.ndjson valid 300 s from the signing time', async () => {
    // Prepare
    const task = await storedExport();
    const signedAt = new Date('2026-03-04T05:06:07.000Z');
    // Act
    const download = await downloadExport({ tasks, signer, now: () => signedAt }, owner, task.taskId);
    // Assess
    const url = new URL(download.url);
    expect(DOWNLOAD_URL_TTL_SECONDS).toBe(300);
    expect(download.expiresAt).toBe('2026-03-04T05:11:07.000Z');
    expect(`${url.origin}${url.pathname}`).toBe(`http://127.0.0.1:9/${BUCKET}/exports/${TENANT}/${task.taskId}.ndjson`);
    expect(url.searchParams.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(url.searchParams.get('X-Amz-Date')).toBe('20260304T050607Z');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('300');
    expect(url.searchParams.get('X-Amz-Credential')).toBe(`${TEST_CREDENTIALS.accessKeyId}/20260304/us-east-1/s3/aws4_request`);
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('host');
    expect(url.searchParams.get('response-content-type')).toBe('application/x-ndjson');
    expect(url.searchParams.get('response-content-disposition')).toBe(`attachment; filename="${task.taskId}.ndjson"`);
    expect([...url.searchParams.keys()].filter((name) => name.startsWith('x-amz-checksum'))).toEqual([]);
    expect(url.searchParams.get('X-Amz-Signature')).toBe(expectedSignature(url, TEST_CREDENTIALS.secretAccessKey));
    expect(url.searchParams.get('X-Amz-Signature')).not.toBe(expectedSignature(url, 'another-secret'));
  });

  it('derives the key from the tenant and the task, never from the stored result', async () => {
    // Prepare: a result that (somehow) names another tenant's object.
    const task = await storedExport({ result: { bucket: BUCKET, key: `exports/${OTHER}/tsk_theirs.ndjson`, tasks: 1, bytes: 1 } });
    // Act
    const download = await downloadExport({ tasks, signer }, owner, task.taskId);
    // Assess
    expect(decodeURIComponent(new URL(download.url).pathname)).toBe(`/${BUCKET}/exports/${TENANT}/${task.taskId}.ndjson`);
  });

  it('lets a client token scoped to the export download it, and answers 404 to every caller who cannot see it', async () => {
    // Prepare
    const task = await storedExport();
    const calls = {
      scoped: { tenantId: TENANT, via: 'clientToken', taskIds: [task.taskId] },
      otherScope: { tenantId: TENANT, via: 'clientToken', taskIds: [newTaskId()] },
      otherTenant: { tenantId: OTHER },
    } satisfies Record<string, Principal>;
    // Act
    const scoped = await downloadExport({ tasks, signer }, calls.scoped, task.taskId);
    const refused = await Promise.all([
      downloadExport({ tasks, signer }, calls.otherScope, task.taskId).catch((error: unknown) => error),
      downloadExport({ tasks, signer }, calls.otherTenant, task.taskId).catch((error: unknown) => error),
      downloadExport({ tasks, signer }, owner, newTaskId()).catch((error: unknown) => error),
      downloadExport({ tasks, signer }, owner, `exports/${TENANT}/${task.taskId}.ndjson`).catch((error: unknown) => error),
      downloadExport({ tasks, signer }, owner, undefined).catch((error: unknown) => error),
    ]);
    // Assess
    expect(scoped.url).toContain(task.taskId);
    for (const error of refused) {
      expect(error).toBeInstanceOf(NotFoundError);
      expect((error as NotFoundError).message).toBe('No such task.');
    }
  });

  it('answers 404 for a task of another type, saying only exports have a download', async () => {
    // Prepare
    const completion = taskRecord({ tenantId: TENANT, status: 'succeeded', result: { text: 'hi' } });
    await tasks.create(completion);
    // Act
    const error = await downloadExport({ tasks, signer }, owner, completion.taskId).catch((caught: unknown) => caught);
    // Assess
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as NotFoundError).message).toBe(`Task ${completion.taskId} is a completion task; only tasks.export tasks have a download.`);
  });

  it.each([
    ['queued', /^The export is still queued; download it once it succeeded\.$/],
    ['running', /^The export is still running; /],
    ['failed', /^The export failed; it has no file\. /],
    ['cancelled', /^The export cancelled; it has no file\. /],
  ] as const)('answers 409 for an export that is %s', async (status, detail) => {
    // Prepare
    const task = await storedExport({ status, result: undefined });
    // Act
    const error = await downloadExport({ tasks, signer }, owner, task.taskId).catch((caught: unknown) => caught);
    // Assess
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as ConflictError).status).toBe(409);
    expect((error as ConflictError).message).toMatch(detail);
  });
});

describe('GET /v1/tasks/{id}/download handler', () => {
  const downloadEvent = (taskId: string, tenantId: string | null = TENANT) =>
    httpEvent({ method: 'GET', path: `/v1/tasks/${taskId}/download`, routeKey: 'GET /v1/tasks/{id}/download', pathParameters: { id: taskId }, tenantId });
  const headerOf = (result: HttpResult, name: string) => (result.headers ?? {})[name];

  it('answers 200 {url, expiresAt} with Cache-Control: no-store', async () => {
    // Prepare
    const task = await storedExport();
    // Act
    const result = (await handler(downloadEvent(task.taskId), fakeContext())) as HttpResult;
    // Assess
    expect(result.statusCode).toBe(200);
    expect(headerOf(result, 'cache-control')).toBe('no-store');
    expect(headerOf(result, 'content-type')).toBe('application/json');
    const body = JSON.parse(result.body!) as { url: string; expiresAt: string };
    expect(Object.keys(body).sort()).toEqual(['expiresAt', 'url']);
    expect(new URL(body.url).pathname).toBe(`/${BUCKET}/exports/${TENANT}/${task.taskId}.ndjson`);
  });

  it('answers problem+json: 401 without a credential, 404 for another tenant, 409 for an unfinished export', async () => {
    // Prepare
    const done = await storedExport();
    const running = await storedExport({ status: 'running', result: undefined });
    // Act
    const anonymous = (await handler(downloadEvent(done.taskId, null), fakeContext())) as HttpResult;
    const foreign = (await handler(downloadEvent(done.taskId, OTHER), fakeContext())) as HttpResult;
    const unfinished = (await handler(downloadEvent(running.taskId), fakeContext())) as HttpResult;
    // Assess
    expect([anonymous.statusCode, foreign.statusCode, unfinished.statusCode]).toEqual([401, 404, 409]);
    for (const result of [anonymous, foreign, unfinished]) {
      expect(headerOf(result, 'content-type')).toBe('application/problem+json');
      expect(result.body).not.toContain('X-Amz');
    }
  });
});
