import { DynamoDBClient, GetItemCommand, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localCredentials } from '../../local/engines/credentials.ts';
import { startDynamo, type LocalDynamo } from '../../local/engines/dynamodb.ts';
import { startSqs, type LocalSqs } from '../../local/engines/sqs.ts';
import { LocalEventBridge } from '../../local/eventbridge/eventbridge-service.ts';
import { ApiCallCounter } from '../../local/http-util.ts';
import { IamEnforcer } from '../../local/iam/mode.ts';
import { IamPolicyStore } from '../../local/iam/policy-store.ts';
import { LocalSecretsManager } from '../../local/secretsmanager.ts';
import { LocalTemplate, type Template } from '../../local/template.ts';

const ACCOUNT = '000000000000';
const getAtt = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });

/** One function whose role may read and write one table (and query its indexes), send to one queue, put to one bus, read one secret and put under exports/. */
const template: Template = {
  Resources: {
    Tasks: {
      Type: 'AWS::DynamoDB::Table',
      Properties: {
        TableName: 'Tasks',
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'g', AttributeType: 'S' },
        ],
        GlobalSecondaryIndexes: [{ IndexName: 'byG', KeySchema: [{ AttributeName: 'g', KeyType: 'HASH' }], Projection: { ProjectionType: 'ALL' } }],
      },
    },
    Other: { Type: 'AWS::DynamoDB::Table', Properties: { TableName: 'Other', KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }] } },
    Work: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'Work' } },
    Locked: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'Locked' } },
    LockedPolicy: {
      Type: 'AWS::SQS::QueuePolicy',
      Properties: { Queues: [{ Ref: 'Locked' }], PolicyDocument: { Statement: [{ Effect: 'Deny', Principal: { AWS: '*' }, Action: 'sqs:*', Resource: getAtt('Locked'), Condition: { Bool: { 'aws:SecureTransport': 'true' } } }] } },
    },
    Exports: { Type: 'AWS::S3::Bucket', Properties: { BucketName: 'exports-bucket' } },
    Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'app-bus' } },
    Key: { Type: 'AWS::SecretsManager::Secret', Properties: { Name: 'key', GenerateSecretString: {} } },
    OtherKey: { Type: 'AWS::SecretsManager::Secret', Properties: { Name: 'other-key', GenerateSecretString: {} } },
    FnRole: { Type: 'AWS::IAM::Role', Properties: {} },
    FnPolicy: {
      Type: 'AWS::IAM::Policy',
      Properties: {
        Roles: [{ Ref: 'FnRole' }],
        PolicyDocument: {
          Statement: [
            { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'], Resource: [getAtt('Tasks'), { 'Fn::Join': ['', [getAtt('Tasks'), '/index/*']] }] },
            { Effect: 'Allow', Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes'], Resource: [getAtt('Work'), getAtt('Locked')] },
            { Effect: 'Allow', Action: 'events:PutEvents', Resource: getAtt('Bus') },
            { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: { Ref: 'Key' } },
            { Effect: 'Allow', Action: 's3:PutObject', Resource: { 'Fn::Join': ['', [getAtt('Exports'), '/exports/*']] } },
          ],
        },
      },
    },
    Fn: { Type: 'AWS::Lambda::Function', Properties: { Role: getAtt('FnRole') } },
  },
};

const SESSION = `arn:aws:sts::${ACCOUNT}:assumed-role/FnRole/Offload-Fn`;

/** The SDK error a call failed with (name, message, status). */
const failure = async (promise: Promise<unknown>) => {
  const error = (await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  )) as { name: string; message: string; $metadata: { httpStatusCode?: number } } | undefined;
  if (!error) throw new Error('expected the call to be refused');
  return { name: error.name, message: error.message, status: error.$metadata.httpStatusCode };
};

describe('IAM: calls of a function are authorized by its own credentials, and refused as AWS refuses them', () => {
  let dir: string;
  let dynamo: LocalDynamo;
  let sqs: LocalSqs;
  let eventBridge: LocalEventBridge;
  let secrets: LocalSecretsManager;
  const log: string[] = [];
  let credentials: { accessKeyId: string; secretAccessKey: string; sessionToken: string };
  const client = <T>(make: (config: { endpoint: string; region: string; credentials: typeof credentials; maxAttempts: number; forcePathStyle?: boolean }) => T, endpoint: string, as = credentials) =>
    make({ endpoint, region: 'us-east-1', credentials: as, maxAttempts: 1, forcePathStyle: true });

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'offload-iam-callers-'));
    const local = new LocalTemplate(template, dir, {});
    const iam = new IamEnforcer(IamPolicyStore.fromTemplate(local), 'strict', (line) => log.push(line));
    const counter = new ApiCallCounter();
    dynamo = await startDynamo(local, { callerIam: iam });
    sqs = await startSqs(local, { callerIam: iam });
    secrets = new LocalSecretsManager(local, path.join(dir, 'secrets.json'), counter, iam);
    secrets.load();
    await secrets.start();
    local.register('Fn', { ref: 'Offload-Fn', attributes: { Arn: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:Offload-Fn` } });
    eventBridge = new LocalEventBridge(local, sqs, counter, () => undefined, { callerIam: iam });
    eventBridge.load();
    await eventBridge.start();
    iam.load();
    const environment = iam.environmentOf('Fn', 'Offload-Fn');
    credentials = { accessKeyId: environment.AWS_ACCESS_KEY_ID, secretAccessKey: environment.AWS_SECRET_ACCESS_KEY, sessionToken: environment.AWS_SESSION_TOKEN };
  });
  afterAll(async () => {
    await eventBridge?.stop();
    await secrets?.stop();
    await sqs?.stop();
    await dynamo?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('DynamoDB: allows granted calls (an index query included) and refuses the rest with 400 AccessDeniedException', async () => {
    // Prepare
    const db = client((config) => new DynamoDBClient(config), dynamo.endpoint);

    // Act
    await db.send(new PutItemCommand({ TableName: 'Tasks', Item: { pk: { S: 'a' }, g: { S: 'x' } } }));
    const queried = await db.send(new QueryCommand({ TableName: 'Tasks', IndexName: 'byG', KeyConditionExpression: 'g = :g', ExpressionAttributeValues: { ':g': { S: 'x' } } }));
    const refused = await failure(db.send(new GetItemCommand({ TableName: 'Other', Key: { pk: { S: 'a' } } })));

    // Assess
    expect(queried.Count).toBe(1);
    expect(refused).toEqual({
      name: 'AccessDeniedException',
      status: 400,
      message: `User: ${SESSION} is not authorized to perform: dynamodb:GetItem on resource: arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/Other because no identity-based policy allows the dynamodb:GetItem action`,
    });
    expect(log).toContain(`denied: AccessDenied: ${refused.message}`);
  });

  it('DynamoDB: an access key the runtime never issued gets UnrecognizedClientException; the admin key passes', async () => {
    // Prepare
    const stranger = client((config) => new DynamoDBClient(config), dynamo.endpoint, { accessKeyId: 'AKIASTRANGER', secretAccessKey: 'x', sessionToken: '' });
    const admin = client((config) => new DynamoDBClient(config), dynamo.endpoint, { ...localCredentials, sessionToken: '' });

    // Act
    const refused = await failure(stranger.send(new GetItemCommand({ TableName: 'Tasks', Key: { pk: { S: 'a' } } })));
    const read = await admin.send(new GetItemCommand({ TableName: 'Other', Key: { pk: { S: 'a' } } }));

    // Assess
    expect(refused).toMatchObject({ name: 'UnrecognizedClientException', status: 400, message: 'The security token included in the request is invalid.' });
    expect(read.$metadata.httpStatusCode).toBe(200);
  });

  it('SQS: allows a granted send, refuses an ungranted action with AccessDenied (lower-case action), applies the queue policy deny', async () => {
    // Prepare
    const queue = client((config) => new SQSClient(config), sqs.endpoint);
    const work = sqs.urlByArn.get(`arn:aws:sqs:us-east-1:${ACCOUNT}:Work`)!;
    const locked = sqs.urlByArn.get(`arn:aws:sqs:us-east-1:${ACCOUNT}:Locked`)!;

    // Act
    const sent = await queue.send(new SendMessageCommand({ QueueUrl: work, MessageBody: 'hi' }));
    const receive = await failure(queue.send(new ReceiveMessageCommand({ QueueUrl: work })));
    const refused = await failure(queue.send(new SendMessageCommand({ QueueUrl: locked, MessageBody: 'x' })));

    // Assess
    expect(sent.MessageId).toEqual(expect.any(String));
    expect(receive).toEqual({
      name: 'AccessDenied',
      status: 403,
      message: `User: ${SESSION} is not authorized to perform: sqs:receivemessage on resource: arn:aws:sqs:us-east-1:${ACCOUNT}:Work because no identity-based policy allows the sqs:receivemessage action`,
    });
    expect(refused).toEqual({
      name: 'AccessDenied',
      status: 403,
      message: `User: ${SESSION} is not authorized to perform: sqs:sendmessage on resource: arn:aws:sqs:us-east-1:${ACCOUNT}:Locked with an explicit deny in a resource-based policy`,
    });
  });

  it('S3: allows PutObject under exports/, refuses GetObject with 403 AccessDenied, and authorizes a presigned URL as its signer', async () => {
    // Prepare
    const s3 = client((config) => new S3Client(config), sqs.endpoint);
    const admin = client((config) => new S3Client(config), sqs.endpoint, { ...localCredentials, sessionToken: '' });

    // Act
    await s3.send(new PutObjectCommand({ Bucket: 'exports-bucket', Key: 'exports/a.json', Body: '{}' }));
    const refused = await failure(s3.send(new GetObjectCommand({ Bucket: 'exports-bucket', Key: 'exports/a.json' })));
    const signedByFunction = await fetch(await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'exports-bucket', Key: 'exports/a.json' }), { expiresIn: 60 }));
    const signedByAdmin = await fetch(await getSignedUrl(admin, new GetObjectCommand({ Bucket: 'exports-bucket', Key: 'exports/a.json' }), { expiresIn: 60 }));

    // Assess
    expect(refused).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(refused.message).toBe(
      `User: ${SESSION} is not authorized to perform: s3:GetObject on resource: "arn:aws:s3:::exports-bucket/exports/a.json" because no identity-based policy allows the s3:GetObject action`,
    );
    expect(signedByFunction.status).toBe(403);
    expect(await signedByFunction.text()).toContain('<Code>AccessDenied</Code>');
    expect(signedByAdmin.status).toBe(200);
    expect(await signedByAdmin.text()).toBe('{}');
  });

  it('EventBridge: PutEvents on the granted bus passes; on the default bus it is refused with AccessDeniedException', async () => {
    // Prepare
    const events = client((config) => new EventBridgeClient(config), eventBridge.endpoint);
    const entry = { Source: 'offload', DetailType: 'x', Detail: '{}' };

    // Act
    const put = await events.send(new PutEventsCommand({ Entries: [{ ...entry, EventBusName: 'app-bus' }] }));
    const refused = await failure(events.send(new PutEventsCommand({ Entries: [entry] })));

    // Assess
    expect(put.FailedEntryCount).toBe(0);
    expect(refused).toEqual({
      name: 'AccessDeniedException',
      status: 400,
      message: `User: ${SESSION} is not authorized to perform: events:PutEvents on resource: arn:aws:events:us-east-1:${ACCOUNT}:event-bus/default because no identity-based policy allows the events:PutEvents action`,
    });
  });

  it('Secrets Manager: the granted secret by name passes; another is refused naming its ARN', async () => {
    // Prepare
    const secretsClient = client((config) => new SecretsManagerClient(config), secrets.endpoint);

    // Act
    const value = await secretsClient.send(new GetSecretValueCommand({ SecretId: 'key' }));
    const refused = await failure(secretsClient.send(new GetSecretValueCommand({ SecretId: 'other-key' })));

    // Assess
    expect(value.SecretString).toEqual(expect.any(String));
    expect(refused).toMatchObject({ name: 'AccessDeniedException', status: 400 });
    expect(refused.message).toMatch(
      new RegExp(`^User: ${SESSION} is not authorized to perform: secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:other-key-\\w+ because`),
    );
  });
});
