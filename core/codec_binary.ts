/**
 * The binary CAN message of `can.binary+json.v1` (PROTOCOL.md, "Binary
 * message"): 15 header bytes, big-endian, then the data bytes.
 *
 * | offset | size | content |
 * | --- | --- | --- |
 * | 0 | 1 | type, always 1 |
 * | 1 | 8 | timestamp, IEEE-754 double, seconds |
 * | 9 | 4 | arbitration id, unsigned |
 * | 13 | 1 | dlc |
 * | 14 | 1 | flags ({@linkcode BinaryFlag}) |
 * | 15 | 0-64 | data |
 *
 * @module
 */

import { allocate } from "./_slab.ts";
import { UnknownEventTypeError } from "./events.ts";
import type { CanFrame } from "./frame.ts";
import { BINARY_MESSAGE_TYPE } from "./protocol.ts";

/**
 * Size of the binary message header; the data follows it.
 *
 * @example
 * ```ts
 * import { BINARY_HEADER_LENGTH, encodeBinary } from "./codec_binary.ts";
 * import { createFrame } from "./frame.ts";
 * const bytes = encodeBinary(createFrame({ data: [1, 2, 3] }));
 * if (bytes.length !== BINARY_HEADER_LENGTH + 3) throw new Error();
 * ```
 */
export const BINARY_HEADER_LENGTH = 15;

/**
 * Most data bytes a message may carry in either encoding (a CAN FD frame's
 * 64). python-can-remote has no limit; canremote refuses longer data so that
 * no peer has to buffer more for one frame.
 *
 * @example
 * ```ts
 * import { encodeBinary, MAX_DATA_LENGTH } from "./codec_binary.ts";
 * import { createFrame } from "./frame.ts";
 * try {
 *   encodeBinary(createFrame({ data: new Uint8Array(MAX_DATA_LENGTH + 1) }));
 *   throw new Error("unreachable");
 * } catch (e) {
 *   if (!(e instanceof RangeError)) throw e;
 * }
 * ```
 */
export const MAX_DATA_LENGTH = 64;

/**
 * Bits of the flags byte (offset 14), as python-can-remote's `protocol.py`
 * defines them. Senders set bits 6 and 7 to 0; receivers ignore them.
 *
 * @example
 * ```ts
 * import { BinaryFlag, encodeBinary } from "./codec_binary.ts";
 * import { createFrame } from "./frame.ts";
 * const bytes = encodeBinary(createFrame({ isFd: true, bitrateSwitch: true, data: [1] }));
 * const flags = BinaryFlag.EXTENDED_ID | BinaryFlag.FD | BinaryFlag.BITRATE_SWITCH;
 * if (bytes[14] !== flags) throw new Error();
 * ```
 */
export const BinaryFlag: {
  /** 29-bit identifier. */
  readonly EXTENDED_ID: 0x01;
  /** Remote transmission request. */
  readonly REMOTE_FRAME: 0x02;
  /** Error frame. */
  readonly ERROR_FRAME: 0x04;
  /** CAN FD frame. */
  readonly FD: 0x08;
  /** CAN FD bit rate switch. */
  readonly BITRATE_SWITCH: 0x10;
  /** CAN FD error state indicator. */
  readonly ERROR_STATE_INDICATOR: 0x20;
} = Object.freeze({
  EXTENDED_ID: 0x01,
  REMOTE_FRAME: 0x02,
  ERROR_FRAME: 0x04,
  FD: 0x08,
  BITRATE_SWITCH: 0x10,
  ERROR_STATE_INDICATOR: 0x20,
});

// DataView's getFloat64/setFloat64 default to big-endian; the 8 bytes are
// copied by hand so that no DataView is made per message.
const float64 = new DataView(new ArrayBuffer(8));
const float64Bytes = new Uint8Array(float64.buffer);

