/**
 * The CAN frame model shared by every codec, bus and tool.
 *
 * Field names are python-can's `Message` attributes in camelCase. Only the
 * JSON codec knows the snake_case wire names.
 *
 * @module
 */

/** One CAN or CAN FD frame, as python-can's `Message` describes it. */
export interface CanFrame {
  /** Seconds since the Unix epoch (python-can's `Message.timestamp`). */
  timestamp: number;
  /** 11-bit or 29-bit identifier. */
  arbitrationId: number;
  /** `true` for a 29-bit identifier. */
  isExtendedId: boolean;
  /** Remote transmission request: carries a dlc but no data. */
  isRemoteFrame: boolean;
  /** An error frame reported by the controller or the kernel. */
  isErrorFrame: boolean;
  /** CAN FD frame. */
  isFd: boolean;
  /** CAN FD bit rate switch. */
  bitrateSwitch: boolean;
  /** CAN FD error state indicator. */
  errorStateIndicator: boolean;
  /** Data length as python-can counts it: a byte count (0-64), not an ISO DLC code. */
  dlc: number;
  /** Payload; empty for remote frames. */
  data: Uint8Array;
  /** Channel the frame was seen on, when known. */
  channel?: string | number;
  /** `true` for a received frame, `false` for one this side sent. */
  isRx?: boolean;
}

/** What {@linkcode createFrame} accepts: any subset of {@linkcode CanFrame}, data as bytes or numbers. */
export type CanFrameInit = Partial<Omit<CanFrame, "data">> & {
  data?: Uint8Array | ArrayLike<number>;
};

/** Data lengths a CAN FD frame may have, indexed by ISO 11898-1 DLC code 0-15. */
export const CANFD_LENGTHS: readonly number[] = Object.freeze([
  0,
  1,
  2,
  3,
  4,
  5,
  6,
  7,
  8,
  12,
  16,
  20,
  24,
  32,
  48,
  64,
]);

/** Largest standard (11-bit) identifier. */
export const CAN_SFF_MASK = 0x7ff;
/** Largest extended (29-bit) identifier. */
export const CAN_EFF_MASK = 0x1fffffff;

/**
 * Builds a frame with python-can's `Message` defaults for everything left out.
 *
 * As in python-can, `isExtendedId` defaults to `true` and `dlc` to the data
 * length. Nothing is checked here: call {@linkcode validateFrame} for that.
 *
 * @param init Fields to set.
 * @returns A complete frame.
 * @example
 * ```ts
 * import { createFrame } from "./frame.ts";
 * const frame = createFrame({ arbitrationId: 0x123, isExtendedId: false, data: [1, 2] });
 * if (frame.dlc !== 2) throw new Error("dlc follows the data");
 * ```
 */
export function createFrame(init: CanFrameInit = {}): CanFrame {
  const data = init.data instanceof Uint8Array ? init.data : Uint8Array.from(init.data ?? []);
  const frame: CanFrame = {
    timestamp: init.timestamp ?? 0,
    arbitrationId: init.arbitrationId ?? 0,
    isExtendedId: init.isExtendedId ?? true,
    isRemoteFrame: init.isRemoteFrame ?? false,
    isErrorFrame: init.isErrorFrame ?? false,
    isFd: init.isFd ?? false,
    bitrateSwitch: init.bitrateSwitch ?? false,
    errorStateIndicator: init.errorStateIndicator ?? false,
    dlc: init.dlc ?? data.length,
    data,
  };
  if (init.channel !== undefined) frame.channel = init.channel;
  if (init.isRx !== undefined) frame.isRx = init.isRx;
  return frame;
}

/**
 * Maps an ISO DLC code (0-15) to a CAN FD byte count.
 *
 * @param code DLC code.
 * @returns The byte count.
 * @throws {RangeError} When `code` is not an integer 0-15.
 * @example
 * ```ts
 * import { dlcToLength } from "./frame.ts";
 * if (dlcToLength(13) !== 32) throw new Error();
 * ```
 */
export function dlcToLength(code: number): number {
  if (!Number.isInteger(code) || code < 0 || code > 15) {
    throw new RangeError(`DLC code must be an integer 0-15, got ${code}`);
  }
  return CANFD_LENGTHS[code];
}

/**
 * Maps a byte count to the smallest ISO DLC code that holds it.
 *
 * @param length Byte count, 0-64.
 * @returns The DLC code.
 * @throws {RangeError} When `length` is not an integer 0-64.
 * @example
 * ```ts
 * import { lengthToDlc } from "./frame.ts";
 * if (lengthToDlc(13) !== 10) throw new Error("13 bytes need a 16-byte frame");
 * ```
 */
export function lengthToDlc(length: number): number {
  if (!Number.isInteger(length) || length < 0 || length > 64) {
    throw new RangeError(`Data length must be an integer 0-64, got ${length}`);
  }
  return CANFD_LENGTHS.findIndex((n) => n >= length);
}

function checkBoolean(frame: CanFrame, key: keyof CanFrame): void {
  if (typeof frame[key] !== "boolean") {
    throw new TypeError(
      `${key} must be a boolean, got ${JSON.stringify(frame[key]) ?? "undefined"}`,
    );
  }
}

