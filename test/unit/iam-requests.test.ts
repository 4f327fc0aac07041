import { describe, expect, it } from 'vitest';
import { credentialOf } from '../../local/iam/caller.ts';
import { connectionsPermissions, connectionsRefusal } from '../../local/iam/services/connections.ts';
import { dynamodbPermissions } from '../../local/iam/services/dynamodb.ts';
import { eventBridgePermissions } from '../../local/iam/services/eventbridge.ts';
import { s3Permissions, s3Refusal } from '../../local/iam/services/s3.ts';
import { secretsManagerPermissions } from '../../local/iam/services/secretsmanager.ts';
import { sqsPermissions, sqsRefusal } from '../../local/iam/services/sqs.ts';

const TABLE = (name: string) => `arn:aws:dynamodb:us-east-1:000000000000:table/${name}`;
const QUEUE_URL = 'http://127.0.0.1:4704/000000000000/Offload-Work';
const QUEUE_ARN = 'arn:aws:sqs:us-east-1:000000000000:Offload-Work';

describe('IAM request mapping: DynamoDB', () => {
  it('maps item operations to the table, index queries and scans to table/T/index/I', () => {
    // Act
    const put = dynamodbPermissions('PutItem', { TableName: 'Tasks' });
    const query = dynamodbPermissions('Query', { TableName: 'Tasks', IndexName: 'byTenant' });
    const scan = dynamodbPermissions('Scan', { TableName: TABLE('Tasks'), IndexName: 'byStatus' });
    const get = dynamodbPermissions('GetItem', { TableName: 'Tasks', IndexName: 'ignored' });

    // Assess
    expect(put).toEqual([{ action: 'dynamodb:PutItem', resource: TABLE('Tasks') }]);
    expect(query).toEqual([{ action: 'dynamodb:Query', resource: `${TABLE('Tasks')}/index/byTenant` }]);
    expect(scan).toEqual([{ action: 'dynamodb:Scan', resource: `${TABLE('Tasks')}/index/byStatus` }]);
    expect(get).toEqual([{ action: 'dynamodb:GetItem', resource: TABLE('Tasks') }]);
  });

  it('needs a batch action on every table, and each transaction item its own action', () => {
    // Act
    const batch = dynamodbPermissions('BatchWriteItem', { RequestItems: { Tasks: [], Connections: [] } });
    const transact = dynamodbPermissions('TransactWriteItems', {
      TransactItems: [{ Put: { TableName: 'Tasks' } }, { Update: { TableName: 'Tasks' } }, { ConditionCheck: { TableName: 'Tenants' } }, { Delete: { TableName: 'Connections' } }],
    });
    const transactGet = dynamodbPermissions('TransactGetItems', { TransactItems: [{ Get: { TableName: 'Tasks' } }] });

    // Assess
    expect(batch).toEqual([
      { action: 'dynamodb:BatchWriteItem', resource: TABLE('Tasks') },
      { action: 'dynamodb:BatchWriteItem', resource: TABLE('Connections') },
    ]);
    expect(transact.map((permission) => `${permission.action} ${permission.resource.split('/')[1]}`)).toEqual([
      'dynamodb:PutItem Tasks',
      'dynamodb:UpdateItem Tasks',
      'dynamodb:ConditionCheckItem Tenants',
      'dynamodb:DeleteItem Connections',
    ]);
    expect(transactGet).toEqual([{ action: 'dynamodb:GetItem', resource: TABLE('Tasks') }]);
  });

  it('maps ListTables to * and PartiQL statements to their PartiQL action on the table', () => {
    // Act
    const list = dynamodbPermissions('ListTables', {});
    const select = dynamodbPermissions('ExecuteStatement', { Statement: 'SELECT * FROM "Tasks" WHERE pk = ?' });

    // Assess
    expect(list).toEqual([{ action: 'dynamodb:ListTables', resource: '*' }]);
    expect(select).toEqual([{ action: 'dynamodb:PartiQLSelect', resource: TABLE('Tasks') }]);
  });
});

describe('IAM request mapping: SQS', () => {
  it('maps QueueUrl and QueueName to the queue ARN and batches to their single action', () => {
    // Act
    const send = sqsPermissions('SendMessageBatch', { QueueUrl: QUEUE_URL });
    const url = sqsPermissions('GetQueueUrl', { QueueName: 'Offload-Work' });
    const list = sqsPermissions('ListQueues', {});
    const deleteBatch = sqsPermissions('DeleteMessageBatch', { QueueUrl: QUEUE_URL });

    // Assess
    expect(send).toEqual([{ action: 'sqs:SendMessage', resource: QUEUE_ARN }]);
    expect(url).toEqual([{ action: 'sqs:GetQueueUrl', resource: QUEUE_ARN }]);
    expect(list).toEqual([{ action: 'sqs:ListQueues', resource: '*' }]);
    expect(deleteBatch).toEqual([{ action: 'sqs:DeleteMessage', resource: QUEUE_ARN }]);
  });

  it('answers a refusal in the JSON protocol with the query error header the SDKs map to AccessDenied', () => {
    // Act
    const answer = sqsRefusal({
      allowed: false,
      why: 'denied',
      permission: { action: 'sqs:SendMessage', resource: QUEUE_ARN },
      decision: { allowed: false, kind: 'implicit', message: `User: s is not authorized to perform: sqs:SendMessage on resource: ${QUEUE_ARN} because no identity-based policy allows the sqs:SendMessage action` },
    });

    // Assess
    expect(answer.status).toBe(403);
    expect(answer.headers['x-amzn-query-error']).toBe('AccessDenied;Sender');
    expect(JSON.parse(answer.body)).toEqual({
      __type: 'com.amazon.coral.service#AccessDeniedException',
      message: `User: s is not authorized to perform: sqs:sendmessage on resource: ${QUEUE_ARN} because no identity-based policy allows the sqs:sendmessage action`,
    });
  });
});

