import type { Duplex } from 'node:stream';

/**
 * Watches the raw bytes of a WebSocket connection (client to server) and reports the first frame
 * whose payload exceeds `maxFrameBytes`, as soon as its header arrives. API Gateway limits frames
 * to 32 KB (a larger message must be fragmented) and closes the connection with 1009 otherwise;
 * the `ws` library only limits whole messages, so frame headers are parsed here (RFC 6455 §5.2).
 *
 * Attach it before the WebSocket library reads from the socket; it only reads, never consumes.
 *
 * @example
 * ```ts
 * watchFrameSizes(socket, 32 * 1024, () => (oversized = true));
 * ```
 */
export const watchFrameSizes = (socket: Duplex, maxFrameBytes: number, onOversized: (payloadBytes: number) => void): void => {
  const header = Buffer.alloc(14);
  let headerLength = 0;
  /** Payload bytes of the current frame still to skip. */
  let remaining = 0;
  const onData = (chunk: Buffer) => {
    let offset = 0;
    while (offset < chunk.length) {
      if (remaining > 0) {
        const skip = Math.min(remaining, chunk.length - offset);
        remaining -= skip;
        offset += skip;
        continue;
      }
      header[headerLength++] = chunk[offset++]!;
      const parsed = frameHeader(header.subarray(0, headerLength));
      if (!parsed) continue;
      headerLength = 0;
      if (parsed.payloadBytes > maxFrameBytes) {
        socket.off('data', onData);
        onOversized(parsed.payloadBytes);
        return;
      }
      remaining = parsed.payloadBytes;
    }
  };
  socket.prependListener('data', onData);
};

/** Header length and payload length of a frame, once enough header bytes are known. */
const frameHeader = (bytes: Buffer): { headerBytes: number; payloadBytes: number } | undefined => {
  if (bytes.length < 2) return undefined;
  const masked = (bytes[1]! & 0x80) !== 0;
  const short = bytes[1]! & 0x7f;
  const extended = short === 126 ? 2 : short === 127 ? 8 : 0;
  const headerBytes = 2 + extended + (masked ? 4 : 0);
  if (bytes.length < headerBytes) return undefined;
  const payloadBytes = short === 126 ? bytes.readUInt16BE(2) : short === 127 ? Number(bytes.readBigUInt64BE(2)) : short;
  return { headerBytes, payloadBytes };
};
