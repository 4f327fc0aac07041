// Type-only: this module is read by the `offload` CLI, which must not load aws-cdk-lib at startup.
import type { WORKLOAD_CLASS_SIZING } from './workload-classes.ts';

type ClassName = keyof typeof WORKLOAD_CLASS_SIZING;

/**
 * Names of the stack outputs operators' tools read from `cdk deploy --outputs-file` (the `offload`
 * CLI's tenant, key and DLQ commands). They are stack-level outputs, so their names carry no hash:
 * a contract, never renamed.
 */
export const OPERATOR_OUTPUTS = {
  tasksTable: 'TasksTableName',
  queueUrl: { interactive: 'InteractiveQueueUrl', batch: 'BatchQueueUrl', integrations: 'IntegrationsQueueUrl', analytics: 'AnalyticsQueueUrl' },
  deadLetterQueueUrl: { interactive: 'InteractiveDlqUrl', batch: 'BatchDlqUrl', integrations: 'IntegrationsDlqUrl', analytics: 'AnalyticsDlqUrl' },
} as const satisfies { tasksTable: string; queueUrl: Record<ClassName, string>; deadLetterQueueUrl: Record<ClassName, string> };

/** The API URL outputs, declared inside constructs (their logical ids end in a hash). */
export const API_OUTPUTS = { httpApi: 'HttpApiUrl', cdn: 'CdnUrl', webSocket: 'WebSocketUrl' } as const;
