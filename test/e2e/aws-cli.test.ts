import { execFile, execFileSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startHarness, WsClient, type Harness } from './harness.ts';

/**
 * The emulated services answer the real AWS CLI v2 (Debian package `awscli`) by `--endpoint-url`,
 * for the operations the stack uses: DynamoDB (dynalite), SQS (fauxqs), EventBridge and the API
 * Gateway management API.
 */

/** The first `aws` that is CLI v2: `$AWS_CLI`, then each `aws` on PATH (a v1 may come first). */
const findAwsCliV2 = (): string | undefined => {
  const candidates = [process.env.AWS_CLI, ...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, 'aws'))];
  for (const candidate of candidates) {
    if (!candidate) continue;
    try {
      accessSync(candidate, constants.X_OK);
      const version = execFileSync(candidate, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 15_000 });
      if (/^aws-cli\/2\./.test(version)) return candidate;
    } catch {
      // not there, not executable, or not working: try the next
    }
  }
  return undefined;
};

const awsCli = findAwsCliV2();
if (!awsCli && process.env.CI) {
  throw new Error('AWS CLI v2 not found on PATH: install the awscli Debian package (apt-get install -y --no-install-recommends awscli)');
}
if (!awsCli) console.warn('aws-cli.test.ts skipped: AWS CLI v2 not found on PATH (install the awscli Debian package)');

interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed as JSON (undefined when empty). */
  readonly json: any;
}

const completion = (prompt: string, maxTokens = 30, model = 'sim-fast') => ({ type: 'completion', input: { prompt, maxTokens, model } });

