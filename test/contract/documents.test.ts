import specs from '@asyncapi/specs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import formatsPlugin from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { asyncApiDocument } from '../../lambdas/contract/asyncapi.ts';
import { openApiDocument } from '../../lambdas/contract/openapi.ts';
import { inputSchemaName, submittableTaskTypes } from '../../lambdas/contract/task-types.ts';
import { findTaskDefinition } from '../../lambdas/tasks/registry.ts';
import { AsyncApiContract } from './asyncapi-contract.ts';
import { OpenApiContract } from './openapi-contract.ts';

/**
 * The documents themselves, without a runtime: valid per their specifications' own schemas, every
 * reference resolving, examples matching their schemas, task input schemas agreeing with the zod
 * schemas they derive from, and the contract checkers able to fail.
 */

const addFormats = formatsPlugin as unknown as typeof formatsPlugin.default;
type Json = Record<string, any>;
const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

const validateOpenApi = async (document: unknown) => new Validator().validate(document as Json);
const validateAsyncApi = (document: unknown) => {
  // The AsyncAPI schema bundles its own copy of the draft-07 meta-schema.
  const ajv = new Ajv({ strict: false, allErrors: true, meta: false, validateSchema: false });
  addFormats(ajv);
  const validate = ajv.compile(specs.schemas['3.0.0']);
  return { valid: validate(document), errors: validate.errors };
};

/** Every `$ref` in a document, with whether it resolves inside the document. */
const references = (document: Json): { ref: string; resolves: boolean }[] => {
  const found: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === '$ref' && typeof value === 'string') found.push(value);
        else walk(value);
      }
    }
  };
  walk(document);
  return found.map((ref) => ({
    ref,
    resolves:
      ref.startsWith('#/') &&
      ref
        .slice(2)
        .split('/')
        .reduce<unknown>((node, token) => (node as Json | undefined)?.[token.replace(/~1/g, '/').replace(/~0/g, '~')], document) !== undefined,
  }));
};

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1, and the validator rejects a broken copy', async () => {
    // Prepare
    const broken = clone(openApiDocument()) as Json;
    delete broken.paths['/v1/tasks'].post.responses['202'].description;
    // Act
    const result = await validateOpenApi(clone(openApiDocument()));
    const brokenResult = await validateOpenApi(broken);
    // Assess
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(brokenResult.valid).toBe(false);
  });

  it('resolves every $ref', () => {
    // Act
    const refs = references(openApiDocument());
    // Assess
    expect(refs.length).toBeGreaterThan(50);
    expect(refs.filter((ref) => !ref.resolves)).toEqual([]);
  });

  it('documents an input schema and a submit envelope for every submittable task type', () => {
    // Prepare
    const schemas = openApiDocument().components.schemas as Json;
    // Act
    const variants = (schemas.SubmitRequest.oneOf as { $ref: string }[]).map((variant) => variant.$ref);
    // Assess
    expect(submittableTaskTypes()).toContain('completion');
    for (const type of submittableTaskTypes()) expect(schemas[inputSchemaName(type)]).toMatchObject({ type: 'object' });
    expect(variants).toHaveLength(submittableTaskTypes().length);
  });

  it('derives task inputs that accept and reject what the task definitions do (refinements aside)', () => {
    // Prepare
    const ajv = new Ajv2020({ strict: true });
    addFormats(ajv);
    const document = clone(openApiDocument()) as Json;
    ajv.addVocabulary(Object.keys(document));
    ajv.addSchema(document, 'urn:offload:doc');
    const validate = ajv.compile({ $ref: `urn:offload:doc#/components/schemas/${inputSchemaName('completion')}` });
    const zod = findTaskDefinition('completion')!.input;
    const samples: unknown[] = [
      { prompt: 'hi' },
      { prompt: 'hi', maxTokens: 1, model: 'sim-fast' },
      { prompt: 'x'.repeat(32_000), maxTokens: 4096 },
      {},
      { prompt: '' },
      { prompt: 'x'.repeat(32_001) },
      { prompt: 7 },
      { prompt: 'hi', maxTokens: 0 },
      { prompt: 'hi', maxTokens: 4097 },
      { prompt: 'hi', maxTokens: 1.5 },
      { prompt: 'hi', maxTokens: '5' },
      { prompt: 'hi', model: '' },
      { prompt: 'hi', model: 'm'.repeat(101) },
      { prompt: 'hi', extra: true },
      [],
      null,
    ];
    // Act
    const disagreements = samples.filter((sample) => validate(sample) !== zod.safeParse(sample).success);
    // Assess: the one thing JSON Schema cannot say is which models this deployment serves.
    expect(disagreements).toEqual([]);
    expect(validate({ prompt: 'hi', model: 'gpt-unknown' })).toBe(true);
    expect(zod.safeParse({ prompt: 'hi', model: 'gpt-unknown' }).success).toBe(false);
    expect((document.components.schemas[inputSchemaName('completion')] as Json).properties.model.description).toContain('400');
  });
});