const BOOLEAN_FIELDS = [
  "isExtendedId",
  "isRemoteFrame",
  "isErrorFrame",
  "isFd",
  "bitrateSwitch",
  "errorStateIndicator",
] as const;

/**
 * Checks a frame against every rule of python-can's `Message(check=True)`.
 *
 * An FD data frame whose `dlc` is an ISO DLC code 9-15 matching its data
 * length is accepted and normalized to the byte count, since python-can-remote
 * passes such codes through unchanged.
 *
 * @param frame The frame to check.
 * @returns The same frame, or a copy with a normalized `dlc`.
 * @throws {TypeError} When a field has the wrong type.
 * @throws {RangeError} When a value breaks a CAN rule; the message quotes it.
 * @example
 * ```ts
 * import { createFrame, validateFrame } from "./frame.ts";
 * validateFrame(createFrame({ arbitrationId: 0x7ff, isExtendedId: false }));
 * try {
 *   validateFrame(createFrame({ arbitrationId: 0x800, isExtendedId: false }));
 *   throw new Error("unreachable");
 * } catch (e) {
 *   if (!(e instanceof RangeError)) throw e;
 * }
 * ```
 */
export function validateFrame(frame: CanFrame): CanFrame {
  if (frame === null || typeof frame !== "object") {
    throw new TypeError(`A frame must be an object, got ${frame === null ? "null" : typeof frame}`);
  }
  for (const key of BOOLEAN_FIELDS) checkBoolean(frame, key);
  if (!(frame.data instanceof Uint8Array)) throw new TypeError("data must be a Uint8Array");
  if (typeof frame.timestamp !== "number" || !Number.isFinite(frame.timestamp)) {
    throw new RangeError(`timestamp must be a finite number, got ${frame.timestamp}`);
  }
  const id = frame.arbitrationId;
  if (!Number.isInteger(id) || id < 0) {
    throw new RangeError(`arbitrationId must be a non-negative integer, got ${id}`);
  }
  if (frame.isExtendedId && id > CAN_EFF_MASK) {
    throw new RangeError(`Extended arbitrationId must be at most 0x1FFFFFFF, got 0x${hexId(id)}`);
  }
  if (!frame.isExtendedId && id > CAN_SFF_MASK) {
    throw new RangeError(`Standard arbitrationId must be at most 0x7FF, got 0x${hexId(id)}`);
  }
  if (frame.isRemoteFrame && frame.isErrorFrame) {
    throw new RangeError("A frame cannot be both a remote frame and an error frame");
  }
  if (frame.isRemoteFrame && frame.isFd) throw new RangeError("CAN FD has no remote frames");
  if (!frame.isFd && frame.bitrateSwitch) throw new RangeError("bitrateSwitch is only for CAN FD");
  if (!frame.isFd && frame.errorStateIndicator) {
    throw new RangeError("errorStateIndicator is only for CAN FD");
  }
  if (!Number.isInteger(frame.dlc) || frame.dlc < 0) {
    throw new RangeError(`dlc must be a non-negative integer, got ${frame.dlc}`);
  }
  const length = frame.data.length;
  if (frame.isRemoteFrame) {
    if (length !== 0) throw new RangeError(`A remote frame carries no data, got ${length} bytes`);
    if (frame.dlc > 8) throw new RangeError(`Remote frame dlc must be at most 8, got ${frame.dlc}`);
    return frame;
  }
  if (frame.isFd) {
    if (!CANFD_LENGTHS.includes(length)) {
      throw new RangeError(
        `CAN FD data length must be 0-8, 12, 16, 20, 24, 32, 48 or 64 bytes, got ${length}`,
      );
    }
  } else if (length > 8) {
    throw new RangeError(`Classic CAN data must be at most 8 bytes, got ${length}`);
  }
  if (frame.dlc === length) return frame;
  if (frame.isFd && frame.dlc >= 9 && frame.dlc <= 15 && CANFD_LENGTHS[frame.dlc] === length) {
    return { ...frame, dlc: length };
  }
  throw new RangeError(`dlc ${frame.dlc} does not match the data length ${length}`);
}

function hexId(id: number): string {
  return id.toString(16).toUpperCase();
}

/**
 * Compares two frames field by field (timestamps included, `channel` and `isRx` ignored).
 *
 * @param a First frame.
 * @param b Second frame.
 * @returns `true` when both describe the same frame.
 * @example
 * ```ts
 * import { createFrame, framesEqual } from "./frame.ts";
 * if (!framesEqual(createFrame({ data: [1] }), createFrame({ data: [1] }))) throw new Error();
 * ```
 */
export function framesEqual(a: CanFrame, b: CanFrame): boolean {
  if (
    a.timestamp !== b.timestamp || a.arbitrationId !== b.arbitrationId || a.dlc !== b.dlc ||
    a.data.length !== b.data.length
  ) return false;
  for (const key of BOOLEAN_FIELDS) if (a[key] !== b[key]) return false;
  return a.data.every((byte, i) => byte === b.data[i]);
}
