/**
 * Exit codes of the `offload` CLI, stable for scripts.
 *
 * | code | meaning |
 * |---|---|
 * | 0 | success (a watched task succeeded) |
 * | 1 | a watched task ended `failed` or `cancelled` |
 * | 2 | usage error: unknown command or option, missing argument, invalid input, no endpoint/credential configured |
 * | 3 | the API (or an AWS service, for admin commands) refused the request: 400, 409, 413, 415, 422, 429, 5xx |
 * | 4 | not found: task, tenant or API key |
 * | 5 | unauthorized: missing, revoked or expired credential (401), or not allowed (403) |
 * | 6 | unreachable: network failure, or a watch that lost its connection for good |
 * | 130 | interrupted (Ctrl+C) |
 */
export const ExitCode = {
  ok: 0,
  taskUnsuccessful: 1,
  usage: 2,
  api: 3,
  notFound: 4,
  unauthorized: 5,
  unreachable: 6,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