/**
 * Checks that a frame fits the wire format, the limits both encoders share:
 * arbitration id 0 to 2^32-1, dlc 0-255, a finite timestamp and at most
 * {@linkcode MAX_DATA_LENGTH} data bytes in a `Uint8Array`. These are not the
 * CAN rules ({@linkcode validateFrame} checks those): a standard id of 0x800
 * fits the wire.
 *
 * @param frame The frame to check.
 * @throws {TypeError} When `data` is not a `Uint8Array`.
 * @throws {RangeError} When a value does not fit its wire field; the message quotes it.
 * @example
 * ```ts
 * import { checkEncodable } from "./codec_binary.ts";
 * import { createFrame } from "./frame.ts";
 * checkEncodable(createFrame({ arbitrationId: 0x800, isExtendedId: false }));
 * try {
 *   checkEncodable(createFrame({ arbitrationId: 2 ** 32 }));
 *   throw new Error("unreachable");
 * } catch (e) {
 *   if (!(e instanceof RangeError)) throw e;
 * }
 * ```
 */
export function checkEncodable(frame: CanFrame): void {
  const { arbitrationId, dlc, timestamp, data } = frame;
  // `x >>> 0 === x` holds exactly for the integers 0..2^32-1.
  if (arbitrationId >>> 0 !== arbitrationId) {
    throw new RangeError(
      `arbitrationId must be an integer 0-0xFFFFFFFF, got ${quote(arbitrationId)}`,
    );
  }
  if ((dlc & 0xff) !== dlc) throw new RangeError(`dlc must be an integer 0-255, got ${quote(dlc)}`);
  if (!Number.isFinite(timestamp)) {
    throw new RangeError(`timestamp must be a finite number, got ${quote(timestamp)}`);
  }
  if (!(data instanceof Uint8Array)) throw new TypeError("data must be a Uint8Array");
  if (data.length > MAX_DATA_LENGTH) {
    throw new RangeError(`data must be at most ${MAX_DATA_LENGTH} bytes, got ${data.length}`);
  }
}

/**
 * Encodes a frame as a binary message.
 *
 * Only the wire limits are checked ({@linkcode checkEncodable}), not the CAN
 * rules. The result may share its `ArrayBuffer` with other results (encoding
 * allocates from a pool): send or copy the view itself, never its `.buffer`.
 *
 * @param frame The frame; `channel` and `isRx` are not sent.
 * @returns The message bytes, 15 + `frame.data.length` long.
 * @throws {TypeError} When `data` is not a `Uint8Array`.
 * @throws {RangeError} When a value does not fit its wire field.
 * @example
 * ```ts
 * import { encodeBinary } from "./codec_binary.ts";
 * import { createFrame } from "./frame.ts";
 * const bytes = encodeBinary(createFrame({
 *   timestamp: 1700000000.25, arbitrationId: 0x123, isExtendedId: false, data: [0x11, 0x22],
 * }));
 * const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
 * if (hex !== "0141d954fc40100000000001230200" + "1122") throw new Error(hex);
 * ```
 */
export function encodeBinary(frame: CanFrame): Uint8Array<ArrayBuffer> {
  checkEncodable(frame);
  const data = frame.data;
  const length = data.length;
  const id = frame.arbitrationId;
  const bytes = allocate(BINARY_HEADER_LENGTH + length);
  bytes[0] = BINARY_MESSAGE_TYPE;
  float64.setFloat64(0, frame.timestamp);
  bytes[1] = float64Bytes[0];
  bytes[2] = float64Bytes[1];
  bytes[3] = float64Bytes[2];
  bytes[4] = float64Bytes[3];
  bytes[5] = float64Bytes[4];
  bytes[6] = float64Bytes[5];
  bytes[7] = float64Bytes[6];
  bytes[8] = float64Bytes[7];
  bytes[9] = id >>> 24;
  bytes[10] = id >>> 16;
  bytes[11] = id >>> 8;
  bytes[12] = id;
  bytes[13] = frame.dlc;
  bytes[14] = (frame.isExtendedId ? BinaryFlag.EXTENDED_ID : 0) |
    (frame.isRemoteFrame ? BinaryFlag.REMOTE_FRAME : 0) |
    (frame.isErrorFrame ? BinaryFlag.ERROR_FRAME : 0) |
    (frame.isFd ? BinaryFlag.FD : 0) |
    (frame.bitrateSwitch ? BinaryFlag.BITRATE_SWITCH : 0) |
    (frame.errorStateIndicator ? BinaryFlag.ERROR_STATE_INDICATOR : 0);
  for (let i = 0; i < length; i++) bytes[BINARY_HEADER_LENGTH + i] = data[i];
  return bytes;
}

