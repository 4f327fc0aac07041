/**
 * Errors of the local KMS, answered as AWS KMS answers them over the AWS JSON 1.1 protocol:
 * `400` with `__type` (and `x-amzn-errortype`) naming the exception, and AWS's message when it sends one.
 */
export class KmsServiceError extends Error {
  public constructor(
    /** The exception's name, as `__type`. */
    public readonly type: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'KmsServiceError';
  }
}

/** The key id, ARN or alias names no key of this runtime. */
export class KmsNotFoundError extends KmsServiceError {
  public constructor(keyId: string) {
    super('NotFoundException', `Key '${keyId}' does not exist`);
    this.name = 'KmsNotFoundError';
  }
}

/** The key is disabled. */
export class KmsDisabledError extends KmsServiceError {
  public constructor(keyArn: string) {
    super('DisabledException', `${keyArn} is disabled.`);
    this.name = 'KmsDisabledError';
  }
}

/**
 * The ciphertext is not one of this runtime's, was altered, or its encryption context differs
 * from the one it was made with (AWS sends no message with this exception).
 */
export class KmsInvalidCiphertextError extends KmsServiceError {
  public constructor(options?: { cause?: unknown }) {
    super('InvalidCiphertextException', '', options);
    this.name = 'KmsInvalidCiphertextError';
  }
}

/** Decrypt named a key other than the one the ciphertext was made with. */
export class KmsIncorrectKeyError extends KmsServiceError {
  public constructor() {
    super('IncorrectKeyException', 'The key ID in the request does not identify a CMK that can perform this operation.');
    this.name = 'KmsIncorrectKeyError';
  }
}

/** A parameter is missing or out of range. */
export class KmsValidationError extends KmsServiceError {
  public constructor(message: string) {
    super('ValidationException', message);
    this.name = 'KmsValidationError';
  }
}
