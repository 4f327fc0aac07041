import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import formatsPlugin from 'ajv-formats';

/** ajv-formats is CommonJS: under NodeNext its default import is the module object, which is the plugin. */
const addFormats = formatsPlugin as unknown as typeof formatsPlugin.default;

type Json = Record<string, any>;

/** A response as the test saw it on the wire. */
export interface ObservedResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

const DOCUMENT_ID = 'urn:offload:openapi';
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

/** JSON Pointer escaping (RFC 6901). */
const escape = (token: string): string => token.replace(/~/g, '~0').replace(/\//g, '~1');
const describeErrors = (errors: ErrorObject[] | null | undefined): string =>
  (errors ?? []).map((error) => `${error.instancePath || '(root)'} ${error.message} ${JSON.stringify(error.params)}`).join('; ');

/**
 * Checks real HTTP exchanges against an OpenAPI 3.1 document with a JSON Schema 2020-12 validator,
 * and records which documented (route, status) pairs were exercised.
 *
 * A response passes when its status is declared for the operation, every header the document
 * marks required is present, every declared header present matches its schema, its media type is
 * one the document lists (or it has no body when none is listed), and its body validates.
 */
export class OpenApiContract {
  private readonly ajv: Ajv2020;
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly exercised = new Set<string>();
  private readonly undeclared: string[] = [];

  public constructor(private readonly document: Json) {
    this.ajv = new Ajv2020({ allErrors: true, strict: true });
    addFormats(this.ajv);
    // The document's own top-level fields are not schema keywords: declare them so strict mode
    // still rejects unknown keywords inside the schemas.
    this.ajv.addVocabulary(Object.keys(document));
    this.ajv.addSchema(document, DOCUMENT_ID);
  }

  /** Every documented pair, as `METHOD /path STATUS`. */
  public get documentedPairs(): string[] {
    return Object.entries(this.document.paths as Json).flatMap(([path, item]) =>
      METHODS.filter((method) => item[method]).flatMap((method) => Object.keys(item[method].responses).map((status) => `${method.toUpperCase()} ${path} ${status}`)),
    );
  }

  /** Pairs documented but never seen in a validated response. */
  public get unexercised(): string[] {
    return this.documentedPairs.filter((pair) => !this.exercised.has(pair));
  }

  /** Responses whose status the document does not declare. */
  public get undeclaredStatuses(): readonly string[] {
    return this.undeclared;
  }

  /**
   * Validates one response of `METHOD path` (a path template of the document, e.g.
   * `/v1/tasks/{id}`). Throws with every violation found; records the pair when it passes.
   */
  public check(method: string, path: string, response: ObservedResponse): void {
    const lower = method.toLowerCase();
    const operation = (this.document.paths as Json)[path]?.[lower];
    if (!operation) throw new Error(`${method} ${path} is not documented`);
    const pair = `${method.toUpperCase()} ${path} ${response.status}`;
    const declared = operation.responses[String(response.status)];
    if (!declared) {
      this.undeclared.push(pair);
      throw new Error(`${pair}: status not declared (body: ${response.text.slice(0, 300)})`);
    }
    const { value: definition, pointer } = this.resolve(declared, `/paths/${escape(path)}/${lower}/responses/${response.status}`);
    const problems: string[] = [];

    for (const [name, declaredHeader] of Object.entries((definition.headers ?? {}) as Json)) {
      const { value: headerDefinition, pointer: headerPointer } = this.resolve(declaredHeader, `${pointer}/headers/${escape(name)}`);
      const actual = response.headers.get(name);
      if (actual === null) {
        if (headerDefinition.required) problems.push(`required header ${name} missing`);
        continue;
      }
      const validate = this.schemaAt(`${headerPointer}/schema`);
      if (!validate(actual)) problems.push(`header ${name}: ${JSON.stringify(actual)} ${describeErrors(validate.errors)}`);
    }

    const mediaType = (response.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    const content = (definition.content ?? {}) as Json;
    if (Object.keys(content).length === 0) {
      if (response.text !== '') problems.push(`no body documented, got ${JSON.stringify(response.text.slice(0, 200))}`);
    } else if (!(mediaType in content)) {
      problems.push(`content-type ${JSON.stringify(mediaType)} is not one of ${Object.keys(content).join(', ')}`);
    } else {
      let body: unknown;
      try {
        body = JSON.parse(response.text);
      } catch {
        problems.push(`body is not JSON: ${response.text.slice(0, 200)}`);
      }
      const validate = this.schemaAt(`${pointer}/content/${escape(mediaType)}/schema`);
      if (body !== undefined && !validate(body)) problems.push(`body: ${describeErrors(validate.errors)}`);
    }

    if (problems.length) throw new Error(`${pair} violates the document: ${problems.join(' | ')}`);
    this.exercised.add(pair);
  }

  /** Validates a request body against the operation's `application/json` request body schema. */
  public requestBodyErrors(method: string, path: string, body: unknown): string | undefined {
    const lower = method.toLowerCase();
    if (!(this.document.paths as Json)[path]?.[lower]?.requestBody) throw new Error(`${method} ${path} documents no request body`);
    const validate = this.schemaAt(`/paths/${escape(path)}/${lower}/requestBody/content/application~1json/schema`);
    return validate(body) ? undefined : describeErrors(validate.errors);
  }

  /** Follows an OpenAPI `$ref` (components) to the object and its pointer within the document. */
  private resolve(value: Json, pointer: string): { value: Json; pointer: string } {
    if (typeof value.$ref !== 'string') return { value, pointer };
    const target = (value.$ref as string).replace(/^#/, '');
    const resolved = target
      .split('/')
      .slice(1)
      .reduce<Json | undefined>((node, token) => node?.[token.replace(/~1/g, '/').replace(/~0/g, '~')], this.document);
    if (!resolved) throw new Error(`dangling $ref ${value.$ref}`);
    return this.resolve(resolved, target);
  }

  private schemaAt(pointer: string): ValidateFunction {
    let validate = this.compiled.get(pointer);
    if (!validate) {
      validate = this.ajv.compile({ $ref: `${DOCUMENT_ID}#${pointer}` });
      this.compiled.set(pointer, validate);
    }
    return validate;
  }
}
