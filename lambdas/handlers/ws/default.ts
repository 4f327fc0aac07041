import { ValidationError } from '../../core/errors.ts';
import { wsHandler } from './ws.ts';

/** `$default`: any message whose `action` names no route. */
export const handler = wsHandler(async () => {
  throw new ValidationError('Unknown action. Use subscribe, unsubscribe, submit or ping.');
});
