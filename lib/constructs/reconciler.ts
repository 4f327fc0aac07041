import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { type IEventBus, Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { WorkloadClass } from '../../lambdas/core/model.ts';
import { Construct } from 'constructs';
import { OffloadFunction } from './offload-function.ts';

/** Props of {@link Reconciler}. */
export interface ReconcilerProps {
  readonly tasksTable: ITable;
  readonly bus: IEventBus;
  /** @default Duration.minutes(1) */
  readonly every?: Duration;
  /**
   * Each workload class's dead-letter queue: a failed task whose worker died before parking it
   * there is parked by the reconciler. @default none (such tasks are not parked)
   */
  readonly deadLetterQueues?: Readonly<Partial<Record<WorkloadClass, IQueue>>>;
  /**
   * Reserved concurrency of the reconciler function. Off by default: Lambda accepts a reservation
   * only while at least 100 of the account's concurrency stays unreserved, so any value fails the
   * deployment in accounts with a low quota (new accounts may have 10). Overlapping runs are safe
   * without it: re-dispatching is at-least-once by design (workers claim a task with a conditional
   * lease, so a duplicate `Task Submitted` is dropped) and every settle step is idempotent.
   * @default none (the function draws on the account's unreserved pool)
   */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * A scheduled function that re-dispatches tasks overdue for progress: the net under "no
 * acknowledged task is ever lost" (a failed emit after the record, a worker that died holding its
 * lease).
 */
export class Reconciler extends Construct {
  public readonly function: OffloadFunction;
  public readonly rule: Rule;

  public constructor(scope: Construct, id: string, props: ReconcilerProps) {
    super(scope, id);
    this.function = new OffloadFunction(this, 'Function', {
      entry: 'handlers/reconciler.ts',
      description: 'Offload reconciler: re-dispatch overdue tasks',
      timeout: Duration.seconds(60),
      ...(props.reservedConcurrentExecutions !== undefined ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions } : {}),
      environment: {
        TASKS_TABLE: props.tasksTable.tableName,
        EVENT_BUS_NAME: props.bus.eventBusName,
        ...Object.fromEntries(Object.entries(props.deadLetterQueues ?? {}).map(([name, queue]) => [`DLQ_URL_${name.toUpperCase()}`, queue.queueUrl])),
      },
    });
    props.tasksTable.grantReadWriteData(this.function);
    for (const queue of Object.values(props.deadLetterQueues ?? {})) queue.grantSendMessages(this.function);
    props.bus.grantPutEventsTo(this.function);
    this.rule = new Rule(this, 'Schedule', {
      description: 'Runs the Offload reconciler',
      schedule: Schedule.rate(props.every ?? Duration.minutes(1)),
      targets: [new LambdaFunction(this.function, { retryAttempts: 2 })],
    });
  }
}
