import { DeleteCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SessionMember, SessionStore } from '../core/session.ts';
import { ddb as defaultClient } from './clients.ts';
import { TaskKeys } from './keys.ts';

const member = (item: Record<string, unknown>): SessionMember => ({ seq: Number(item.seq), taskId: String(item.taskId), at: Number(item.at) });

/** {@link SessionStore} on the tasks table: `SESSION#tenant#id` partition, `COUNTER` and `SEQ#n` items. */
export class DynamoSessionStore implements SessionStore {
  public constructor(
    private readonly tableName: string,
    private readonly ddb: DynamoDBDocumentClient = defaultClient,
  ) {}

  public async enqueue(tenantId: string, sessionId: string, taskId: string): Promise<number> {
    const { Attributes } = await this.ddb.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: TaskKeys.sessionCounter(tenantId, sessionId),
        UpdateExpression: 'ADD nextSeq :one',
        ExpressionAttributeValues: { ':one': 1 },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    const seq = Number(Attributes?.nextSeq);
    await this.ddb.send(new PutCommand({ TableName: this.tableName, Item: { ...TaskKeys.sessionMember(tenantId, sessionId, seq), seq, taskId, at: Date.now() } }));
    return seq;
  }

  public async before(tenantId: string, sessionId: string, seq: number, limit: number): Promise<SessionMember[]> {
    const { Items = [] } = await this.ddb.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':pk': TaskKeys.sessionCounter(tenantId, sessionId).pk,
          ':from': TaskKeys.sessionMember(tenantId, sessionId, 0).sk,
          ':to': TaskKeys.sessionMember(tenantId, sessionId, seq - 1).sk,
        },
        Limit: limit,
        ConsistentRead: true,
      }),
    );
    return Items.map(member);
  }

  public async after(tenantId: string, sessionId: string, seq: number): Promise<SessionMember | undefined> {
    const { Items = [] } = await this.ddb.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':pk': TaskKeys.sessionCounter(tenantId, sessionId).pk,
          ':from': TaskKeys.sessionMember(tenantId, sessionId, seq + 1).sk,
          ':to': TaskKeys.sessionMember(tenantId, sessionId, 9_999_999_999).sk,
        },
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    return Items[0] ? member(Items[0]) : undefined;
  }

  public async remove(tenantId: string, sessionId: string, seq: number): Promise<void> {
    await this.ddb.send(new DeleteCommand({ TableName: this.tableName, Key: TaskKeys.sessionMember(tenantId, sessionId, seq) }));
  }
}
