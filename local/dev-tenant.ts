import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { authenticateApiKey, createTenant } from '../lambdas/core/auth.ts';
import { DynamoTenantStore } from '../lambdas/store/tenant-store.ts';
import { PRIVATE_MODES, writePrivateFile } from './private-file.ts';

/** The development tenant the local runtime creates on first start. */
export interface DevTenant {
  readonly id: string;
  readonly apiKey: string;
}

/**
 * Returns the development tenant, creating it (and its API key, stored hashed) when the data
 * directory has none or its key no longer resolves. The plain key is kept in a local file so a
 * restart keeps the same credentials; it is a development convenience only.
 */
export const ensureDevTenant = async (client: DynamoDBClient, tableName: string, file: string): Promise<DevTenant> => {
  const store = new DynamoTenantStore(tableName, DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }));
  if (existsSync(file)) {
    chmodSync(file, PRIVATE_MODES.file); // an older runtime wrote it with the default mode
    const saved = JSON.parse(readFileSync(file, 'utf8')) as DevTenant;
    const principal = await authenticateApiKey(store, saved.apiKey);
    if (principal?.tenantId === saved.id) return saved;
  }
  const { tenantId, apiKey } = await createTenant(store, 'development', { tenantId: 'ten_dev' });
  const tenant = { id: tenantId, apiKey };
  writePrivateFile(file, JSON.stringify(tenant, null, 2) + '\n');
  return tenant;
};
