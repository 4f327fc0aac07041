import { WORKLOAD_CLASS_SIZING } from './workload-classes.ts';

type ClassName = keyof typeof WORKLOAD_CLASS_SIZING;
type ClassId = (typeof WORKLOAD_CLASS_SIZING)[ClassName]['id'];

const byClass = <Suffix extends string>(suffix: Suffix) =>
  Object.fromEntries(Object.entries(WORKLOAD_CLASS_SIZING).map(([name, sizing]) => [name, `${sizing.id}${suffix}`])) as { readonly [K in ClassName]: `${ClassId}${Suffix}` };

/**
 * Names of the stack outputs operators' tools read from `cdk deploy --outputs-file` (the `offload`
 * CLI's tenant, key and DLQ commands). They are stack-level outputs, so their names carry no hash:
 * a contract, never renamed.
 */
export const OPERATOR_OUTPUTS = {
  tasksTable: 'TasksTableName',
  queueUrl: byClass('QueueUrl'),
  deadLetterQueueUrl: byClass('DlqUrl'),
} as const;

/** The API URL outputs, declared inside constructs (their logical ids end in a hash). */
export const API_OUTPUTS = { httpApi: 'HttpApiUrl', cdn: 'CdnUrl', webSocket: 'WebSocketUrl' } as const;
