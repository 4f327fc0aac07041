import { InvalidStackNameError } from './errors.ts';

/** Name of the stack `cdk deploy` and the local runtime use unless context `stackName` says otherwise. */
export const DEFAULT_STACK_NAME = 'Offload' as const;

/** Context key naming the stack: `cdk deploy -c stackName=MyOffload`. */
export const STACK_NAME_CONTEXT = 'stackName' as const;

/** CloudFormation's rules: a letter, then letters, digits and hyphens, 128 characters at most. */
const STACK_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9-]*$/;
const STACK_NAME_MAX_LENGTH = 128;

/**
 * Checks a stack name against CloudFormation's rules and returns it.
 *
 * @throws {@link InvalidStackNameError} naming the rule it breaks
 */
export const validateStackName = (name: unknown): string => {
  if (typeof name !== 'string' || name.length === 0) throw new InvalidStackNameError(`stackName must be a non-empty string, got ${JSON.stringify(name)}`);
  if (name.length > STACK_NAME_MAX_LENGTH) throw new InvalidStackNameError(`stackName "${name}" is ${name.length} characters long; CloudFormation allows ${STACK_NAME_MAX_LENGTH}`);
  if (!STACK_NAME_PATTERN.test(name)) {
    throw new InvalidStackNameError(`stackName "${name}" is not a CloudFormation stack name: it must start with a letter and hold only letters, digits and hyphens`);
  }
  return name;
};
