import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import path from 'node:path';

/** Where the Lambda sources live. */
export const LAMBDAS_DIR = path.resolve(import.meta.dirname, '../../lambdas');

/** Props of {@link OffloadFunction}. */
export interface OffloadFunctionProps {
  /** Handler file, relative to `lambdas/`. */
  readonly entry: string;
  /** Environment variables. */
  readonly environment?: Record<string, string>;
  /** @default Duration.seconds(10) */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  /** @default none */
  readonly reservedConcurrentExecutions?: number;
  /** Human-readable purpose, used as the function description. */
  readonly description: string;
}

/**
 * A Node.js 24 arm64 Lambda bundled by esbuild (minified ESM, AWS SDK v3 left to the runtime),
 * JSON logs into a log group with bounded retention, and X-Ray tracing.
 */
export class OffloadFunction extends NodejsFunction {
  public constructor(scope: Construct, id: string, props: OffloadFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    const options: NodejsFunctionProps = {
      entry: path.join(LAMBDAS_DIR, props.entry),
      handler: 'handler',
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      timeout: props.timeout ?? Duration.seconds(10),
      memorySize: props.memorySize ?? 256,
      description: props.description,
      logGroup,
      loggingFormat: LoggingFormat.JSON,
      tracing: Tracing.ACTIVE,
      ...(props.reservedConcurrentExecutions !== undefined ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions } : {}),
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: 'offload',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        minify: true,
        sourceMap: true,
        target: 'node24',
        externalModules: ['@aws-sdk/*'],
        // ESM output still needs require() for a few CJS dependencies.
        banner: "import { createRequire as __offloadCreateRequire } from 'node:module'; const require = __offloadCreateRequire(import.meta.url);",
        mainFields: ['module', 'main'],
      },
    };
    super(scope, id, options);
    Stack.of(this);
  }
}
