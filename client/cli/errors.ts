import { ExitCode } from './exit-codes.ts';

/** A CLI failure with the exit code it maps to. */
export class CliError extends Error {
  public constructor(
    message: string,
    public readonly exitCode: ExitCode,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CliError';
  }
}

/** Bad command line: unknown command or option, missing or invalid argument (exit 2). */
export class UsageError extends CliError {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, ExitCode.usage, options);
    this.name = 'UsageError';
  }
}

/** No endpoint, credential or admin resource could be found (exit 2). */
export class ConfigurationError extends CliError {
  public constructor(message: string) {
    super(message, ExitCode.usage);
    this.name = 'ConfigurationError';
  }
}
