import { createHash } from 'node:crypto';
import { localCredentials } from '../engines/credentials.ts';
import type { FunctionIdentity } from './policy-store.ts';
import type { IamPrincipal } from './types.ts';

/** Temporary credentials as Lambda hands them to a function's environment. */
export interface FunctionCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
}

/**
 * The access key id of a function's credentials: `ASIA` (AWS's prefix for temporary keys) and 16
 * characters derived from the function's logical id, so they are stable across restarts.
 */
export const functionAccessKeyId = (logicalId: string): string => `ASIA${createHash('sha256').update(logicalId).digest('hex').slice(0, 16).toUpperCase()}`;

/**
 * Who owns which access key: the runtime's own credentials are the account's administrator;
 * each function gets credentials of its own, belonging to its execution role's session.
 */
export class IamIdentities {
  private readonly byAccessKey = new Map<string, IamPrincipal>();

  public constructor(adminAccessKeyId: string = localCredentials.accessKeyId) {
    this.byAccessKey.set(adminAccessKeyId, { kind: 'admin' });
  }

  /** Issues (idempotently) the credentials of a function running as `identity`. */
  public issue(logicalId: string, identity: FunctionIdentity): FunctionCredentials {
    const accessKeyId = functionAccessKeyId(logicalId);
    this.byAccessKey.set(accessKeyId, { kind: 'role', roleArn: identity.roleArn, sessionArn: identity.sessionArn });
    const secret = createHash('sha256').update(`secret:${logicalId}`).digest('base64url').slice(0, 40);
    return { accessKeyId, secretAccessKey: secret, sessionToken: `local-session-${logicalId}` };
  }

  /** The principal an access key belongs to, or undefined for a key this runtime never issued. */
  public principalOf(accessKeyId: string): IamPrincipal | undefined {
    return this.byAccessKey.get(accessKeyId);
  }
}
