import { describe, expect, it } from 'vitest';
import { validateActions } from '../../local/iam/action-catalog.ts';
import { UnknownIamActionError } from '../../local/iam/errors.ts';
import { MANAGED_POLICIES } from '../../local/iam/managed-policies.ts';
import { listOf } from '../../local/iam/evaluate.ts';

describe('validateActions', () => {
  it('accepts existing actions and patterns, whatever their case', async () => {
    // Act
    const check = validateActions([
      { logicalId: 'Policy', action: 'dynamodb:PutItem' },
      { logicalId: 'Policy', action: 'S3:GetObject*' },
      { logicalId: 'Policy', action: 'execute-api:ManageConnections' },
      { logicalId: 'Policy', action: 'sqs:*' },
    ]);

    // Assess
    await expect(check).resolves.toBeUndefined();
  });

  it('refuses a misspelt action or an unknown service, naming the policy and the action', async () => {
    // Act
    const misspelt = validateActions([{ logicalId: 'FnPolicy', action: 'dynamodb:PutItems' }]);
    const service = validateActions([{ logicalId: 'FnPolicy', action: 'dynamo:PutItem' }]);

    // Assess
    await expect(misspelt).rejects.toThrow(UnknownIamActionError);
    await expect(misspelt).rejects.toThrow('FnPolicy: IAM action dynamodb:PutItems does not exist');
    await expect(service).rejects.toThrow('FnPolicy: IAM action dynamo:PutItem does not exist');
  });

  it('knows every action of the managed policy catalogue', async () => {
    // Prepare
    const entries = Object.entries(MANAGED_POLICIES).flatMap(([arn, policy]) => listOf(policy.Statement).flatMap((statement) => listOf(statement.Action).map((action) => ({ logicalId: arn, action }))));

    // Act
    const check = validateActions(entries);

    // Assess
    await expect(check).resolves.toBeUndefined();
  });
});
