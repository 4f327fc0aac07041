import { validateActions } from './action-catalog.ts';
import { evaluate } from './evaluate.ts';
import { IamIdentities } from './identities.ts';
import type { IamPolicyStore } from './policy-store.ts';
import type { IamDecision, IamRequest } from './types.ts';

/**
 * How the local runtime enforces IAM:
 * - `strict`: a call its policies do not allow is refused, as AWS refuses it (the default);
 * - `soft`: it goes through, and the would-be denial is written to the runtime log;
 * - `off`: nothing is checked.
 */
export const IAM_MODES = ['strict', 'soft', 'off'] as const;
export type IamMode = (typeof IAM_MODES)[number];
/** The mode of `npm start` and the tests. */
export const DEFAULT_IAM_MODE: IamMode = 'strict';

/** Whether a string names an IAM mode. */
export const isIamMode = (value: unknown): value is IamMode => (IAM_MODES as readonly unknown[]).includes(value);

/**
 * Authorizes requests against the template's policies in the configured mode. Denials (strict)
 * and would-be denials (soft) are logged with AWS's message, naming the session, action and resource.
 */
export class IamEnforcer {
  public constructor(
    public readonly store: IamPolicyStore,
    public readonly mode: IamMode,
    /** Where denials and would-be denials are written (the runtime log). */
    public readonly log: (line: string) => void,
    /** Who owns which access key (the runtime's admin key and the functions' keys). */
    public readonly identities: IamIdentities = new IamIdentities(),
  ) {}

  /**
   * Resolves every policy document of the template (call once every resource has its local
   * value): a document naming something the runtime cannot resolve fails the start, not a call.
   */
  public load(): this {
    this.store.load();
    return this;
  }

  /** Checks every action the template's policies name exists in AWS (see {@link validateActions}). */
  public async validateActions(): Promise<void> {
    await validateActions(this.store.actions());
  }

  /**
   * The environment variables of a function's credentials: its own access key, belonging to its
   * execution role's session (`assumed-role/<role>/<function name>`), as Lambda provides them.
   */
  public environmentOf(logicalId: string, functionName: string): Record<'AWS_ACCESS_KEY_ID' | 'AWS_SECRET_ACCESS_KEY' | 'AWS_SESSION_TOKEN', string> {
    const credentials = this.identities.issue(logicalId, this.store.roleOfFunction(logicalId, functionName));
    return { AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey, AWS_SESSION_TOKEN: credentials.sessionToken };
  }

  /** The policy decision, whatever the mode (for tests and diagnostics). */
  public decide(request: IamRequest): IamDecision {
    if (request.principal.kind === 'admin') return { allowed: true };
    const identity = request.principal.kind === 'role' ? this.store.identityPoliciesOf(request.principal.roleArn) : [];
    return evaluate(request, { identity, resource: this.store.resourcePolicyOf(request.resource) });
  }

  /** The decision the caller gets: strict returns it, soft logs a denial and allows, off allows. */
  public authorize(request: IamRequest): IamDecision {
    if (this.mode === 'off') return { allowed: true };
    const decision = this.decide(request);
    if (decision.allowed) return decision;
    if (this.mode === 'soft') {
      this.log(`would deny (--iam soft): AccessDenied: ${decision.message}`);
      return { allowed: true };
    }
    this.log(`denied: AccessDenied: ${decision.message}`);
    return decision;
  }

  /** Authorizes every request of one call (a batch across tables, say); the first denial wins. */
  public authorizeAll(requests: readonly IamRequest[]): IamDecision {
    for (const request of requests) {
      const decision = this.authorize(request);
      if (!decision.allowed) return decision;
    }
    return { allowed: true };
  }
}
