import * as z from 'zod/mini';

/** A JSON Schema, as plain data. */
export type JsonSchema = { readonly [keyword: string]: unknown };

/**
 * Dialects the documents use: OpenAPI 3.1 takes JSON Schema 2020-12, AsyncAPI 3.0 its own schema
 * format, a superset of draft-07.
 */
export type SchemaTarget = 'draft-2020-12' | 'draft-7';

/**
 * The JSON Schema of a zod schema, as a request validator sees it (`io: 'input'`), without the
 * `$schema` keyword (the enclosing document declares the dialect). Refinements are not
 * representable and are left to the schema's `description`.
 *
 * @example
 * ```ts
 * fromZod(z.strictObject({ prompt: z.string() }), 'draft-2020-12');
 * // { type: 'object', properties: { prompt: { type: 'string' } }, required: ['prompt'], additionalProperties: false }
 * ```
 */
export const fromZod = (schema: z.core.$ZodType, target: SchemaTarget): JsonSchema => {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'input', target }) as JsonSchema;
  return rest;
};

/** A `$ref` to a named schema of the document's `components`. */
export const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });

/** Component names allow `[A-Za-z0-9._-]`; a task type `webhook.delivery` becomes `WebhookDelivery`. */
export const pascalCase = (name: string): string =>
  name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
