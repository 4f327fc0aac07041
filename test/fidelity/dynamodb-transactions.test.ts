import {
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localCredentials } from '../../local/engines/credentials.ts';
import { startDynamo, type LocalDynamo } from '../../local/engines/dynamodb.ts';
import { FaultInjector } from '../../local/faults.ts';
import { ApiCallCounter } from '../../local/http-util.ts';
import { IamEnforcer } from '../../local/iam/mode.ts';
import { IamPolicyStore } from '../../local/iam/policy-store.ts';
import { LocalTemplate, type Template } from '../../local/template.ts';

const getAtt = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const ACCOUNT = '000000000000';

/** One table with a GSI (to see index entries follow the transaction), and a role that may put and update it but not check conditions. */
const template: Template = {
  Resources: {
    Items: {
      Type: 'AWS::DynamoDB::Table',
      Properties: {
        TableName: 'Items',
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'g', AttributeType: 'S' },
        ],
        GlobalSecondaryIndexes: [{ IndexName: 'byG', KeySchema: [{ AttributeName: 'g', KeyType: 'HASH' }], Projection: { ProjectionType: 'KEYS_ONLY' } }],
      },
    },
    FnRole: { Type: 'AWS::IAM::Role', Properties: {} },
    FnPolicy: {
      Type: 'AWS::IAM::Policy',
      Properties: {
        Roles: [{ Ref: 'FnRole' }],
        PolicyDocument: { Statement: [{ Effect: 'Allow', Action: ['dynamodb:PutItem', 'dynamodb:UpdateItem'], Resource: getAtt('Items') }] },
      },
    },
    Fn: { Type: 'AWS::Lambda::Function', Properties: { Role: getAtt('FnRole') } },
  },
};

const S = (value: string) => ({ S: value });
const put = (pk: string, extra: Record<string, unknown> = {}): TransactWriteItem => ({ Put: { TableName: 'Items', Item: { pk: S(pk), ...extra } } });
const addOne = (pk: string): TransactWriteItem => ({ Update: { TableName: 'Items', Key: { pk: S(pk) }, UpdateExpression: 'ADD n :one', ExpressionAttributeValues: { ':one': { N: '1' } } } });

/** The error a call failed with. */
const failure = async (promise: Promise<unknown>): Promise<Error & { $metadata: { httpStatusCode?: number } }> => {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught as Error & { $metadata: { httpStatusCode?: number } },
  );
  if (!error) throw new Error('expected the call to fail');
  return error;
};

