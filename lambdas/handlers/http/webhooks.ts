import { assertApiKey } from '../../core/scope.ts';
import { deleteWebhook, registerWebhook } from '../../core/webhooks.ts';
import { admissionStore, webhookSecrets, webhookStore } from '../runtime.ts';
import { json, jsonBody, principalOf } from './http.ts';
import { httpHandler } from './wrap.ts';

/** Loopback receivers: set only by the local runtime (a CDK test checks no deployed function has it). */
const allowLoopback = process.env.WEBHOOK_ALLOW_LOOPBACK === 'true';

/**
 * The webhooks resource: `POST /v1/webhooks {url, events?}` (the signing secret is shown once and
 * stored only sealed by KMS: this function may encrypt under the key, never decrypt),
 * `GET /v1/webhooks`, `DELETE /v1/webhooks/{id}`.
 */
export const handler = httpHandler(async (event) => {
  const principal = principalOf(event);
  assertApiKey(principal, 'manage webhooks');
  switch (event.routeKey) {
    case 'POST /v1/webhooks': {
      const webhook = await registerWebhook({ webhooks: webhookStore(), secrets: webhookSecrets(), slots: admissionStore(), presence: admissionStore(), allowLoopback }, principal, jsonBody(event));
      return json(201, { webhookId: webhook.webhookId, url: webhook.url, events: webhook.events, secret: webhook.secret, createdAt: webhook.createdAt }, { 'cache-control': 'no-store' });
    }
    case 'DELETE /v1/webhooks/{id}':
      await deleteWebhook({ webhooks: webhookStore(), slots: admissionStore(), presence: admissionStore() }, principal, event.pathParameters?.id);
      return { statusCode: 204 };
    default: {
      const items = (await webhookStore().list(principal.tenantId)).map(({ sealedSecret: _sealed, tenantId: _tenant, ...webhook }) => webhook);
      return json(200, { items }, { 'cache-control': 'no-store' });
    }
  }
});
