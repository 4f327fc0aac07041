import { localArn } from '../../template.ts';
import type { RequiredPermission } from '../caller.ts';

/**
 * The permissions a Secrets Manager call needs (`secretsmanager.<Operation>`): the action on the
 * secret's ARN (a `SecretId` given by name is resolved to the ARN, as IAM sees it); ListSecrets on `*`.
 */
export const secretsManagerPermissions = (operation: string, body: Record<string, unknown>, arnOf: (secretId: string) => string | undefined): RequiredPermission[] => {
  const action = `secretsmanager:${operation}`;
  if (typeof body.SecretId !== 'string') return [{ action, resource: '*' }];
  const id = body.SecretId;
  return [{ action, resource: arnOf(id) ?? (id.startsWith('arn:') ? id : localArn('secretsmanager', `secret:${id}`)) }];
};
