import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import formatsPlugin from 'ajv-formats';

/** ajv-formats is CommonJS: under NodeNext its default import is the module object, which is the plugin. */
const addFormats = formatsPlugin as unknown as typeof formatsPlugin.default;

type Json = Record<string, any>;

const DOCUMENT_ID = 'urn:offload:asyncapi';
const describeErrors = (errors: ErrorObject[] | null | undefined): string =>
  (errors ?? []).map((error) => `${error.instancePath || '(root)'} ${error.message} ${JSON.stringify(error.params)}`).join('; ');

/**
 * Checks real WebSocket frames against an AsyncAPI 3.0 document (payload schemas are draft-07,
 * AsyncAPI's default schema format) and records which documented messages were exercised.
 *
 * Server frames are matched to the message whose payload pins `type` to the frame's `type`;
 * client messages are checked before they are sent, so the test proves that what the document
 * allows the server accepts (and what it forbids, the server refuses).
 */
export class AsyncApiContract {
  private readonly ajv: Ajv;
  private readonly payloads = new Map<string, ValidateFunction>();
  private readonly exercised = new Set<string>();
  private readonly undocumented: string[] = [];

  public constructor(private readonly document: Json) {
    this.ajv = new Ajv({ allErrors: true, strict: true });
    addFormats(this.ajv);
    // The document's own top-level fields are not schema keywords: declare them so strict mode
    // still rejects unknown keywords inside the schemas.
    this.ajv.addVocabulary(Object.keys(document));
    this.ajv.addSchema(document, DOCUMENT_ID);
  }

  /** Names of the messages the server sends (its `send` operations and replies). */
  public get serverMessages(): string[] {
    return this.messagesOf((operation) => [...(operation.action === 'send' ? operation.messages : []), ...(operation.reply?.messages ?? [])]);
  }

  /** Names of the messages the server receives. */
  public get clientMessages(): string[] {
    return this.messagesOf((operation) => (operation.action === 'receive' ? operation.messages : []));
  }

  /** Documented messages never exercised by a validated frame. */
  public get unexercised(): string[] {
    return [...this.clientMessages, ...this.serverMessages].filter((name) => !this.exercised.has(name));
  }

  /** Server frames that matched no documented message. */
  public get undocumentedFrames(): readonly string[] {
    return this.undocumented;
  }

  /** Validates a frame the server sent; throws on a violation, records the message when it passes. */
  public checkServerFrame(frame: unknown): void {
    const type = (frame as Json | null)?.type;
    const name = this.serverMessages.find((candidate) => this.payloadSchema(candidate).properties?.type?.const === type);
    if (!name) {
      this.undocumented.push(JSON.stringify(frame).slice(0, 300));
      throw new Error(`undocumented server frame: ${JSON.stringify(frame).slice(0, 300)}`);
    }
    const validate = this.validator(name);
    if (!validate(frame)) throw new Error(`server message ${name} violates the document: ${describeErrors(validate.errors)} in ${JSON.stringify(frame).slice(0, 300)}`);
    this.exercised.add(name);
  }

  /**
   * Validates a client message against its documented payload. `expectValid: true` records it
   * as exercised (and throws if the document rejects it); `false` asserts the document rejects it.
   */
  public checkClientMessage(name: string, message: unknown, expectValid = true): void {
    if (!this.clientMessages.includes(name)) throw new Error(`${name} is not a documented client message`);
    const validate = this.validator(name);
    const valid = validate(message);
    if (expectValid && !valid) throw new Error(`client message ${name} violates the document: ${describeErrors(validate.errors)}`);
    if (!expectValid && valid) throw new Error(`the document accepts ${JSON.stringify(message)}, which the server refuses`);
    if (expectValid) this.exercised.add(name);
  }

  /** The payload schema of a message, `$ref`s followed. */
  private payloadSchema(name: string): Json {
    let schema = this.document.components.messages[name].payload as Json;
    while (typeof schema.$ref === 'string') schema = this.pointer(schema.$ref);
    return schema;
  }

  private validator(name: string): ValidateFunction {
    let validate = this.payloads.get(name);
    if (!validate) {
      validate = this.ajv.compile({ $ref: `${DOCUMENT_ID}#/components/messages/${name}/payload` });
      this.payloads.set(name, validate);
    }
    return validate;
  }

  private messagesOf(pick: (operation: Json) => Json[]): string[] {
    const names = Object.values(this.document.operations as Json)
      .flatMap(pick)
      .map((reference) => {
        const channelMessage = this.pointer(reference.$ref);
        return (channelMessage.$ref as string).split('/').at(-1)!;
      });
    return [...new Set(names)];
  }

  private pointer(ref: string): Json {
    const resolved = ref
      .replace(/^#/, '')
      .split('/')
      .slice(1)
      .reduce<Json | undefined>((node, token) => node?.[token.replace(/~1/g, '/').replace(/~0/g, '~')], this.document);
    if (!resolved) throw new Error(`dangling $ref ${ref}`);
    return resolved;
  }
}
