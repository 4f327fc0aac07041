/** One streamed chunk of a model's output. */
export interface ModelChunk {
  readonly text: string;
}

/** Token accounting of a completion. */
export interface ModelUsage {
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly totalTokens: number;
}

/** A request to a model provider. */
export interface ModelRequest {
  readonly model: string;
  readonly prompt: string;
  readonly maxTokens: number;
  readonly signal: AbortSignal;
  /**
   * Text already produced by an interrupted earlier attempt: the provider continues after it and
   * streams only the rest.
   */
  readonly resumeAfter?: string;
}

/** A streaming text-generation provider. */
export interface ModelProvider {
  /** Whether this provider serves the given model name. */
  supports(model: string): boolean;
  /** Streams chunks, then returns usage. Must stop promptly when `signal` aborts. */
  stream(request: ModelRequest): AsyncGenerator<ModelChunk, ModelUsage, void>;
}
