/**
 * Message batches: several CAN messages in one WebSocket message, which the
 * server sends to a client that asked for them (`"message_batches": true` in
 * its `bus_request` config) while that client's socket is still busy with
 * earlier writes. One write for many frames is what lets a server keep up
 * with a saturated bus and many clients. PROTOCOL.md, "Message batches".
 *
 * - Binary: type byte `0x80`, then for each message one length byte and a
 *   complete binary message (type `1`, 15 to 79 bytes).
 * - JSON: `{"type": "message_batch", "payload": [MESSAGE, ...]}` where each
 *   MESSAGE is a `message` event's payload.
 *
 * @module
 */

import { decodeBinary, encodeBinary } from "./codec_binary.ts";
import type { CanFrame } from "./frame.ts";
import { BINARY_BATCH_TYPE } from "./protocol.ts";

/**
 * Joins encoded binary messages (each as {@linkcode encodeBinary} makes it)
 * into one batch message.
 *
 * @param messages Binary messages of type 1, at most 255 bytes each.
 * @returns The batch.
 * @throws {RangeError} When there is no message, or one is not a binary message of 15-255 bytes.
 * @example
 * ```ts
 * import { decodeBinaryBatch, encodeBinaryBatch } from "./codec_batch.ts";
 * import { encodeBinary } from "./codec_binary.ts";
 * import { createFrame } from "./frame.ts";
 * const batch = encodeBinaryBatch([
 *   encodeBinary(createFrame({ arbitrationId: 1, data: [1] })),
 *   encodeBinary(createFrame({ arbitrationId: 2 })),
 * ]);
 * if (decodeBinaryBatch(batch).map((f) => f.arbitrationId).join() !== "1,2") throw new Error();
 * ```
 */
export function encodeBinaryBatch(messages: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  if (messages.length === 0) throw new RangeError("A batch needs at least one message");
  let size = 1;
  for (const message of messages) {
    if (message.length < 15 || message.length > 255 || message[0] !== 1) {
      throw new RangeError(
        `A batch holds binary messages of type 1 and 15-255 bytes, got ${message.length} bytes of type ${
          message[0]
        }`,
      );
    }
    size += 1 + message.length;
  }
  const out = new Uint8Array(size);
  out[0] = BINARY_BATCH_TYPE;
  let offset = 1;
  for (const message of messages) {
    out[offset++] = message.length;
    out.set(message, offset);
    offset += message.length;
  }
  return out;
}

/**
 * Splits a binary batch message into its frames.
 *
 * @param bytes The batch (type byte 0x80).
 * @returns The frames, in order.
 * @throws {RangeError} When the type byte is not 0x80, the batch is empty, or a
 *   length runs past the end; the errors of {@linkcode decodeBinary} for a
 *   message inside, with its position.
 * @example
 * ```ts
 * import { decodeBinaryBatch } from "./codec_batch.ts";
 * try {
 *   decodeBinaryBatch(new Uint8Array([0x80, 20, 1]));
 *   throw new Error("unreachable");
 * } catch (error) {
 *   if (!(error instanceof RangeError)) throw error;
 * }
 * ```
 */
export function decodeBinaryBatch(bytes: Uint8Array): CanFrame[] {
  if (bytes.length === 0 || bytes[0] !== BINARY_BATCH_TYPE) {
    throw new RangeError(`A binary batch starts with type byte 0x80, got ${bytes[0]}`);
  }
  if (bytes.length === 1) throw new RangeError("A binary batch holds at least one message");
  const frames: CanFrame[] = [];
  let offset = 1;
  while (offset < bytes.length) {
    const length = bytes[offset++];
    if (offset + length > bytes.length) {
      throw new RangeError(
        `Message ${frames.length} of the batch claims ${length} bytes, but ${
          bytes.length - offset
        } are left`,
      );
    }
    try {
      frames.push(decodeBinary(bytes.subarray(offset, offset + length)));
    } catch (error) {
      const message = `Message ${frames.length} of the batch: ${(error as Error).message}`;
      throw error instanceof TypeError ? new TypeError(message) : new RangeError(message);
    }
    offset += length;
  }
  return frames;
}

/**
 * Encodes frames as one binary batch.
 *
 * @param frames At least one frame.
 * @returns The batch message.
 * @throws {RangeError} / {TypeError} For a frame the binary format cannot carry, or no frame.
 * @example
 * ```ts
 * import { decodeBinaryBatch, encodeFramesBatch } from "./codec_batch.ts";
 * import { createFrame } from "./frame.ts";
 * const bytes = encodeFramesBatch([createFrame({ arbitrationId: 7 })]);
 * if (decodeBinaryBatch(bytes)[0].arbitrationId !== 7) throw new Error();
 * ```
 */
export function encodeFramesBatch(frames: readonly CanFrame[]): Uint8Array<ArrayBuffer> {
  return encodeBinaryBatch(frames.map(encodeBinary));
}
