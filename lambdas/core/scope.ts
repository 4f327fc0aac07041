import { ForbiddenError } from './errors.ts';
import type { Principal } from './model.ts';

/**
 * Task-scoped client tokens are read/watch-only. A token handed to a browser for some tasks may
 * read, list and subscribe to those tasks and mint narrower tokens; it may never submit work
 * (over HTTP or WebSocket), cancel or manage webhooks. API keys and tenant-wide client tokens may.
 *
 * @example
 * ```ts
 * assertMayChange(principal, 'submit tasks'); // throws ForbiddenError (403) for a scoped token
 * ```
 */
export const assertMayChange = (principal: Principal, action: string): void => {
  if (principal.taskIds !== undefined) throw new ForbiddenError(`A task-scoped client token is read-only: it cannot ${action}.`);
};
