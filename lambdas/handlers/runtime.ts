import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoConnectionStore } from '../store/connection-store.ts';
import { requireEnv } from '../store/clients.ts';
import { EventBridgePublisher } from '../store/publisher.ts';
import { DynamoIdempotencyStore } from '../store/idempotency-store.ts';
import { DynamoAdmissionStore } from '../store/admission-store.ts';
import { DynamoSessionStore } from '../store/session-store.ts';
import { DynamoParkingLot } from '../store/parking-lot.ts';
import { secretsManagerKey } from '../store/signing-key.ts';
import { DynamoWebhookStore } from '../store/webhook-store.ts';
import { KmsWebhookSecrets } from '../store/webhook-secrets.ts';
import type { SigningKey } from '../core/client-token.ts';
import { ConnectionsPusher } from '../store/pusher.ts';
import { DynamoTaskStore } from '../store/task-store.ts';
import { DynamoTenantStore } from '../store/tenant-store.ts';

/**
 * Lazily built, module-scoped dependencies shared by handlers. Each getter builds its store once per
 * execution environment; a bundle only contains the stores its handler touches.
 */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'offload' });

let tasks: DynamoTaskStore | undefined;
let tenants: DynamoTenantStore | undefined;
let connections: DynamoConnectionStore | undefined;
let publisher: EventBridgePublisher | undefined;
let pusher: ConnectionsPusher | undefined;
let idempotency: DynamoIdempotencyStore | undefined;
let admission: DynamoAdmissionStore | undefined;
let sessions: DynamoSessionStore | undefined;
let parkingLot: DynamoParkingLot | undefined;
let signingKey: SigningKey | undefined;
let webhooks: DynamoWebhookStore | undefined;
let webhookSecretKeeper: KmsWebhookSecrets | undefined;

export const taskStore = (): DynamoTaskStore => (tasks ??= new DynamoTaskStore(requireEnv('TASKS_TABLE')));
export const tenantStore = (): DynamoTenantStore => (tenants ??= new DynamoTenantStore(requireEnv('TASKS_TABLE')));
export const connectionStore = (): DynamoConnectionStore => (connections ??= new DynamoConnectionStore(requireEnv('CONNECTIONS_TABLE')));
export const eventPublisher = (): EventBridgePublisher => (publisher ??= new EventBridgePublisher(requireEnv('EVENT_BUS_NAME')));
export const idempotencyStore = (): DynamoIdempotencyStore => (idempotency ??= new DynamoIdempotencyStore(requireEnv('TASKS_TABLE')));
export const admissionStore = (): DynamoAdmissionStore => (admission ??= new DynamoAdmissionStore(requireEnv('TASKS_TABLE')));
export const sessionStore = (): DynamoSessionStore => (sessions ??= new DynamoSessionStore(requireEnv('TASKS_TABLE')));
export const parkingLotStore = (): DynamoParkingLot => (parkingLot ??= new DynamoParkingLot(requireEnv('TASKS_TABLE')));
/** Per-tenant running limit of this worker's workload class (stack configuration); 0 = none. */
export const runningLimit = (): number => Number(process.env.TENANT_RUNNING_LIMIT ?? 0);
export const tokenSigningKey = (): SigningKey => (signingKey ??= secretsManagerKey(requireEnv('TOKEN_SECRET_ARN')));
export const webhookStore = (): DynamoWebhookStore => (webhooks ??= new DynamoWebhookStore(requireEnv('TASKS_TABLE')));
/** Seals (webhooks function) and opens (integrations worker) signing secrets under the key `WEBHOOK_SECRETS_KEY_ARN`; IAM lets each do only its half. */
export const webhookSecrets = (): KmsWebhookSecrets => (webhookSecretKeeper ??= new KmsWebhookSecrets(requireEnv('WEBHOOK_SECRETS_KEY_ARN')));
/** Per-tenant in-flight limit (stack configuration). */
export const inflightLimit = (): number => Number(process.env.TENANT_INFLIGHT_LIMIT ?? 100);
export const connectionsPusher = (): ConnectionsPusher => (pusher ??= new ConnectionsPusher(requireEnv('WS_MANAGEMENT_ENDPOINT')));
