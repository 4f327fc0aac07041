import { LOCAL_ACCOUNT } from '../../template.ts';
import { authorizeCall, type CallAuthorization, type Caller, type RequiredPermission } from '../caller.ts';
import { evaluate, listOf } from '../evaluate.ts';
import type { IamEnforcer } from '../mode.ts';
import type { IamPolicy, IamPrincipal, IamStatement } from '../types.ts';

const ACCOUNT_ROOT = `arn:aws:iam::${LOCAL_ACCOUNT}:root`;

/**
 * The permission a KMS call (`TrentService.<Operation>`) needs: `kms:<Operation>` on the key's
 * ARN (for Decrypt, the key the ciphertext names), with the request's encryption context as the
 * condition keys `kms:EncryptionContext:<key>` and `kms:EncryptionContextKeys`.
 */
export const kmsPermission = (operation: string, keyArn: string, encryptionContext: Readonly<Record<string, string>> | undefined): RequiredPermission => {
  const pairs = Object.entries(encryptionContext ?? {});
  const context: Record<string, string | string[]> = {};
  for (const [key, value] of pairs) context[`kms:EncryptionContext:${key}`] = value;
  if (pairs.length) context['kms:EncryptionContextKeys'] = pairs.map(([key]) => key);
  return { action: `kms:${operation}`, resource: keyArn, ...(pairs.length ? { context } : {}) };
};

/** Whether a key policy `Principal` names the caller's account (the root principal or the bare account id). */
const namesAccount = (principal: IamStatement['Principal']): boolean =>
  principal !== undefined && principal !== '*' && listOf(principal.AWS).some((value) => value === ACCOUNT_ROOT || value === LOCAL_ACCOUNT);

/**
 * Whether the key policy itself admits the caller. Unlike other resource policies, a KMS key
 * policy is always required: identity policies count only where the key policy delegates to the
 * account (its root principal, as CDK's default key policy does). Evaluated by reading a statement
 * naming the account as naming the caller, so its conditions (and any Deny) apply as written.
 */
const keyPolicyAdmits = (keyPolicy: IamPolicy | undefined, principal: IamPrincipal, permission: RequiredPermission): boolean => {
  if (!keyPolicy || principal.kind === 'admin') return principal.kind === 'admin';
  const self = principal.kind === 'role' ? principal.sessionArn : undefined;
  const statements = listOf(keyPolicy.Statement).map((statement) =>
    self && namesAccount(statement.Principal) ? { ...statement, Principal: { AWS: self } } : statement,
  );
  return evaluate({ principal, action: permission.action, resource: permission.resource, ...(permission.context ? { context: permission.context } : {}) }, { identity: [], resource: { ...keyPolicy, Statement: statements } }).allowed;
};

/**
 * Authorizes one KMS call as AWS KMS does: the caller's identity policies and the key policy
 * (IAM's evaluation, see {@link authorizeCall}), and then the key policy must admit the caller,
 * directly or by delegating to the account. A refusal is logged like every other denial.
 */
export const authorizeKmsCall = (iam: IamEnforcer, caller: Caller, permission: RequiredPermission, keyPolicy: IamPolicy | undefined): CallAuthorization => {
  const outcome = authorizeCall(iam, caller, [permission], permission.action);
  if (!outcome.allowed || iam.mode === 'off' || caller.kind !== 'known') return outcome;
  if (keyPolicyAdmits(keyPolicy, caller.principal, permission)) return outcome;
  const who = caller.principal.kind === 'role' ? caller.principal.sessionArn : caller.principal.kind === 'service' ? caller.principal.service : ACCOUNT_ROOT;
  const message = `User: ${who} is not authorized to perform: ${permission.action} on resource: ${permission.resource} because no resource-based policy allows the ${permission.action} action`;
  if (iam.mode === 'soft') {
    iam.log(`would deny (--iam soft): AccessDenied: ${message}`);
    return { allowed: true };
  }
  iam.log(`denied: AccessDenied: ${message}`);
  return { allowed: false, why: 'denied', decision: { allowed: false, kind: 'implicit', message, reason: 'no-resource-policy', caller: who }, permission };
};
