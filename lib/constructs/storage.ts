import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { CONNECTIONS_BY_KEY_INDEX } from '../../lambdas/store/keys.ts';
import { TaskIndexes } from '../../lambdas/store/task-indexes.ts';

/** Props of {@link OffloadStorage}. */
export interface OffloadStorageProps {
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * DynamoDB storage. `tasks` holds tenants, hashed API keys, task records and their progress logs
 * (a task and its log share a partition, so a replay is one query); `GSI1` lists a tenant's tasks
 * newest first (projecting a task summary's fields); `GSI2` (sparse, keys only) holds only
 * non-terminal tasks by the time they are due to progress, for the reconciler. `connections` holds WebSocket connections and their task subscriptions, expiring
 * by TTL; its sparse `ByKey` index finds a key's connections when the key is revoked. Both on demand, encrypted, with point-in-time recovery.
 */
export class OffloadStorage extends Construct {
  public readonly tasksTable: Table;
  public readonly connectionsTable: Table;

  public constructor(scope: Construct, id: string, props: OffloadStorageProps = {}) {
    super(scope, id);
    const common = {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    };
    this.tasksTable = new Table(this, 'Tasks', { ...common, timeToLiveAttribute: 'expiresAt' });
    // Narrow projections: the task item (up to 128 KB of input and result) is never copied into an
    // index, so a task update is not billed again per index by the item's size (see task-indexes.ts).
    this.tasksTable.addGlobalSecondaryIndex({
      indexName: TaskIndexes.listing.name,
      partitionKey: { name: 'gsi1pk', type: AttributeType.STRING },
      sortKey: { name: 'gsi1sk', type: AttributeType.STRING },
      projectionType: ProjectionType.INCLUDE,
      nonKeyAttributes: [...TaskIndexes.listing.attributes],
    });
    this.tasksTable.addGlobalSecondaryIndex({
      indexName: TaskIndexes.due.name,
      partitionKey: { name: 'gsi2pk', type: AttributeType.STRING },
      sortKey: { name: 'gsi2sk', type: AttributeType.STRING },
      projectionType: ProjectionType.KEYS_ONLY,
    });
    this.connectionsTable = new Table(this, 'Connections', { ...common, timeToLiveAttribute: 'expiresAt' });
    // Sparse: only connection items carry keyId. Revoking a key reads just that key's connections.
    this.connectionsTable.addGlobalSecondaryIndex({
      indexName: CONNECTIONS_BY_KEY_INDEX,
      partitionKey: { name: 'keyId', type: AttributeType.STRING },
      projectionType: ProjectionType.KEYS_ONLY,
    });
  }
}
