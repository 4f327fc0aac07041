import { ApiGatewayManagementApiClient, GoneException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import type { Pusher, ServerMessage } from '../core/ports.ts';

/** {@link Pusher} through the WebSocket API's `@connections` management endpoint. */
export class ConnectionsPusher implements Pusher {
  private readonly client: ApiGatewayManagementApiClient;

  public constructor(endpoint: string) {
    this.client = new ApiGatewayManagementApiClient({ endpoint, maxAttempts: 4 });
  }

  public async post(connectionId: string, message: ServerMessage): Promise<'ok' | 'gone'> {
    try {
      await this.client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from(JSON.stringify(message)) }));
      return 'ok';
    } catch (error) {
      if (error instanceof GoneException || (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 410) return 'gone';
      throw error;
    }
  }
}
