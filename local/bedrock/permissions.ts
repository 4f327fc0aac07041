import { LOCAL_ACCOUNT, LOCAL_REGION } from '../template.ts';
import type { RequiredPermission } from '../iam/caller.ts';

/** The IAM action ConverseStream is authorized as. */
export const CONVERSE_STREAM_ACTION = 'bedrock:InvokeModelWithResponseStream' as const;

/** Geographic prefixes of cross-region inference profile ids (`us.anthropic...`). */
const INFERENCE_PROFILE_PREFIX = /^(us|us-gov|eu|apac|jp|au|ca|global)\./;

/**
 * The resource a ConverseStream call on `modelId` is authorized on: the foundation model's ARN
 * (no account), the inference profile's ARN for a region-prefixed id, or the id itself when it is an ARN.
 */
export const modelResourceArn = (modelId: string): string => {
  if (modelId.startsWith('arn:')) return modelId;
  if (INFERENCE_PROFILE_PREFIX.test(modelId)) return `arn:aws:bedrock:${LOCAL_REGION}:${LOCAL_ACCOUNT}:inference-profile/${modelId}`;
  return `arn:aws:bedrock:${LOCAL_REGION}::foundation-model/${modelId}`;
};

/** The permission a ConverseStream call on `modelId` needs. */
export const converseStreamPermissions = (modelId: string): RequiredPermission[] => [{ action: CONVERSE_STREAM_ACTION, resource: modelResourceArn(modelId) }];
