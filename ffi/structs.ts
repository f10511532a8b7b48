/**
 * The kernel's SocketCAN structures (`linux/can.h`), packed and unpacked in
 * plain TypeScript: `struct can_frame`, `struct canfd_frame`,
 * `struct sockaddr_can` and `struct can_filter`. Little-endian, as on every
 * Linux platform Deno runs on.
 *
 * @module
 */

import type { CanFilter } from "../core/bus.ts";
import {
  CAN_EFF_MASK,
  CAN_SFF_MASK,
  CANFD_LENGTHS,
  type CanFrame,
  validateFrame,
} from "../core/frame.ts";

/** `can_id` flag: 29-bit extended identifier. */
export const CAN_EFF_FLAG = 0x80000000;
/** `can_id` flag: remote transmission request. */
export const CAN_RTR_FLAG = 0x40000000;
/** `can_id` flag: error frame. */
export const CAN_ERR_FLAG = 0x20000000;
/** Error class bits of an error frame's `can_id` (`linux/can/error.h`). */
export const CAN_ERR_MASK = 0x1fffffff;
/** Size of `struct can_frame`. */
export const CAN_MTU = 16;
/** Size of `struct canfd_frame`. */
export const CANFD_MTU = 72;
/** `canfd_frame.flags`: bit rate switch. */
export const CANFD_BRS = 0x01;
/** `canfd_frame.flags`: error state indicator. */
export const CANFD_ESI = 0x02;
/** `canfd_frame.flags`: marks a CAN FD frame (set by Linux 6.0 and later). */
export const CANFD_FDF = 0x04;
/** `AF_CAN`, also `PF_CAN`. */
export const AF_CAN = 29;
/** Size of `struct sockaddr_can`. */
export const SOCKADDR_CAN_SIZE = 24;
/** Size of one `struct can_filter`. */
export const CAN_FILTER_SIZE = 8;
/** Most filters one `CAN_RAW_FILTER` call takes (`linux/can/raw.h`). */
export const CAN_RAW_FILTER_MAX = 512;

/** Where a decoded frame came from; {@linkcode decodeCanFrame} copies these into it. */
export interface DecodeOptions {
  /** Reception time in seconds since the epoch. @default {0} */
  timestamp?: number;
  /** Channel name to put in the frame. */
  channel?: string;
  /** Whether the frame was received (`true`) or sent by this socket (`false`). */
  isRx?: boolean;
  /**
   * Copy the data out of `bytes`; with `false` the frame's data is a view
   * into `bytes`, which the caller then must not reuse.
   * @default {true}
   */
  copy?: boolean;
}

/**
 * Packs a frame into a `struct can_frame` (16 bytes) or, for CAN FD, a
 * `struct canfd_frame` (72 bytes).
 *
 * @param frame The frame; it is validated first.
 * @returns A new buffer of exactly `CAN_MTU` or `CANFD_MTU` bytes.
 * @throws {TypeError} / {RangeError} When the frame is invalid.
 * @example
 * ```ts
 * import { encodeCanFrame } from "./structs.ts";
 * import { createFrame } from "../core/frame.ts";
 * const bytes = encodeCanFrame(createFrame({ arbitrationId: 0x123, isExtendedId: false, data: [0xde, 0xad] }));
 * if (bytes.length !== 16 || bytes[0] !== 0x23 || bytes[4] !== 2 || bytes[8] !== 0xde) throw new Error();
 * ```
 */
export function encodeCanFrame(frame: CanFrame): Uint8Array<ArrayBuffer> {
  const checked = validateFrame(frame);
  const bytes = new Uint8Array(checked.isFd ? CANFD_MTU : CAN_MTU);
  let id = checked.arbitrationId;
  if (checked.isExtendedId) id |= CAN_EFF_FLAG;
  if (checked.isRemoteFrame) id |= CAN_RTR_FLAG;
  if (checked.isErrorFrame) id |= CAN_ERR_FLAG;
  new DataView(bytes.buffer).setUint32(0, id >>> 0, true);
  if (checked.isRemoteFrame) {
    bytes[4] = checked.dlc;
  } else {
    bytes[4] = checked.data.length;
    bytes.set(checked.data, 8);
  }
  if (checked.isFd) {
    bytes[5] = (checked.bitrateSwitch ? CANFD_BRS : 0) |
      (checked.errorStateIndicator ? CANFD_ESI : 0);
  }
  return bytes;
}

