import { authorizeCall, callerOf } from '../iam/caller.ts';
import type { IamEnforcer } from '../iam/mode.ts';
import { ConverseStreamServer, type ConverseStreamAnswer, type ConverseStreamCall } from './converse-stream-server.ts';
import { CONVERSE_STREAM_ACTION, converseStreamPermissions } from './permissions.ts';
import { simulatedConverseStream } from './simulated-converse.ts';

/** The environment variable a function's Bedrock Runtime client reads its endpoint from. */
export const BEDROCK_ENDPOINT_VARIABLE = 'AWS_ENDPOINT_URL_BEDROCK_RUNTIME' as const;

/** Port `npm start` gives the local Bedrock Runtime endpoint. */
export const DEFAULT_BEDROCK_PORT = 4707 as const;

/**
 * A local Amazon Bedrock Runtime serving ConverseStream: each call is authorized as
 * `bedrock:InvokeModelWithResponseStream` on the model's (or inference profile's) ARN for the
 * calling function's role, refused as Bedrock refuses it (403 `AccessDeniedException` naming
 * role, action and resource), and otherwise answered with simulated model text.
 */
export class LocalBedrockRuntime {
  private readonly server: ConverseStreamServer;

  public constructor(
    private readonly iam: IamEnforcer,
    private readonly log: (line: string) => void = () => {},
  ) {
    this.server = new ConverseStreamServer((call) => this.converseStream(call));
  }

  /** `http://127.0.0.1:<port>` once started. */
  public get endpoint(): string {
    return this.server.endpoint;
  }

  /** Listens on `port` (0: a free one) and resolves with the endpoint. */
  public start(port = 0): Promise<string> {
    return this.server.start(port);
  }

  public stop(): Promise<void> {
    return this.server.stop();
  }

  private converseStream(call: ConverseStreamCall): ConverseStreamAnswer {
    const outcome = authorizeCall(this.iam, callerOf(this.iam, call.headers, call.path), converseStreamPermissions(call.modelId), CONVERSE_STREAM_ACTION);
    if (!outcome.allowed) {
      if (outcome.why === 'denied') return { kind: 'error', status: 403, errorType: 'AccessDeniedException', message: outcome.decision.message };
      if (outcome.why === 'unrecognized') return { kind: 'error', status: 403, errorType: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' };
      return { kind: 'error', status: 403, errorType: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' };
    }
    this.log(`ConverseStream ${call.modelId}`);
    return simulatedConverseStream(call.modelId, call.body);
  }
}