describe.skipIf(!awsCli)('the real AWS CLI v2 against the emulated services', () => {
  let harness: Harness;
  let home: string;
  let env: NodeJS.ProcessEnv;
  let tasksTable: string;
  let connectionsTable: string;
  let queueUrl: string;
  let dlqUrl: string;
  let busName: string;
  let http: string;
  let apiKey: string;

  /** Runs `aws <args> --endpoint-url <endpoint> --output json`; never rejects. */
  const aws = (endpoint: string, ...args: string[]): Promise<CliResult> =>
    new Promise((resolve) => {
      execFile(awsCli!, [...args, '--endpoint-url', endpoint, '--output', 'json'], { env, timeout: 30_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        let json: any;
        try {
          json = stdout.trim() ? JSON.parse(stdout) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ code, stdout, stderr, json });
      });
    });
  const services = () => harness.runtime.endpoints.services;
  const dynamodb = (...args: string[]) => aws(services().dynamodb, 'dynamodb', ...args);
  const sqs = (...args: string[]) => aws(services().sqs, 'sqs', ...args);
  const events = (...args: string[]) => aws(services().eventbridge, 'events', ...args);
  const management = (...args: string[]) => aws(services().apigatewaymanagementapi, 'apigatewaymanagementapi', ...args);
  const ok = (result: CliResult): any => {
    expect(result.stderr, `aws exited ${result.code}`).toBe('');
    expect(result.code).toBe(0);
    return result.json;
  };

  /** Submits a task over the HTTP API and waits for its final status over the WebSocket API. */
  const runTask = async (prompt: string): Promise<{ taskId: string; status: any }> => {
    const { body: task } = await call(`${http}/v1/tasks`, { apiKey, body: completion(prompt) });
    const client = await WsClient.connect(`${harness.runtime.endpoints.webSocketApi}?token=${apiKey}`);
    client.send({ action: 'subscribe', taskId: task.taskId, after: 0 });
    const status = await client.waitFor((message) => message.type === 'status' && message.taskId === task.taskId);
    await client.close();
    return { taskId: task.taskId, status };
  };

  beforeAll(async () => {
    harness = await startHarness();
    const { runtime } = harness;
    http = runtime.endpoints.httpApi;
    apiKey = runtime.endpoints.devTenant.apiKey;
    const ref = (type: string, prefix: string) => {
      const logicalId = runtime.template.ofType(type).find(([id]) => id.startsWith(prefix))?.[0];
      if (!logicalId) throw new Error(`no ${type} ${prefix}* in the template`);
      return runtime.template.resolveString({ Ref: logicalId }, 'aws-cli.test');
    };
    tasksTable = ref('AWS::DynamoDB::Table', 'StorageTasks');
    connectionsTable = ref('AWS::DynamoDB::Table', 'StorageConnections');
    queueUrl = ref('AWS::SQS::Queue', 'InteractiveQueue');
    dlqUrl = ref('AWS::SQS::Queue', 'InteractiveDlq');
    busName = String(runtime.template.ofType('AWS::Events::EventBus')[0]![1].Properties!.Name);
    // An isolated CLI: no profile, no credential or config files, no instance metadata, no pager.
    home = mkdtempSync(path.join(tmpdir(), 'offload-aws-cli-'));
    writeFileSync(path.join(home, 'config'), '');
    env = {
      PATH: process.env.PATH,
      HOME: home,
      LANG: 'C.UTF-8',
      AWS_ACCESS_KEY_ID: 'LOCALKEY',
      AWS_SECRET_ACCESS_KEY: 'localsecret',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_REGION: 'us-east-1',
      AWS_PAGER: '',
      AWS_CONFIG_FILE: path.join(home, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'config'),
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CLI_AUTO_PROMPT: 'off',
      AWS_MAX_ATTEMPTS: '2',
    };
  });
  afterAll(async () => {
    await harness?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  describe('DynamoDB', () => {
    it('list-tables names the stack\u2019s tables', async () => {
      // Act
      const output = ok(await dynamodb('list-tables'));
      // Assess
      expect(output.TableNames).toEqual(expect.arrayContaining([tasksTable, connectionsTable]));
    });

    it('query and get-item read a task submitted over the HTTP API, with its progress items', async () => {
      // Prepare
      const { taskId, status } = await runTask('read me with the aws cli');
      expect(status.status).toBe('succeeded');
      // Act
      const [query, item] = await Promise.all([
        dynamodb(
          'query',
          '--table-name', tasksTable,
          '--key-condition-expression', 'pk = :pk AND begins_with(sk, :p)',
          '--expression-attribute-values', JSON.stringify({ ':pk': { S: `TASK#${taskId}` }, ':p': { S: 'P#' } }),
        ),
        dynamodb('get-item', '--table-name', tasksTable, '--key', JSON.stringify({ pk: { S: `TASK#${taskId}` }, sk: { S: 'TASK' } }), '--consistent-read'),
      ]);
      // Assess
      const progress = ok(query);
      const task = ok(item).Item;
      expect(task).toMatchObject({ taskId: { S: taskId }, status: { S: 'succeeded' }, type: { S: 'completion' } });
      const lastSeq = Number(task.progressSeq.N);
      expect(lastSeq).toBeGreaterThan(0);
      expect(progress.Count).toBe(lastSeq);
      expect(progress.Items.map((entry: any) => entry.sk.S)).toEqual(Array.from({ length: lastSeq }, (_, i) => `P#${String(i + 1).padStart(10, '0')}`));
      expect(progress.Items.every((entry: any) => entry.pk.S === `TASK#${taskId}`)).toBe(true);
    });
  });

  describe('SQS', () => {
    it('list-queues and get-queue-attributes show the queues with their redrive policy and visibility timeout', async () => {
      // Act
      const [list, attributes] = await Promise.all([sqs('list-queues'), sqs('get-queue-attributes', '--queue-url', queueUrl, '--attribute-names', 'All')]);
      // Assess
      expect(ok(list).QueueUrls).toEqual(expect.arrayContaining([queueUrl, dlqUrl]));
      const { Attributes } = ok(attributes);
      const queueResource = Object.values(harness.runtime.template.template.Resources).find((resource) => resource.Properties?.RedrivePolicy && String(resource.Properties?.VisibilityTimeout) === Attributes.VisibilityTimeout);
      expect(Number(Attributes.VisibilityTimeout)).toBeGreaterThanOrEqual(60);
      expect(queueResource).toBeDefined();
      expect(Attributes.QueueArn).toMatch(/^arn:aws:sqs:/);
      const redrive = JSON.parse(Attributes.RedrivePolicy);
      expect(Number(redrive.maxReceiveCount)).toBe(5);
      expect(redrive.deadLetterTargetArn).toBe(ok(await sqs('get-queue-attributes', '--queue-url', dlqUrl, '--attribute-names', 'QueueArn')).Attributes.QueueArn);
    });

    it('send-message and receive-message round-trip a message through the DLQ', async () => {
      // Prepare
      const body = JSON.stringify({ probe: 'aws-cli', at: Date.now() });
      // Act
      const sent = ok(await sqs('send-message', '--queue-url', dlqUrl, '--message-body', body, '--message-attributes', JSON.stringify({ origin: { DataType: 'String', StringValue: 'cli' } })));
      const received = ok(
        await sqs('receive-message', '--queue-url', dlqUrl, '--max-number-of-messages', '10', '--wait-time-seconds', '2', '--attribute-names', 'All', '--message-attribute-names', 'All'),
      );
      // Assess
      expect(sent).toMatchObject({ MessageId: expect.any(String), MD5OfMessageBody: expect.stringMatching(/^[0-9a-f]{32}$/) });
      const message = received.Messages.find((candidate: any) => candidate.MessageId === sent.MessageId);
      expect(message).toMatchObject({ Body: body, MD5OfBody: sent.MD5OfMessageBody, ReceiptHandle: expect.any(String) });
      expect(message.MessageAttributes.origin).toMatchObject({ DataType: 'String', StringValue: 'cli' });
      expect(Number(message.Attributes.ApproximateReceiveCount)).toBe(1);
      ok(await sqs('delete-message', '--queue-url', dlqUrl, '--receipt-handle', message.ReceiptHandle));
    });
  });

  describe('EventBridge', () => {
    const event = {
      version: '0',
      id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
      'detail-type': 'Task Submitted',
      source: 'offload',
      account: '000000000000',
      time: '2026-01-01T00:00:00Z',
      region: 'us-east-1',
      resources: [],
      detail: { taskId: 'tsk_x', class: 'interactive' },
    };

    it('put-events accepts a Task Submitted entry on the stack\u2019s bus, which the rule routes to the interactive worker', async () => {
      // Prepare
      const taskId = `tsk_CLI${Date.now()}NOSUCHTASK`;
      const detail = { eventId: `evt_cli_${Date.now()}`, taskId, tenantId: harness.runtime.endpoints.devTenant.id, type: 'completion', class: 'interactive' };
      const entries = [{ EventBusName: busName, Source: 'offload', DetailType: 'Task Submitted', Detail: JSON.stringify(detail), Resources: [] }];
      // Act
      const output = ok(await events('put-events', '--entries', JSON.stringify(entries)));
      // Assess
      expect(output.FailedEntryCount).toBe(0);
      expect(output.Entries).toEqual([{ EventId: expect.stringMatching(/^[0-9a-f-]{36}$/) }]);
      // The worker received it through the rule and the queue, and dropped the unknown task.
      const log = path.join(harness.dir, 'runtime.log');
      await expect.poll(() => readFileSync(log, 'utf8').split('\n').some((line) => line.includes(taskId) && line.includes('task not found')), { timeout: 20_000, interval: 200 }).toBe(true);
    });

    it('put-events reports an entry for a bus that does not exist as a failed entry', async () => {
      // Act
      const output = ok(await events('put-events', '--entries', JSON.stringify([{ EventBusName: 'no-such-bus', Source: 'offload', DetailType: 'Task Submitted', Detail: '{}' }])));
      // Assess
      expect(output.FailedEntryCount).toBe(1);
      expect(output.Entries).toEqual([{ ErrorCode: expect.any(String), ErrorMessage: expect.any(String) }]);
    });

    it('test-event-pattern answers true and false', async () => {
      // Act
      const [matching, notMatching] = await Promise.all([
        events('test-event-pattern', '--event-pattern', JSON.stringify({ source: ['offload'], 'detail-type': ['Task Submitted'], detail: { class: ['interactive'] } }), '--event', JSON.stringify(event)),
        events('test-event-pattern', '--event-pattern', JSON.stringify({ source: ['offload'], detail: { class: ['batch'] } }), '--event', JSON.stringify(event)),
      ]);
      // Assess
      expect(ok(matching)).toEqual({ Result: true });
      expect(ok(notMatching)).toEqual({ Result: false });
    });

    it('test-event-pattern rejects an invalid pattern with InvalidEventPatternException', async () => {
      // Act
      const result = await events('test-event-pattern', '--event-pattern', JSON.stringify({ source: 'offload' }), '--event', JSON.stringify(event));
      // Assess
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain('InvalidEventPatternException');
      expect(result.stderr).toContain('TestEventPattern');
    });

    it('list-event-buses and list-rules --event-bus-name show the bus and its rule', async () => {
      // Act
      const [buses, rules, defaultRules] = await Promise.all([events('list-event-buses'), events('list-rules', '--event-bus-name', busName), events('list-rules')]);
      // Assess
      expect(ok(buses).EventBuses.map((bus: any) => bus.Name)).toEqual(expect.arrayContaining(['default', busName]));
      const listed = ok(rules).Rules;
      expect(listed.length).toBeGreaterThan(0);
      expect(listed.every((rule: any) => rule.EventBusName === busName && rule.State === 'ENABLED')).toBe(true);
      expect(listed.map((rule: any) => rule.Name)).toEqual(expect.arrayContaining([expect.stringContaining('InteractiveSubmittedRule')]));
      expect(listed.find((rule: any) => rule.Name.includes('InteractiveSubmittedRule')).Arn).toMatch(new RegExp(`^arn:aws:events:us-east-1:\\d{12}:rule/${busName}/`));
      expect(ok(defaultRules).Rules.every((rule: any) => rule.EventBusName === 'default')).toBe(true);
    });
  });

  describe('API Gateway management API', () => {
    it('post-to-connection, get-connection and delete-connection reach a connected client; a gone connection answers GoneException', async () => {
      // Prepare: a tenant of its own, so its one connection is easy to find in the connections table.
      const tenant = await harness.newTenant('aws-cli-ws');
      const client = await WsClient.connect(`${harness.runtime.endpoints.webSocketApi}?token=${tenant.apiKey}`);
      const closed = new Promise<number>((resolve) => client.socket.once('close', (code) => resolve(code)));
      const scan = ok(
        await dynamodb(
          'scan',
          '--table-name', connectionsTable,
          '--filter-expression', 'tenantId = :tenant AND sk = :conn',
          '--expression-attribute-values', JSON.stringify({ ':tenant': { S: tenant.tenantId }, ':conn': { S: 'CONN' } }),
        ),
      );
      expect(scan.Items).toHaveLength(1);
      const connectionId = scan.Items[0].connectionId.S as string;
      expect(scan.Items[0].pk.S).toBe(`CONN#${connectionId}`);
      const data = JSON.stringify({ type: 'cli', hello: 'from the aws cli' });
      // Act
      const posted = await management('post-to-connection', '--connection-id', connectionId, '--data', data, '--cli-binary-format', 'raw-in-base64-out');
      const received = await client.waitFor((message) => message.type === 'cli', 5_000);
      const described = await management('get-connection', '--connection-id', connectionId);
      const deleted = await management('delete-connection', '--connection-id', connectionId);
      const closeCode = await closed;
      const [postGone, getGone] = await Promise.all([
        management('post-to-connection', '--connection-id', connectionId, '--data', data, '--cli-binary-format', 'raw-in-base64-out'),
        management('get-connection', '--connection-id', connectionId),
      ]);
      // Assess
      ok(posted);
      expect(received).toEqual(JSON.parse(data));
      const connection = ok(described);
      expect(connection).toMatchObject({ ConnectedAt: expect.any(String), LastActiveAt: expect.any(String), Identity: { SourceIp: expect.any(String), UserAgent: expect.any(String) } });
      expect(Date.parse(connection.ConnectedAt)).toBeLessThanOrEqual(Date.now());
      ok(deleted);
      expect(closeCode).toBe(1000);
      for (const gone of [postGone, getGone]) {
        expect(gone.code).not.toBe(0);
        expect(gone.stderr).toContain('GoneException');
      }
    });
  });
});