/**
 * Unpacks a `struct can_frame` (16 bytes) or `struct canfd_frame` (72 bytes)
 * as read from a raw CAN socket; the size tells which it is.
 *
 * Error frames keep the kernel's error class bits as `arbitrationId` and its
 * 8 data bytes (`linux/can/error.h`), as python-can does.
 *
 * @param bytes The bytes read; only `CAN_MTU` or `CANFD_MTU` bytes are valid.
 * @param options Timestamp, channel and direction to record.
 * @returns The frame, with its own copy of the data unless `options.copy` is `false`.
 * @throws {RangeError} For another size, a length beyond the frame type's
 *   maximum, or a CAN FD length that no DLC code has.
 * @example
 * ```ts
 * import { decodeCanFrame } from "./structs.ts";
 * const bytes = new Uint8Array(16);
 * bytes.set([0xf0, 0xde, 0xbc, 0x9a, 2, 0, 0, 0, 0xca, 0xfe]); // 1ABCDEF0#CAFE
 * const frame = decodeCanFrame(bytes, { channel: "vcan0" });
 * if (frame.arbitrationId !== 0x1abcdef0 || !frame.isExtendedId || frame.data[1] !== 0xfe) {
 *   throw new Error();
 * }
 * ```
 */
export function decodeCanFrame(bytes: Uint8Array, options: DecodeOptions = {}): CanFrame {
  const isFd = bytes.length === CANFD_MTU;
  if (!isFd && bytes.length !== CAN_MTU) {
    throw new RangeError(
      `A CAN frame is ${CAN_MTU} or ${CANFD_MTU} bytes long, got ${bytes.length} bytes`,
    );
  }
  const id = (bytes[0] | bytes[1] << 8 | bytes[2] << 16 | bytes[3] << 24) >>> 0;
  const length = bytes[4];
  const flags = isFd ? bytes[5] : 0;
  const isExtendedId = (id & CAN_EFF_FLAG) !== 0;
  const isRemoteFrame = !isFd && (id & CAN_RTR_FLAG) !== 0;
  if (length > (isFd ? 64 : 8)) {
    throw new RangeError(
      `A ${isFd ? "CAN FD" : "classic CAN"} frame carries at most ${
        isFd ? 64 : 8
      } bytes, got ${length}`,
    );
  }
  if (isFd && !CANFD_LENGTHS.includes(length)) {
    throw new RangeError(`No CAN FD DLC code has a length of ${length} bytes`);
  }
  const frame: CanFrame = {
    timestamp: options.timestamp ?? 0,
    arbitrationId: (id & (isExtendedId ? CAN_EFF_MASK : CAN_SFF_MASK)) >>> 0,
    isExtendedId,
    isRemoteFrame,
    isErrorFrame: (id & CAN_ERR_FLAG) !== 0,
    isFd,
    bitrateSwitch: (flags & CANFD_BRS) !== 0,
    errorStateIndicator: (flags & CANFD_ESI) !== 0,
    dlc: length,
    data: isRemoteFrame
      ? new Uint8Array(0)
      : options.copy === false
      ? bytes.subarray(8, 8 + length)
      : bytes.slice(8, 8 + length),
  };
  if (options.channel !== undefined) frame.channel = options.channel;
  if (options.isRx !== undefined) frame.isRx = options.isRx;
  return frame;
}

/**
 * Packs a `struct sockaddr_can` for `bind(2)` on a raw CAN socket.
 *
 * @param ifindex Interface index (from `if_nametoindex`); 0 means every interface.
 * @returns `SOCKADDR_CAN_SIZE` bytes.
 * @throws {RangeError} When `ifindex` is not an integer 0-2147483647.
 * @example
 * ```ts
 * import { decodeSockaddrCan, encodeSockaddrCan } from "./structs.ts";
 * if (decodeSockaddrCan(encodeSockaddrCan(3)).ifindex !== 3) throw new Error();
 * ```
 */
export function encodeSockaddrCan(ifindex: number): Uint8Array<ArrayBuffer> {
  if (!Number.isInteger(ifindex) || ifindex < 0 || ifindex > 0x7fffffff) {
    throw new RangeError(`An interface index must be an integer 0-2147483647, got ${ifindex}`);
  }
  const bytes = new Uint8Array(SOCKADDR_CAN_SIZE);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, AF_CAN, true); // can_family
  view.setInt32(4, ifindex, true); // can_ifindex, after 2 bytes of padding
  return bytes;
}

/**
 * Unpacks a `struct sockaddr_can` (as `recvmsg(2)` fills in `msg_name`).
 *
 * @param bytes At least `SOCKADDR_CAN_SIZE` bytes.
 * @returns The address family and interface index.
 * @throws {RangeError} When fewer bytes are given.
 * @example
 * ```ts
 * import { AF_CAN, decodeSockaddrCan, encodeSockaddrCan } from "./structs.ts";
 * if (decodeSockaddrCan(encodeSockaddrCan(7)).family !== AF_CAN) throw new Error();
 * ```
 */
