import { Stack, Token } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { createHash } from 'node:crypto';
import { StackConfigurationError } from './errors.ts';

/**
 * Characters budgeted for the region when it is known only at deploy time (`AWS::Region`): the
 * longest region codes today are 15 (`us-isof-south-1`).
 */
const MAX_REGION_LENGTH = 20;
/** Length of the hash that stands in for the cut-off part of a long stack name. */
const HASH_LENGTH = 8;

/**
 * A physical name for a resource whose names are unique per *account* rather than per region or
 * stack (CloudFront origin access controls and cache policies, for example):
 * `<stack name>-<purpose>-<region>`, so two Offload stacks (another name, or the same name in
 * another region) never collide. A stack name too long for `maxLength` is cut and ends in a hash
 * of the whole name instead, so it stays unique.
 *
 * @param scope - a construct of the stack the resource belongs to
 * @param purpose - what the resource is, letters and digits (`Dashboard`, `TaskReads`)
 * @param maxLength - the service's limit on the name
 */
export const accountUniqueName = (scope: Construct, purpose: string, maxLength: number): string => {
  const stack = Stack.of(scope);
  const { stackName, region } = stack;
  if (Token.isUnresolved(stackName)) throw new StackConfigurationError(`accountUniqueName needs a literal stack name (${stack.node.path})`);
  const regionLength = Token.isUnresolved(region) ? MAX_REGION_LENGTH : region.length;
  const budget = maxLength - regionLength - purpose.length - 2;
  if (budget < 2 * HASH_LENGTH) throw new StackConfigurationError(`purpose "${purpose}" leaves no room for the stack name within ${maxLength} characters`);
  const stem =
    stackName.length <= budget ? stackName : `${stackName.slice(0, budget - HASH_LENGTH - 1)}-${createHash('sha256').update(stackName).digest('hex').slice(0, HASH_LENGTH)}`;
  return `${stem}-${purpose}-${region}`;
};
