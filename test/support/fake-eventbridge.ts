import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One PutEvents call the fake received. */
export interface RecordedPutEvents {
  readonly target: string;
  readonly contentType: string;
  readonly body: { Entries: { Source?: string; DetailType?: string; Detail?: string; EventBusName?: string }[] };
}

/** A tiny EventBridge endpoint answering AWS JSON 1.1 `AWSEvents.PutEvents`, recording requests. */
export interface FakeEventBridge {
  readonly endpoint: string;
  readonly calls: RecordedPutEvents[];
  stop(): Promise<void>;
}

const readBody = async (request: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

export const startFakeEventBridge = async (): Promise<FakeEventBridge> => {
  const calls: RecordedPutEvents[] = [];
  const server: Server = createServer((request, response) => {
    void readBody(request).then((text) => {
      const target = String(request.headers['x-amz-target'] ?? '');
      if (target !== 'AWSEvents.PutEvents') {
        response.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' });
        response.end(JSON.stringify({ __type: 'UnknownOperationException', message: target }));
        return;
      }
      calls.push({ target, contentType: String(request.headers['content-type'] ?? ''), body: JSON.parse(text) as RecordedPutEvents['body'] });
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(JSON.stringify({ FailedEntryCount: 0, Entries: [{ EventId: `e${calls.length}` }] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};
