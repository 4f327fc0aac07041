import type { IncomingHttpHeaders } from 'node:http';
import { localArn } from '../../template.ts';
import { authorizeCall, callerOf, type HttpAnswer, type RequiredPermission } from '../caller.ts';
import type { IamEnforcer } from '../mode.ts';

/** A table name or ARN (the API accepts both) as the table's ARN. */
const tableArn = (nameOrArn: unknown): string => (String(nameOrArn).startsWith('arn:') ? String(nameOrArn) : localArn('dynamodb', `table/${String(nameOrArn)}`));

/** The actions a transactional write item needs, by its kind. */
const TRANSACT_WRITE_ACTIONS: Record<string, string> = { Put: 'dynamodb:PutItem', Update: 'dynamodb:UpdateItem', Delete: 'dynamodb:DeleteItem', ConditionCheck: 'dynamodb:ConditionCheckItem' };

const PARTIQL = /^\s*(SELECT|INSERT|UPDATE|DELETE)\b[\s\S]*?\b(?:FROM|INTO|UPDATE)\s+"?([A-Za-z0-9_.-]+)"?/i;

/**
 * The permissions a DynamoDB call needs (`X-Amz-Target: DynamoDB_20120810.<Operation>` and its
 * JSON body): the operation's action on the table, or on `table/T/index/I` for a query or scan of
 * an index; batch operations need their action on every table they name; transactions need each
 * item's underlying action (PutItem, UpdateItem, …) on its table.
 */
export const dynamodbPermissions = (operation: string, body: Record<string, unknown>): RequiredPermission[] => {
  const action = `dynamodb:${operation}`;
  switch (operation) {
    case 'BatchGetItem':
    case 'BatchWriteItem':
      return Object.keys((body.RequestItems as Record<string, unknown> | undefined) ?? {}).map((table) => ({ action, resource: tableArn(table) }));
    case 'TransactWriteItems':
      return ((body.TransactItems as Record<string, { TableName?: string }>[] | undefined) ?? []).flatMap((item) =>
        Object.entries(item)
          .filter(([kind]) => TRANSACT_WRITE_ACTIONS[kind])
          .map(([kind, inner]) => ({ action: TRANSACT_WRITE_ACTIONS[kind]!, resource: tableArn(inner.TableName) })),
      );
    case 'TransactGetItems':
      return ((body.TransactItems as { Get?: { TableName?: string } }[] | undefined) ?? []).map((item) => ({ action: 'dynamodb:GetItem', resource: tableArn(item.Get?.TableName) }));
    case 'ExecuteStatement': {
      const match = PARTIQL.exec(String(body.Statement ?? ''));
      if (!match) return [{ action: 'dynamodb:PartiQLSelect', resource: '*' }];
      const verb = match[1]!.toLowerCase();
      return [{ action: `dynamodb:PartiQL${verb[0]!.toUpperCase()}${verb.slice(1)}`, resource: tableArn(match[2]!) }];
    }
    case 'ListTables':
    case 'DescribeLimits':
    case 'DescribeEndpoints':
      return [{ action, resource: '*' }];
    case 'ListTagsOfResource':
    case 'TagResource':
    case 'UntagResource':
      return [{ action, resource: String(body.ResourceArn ?? '*') }];
    default: {
      if (body.TableName === undefined) return [{ action, resource: '*' }];
      const table = tableArn(body.TableName);
      const index = (operation === 'Query' || operation === 'Scan') && typeof body.IndexName === 'string' ? `${table}/index/${body.IndexName}` : table;
      return [{ action, resource: index }];
    }
  }
};

const json = (status: number, type: string, body: Record<string, string>): HttpAnswer => ({
  status,
  headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-errortype': type, 'x-amzn-requestid': crypto.randomUUID() },
  body: JSON.stringify({ __type: `com.amazon.coral.service#${type}`, ...body }),
});

/**
 * Authorizes a DynamoDB request; the answer AWS gives when it is refused, or undefined to let it
 * through: `400 AccessDeniedException` naming session, action and resource; `400
 * UnrecognizedClientException` for an access key that was never issued. Unsigned requests are left
 * to the engine, which answers `MissingAuthenticationTokenException` as DynamoDB does.
 */
export const authorizeDynamoDb = (enforcer: IamEnforcer, headers: IncomingHttpHeaders, url: string | undefined, body: Buffer): HttpAnswer | undefined => {
  const operation = String(headers['x-amz-target'] ?? '').split('.')[1] ?? '';
  const caller = callerOf(enforcer, headers, url);
  if (caller.kind === 'anonymous' || !operation) return undefined;
  let document: Record<string, unknown>;
  try {
    document = JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
  } catch {
    return undefined; // the engine answers SerializationException
  }
  const outcome = authorizeCall(enforcer, caller, dynamodbPermissions(operation, document), `dynamodb:${operation}`);
  if (outcome.allowed) return undefined;
  if (outcome.why === 'denied') return json(400, 'AccessDeniedException', { Message: outcome.decision.message });
  return json(400, 'UnrecognizedClientException', { message: 'The security token included in the request is invalid.' });
};
