import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { watchFrameSizes } from '../../local/apigateway/frame-guard.ts';

/** A client frame (masked, as clients must send them) with a payload of `length` bytes. */
const frame = (length: number, options: { fin?: boolean; opcode?: number } = {}): Buffer => {
  const first = (options.fin === false ? 0 : 0x80) | (options.opcode ?? 1);
  const header =
    length < 126
      ? Buffer.from([first, 0x80 | length])
      : length < 65_536
        ? Buffer.concat([Buffer.from([first, 0x80 | 126]), Buffer.from([length >> 8, length & 0xff])])
        : Buffer.concat([Buffer.from([first, 0x80 | 127]), (() => {
            const size = Buffer.alloc(8);
            size.writeBigUInt64BE(BigInt(length));
            return size;
          })()]);
  return Buffer.concat([header, Buffer.from([1, 2, 3, 4]), Buffer.alloc(length, 0x61)]);
};

/** Feeds bytes to a watched stream in chunks of `chunkSize` and returns what was reported. */
const feed = (bytes: Buffer, chunkSize: number, limit = 32 * 1024): number[] => {
  const socket = new PassThrough();
  const reported: number[] = [];
  watchFrameSizes(socket, limit, (size) => reported.push(size));
  socket.on('data', () => undefined);
  for (let offset = 0; offset < bytes.length; offset += chunkSize) socket.write(bytes.subarray(offset, offset + chunkSize));
  return reported;
};

describe('watchFrameSizes: API Gateway\u2019s 32 KB WebSocket frame quota', () => {
  it.each([1, 3, 7, 1024, 1 << 20])('accepts frames up to the limit, however the bytes are split (chunks of %i)', (chunkSize) => {
    // Prepare
    const bytes = Buffer.concat([frame(0), frame(125), frame(126), frame(32 * 1024, { fin: false }), frame(32 * 1024, { opcode: 0 }), frame(5, { opcode: 9 })]);
    // Act
    const reported = feed(bytes, chunkSize);
    // Assess
    expect(reported).toEqual([]);
  });

  it.each([1, 5, 4096])('reports the first frame over the limit, with 16-bit and 64-bit lengths (chunks of %i)', (chunkSize) => {
    // Act
    const sixteen = feed(Buffer.concat([frame(10), frame(32 * 1024 + 1)]), chunkSize);
    const sixtyFour = feed(Buffer.concat([frame(100), frame(70_000), frame(80_000)]), chunkSize);
    // Assess
    expect(sixteen).toEqual([32 * 1024 + 1]);
    expect(sixtyFour).toEqual([70_000]);
  });
});
