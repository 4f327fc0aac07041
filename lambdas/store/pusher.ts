import { type ApiGatewayManagementApiClientConfig, ApiGatewayManagementApiClient, DeleteConnectionCommand, GoneException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import type { Pusher, ServerMessage } from '../core/ports.ts';

/** {@link Pusher} through the WebSocket API's `@connections` management endpoint. */
export class ConnectionsPusher implements Pusher {
  private readonly client: ApiGatewayManagementApiClient;

  /** @param config client settings besides the endpoint (operators' tools: region, credentials). */
  public constructor(endpoint: string, config: Omit<ApiGatewayManagementApiClientConfig, 'endpoint'> = {}) {
    this.client = new ApiGatewayManagementApiClient({ maxAttempts: 4, ...config, endpoint });
  }

  /** Releases the client's sockets (long-lived handlers never call it). */
  public destroy(): void {
    this.client.destroy();
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

  /** Closes a connection (`@connections` DELETE); `gone` when it no longer exists (410). */
  public async close(connectionId: string): Promise<'ok' | 'gone'> {
    try {
      await this.client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
      return 'ok';
    } catch (error) {
      if (error instanceof GoneException || (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 410) return 'gone';
      throw error;
    }
  }
}
