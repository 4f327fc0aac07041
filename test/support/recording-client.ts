import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * A document client that counts the commands it sends, by command class name (`QueryCommand`),
 * for tests that pin how many calls an operation costs.
 */
export const recordingClient = (client: DynamoDBDocumentClient): { client: DynamoDBDocumentClient; counts: Map<string, number>; count: (name: string) => number } => {
  const counts = new Map<string, number>();
  const proxy = new Proxy(client, {
    get: (target, property, receiver) =>
      property === 'send'
        ? (command: object, ...rest: unknown[]) => {
            counts.set(command.constructor.name, (counts.get(command.constructor.name) ?? 0) + 1);
            return (target.send as (...args: unknown[]) => unknown).call(target, command, ...rest);
          }
        : Reflect.get(target, property, receiver),
  });
  return { client: proxy, counts, count: (name) => counts.get(name) ?? 0 };
};