describe('IAM request mapping: S3 (path style)', () => {
  const map = (method: string, url: string, headers: Record<string, string> = {}, body = '') => s3Permissions(method, url, headers, Buffer.from(body));

  it('maps object reads and writes to the object ARN, listing to the bucket ARN', () => {
    // Act
    const results = {
      get: map('GET', '/exports/exports/t%201.json?X-Amz-Credential=k'),
      head: map('HEAD', '/exports/a'),
      put: map('PUT', '/exports/a'),
      del: map('DELETE', '/exports/a'),
      list: map('GET', '/exports?list-type=2&prefix=x'),
      root: map('GET', '/'),
      policy: map('GET', '/exports?policy'),
    };

    // Assess
    expect(results).toEqual({
      get: [{ action: 's3:GetObject', resource: 'arn:aws:s3:::exports/exports/t 1.json' }],
      head: [{ action: 's3:GetObject', resource: 'arn:aws:s3:::exports/a' }],
      put: [{ action: 's3:PutObject', resource: 'arn:aws:s3:::exports/a' }],
      del: [{ action: 's3:DeleteObject', resource: 'arn:aws:s3:::exports/a' }],
      list: [{ action: 's3:ListBucket', resource: 'arn:aws:s3:::exports' }],
      root: [{ action: 's3:ListAllMyBuckets', resource: '*' }],
      policy: [{ action: 's3:GetBucketPolicy', resource: 'arn:aws:s3:::exports' }],
    });
  });

  it('needs GetObject on a copy source and DeleteObject on every key of a multi-object delete', () => {
    // Act
    const copy = map('PUT', '/site/b', { 'x-amz-copy-source': '/assets/a%2Bb' });
    const deletes = map('POST', '/site?delete', {}, '<Delete><Object><Key>a</Key></Object><Object><Key>b&amp;c</Key></Object></Delete>');

    // Assess
    expect(copy).toEqual([
      { action: 's3:PutObject', resource: 'arn:aws:s3:::site/b' },
      { action: 's3:GetObject', resource: 'arn:aws:s3:::assets/a+b' },
    ]);
    expect(deletes).toEqual([
      { action: 's3:DeleteObject', resource: 'arn:aws:s3:::site/a' },
      { action: 's3:DeleteObject', resource: 'arn:aws:s3:::site/b&c' },
    ]);
  });

  it('answers InvalidAccessKeyId for a key the runtime never issued', () => {
    // Act
    const answer = s3Refusal({ allowed: false, why: 'unrecognized', accessKeyId: 'AKIAX' });

    // Assess
    expect(answer.status).toBe(403);
    expect(answer.body).toContain('<Code>InvalidAccessKeyId</Code><Message>The AWS Access Key Id you provided does not exist in our records.</Message><AWSAccessKeyId>AKIAX</AWSAccessKeyId>');
  });
});

describe('IAM request mapping: EventBridge, Secrets Manager, @connections', () => {
  it('needs events:PutEvents on the bus of every entry (the default bus when none)', () => {
    // Act
    const permissions = eventBridgePermissions('PutEvents', {
      Entries: [{ EventBusName: 'app' }, { EventBusName: 'arn:aws:events:us-east-1:000000000000:event-bus/other' }, {}, { EventBusName: 'app' }],
    });

    // Assess
    expect(permissions).toEqual([
      { action: 'events:PutEvents', resource: 'arn:aws:events:us-east-1:000000000000:event-bus/app' },
      { action: 'events:PutEvents', resource: 'arn:aws:events:us-east-1:000000000000:event-bus/other' },
      { action: 'events:PutEvents', resource: 'arn:aws:events:us-east-1:000000000000:event-bus/default' },
    ]);
  });

  it('resolves a secret name to its ARN', () => {
    // Act
    const permissions = secretsManagerPermissions('GetSecretValue', { SecretId: 'key' }, (id) => (id === 'key' ? 'arn:aws:secretsmanager:us-east-1:000000000000:secret:key-AbCdEf' : undefined));

    // Assess
    expect(permissions).toEqual([{ action: 'secretsmanager:GetSecretValue', resource: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:key-AbCdEf' }]);
  });

  it('maps @connections calls to execute-api:ManageConnections on apiId/stage/METHOD/@connections/id, refused with 403 ForbiddenException', () => {
    // Act
    const permissions = connectionsPermissions('abc123', 'live', 'post', 'Xy=');
    const answer = connectionsRefusal({ allowed: false, why: 'denied', permission: permissions[0]!, decision: { allowed: false, kind: 'implicit', message: 'User: s is not authorized' } });

    // Assess
    expect(permissions).toEqual([{ action: 'execute-api:ManageConnections', resource: 'arn:aws:execute-api:us-east-1:000000000000:abc123/live/POST/@connections/Xy=' }]);
    expect(answer).toMatchObject({ status: 403, headers: { 'x-amzn-errortype': 'ForbiddenException' }, body: '{"message":"User: s is not authorized"}' });
  });
});

describe('IAM caller identification', () => {
  it('reads the access key from the SigV4 Authorization header or a presigned URL', () => {
    // Act
    const header = credentialOf({ authorization: 'AWS4-HMAC-SHA256 Credential=ASIAFN/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=x' }, '/');
    const presigned = credentialOf({}, '/bucket/key?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAFN%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=x');
    const unsigned = credentialOf({}, '/bucket/key');

    // Assess
    expect(header).toEqual({ accessKeyId: 'ASIAFN', service: 'dynamodb' });
    expect(presigned).toEqual({ accessKeyId: 'ASIAFN', service: 's3' });
    expect(unsigned).toBeUndefined();
  });
});
