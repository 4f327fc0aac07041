import { SubmitRequest } from '../core/submit.ts';
import { findTaskDefinition, SUBMITTABLE_TYPES, TASK_DEFINITIONS } from '../tasks/registry.ts';
import { fromZod, pascalCase, ref, type JsonSchema, type SchemaTarget } from './json-schema.ts';

/** Every task type that exists (including internal ones a tenant can read but not submit). */
export const allTaskTypes = (): string[] => TASK_DEFINITIONS.map((definition) => definition.type);

/** Task types clients may submit, in registry order. */
export const submittableTaskTypes = (): string[] => allTaskTypes().filter((type) => SUBMITTABLE_TYPES.has(type));

/** Component name of a task type's input schema: `completion` → `CompletionInput`. */
export const inputSchemaName = (type: string): string => `${pascalCase(type)}Input`;

/** Component name of a task type's submit envelope: `completion` → `CompletionSubmitRequest`. */
export const submitSchemaName = (type: string): string => `${pascalCase(type)}SubmitRequest`;

/**
 * Schemas of every submittable task type, derived from the definitions' zod schemas: the input
 * (`<Type>Input`) and the `POST /v1/tasks` envelope with `type` fixed to it
 * (`<Type>SubmitRequest`), plus `SubmitRequest`, one of them. A new task type appears here as soon
 * as it is registered.
 *
 * @example
 * ```ts
 * taskTypeSchemas('draft-2020-12').CompletionInput; // { type: 'object', properties: { prompt: ... } }
 * ```
 */
export const taskTypeSchemas = (target: SchemaTarget): Record<string, JsonSchema> => {
  const envelope = fromZod(SubmitRequest, target) as { properties: Record<string, JsonSchema> } & JsonSchema;
  const schemas: Record<string, JsonSchema> = {};
  for (const type of submittableTaskTypes()) {
    const definition = findTaskDefinition(type)!;
    schemas[inputSchemaName(type)] = { description: `Input of a \`${type}\` task (${definition.class} workload class).`, ...fromZod(definition.input, target) };
    schemas[submitSchemaName(type)] = {
      ...envelope,
      description: `Submits a \`${type}\` task.`,
      properties: {
        type: { const: type },
        input: ref(inputSchemaName(type)),
        sessionId: {
          ...envelope.properties.sessionId,
          description:
            definition.ordering === 'session'
              ? 'Tasks of this type sharing a sessionId run one at a time, in submit order.'
              : 'A label carried on the task and its events (this type does not order by session).',
        },
      },
    };
  }
  schemas.SubmitRequest = {
    description: 'The body of `POST /v1/tasks` (and, with `action: "submit"`, of the WebSocket `submit` message): one of the submittable task types.',
    oneOf: submittableTaskTypes().map((type) => ref(submitSchemaName(type))),
  };
  return schemas;
};
