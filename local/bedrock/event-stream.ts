import { EventStreamCodec } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';

const codec = new EventStreamCodec(toUtf8, fromUtf8);

/**
 * One AWS event-stream message (`application/vnd.amazon.eventstream`) carrying a JSON event of
 * type `eventType`, as Bedrock's ConverseStream sends each event.
 */
export const encodeEvent = (eventType: string, body: unknown): Uint8Array =>
  codec.encode({
    headers: {
      ':event-type': { type: 'string', value: eventType },
      ':message-type': { type: 'string', value: 'event' },
      ':content-type': { type: 'string', value: 'application/json' },
    },
    body: fromUtf8(JSON.stringify(body)),
  });
