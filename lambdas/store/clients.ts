import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';

/**
 * AWS SDK clients, created once per execution environment at module scope. Endpoints come from
 * the standard `AWS_ENDPOINT_URL_<SERVICE>` variables when set (the local runtime sets them).
 */
export const ddb = DynamoDBDocumentClient.from(new DynamoDBClient({ maxAttempts: 5 }), {
  marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
});

export const eventBridge = new EventBridgeClient({ maxAttempts: 5 });

/** Reads a required environment variable, failing loudly at cold start when it is missing. */
export const requireEnv = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`Missing environment variable ${name}`);
  return value;
};
