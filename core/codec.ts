/**
 * Encodes and decodes events for a negotiated subprotocol: the one place
 * that knows which events travel as binary WebSocket messages.
 *
 * @module
 */

import { decodeBinary, encodeBinary } from "./codec_binary.ts";
import { decodeBinaryBatch, encodeFramesBatch } from "./codec_batch.ts";
import { decodeJson, encodeJson } from "./codec_json.ts";
import type { CanEvent } from "./events.ts";
import { BINARY_BATCH_TYPE, BINARY_PROTOCOL, JSON_PROTOCOL } from "./protocol.ts";

/**
 * Encodes an event for a subprotocol. With `can.binary+json.v1` a `message`
 * event becomes binary ({@linkcode encodeBinary}); everything else, and every
 * event of `can.json.v1`, is JSON text ({@linkcode encodeJson}).
 *
 * @param event The event.
 * @param protocol The negotiated subprotocol, `"can.json.v1"` or `"can.binary+json.v1"`.
 * @returns Text for a text message or bytes for a binary message.
 * @throws {RangeError} When `protocol` is neither subprotocol, or a value does not fit the wire.
 * @throws {TypeError} When a field has the wrong type.
 * @example
 * ```ts
 * import { encodeEvent } from "./codec.ts";
 * import { createFrame } from "./frame.ts";
 * const frame = createFrame({ arbitrationId: 0x123, isExtendedId: false, data: [1, 2] });
 * const bytes = encodeEvent({ type: "message", frame }, "can.binary+json.v1");
 * if (!(bytes instanceof Uint8Array) || bytes.length !== 17) throw new Error();
 * const text = encodeEvent({ type: "message", frame }, "can.json.v1");
 * if (typeof text !== "string") throw new Error();
 * ```
 */
export function encodeEvent(
  event: CanEvent,
  protocol: string,
): string | Uint8Array<ArrayBuffer> {
  if (protocol === BINARY_PROTOCOL) {
    if (event?.type === "message") return encodeBinary(event.frame);
    if (event?.type === "message_batch") return encodeFramesBatch(event.frames);
    return encodeJson(event);
  }
  if (protocol === JSON_PROTOCOL) return encodeJson(event);
  throw new RangeError(
    `Unknown subprotocol ${
      JSON.stringify(protocol)
    }: expected "${JSON_PROTOCOL}" or "${BINARY_PROTOCOL}"`,
  );
}

/**
 * Decodes one WebSocket message: text with {@linkcode decodeJson}, bytes
 * with {@linkcode decodeBinary} as a `message` event. Binary messages are
 * accepted whatever the subprotocol, as python-can-remote accepts them on
 * `can.json.v1` too. An `ArrayBuffer` (a WebSocket with
 * `binaryType = "arraybuffer"`) is read as bytes.
 *
 * @param data The message: `MessageEvent.data` of a WebSocket.
 * @returns The event.
 * @throws {SyntaxError} When text is not JSON.
 * @throws {TypeError} When `data` is neither text nor bytes (set the socket's
 *   `binaryType` to `"arraybuffer"`: a `Blob` cannot be read synchronously),
 *   or the event has the wrong shape.
 * @throws {RangeError} When a value is out of range or the type unknown
 *   (`UnknownEventTypeError` from events.ts).
 * @example
 * ```ts
 * import { decodeEvent } from "./codec.ts";
 * const event = decodeEvent('{"type": "bus_response", "payload": {"channel_info": "vcan0"}}');
 * if (event.type !== "bus_response" || event.channelInfo !== "vcan0") throw new Error();
 * const message = decodeEvent(new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x23, 0, 0]));
 * if (message.type !== "message" || message.frame.arbitrationId !== 0x123) throw new Error();
 * ```
 */
export function decodeEvent(data: string | Uint8Array | ArrayBuffer): CanEvent {
  if (typeof data === "string") return decodeJson(data);
  if (data instanceof Uint8Array || data instanceof ArrayBuffer) {
    const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
    if (bytes[0] === BINARY_BATCH_TYPE) {
      return { type: "message_batch", frames: decodeBinaryBatch(bytes) };
    }
    return { type: "message", frame: decodeBinary(bytes) };
  }
  const kind = data === null
    ? "null"
    : typeof data === "object"
    ? (Object.getPrototypeOf(data)?.constructor?.name ?? "object")
    : typeof data;
  throw new TypeError(`Expected a string, Uint8Array or ArrayBuffer, got ${kind}`);
}
