// A whole unmasked WebSocket frame (RFC 6455 section 5.2) for a message the
// server sends: built once per frame and wire format, and written as it is
// to every client that takes that format, where `ws` would build a header
// and make two writes per client (issue #15). Only the server's data frames
// are framed here; `ws` reads everything the clients send and writes the
// control frames.
import { allocate } from "../../core/_slab.ts";

/** Opcodes of RFC 6455 section 5.2. */
const TEXT = 0x1;
const BINARY = 0x2;
const FIN = 0x80;

/**
 * Frames `payload` as one final, unmasked text or binary frame.
 *
 * @param payload The message: UTF-8 text, or binary.
 * @param binary A binary frame (opcode 2) instead of a text frame (opcode 1).
 * @returns The frame's bytes: header (2, 4 or 10 bytes) and payload.
 * @throws {RangeError} For a payload of 2^53 bytes or more (which cannot exist).
 * @example
 * ```ts
 * import { frameMessage } from "./ws_frame.ts";
 * const frame = frameMessage(new TextEncoder().encode("hi"), false);
 * if (frame.join() !== [0x81, 2, 0x68, 0x69].join()) throw new Error();
 * ```
 */
export function frameMessage(payload: Uint8Array, binary: boolean): Uint8Array {
  const length = payload.length;
  if (!Number.isSafeInteger(length)) throw new RangeError(`Cannot frame ${length} bytes`);
  const header = length < 126 ? 2 : length < 0x10000 ? 4 : 10;
  const frame = allocate(header + length);
  frame[0] = FIN | (binary ? BINARY : TEXT);
  if (header === 2) frame[1] = length;
  else if (header === 4) {
    frame[1] = 126;
    frame[2] = length >>> 8;
    frame[3] = length & 0xff;
  } else {
    frame[1] = 127;
    const view = new DataView(frame.buffer, frame.byteOffset, header);
    view.setUint32(2, Math.floor(length / 2 ** 32));
    view.setUint32(6, length >>> 0);
  }
  frame.set(payload, header);
  return frame;
}
