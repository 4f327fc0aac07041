import type { IncomingHttpHeaders } from 'node:http';
import type { IamEnforcer } from './mode.ts';
import type { IamDecision, IamPrincipal, IamRequest } from './types.ts';

/** The SigV4 credential of a request: access key id and the service of its credential scope. */
export interface SigV4Credential {
  readonly accessKeyId: string;
  /** `s3`, `sqs`, `dynamodb`, … (the scope's fourth field), when present. */
  readonly service?: string;
}

/**
 * The credential a request is signed with: the `Authorization` header's `Credential=` (SigV4), or
 * a presigned URL's `X-Amz-Credential` query parameter. Undefined for an unsigned request.
 */
export const credentialOf = (headers: IncomingHttpHeaders, url: string | undefined): SigV4Credential | undefined => {
  const authorization = String(headers.authorization ?? '');
  let scope = /Credential=([^,\s]+)/.exec(authorization)?.[1];
  if (!scope) {
    const query = new URL(url ?? '/', 'http://local').searchParams;
    scope = query.get('X-Amz-Credential') ?? undefined;
  }
  if (!scope) return undefined;
  const [accessKeyId, , , service] = scope.split('/');
  if (!accessKeyId) return undefined;
  return { accessKeyId, ...(service ? { service } : {}) };
};

/** Who is calling, as far as the request says. */
export type Caller =
  | { readonly kind: 'known'; readonly principal: IamPrincipal }
  /** Signed with an access key this runtime never issued. */
  | { readonly kind: 'unrecognized'; readonly accessKeyId: string }
  /** Not signed at all. */
  | { readonly kind: 'anonymous' };

/** Identifies the caller of a request from its signature. */
export const callerOf = (enforcer: IamEnforcer, headers: IncomingHttpHeaders, url: string | undefined): Caller => {
  const credential = credentialOf(headers, url);
  if (!credential) return { kind: 'anonymous' };
  const principal = enforcer.identities.principalOf(credential.accessKeyId);
  return principal ? { kind: 'known', principal } : { kind: 'unrecognized', accessKeyId: credential.accessKeyId };
};

/** One action on one resource a call needs. */
export interface RequiredPermission {
  readonly action: string;
  readonly resource: string;
  readonly context?: Record<string, string | string[]>;
}

/** The outcome of authorizing one service call. */
export type CallAuthorization =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly why: 'denied'; readonly decision: Extract<IamDecision, { allowed: false }>; readonly permission: RequiredPermission }
  | { readonly allowed: false; readonly why: 'unrecognized'; readonly accessKeyId: string }
  | { readonly allowed: false; readonly why: 'anonymous' };

/**
 * Authorizes a call that needs every permission in `permissions`: a known caller against its
 * policies (in the enforcer's mode); an unknown access key or an unsigned request is refused in
 * strict mode (as AWS refuses them) and logged in soft mode.
 */
export const authorizeCall = (enforcer: IamEnforcer, caller: Caller, permissions: readonly RequiredPermission[], what: string): CallAuthorization => {
  if (enforcer.mode === 'off') return { allowed: true };
  if (caller.kind !== 'known') {
    const line = caller.kind === 'unrecognized' ? `${what}: access key ${caller.accessKeyId} was not issued by this runtime` : `${what}: request is not signed`;
    enforcer.log(enforcer.mode === 'soft' ? `would deny (--iam soft): ${line}` : `denied: ${line}`);
    if (enforcer.mode === 'soft') return { allowed: true };
    return caller.kind === 'unrecognized' ? { allowed: false, why: 'unrecognized', accessKeyId: caller.accessKeyId } : { allowed: false, why: 'anonymous' };
  }
  for (const permission of permissions) {
    const request: IamRequest = { principal: caller.principal, action: permission.action, resource: permission.resource, ...(permission.context ? { context: permission.context } : {}) };
    const decision = enforcer.authorize(request);
    if (!decision.allowed) return { allowed: false, why: 'denied', decision, permission };
  }
  return { allowed: true };
};

/** An HTTP answer a gate sends instead of the service's. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}