/**
 * Decodes a binary message into a frame, as python-can-remote does.
 *
 * The decoding is structural, not a validation ({@linkcode validateFrame} is
 * a separate step): the data length is the message length minus 15 whatever
 * the dlc byte says, and a standard id of 0x800 decodes. As in python-can's
 * `Message`, a remote frame's data bytes are discarded; flag bits 6 and 7 are
 * ignored. The frame's `data` is a copy (from a pool, like
 * {@linkcode encodeBinary}'s result), so `bytes` may be reused.
 *
 * @param bytes One binary WebSocket message.
 * @returns The frame; it has no `channel` or `isRx`.
 * @throws {TypeError} When `bytes` is not a `Uint8Array`.
 * @throws {UnknownEventTypeError} (a `RangeError`) When the type byte is not 1.
 * @throws {RangeError} When the message is empty, shorter than 15 bytes,
 *   carries more than 64 data bytes or a timestamp that is not finite.
 * @example
 * ```ts
 * import { decodeBinary } from "./codec_binary.ts";
 * const hex = "0141d954fc401000000000012302001122";
 * const bytes = Uint8Array.from(hex.match(/../g)!, (h) => parseInt(h, 16));
 * const frame = decodeBinary(bytes);
 * if (frame.arbitrationId !== 0x123 || frame.isExtendedId || frame.data[1] !== 0x22) {
 *   throw new Error();
 * }
 * ```
 */
export function decodeBinary(bytes: Uint8Array): CanFrame {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`A binary message must be a Uint8Array, got ${describeType(bytes)}`);
  }
  const size = bytes.length;
  if (size === 0) throw new RangeError("A binary message cannot be empty");
  if (bytes[0] !== BINARY_MESSAGE_TYPE) throw new UnknownEventTypeError(bytes[0]);
  if (size < BINARY_HEADER_LENGTH) {
    throw new RangeError(
      `A binary message must be at least ${BINARY_HEADER_LENGTH} bytes, got ${size}`,
    );
  }
  const length = size - BINARY_HEADER_LENGTH;
  if (length > MAX_DATA_LENGTH) {
    throw new RangeError(
      `A binary message carries at most ${MAX_DATA_LENGTH} data bytes, got ${length}`,
    );
  }
  float64Bytes[0] = bytes[1];
  float64Bytes[1] = bytes[2];
  float64Bytes[2] = bytes[3];
  float64Bytes[3] = bytes[4];
  float64Bytes[4] = bytes[5];
  float64Bytes[5] = bytes[6];
  float64Bytes[6] = bytes[7];
  float64Bytes[7] = bytes[8];
  const timestamp = float64.getFloat64(0);
  if (!Number.isFinite(timestamp)) {
    throw new RangeError(`The timestamp must be a finite number, got ${timestamp}`);
  }
  const flags = bytes[14];
  const isRemoteFrame = (flags & BinaryFlag.REMOTE_FRAME) !== 0;
  const dataLength = isRemoteFrame ? 0 : length;
  const data = allocate(dataLength);
  for (let i = 0; i < dataLength; i++) data[i] = bytes[BINARY_HEADER_LENGTH + i];
  return {
    timestamp,
    arbitrationId: bytes[9] * 0x1000000 + ((bytes[10] << 16) | (bytes[11] << 8) | bytes[12]),
    isExtendedId: (flags & BinaryFlag.EXTENDED_ID) !== 0,
    isRemoteFrame,
    isErrorFrame: (flags & BinaryFlag.ERROR_FRAME) !== 0,
    isFd: (flags & BinaryFlag.FD) !== 0,
    bitrateSwitch: (flags & BinaryFlag.BITRATE_SWITCH) !== 0,
    errorStateIndicator: (flags & BinaryFlag.ERROR_STATE_INDICATOR) !== 0,
    dlc: bytes[13],
    data,
  };
}

function quote(value: unknown): string {
  if (typeof value === "number") return String(value);
  if (typeof value === "bigint") return `${value}n`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

function describeType(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  return Object.getPrototypeOf(value)?.constructor?.name ?? "object";
}
