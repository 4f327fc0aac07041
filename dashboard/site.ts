/**
 * Where the dashboard lives, shared by the stack (S3 prefix and CloudFront path pattern), the
 * local runtime and the page. Free of dependencies.
 */

/** The path it is served under, on the distribution and on the local CDN. */
export const DASHBOARD_PATH = '/dashboard/' as const;

/** Its entry page. */
export const DASHBOARD_PAGE = 'index.html' as const;

/** Its settings, next to the page (`DashboardConfig` in `session.ts`). */
export const DASHBOARD_CONFIG = 'config.json' as const;