describe('DynamoDB TransactWriteItems on the local engine (AWS SDK v3 client)', () => {
  let dir: string;
  let dynamo: LocalDynamo;
  let db: DynamoDBClient;
  let roleDb: DynamoDBClient;
  const counter = new ApiCallCounter();
  const faults = new FaultInjector({ probabilities: { dynamodbThrottle: 1 } });
  faults.enabled = false;

  const item = async (pk: string) => (await db.send(new GetItemCommand({ TableName: 'Items', Key: { pk: S(pk) }, ConsistentRead: true }))).Item;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'offload-transactions-'));
    const local = new LocalTemplate(template, dir, {});
    const iam = new IamEnforcer(IamPolicyStore.fromTemplate(local), 'strict', () => undefined);
    dynamo = await startDynamo(local, { counter, faults, callerIam: iam });
    local.register('Fn', { ref: 'Offload-Fn', attributes: { Arn: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:Offload-Fn` } });
    iam.load();
    const environment = iam.environmentOf('Fn', 'Offload-Fn');
    const config = { endpoint: dynamo.endpoint, region: 'us-east-1', maxAttempts: 1 };
    db = new DynamoDBClient({ ...config, credentials: localCredentials });
    roleDb = new DynamoDBClient({
      ...config,
      credentials: { accessKeyId: environment.AWS_ACCESS_KEY_ID, secretAccessKey: environment.AWS_SECRET_ACCESS_KEY, sessionToken: environment.AWS_SESSION_TOKEN },
    });
  });
  afterAll(async () => {
    db?.destroy();
    roleDb?.destroy();
    await dynamo?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies every action of a transaction whose conditions hold, index entries included, as one counted call', async () => {
    // Prepare
    await db.send(new PutItemCommand({ TableName: 'Items', Item: { pk: S('ok-upd'), n: { N: '1' } } }));
    await db.send(new PutItemCommand({ TableName: 'Items', Item: { pk: S('ok-del') } }));
    await db.send(new PutItemCommand({ TableName: 'Items', Item: { pk: S('ok-chk'), state: S('open') } }));
    const before = counter.snapshot()['dynamodb:TransactWriteItems'] ?? 0;

    // Act
    const answer = await db.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          { ConditionCheck: { TableName: 'Items', Key: { pk: S('ok-chk') }, ConditionExpression: '#s = :open', ExpressionAttributeNames: { '#s': 'state' }, ExpressionAttributeValues: { ':open': S('open') } } },
          { Put: { TableName: 'Items', Item: { pk: S('ok-new'), g: S('ok-g') }, ConditionExpression: 'attribute_not_exists(pk)' } },
          { Update: { TableName: 'Items', Key: { pk: S('ok-upd') }, UpdateExpression: 'SET n = n + :one', ConditionExpression: 'n = :one', ExpressionAttributeValues: { ':one': { N: '1' } } } },
          { Delete: { TableName: 'Items', Key: { pk: S('ok-del') }, ConditionExpression: 'attribute_exists(pk)' } },
        ],
      }),
    );

    // Assess
    expect(answer.$metadata.httpStatusCode).toBe(200);
    expect(await item('ok-new')).toEqual({ pk: S('ok-new'), g: S('ok-g') });
    expect(await item('ok-upd')).toEqual({ pk: S('ok-upd'), n: { N: '2' } });
    expect(await item('ok-del')).toBeUndefined();
    expect(await item('ok-chk')).toEqual({ pk: S('ok-chk'), state: S('open') });
    const indexed = await db.send(new QueryCommand({ TableName: 'Items', IndexName: 'byG', KeyConditionExpression: 'g = :g', ExpressionAttributeValues: { ':g': S('ok-g') } }));
    expect(indexed.Items).toEqual([{ pk: S('ok-new'), g: S('ok-g') }]);
    expect(counter.snapshot()['dynamodb:TransactWriteItems']).toBe(before + 1);
  });

  it('writes nothing when one condition fails, and gives one reason per action in request order (Item with ALL_OLD)', async () => {
    // Prepare
    await db.send(new PutItemCommand({ TableName: 'Items', Item: { pk: S('no-task'), status: S('cancelled') } }));

    // Act
    const error = await failure(
      db.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            put('no-first', { g: S('no-g') }),
            {
              Update: {
                TableName: 'Items',
                Key: { pk: S('no-task') },
                UpdateExpression: 'SET seen = :yes',
                ConditionExpression: '#s = :running',
                ExpressionAttributeNames: { '#s': 'status' },
                ExpressionAttributeValues: { ':running': S('running'), ':yes': { BOOL: true } },
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
            put('no-last'),
            { ConditionCheck: { TableName: 'Items', Key: { pk: S('no-missing') }, ConditionExpression: 'attribute_exists(pk)' } },
          ],
        }),
      ),
    );

    // Assess
    expect(error).toBeInstanceOf(TransactionCanceledException);
    expect(error.$metadata.httpStatusCode).toBe(400);
    expect(error.message).toBe('Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed, None, ConditionalCheckFailed]');
    expect((error as TransactionCanceledException).CancellationReasons).toEqual([
      { Code: 'None' },
      { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed', Item: { pk: S('no-task'), status: S('cancelled') } },
      { Code: 'None' },
      { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' },
    ]);
    expect(await item('no-first')).toBeUndefined();
    expect(await item('no-last')).toBeUndefined();
    expect(await item('no-task')).toEqual({ pk: S('no-task'), status: S('cancelled') });
    const indexed = await db.send(new QueryCommand({ TableName: 'Items', IndexName: 'byG', KeyConditionExpression: 'g = :g', ExpressionAttributeValues: { ':g': S('no-g') } }));
    expect(indexed.Count).toBe(0);
  });

  it('refuses two actions on one item, more than 100 actions, and an action of two kinds with ValidationException', async () => {
    // Act
    const twice = await failure(db.send(new TransactWriteItemsCommand({ TransactItems: [put('twice'), { ConditionCheck: { TableName: 'Items', Key: { pk: S('twice') }, ConditionExpression: 'attribute_not_exists(pk)' } }] })));
    const tooMany = await failure(db.send(new TransactWriteItemsCommand({ TransactItems: Array.from({ length: 101 }, (_, index) => put(`many-${index}`)) })));
    const both = await failure(db.send(new TransactWriteItemsCommand({ TransactItems: [{ ...put('both'), ...addOne('both') }] })));

    // Assess
    expect([twice.name, twice.$metadata.httpStatusCode, twice.message]).toEqual(['ValidationException', 400, 'Transaction request cannot include multiple operations on one item']);
    expect([tooMany.name, tooMany.message]).toEqual(['ValidationException', "1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to 100"]);
    expect([both.name, both.message]).toEqual(['ValidationException', 'TransactItems can only contain one of Check, Put, Update or Delete']);
    expect(await item('twice')).toBeUndefined();
    expect(await item('many-0')).toBeUndefined();
  });

  it('never interleaves a transaction with single-item writes of the same item (no lost update)', async () => {
    // Prepare
    await db.send(new PutItemCommand({ TableName: 'Items', Item: { pk: S('race'), n: { N: '0' } } }));
    const rounds = 40;

    // Act: each transaction reads-modifies-writes `race` while single writes do the same
    await Promise.all(
      Array.from({ length: rounds }, (_, index) => [
        db.send(new TransactWriteItemsCommand({ TransactItems: [addOne('race'), put(`race-${index}`)] })),
        db.send(new UpdateItemCommand({ TableName: 'Items', Key: { pk: S('race') }, UpdateExpression: 'ADD n :one', ExpressionAttributeValues: { ':one': { N: '1' } } })),
      ]).flat(),
    );

    // Assess
    expect(await item('race')).toEqual({ pk: S('race'), n: { N: String(2 * rounds) } });
  });

  it('applies a ClientRequestToken once: a replay succeeds without writing, other parameters are refused', async () => {
    // Prepare
    const request = { ClientRequestToken: 'token-replay-1', TransactItems: [addOne('replayed')] };

    // Act
    await db.send(new TransactWriteItemsCommand(request));
    const replay = await db.send(new TransactWriteItemsCommand(request));
    const mismatch = await failure(db.send(new TransactWriteItemsCommand({ ...request, TransactItems: [addOne('other')] })));

    // Assess
    expect(replay.$metadata.httpStatusCode).toBe(200);
    expect(await item('replayed')).toEqual({ pk: S('replayed'), n: { N: '1' } });
    expect(mismatch.name).toBe('IdempotentParameterMismatchException');
    expect(await item('other')).toBeUndefined();
  });

  it('authorizes each action as its single-item operation (dynamodb:ConditionCheckItem for a condition check)', async () => {
    // Act
    const allowed = await roleDb.send(new TransactWriteItemsCommand({ TransactItems: [put('iam-put'), addOne('iam-upd')] }));
    const refused = await failure(
      roleDb.send(new TransactWriteItemsCommand({ TransactItems: [put('iam-refused'), { ConditionCheck: { TableName: 'Items', Key: { pk: S('iam-put') }, ConditionExpression: 'attribute_exists(pk)' } }] })),
    );

    // Assess
    expect(allowed.$metadata.httpStatusCode).toBe(200);
    expect(refused.name).toBe('AccessDeniedException');
    expect(refused.message).toContain('is not authorized to perform: dynamodb:ConditionCheckItem on resource: arn:aws:dynamodb:us-east-1:000000000000:table/Items');
    expect(await item('iam-refused')).toBeUndefined();
  });

  it('answers an injected fault before the transaction runs, so nothing is applied', async () => {
    // Prepare
    faults.enabled = true;

    // Act
    const error = await failure(db.send(new TransactWriteItemsCommand({ TransactItems: [put('faulted')] }))).finally(() => {
      faults.enabled = false;
    });

    // Assess
    expect(error.name).toBe('ProvisionedThroughputExceededException');
    expect(await item('faulted')).toBeUndefined();
  });
});
