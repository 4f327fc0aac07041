import { ForbiddenError } from './errors.ts';
import type { Principal } from './model.ts';

/**
 * Task-scoped client tokens are read/watch-only. A token handed to a browser for some tasks may
 * read, list and subscribe to those tasks and mint narrower tokens; it may never submit work
 * (over HTTP or WebSocket), cancel or manage webhooks. API keys and tenant-wide client tokens may submit and cancel.
 *
 * @example
 * ```ts
 * assertMayChange(principal, 'submit tasks'); // throws ForbiddenError (403) for a scoped token
 * ```
 */
export const assertMayChange = (principal: Principal, action: string): void => {
  if (principal.taskIds !== undefined) throw new ForbiddenError(`A task-scoped client token is read-only: it cannot ${action}.`);
};

/**
 * Tenant configuration (webhook endpoints, which receive every lifecycle event and hold signing
 * secrets) is managed with an API key only: client tokens are handed to browsers and may not.
 *
 * @example
 * ```ts
 * assertApiKey(principal, 'manage webhooks'); // throws ForbiddenError (403) for any client token
 * ```
 */
export const assertApiKey = (principal: Principal, action: string): void => {
  if (principal.via === 'clientToken' || principal.taskIds !== undefined) throw new ForbiddenError(`Only an API key can ${action}; client tokens cannot.`);
};
