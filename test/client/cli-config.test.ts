import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveTarget } from '../../client/cli/config.ts';
import { fractionOf, progressBar } from '../../client/cli/output.ts';

describe('offload CLI: where requests go', () => {
  let dir: string;
  let outputs: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'offload-cli-config-'));
    // The shape `cdk deploy --outputs-file` writes: outputs declared in constructs carry a hash.
    const queues = Object.fromEntries(
      ['Interactive', 'Batch', 'Integrations', 'Analytics'].flatMap((id) => [
        [`${id}QueueUrl`, `https://sqs.eu-west-1.amazonaws.com/123456789012/Offload-${id}Queue`],
        [`${id}DlqUrl`, `https://sqs.eu-west-1.amazonaws.com/123456789012/Offload-${id}Dlq`],
      ]),
    );
    outputs = path.join(dir, 'cdk-outputs.json');
    writeFileSync(
      outputs,
      JSON.stringify({
        Offload: {
          HttpHttpApiUrlE6BB121E: 'https://abc123.execute-api.eu-west-1.amazonaws.com',
          EdgeCdnUrlDC8044B8: 'https://d111111abcdef8.cloudfront.net',
          WebSocketWebSocketUrlAEBC2CF7: 'wss://def456.execute-api.eu-west-1.amazonaws.com/live',
          TasksTableName: 'Offload-StorageTasks-1A2B3C',
          ...queues,
        },
      }),
    );
    writeFileSync(
      path.join(dir, 'endpoints.json'),
      JSON.stringify({
        httpApi: 'http://127.0.0.1:4700',
        webSocketApi: 'ws://127.0.0.1:4701/live',
        services: { dynamodb: 'http://127.0.0.1:4703', sqs: 'http://127.0.0.1:4704' },
        devTenant: { id: 'ten_dev', apiKey: 'ofk_dev' },
      }),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a cdk outputs file: the CDN URL, the WebSocket URL, the admin table and queues, the region', () => {
    // Act
    const target = resolveTarget({ outputs }, {}, dir);
    // Assess
    expect(target).toMatchObject({
      endpoint: 'https://d111111abcdef8.cloudfront.net',
      webSocketUrl: 'wss://def456.execute-api.eu-west-1.amazonaws.com/live',
      admin: { tasksTable: 'Offload-StorageTasks-1A2B3C', region: 'eu-west-1', queues: { batch: { url: expect.stringContaining('BatchQueue'), deadLetterUrl: expect.stringContaining('BatchDlq') } } },
    });
    expect(target.credential).toBeUndefined();
    expect(target.admin?.local).toBeUndefined();
  });

  it('lets flags beat the environment, and the environment beat the files', () => {
    // Act
    const fromFile = resolveTarget({ dir }, {}, '/');
    const fromEnv = resolveTarget({ dir }, { OFFLOAD_API_KEY: 'ofk_env', OFFLOAD_ENDPOINT: 'http://env:1' }, '/');
    const fromFlags = resolveTarget({ dir, 'api-key': 'ofk_flag', endpoint: 'http://flag:1' }, { OFFLOAD_API_KEY: 'ofk_env', OFFLOAD_ENDPOINT: 'http://env:1' }, '/');
    const outputsWin = resolveTarget({ dir, outputs }, { OFFLOAD_API_KEY: 'ofk_env' }, dir);
    const envOutputs = resolveTarget({}, { OFFLOAD_OUTPUTS: outputs, AWS_REGION: 'us-west-2' }, dir);
    // Assess
    expect(fromFile).toMatchObject({ endpoint: 'http://127.0.0.1:4700', credential: 'ofk_dev' });
    expect(fromFile.admin).toBeUndefined(); // an endpoints.json without resources (an older runtime)
    expect(fromEnv).toMatchObject({ endpoint: 'http://env:1', credential: 'ofk_env' });
    expect(fromEnv.webSocketUrl).toBeUndefined(); // never the file's: it is not the endpoint's source
    expect(fromFlags).toMatchObject({ endpoint: 'http://flag:1', credential: 'ofk_flag' });
    // An outputs file never borrows the local dev key (and --outputs with OFFLOAD_API_KEY is a mix requireApi refuses).
    expect(outputsWin).toMatchObject({ endpoint: 'https://d111111abcdef8.cloudfront.net', credential: 'ofk_env' });
    expect(outputsWin.origins).toMatchObject({ endpoint: { source: 'flags' }, credential: { source: 'environment' } });
    expect(envOutputs.admin?.region).toBe('us-west-2');
  });
});

describe('offload CLI: numeric progress', () => {
  it.each([
    [0.5, 0.5],
    [40, 0.4],
    [{ percent: 25 }, 0.25],
    [{ fraction: 0.75 }, 0.75],
    [{ done: 3, total: 4 }, 0.75],
    [{ completed: 1, total: 10 }, 0.1],
    [{ text: 'hello' }, undefined],
    ['50', undefined],
  ])('reads %j as %s', (data, expected) => {
    expect(fractionOf(data)).toBe(expected);
  });

  it('draws a bounded bar', () => {
    expect(progressBar(0.5, 10)).toBe('[#####-----]  50%');
    expect(progressBar(2, 4)).toBe('[####] 100%');
  });
});