describe('the AsyncAPI document', () => {
  it('is valid AsyncAPI 3.0, and the validator rejects a broken copy', () => {
    // Prepare
    const broken = clone(asyncApiDocument()) as Json;
    broken.operations.subscribe.action = 'listen';
    // Act
    const result = validateAsyncApi(clone(asyncApiDocument()));
    const brokenResult = validateAsyncApi(broken);
    // Assess
    expect(result.errors ?? null).toBeNull();
    expect(result.valid).toBe(true);
    expect(brokenResult.valid).toBe(false);
  });

  it('resolves every $ref', () => {
    // Act
    const refs = references(asyncApiDocument());
    // Assess
    expect(refs.length).toBeGreaterThan(20);
    expect(refs.filter((ref) => !ref.resolves)).toEqual([]);
  });

  it('has examples that match their own message schemas', () => {
    // Prepare
    const document = clone(asyncApiDocument()) as Json;
    const contract = new AsyncApiContract(document);
    // Act
    for (const name of contract.clientMessages) for (const example of document.components.messages[name].examples) contract.checkClientMessage(name, example.payload);
    for (const name of contract.serverMessages) for (const example of document.components.messages[name].examples) contract.checkServerFrame(example.payload);
    // Assess
    expect(contract.unexercised).toEqual([]);
  });
});

describe('the contract checkers can fail', () => {
  const task = {
    taskId: 'tsk_01KAQ8Z4J6W2M3N5P7R9S1T3V5',
    type: 'completion',
    status: 'queued',
    progress: { seq: 0 },
    attempts: 0,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
  };
  const response = (status: number, body: unknown, headers: Record<string, string>) => ({
    status,
    headers: new Headers(headers),
    text: body === undefined ? '' : JSON.stringify(body),
  });
  const accepted = { 'content-type': 'application/json', location: `/v1/tasks/${task.taskId}` };

  it('OpenApiContract rejects undeclared statuses, missing headers, wrong media types and bodies, and records what passed', () => {
    // Prepare
    const contract = new OpenApiContract(clone(openApiDocument()));
    // Act
    contract.check('POST', '/v1/tasks', response(202, task, accepted));
    // Assess
    expect(() => contract.check('POST', '/v1/tasks', response(201, task, accepted))).toThrow(/not declared/);
    expect(() => contract.check('POST', '/v1/tasks', response(202, task, { 'content-type': 'application/json' }))).toThrow(/Location missing/i);
    expect(() => contract.check('POST', '/v1/tasks', response(202, task, { ...accepted, 'content-type': 'text/plain' }))).toThrow(/content-type/);
    expect(() => contract.check('POST', '/v1/tasks', response(202, { ...task, status: 'done' }, accepted))).toThrow(/body/);
    expect(() => contract.check('POST', '/v1/tasks', response(202, { ...task, secret: 1 }, accepted))).toThrow(/additional/);
    expect(() => contract.check('POST', '/v1/tasks', response(202, task, { ...accepted, 'idempotent-replayed': 'yes' }))).toThrow(/Idempotent-Replayed/);
    expect(() => contract.check('POST', '/v1/tasks', response(400, { type: 'x', title: 'x', status: 400, detail: 'x' }, { 'content-type': 'application/problem+json' }))).toThrow(/body/);
    expect(contract.undeclaredStatuses).toEqual(['POST /v1/tasks 201']);
    expect(contract.unexercised).not.toContain('POST /v1/tasks 202');
    expect(contract.unexercised).toContain('POST /v1/tasks 400');
  });

  it('AsyncApiContract rejects undocumented frames and bad payloads', () => {
    // Prepare
    const contract = new AsyncApiContract(clone(asyncApiDocument()));
    // Act / Assess
    expect(() => contract.checkServerFrame({ message: 'Too Many Requests' })).toThrow(/undocumented/);
    expect(() => contract.checkServerFrame({ type: 'progress', taskId: task.taskId, seq: 0, data: {} })).toThrow(/seq/);
    expect(() => contract.checkServerFrame({ type: 'status', taskId: task.taskId, status: 'running' })).toThrow(/status/);
    expect(() => contract.checkServerFrame({ type: 'progressBatch', taskId: task.taskId, entries: [{ seq: 1, data: {} }] })).toThrow(/entries/);
    expect(() => contract.checkServerFrame({ type: 'progressBatch', taskId: task.taskId, entries: [{ seq: 1, data: {} }, { seq: 0, data: {} }] })).toThrow(/seq/);
    expect(() => contract.checkServerFrame({ type: 'replayPaused', taskId: task.taskId })).toThrow(/nextAfter/);
    expect(() => contract.checkClientMessage('subscribe', { action: 'subscribe', taskId: task.taskId, after: 1.5 })).toThrow(/after/);
    expect(contract.undocumentedFrames).toHaveLength(1);
  });
});