export function decodeSockaddrCan(bytes: Uint8Array): { family: number; ifindex: number } {
  if (bytes.length < SOCKADDR_CAN_SIZE) {
    throw new RangeError(`A sockaddr_can is ${SOCKADDR_CAN_SIZE} bytes long, got ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, SOCKADDR_CAN_SIZE);
  return { family: view.getUint16(0, true), ifindex: view.getInt32(4, true) };
}

/**
 * Translates filters into the `struct can_filter` pairs of `CAN_RAW_FILTER`,
 * with python-can's rule for `extended`: the mask also compares
 * `CAN_EFF_FLAG`, which the id carries for `extended: true`.
 *
 * Only the 29 identifier bits of `canId` and `canMask` reach the kernel.
 * A filter that {@linkcode matchesFilters} could never pass (it asks for
 * bits 29-31 of the id) is left out; `null` or an empty list means every
 * frame, which the kernel spells as one filter with a zero mask.
 *
 * @param filters Filters in the `Bus` form.
 * @returns The packed array; empty when no filter can ever match (receive nothing).
 * @throws {RangeError} For more than `CAN_RAW_FILTER_MAX` filters.
 * @example
 * ```ts
 * import { CAN_EFF_FLAG, encodeCanFilters } from "./structs.ts";
 * const bytes = encodeCanFilters([{ canId: 0x123, canMask: 0x7ff, extended: true }]);
 * const view = new DataView(bytes.buffer);
 * if (view.getUint32(0, true) !== (0x123 | CAN_EFF_FLAG) >>> 0) throw new Error();
 * if (view.getUint32(4, true) !== (0x7ff | CAN_EFF_FLAG) >>> 0) throw new Error();
 * ```
 */
export function encodeCanFilters(filters?: readonly CanFilter[] | null): Uint8Array<ArrayBuffer> {
  const list = filters && filters.length > 0 ? filters : [{ canId: 0, canMask: 0 }];
  if (list.length > CAN_RAW_FILTER_MAX) {
    throw new RangeError(`At most ${CAN_RAW_FILTER_MAX} filters are allowed, got ${list.length}`);
  }
  const usable = list.filter((f) => (f.canId & f.canMask & ~CAN_EFF_MASK) === 0);
  const bytes = new Uint8Array(usable.length * CAN_FILTER_SIZE);
  const view = new DataView(bytes.buffer);
  usable.forEach((filter, i) => {
    let id = filter.canId & CAN_EFF_MASK;
    let mask = filter.canMask & CAN_EFF_MASK;
    if (filter.extended !== undefined) {
      mask |= CAN_EFF_FLAG;
      if (filter.extended) id |= CAN_EFF_FLAG;
    }
    view.setUint32(i * CAN_FILTER_SIZE, id >>> 0, true);
    view.setUint32(i * CAN_FILTER_SIZE + 4, mask >>> 0, true);
  });
  return bytes;
}

/**
 * Reads `struct can_filter` pairs back into the `Bus` form (`extended` is
 * set when the mask compares `CAN_EFF_FLAG`).
 *
 * @param bytes A packed array as `CAN_RAW_FILTER` takes it.
 * @returns The filters.
 * @throws {RangeError} When the size is not a multiple of `CAN_FILTER_SIZE`.
 * @example
 * ```ts
 * import { decodeCanFilters, encodeCanFilters } from "./structs.ts";
 * const [filter] = decodeCanFilters(encodeCanFilters([{ canId: 0x100, canMask: 0x700, extended: false }]));
 * if (filter.canId !== 0x100 || filter.canMask !== 0x700 || filter.extended !== false) throw new Error();
 * ```
 */
export function decodeCanFilters(bytes: Uint8Array): CanFilter[] {
  if (bytes.length % CAN_FILTER_SIZE !== 0) {
    throw new RangeError(
      `A can_filter array is a multiple of ${CAN_FILTER_SIZE} bytes long, got ${bytes.length}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const filters: CanFilter[] = [];
  for (let offset = 0; offset < bytes.length; offset += CAN_FILTER_SIZE) {
    const id = view.getUint32(offset, true);
    const mask = view.getUint32(offset + 4, true);
    const filter: CanFilter = {
      canId: (id & CAN_EFF_MASK) >>> 0,
      canMask: (mask & CAN_EFF_MASK) >>> 0,
    };
    if (mask & CAN_EFF_FLAG) filter.extended = (id & CAN_EFF_FLAG) !== 0;
    filters.push(filter);
  }
  return filters;
}
