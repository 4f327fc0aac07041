// Type-only: this module is read by the `offload` CLI, which must not load aws-cdk-lib at startup.
import type { WORKLOAD_CLASS_SIZING } from './workload-classes.ts';

type ClassName = keyof typeof WORKLOAD_CLASS_SIZING;

/**
 * Names of the stack outputs operators' tools read from `cdk deploy --outputs-file` (the `offload`
 * CLI's tenant, key and DLQ commands). Every output is declared at stack level, so its name carries
 * no hash: a documented contract (README "Deploying to AWS"), never renamed.
 */
export const OPERATOR_OUTPUTS = {
  tasksTable: 'TasksTableName',
  queueUrl: { interactive: 'InteractiveQueueUrl', batch: 'BatchQueueUrl', integrations: 'IntegrationsQueueUrl', analytics: 'AnalyticsQueueUrl' },
  deadLetterQueueUrl: { interactive: 'InteractiveDlqUrl', batch: 'BatchDlqUrl', integrations: 'IntegrationsDlqUrl', analytics: 'AnalyticsDlqUrl' },
  exportsBucket: 'ExportsBucketName',
  /** The connections table (its `ByKey` index: a key's open WebSocket connections). */
  connectionsTable: 'ConnectionsTableName',
  /** The WebSocket `@connections` endpoint (revoking a key closes its connections there). */
  webSocketManagement: 'WebSocketManagementUrl',
} as const satisfies {
  tasksTable: string;
  queueUrl: Record<ClassName, string>;
  deadLetterQueueUrl: Record<ClassName, string>;
  exportsBucket: string;
  connectionsTable: string;
  webSocketManagement: string;
};

/** Names of the URL outputs clients use (stack-level too: no hash). */
export const API_OUTPUTS = { httpApi: 'HttpApiUrl', cdn: 'CdnUrl', webSocket: 'WebSocketUrl', dashboard: 'DashboardUrl' } as const;

