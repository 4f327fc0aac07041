import { ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Runtime } from '../../local/runtime.ts';

/** The physical names of the stack's two tables. */
export const tableNames = (runtime: Runtime): { tasks: string; connections: string } => {
  const named = (prefix: string) => {
    const found = runtime.template.ofType('AWS::DynamoDB::Table').find(([id]) => id.startsWith(prefix));
    if (!found) throw new Error(`no table ${prefix}*`);
    return runtime.template.resolveString({ Ref: found[0] }, 'test');
  };
  return { tasks: named('StorageTasks'), connections: named('StorageConnections') };
};

/** Every item of a table, by `pk/sk`, as canonical JSON (a scan through the real DynamoDB API). */
export const scanTable = async (runtime: Runtime, tableName: string): Promise<Map<string, string>> => {
  const items = new Map<string, string>();
  let ExclusiveStartKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await runtime.dynamo.client.send(new ScanCommand({ TableName: tableName, ConsistentRead: true, ...(ExclusiveStartKey ? { ExclusiveStartKey } : {}) }));
    for (const item of page.Items ?? []) {
      const canonical = JSON.stringify(Object.fromEntries(Object.entries(item).sort(([a], [b]) => a.localeCompare(b))));
      items.set(`${item.pk?.S ?? '?'}/${item.sk?.S ?? '?'}`, canonical);
    }
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
};

/** Keys added, changed or removed between two scans. */
export const diffItems = (before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): string[] => {
  const changes: string[] = [];
  for (const [key, value] of after) {
    if (!before.has(key)) changes.push(`+${key}`);
    else if (before.get(key) !== value) changes.push(`~${key}`);
  }
  for (const key of before.keys()) if (!after.has(key)) changes.push(`-${key}`);
  return changes;
};

/** Messages in each queue (visible, in flight and delayed), by queue name. */
export const queueDepths = async (runtime: Runtime): Promise<Record<string, number>> => {
  const depths: Record<string, number> = {};
  for (const [arn, url] of runtime.sqs.urlByArn) {
    const { Attributes = {} } = await runtime.sqs.client.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] }),
    );
    depths[arn.split(':').pop()!] =
      Number(Attributes.ApproximateNumberOfMessages ?? 0) + Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0) + Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0);
  }
  return depths;
};

/** Failed invocations (thrown, rejected, timed out, crashed environments) summed over every function. */
export const functionFailures = (runtime: Runtime): number =>
  [...runtime.functions.values()].reduce((sum, fn) => sum + fn.stats.errors + fn.stats.timeouts + (fn.stats.crashes ?? 0), 0);

/** Per function, failures since a previous {@link functionFailureCounts} snapshot. */
export const functionFailureCounts = (runtime: Runtime): Record<string, number> =>
  Object.fromEntries([...runtime.functions.values()].map((fn) => [fn.config.functionName, fn.stats.errors + fn.stats.timeouts + (fn.stats.crashes ?? 0)]));

/** Every log file the runtime wrote under its directory (its data directory excluded). */
export const runtimeLogFiles = (dir: string): string[] => {
  const found: string[] = [];
  const walk = (at: string) => {
    for (const name of readdirSync(at)) {
      const full = path.join(at, name);
      if (statSync(full).isDirectory()) {
        if (full !== path.join(dir, 'data')) walk(full);
      } else if (name.endsWith('.log')) found.push(full);
    }
  };
  walk(dir);
  return found;
};

/** The text of every runtime log file. */
export const readRuntimeLogs = (dir: string): string => runtimeLogFiles(dir).map((file) => readFileSync(file, 'utf8')).join('\n');
