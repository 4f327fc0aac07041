import { localArn } from '../../template.ts';
import type { RequiredPermission } from '../caller.ts';

/** A bus name or ARN (PutEvents accepts both) as the bus ARN; the default bus when none. */
export const busArnOf = (nameOrArn: unknown): string => {
  const value = nameOrArn === undefined || nameOrArn === null || nameOrArn === '' ? 'default' : String(nameOrArn);
  return value.startsWith('arn:') ? value : localArn('events', `event-bus/${value}`);
};

/**
 * The permissions an EventBridge call needs (`AWSEvents.<Operation>`): PutEvents needs
 * `events:PutEvents` on the bus of every entry; ListRules on the bus's rules; the rest on `*`.
 */
export const eventBridgePermissions = (operation: string, body: Record<string, unknown>): RequiredPermission[] => {
  const action = `events:${operation}`;
  if (operation === 'PutEvents') {
    const entries = Array.isArray(body.Entries) ? (body.Entries as Record<string, unknown>[]) : [];
    return [...new Set(entries.map((entry) => busArnOf(entry?.EventBusName)))].map((resource) => ({ action, resource }));
  }
  if (operation === 'ListRules') {
    const bus = busArnOf(body.EventBusName).split('event-bus/')[1]!;
    return [{ action, resource: localArn('events', bus === 'default' ? 'rule/*' : `rule/${bus}/*`) }];
  }
  if (operation === 'DescribeEventBus') return [{ action, resource: busArnOf(body.Name) }];
  return [{ action, resource: '*' }];
};
