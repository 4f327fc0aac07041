/**
 * Limits that keep webhooks from being turned against the service or other tenants.
 */
export const WEBHOOK_LIMITS = {
  /** Endpoints one tenant may register (a registration beyond it answers `400`). */
  endpointsPerTenant: 10,
  /**
   * Deliveries of one tenant that may be outstanding (queued, running or waiting to retry) at
   * once; a lifecycle event that would exceed it records its deliveries as skipped
   * (`WebhookBacklogFull`) instead of queueing them. The worker reads `WEBHOOK_OUTSTANDING_LIMIT`
   * to override it (tests).
   */
  outstandingDeliveries: 100,
  /** Response body bytes read from an endpoint before the connection is closed. */
  responseBytes: 4096,
  /** Wall-clock limit of one delivery attempt: DNS, connect, TLS, request, headers and body. */
  attemptMs: 10_000,
} as const;

/** The admission-counter scope of a tenant's registered endpoints (kept apart from its in-flight tasks). */
export const webhookScope = (tenantId: string): string => `${tenantId}#WEBHOOKS`;

/** The admission-counter scope of a tenant's outstanding webhook deliveries. */
export const deliveryScope = (tenantId: string): string => `${tenantId}#DELIVERIES`;
