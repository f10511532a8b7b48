/**
 * The text syntax of can-utils: `cansend` frames (`123#DEADBEEF`) and
 * `candump -L` log lines (`(1700000000.250000) vcan0 123#DEADBEEF`).
 *
 * The grammar is can-utils' `lib.c` (`parse_canframe()` and
 * `sprint_canframe()`):
 *
 * | text | frame |
 * | --- | --- |
 * | `123#DEADBEEF` | 3 hex digits: standard id, up to 8 data bytes |
 * | `1F334455#11.22.33` | 8 hex digits: extended id; a `.` may stand before each byte |
 * | `123#R`, `123#R8` | remote frame, with an optional dlc digit 0-8 |
 * | `123##311223344` | CAN FD: `##`, a flags nibble (bit 0 BRS, bit 1 ESI), up to 64 bytes |
 * | `123#1122334455667788_9` | classic frame with a raw DLC 9-F (`len8_dlc`) |
 * | `20000080#0000000000000000` | error frame: 8 digits with `CAN_ERR_FLAG` (0x20000000) |
 *
 * Decisions where the frame model and `lib.c` differ:
 *
 * - Error frames: `arbitrationId` is the id without `CAN_ERR_FLAG` (the error
 *   class bits, `CAN_ERR_MASK`), and `isExtendedId` is `CAN_EFF_FLAG`
 *   (0x80000000) in the same 8 digits, as python-can's SocketCAN backend reads
 *   a kernel error frame. The kernel never sets it, so kernel error frames
 *   read as standard; {@linkcode stringifyCansend} writes `A…` for an extended
 *   one so that it reads back the same (an error class above 0x7FF also reads
 *   as extended, since a standard id cannot hold it).
 * - `len8_dlc` (`_9` to `_F`) is accepted and dropped: python-can's `Message`
 *   has no field for it and counts `dlc` in bytes, so such a frame reads as
 *   `dlc: 8`, and is written without the suffix.
 * - The FD flags nibble is read for BRS and ESI only; bit 2 (`CANFD_FDF`,
 *   printed by newer can-utils) is implied by `##`. It is written with BRS
 *   and ESI only (0-3), as can-utils 2020.11 and python-can do.
 * - `lib.c` silently ignores text after the data (after 8 or 64 bytes, after
 *   `R`, a bad `_` suffix); here it is a `SyntaxError`, and values the frame
 *   model cannot hold (a 3-digit id above 7FF, 9 classic bytes, 13 FD bytes)
 *   are a `RangeError`. CAN XL (`12345#80:00:11223344#…`) is a `SyntaxError`.
 *
 * @module
 */

import { CANFD_LENGTHS, type CanFrame, createFrame, validateFrame } from "./frame.ts";

/** Error frame flag of a SocketCAN `can_id` (linux/can.h). */
const CAN_ERR_FLAG = 0x20000000;
/** Extended frame flag of a SocketCAN `can_id` (linux/can.h). */
const CAN_EFF_FLAG = 0x80000000;
/** Remote transmission request flag of a SocketCAN `can_id` (linux/can.h). */
const CAN_RTR_FLAG = 0x40000000;
/** Bits of an error frame's `can_id` that carry the error class (linux/can.h). */
const CAN_ERR_MASK = 0x1fffffff;
/** CAN FD bit rate switch flag (linux/can.h). */
const CANFD_BRS = 0x01;
/** CAN FD error state indicator flag (linux/can.h). */
const CANFD_ESI = 0x02;

/** Channel that {@linkcode stringifyCandump} writes when neither the frame nor the caller names one (python-can's `CanutilsLogWriter` default). */
export const DEFAULT_CANDUMP_CHANNEL = "vcan0";

const HEX = /^[0-9A-Fa-f]$/;

function nibble(text: string, index: number): number {
  const c = text[index];
  return c !== undefined && HEX.test(c) ? parseInt(c, 16) : -1;
}

function bad(text: string, why: string): SyntaxError {
  return new SyntaxError(`Invalid cansend frame ${JSON.stringify(text)}: ${why}`);
}

function badValue(text: string, why: string): RangeError {
  return new RangeError(`Invalid cansend frame ${JSON.stringify(text)}: ${why}`);
}

/**
 * Parses a frame in `cansend` syntax.
 *
 * @param text The frame, e.g. `123#DEADBEEF`, `1F334455#11.22.33`, `123#R8`,
 *   `123##311223344` or `20000080#0000000000000000`.
 * @returns The frame, with `timestamp` 0 and no `channel`.
 * @throws {SyntaxError} When `text` is not a frame in this syntax; the message quotes it.
 * @throws {RangeError} When a value does not fit the frame model (a 3-digit id
 *   above 7FF, more than 8 classic bytes, an FD length that no DLC encodes).
 * @example
 * ```ts
 * import { parseCansend } from "./candump.ts";
 * const frame = parseCansend("1F334455#11.22.33");
 * if (!frame.isExtendedId || frame.arbitrationId !== 0x1f334455) throw new Error();
 * if (frame.data.join() !== "17,34,51") throw new Error();
 * const fd = parseCansend("123##311223344");
 * if (!fd.isFd || !fd.bitrateSwitch || !fd.errorStateIndicator) throw new Error();
 * ```
 */
export function parseCansend(text: string): CanFrame {
  if (typeof text !== "string") {
    throw new TypeError(`A cansend frame must be a string, got ${typeof text}`);
  }
  let idx: number;
  let rawId = 0;
  let digits: number;
  if (/\s/.test(text)) {
    throw bad(text, "a frame has no spaces; write its data as 123#DEADBEEF or 123#DE.AD.BE.EF");
  }
  const hash = text.indexOf("#");
  if (hash === 3 || hash === 8) digits = hash;
  else if (hash < 0) throw bad(text, "expected an id of 3 or 8 hex digits, then '#'");
  else if (/^[0-9a-f]+$/i.test(text.slice(0, hash))) {
    throw bad(
      text,
      `the id has ${hash} hex digit${hash === 1 ? "" : "s"}; a standard id has 3 (123#...), ` +
        "an extended id 8 (12345678#...)",
    );
  } else throw bad(text, "expected an id of 3 or 8 hex digits, then '#'");
  for (let i = 0; i < digits; i++) {
    const n = nibble(text, i);
    if (n < 0) throw bad(text, `${JSON.stringify(text[i])} is not a hex digit`);
    rawId = rawId * 16 + n;
  }
  idx = digits + 1;

  const isErrorFrame = digits === 8 && (rawId & CAN_ERR_FLAG) !== 0;
  let arbitrationId: number;
  let isExtendedId: boolean;
  if (digits === 3) {
    if (rawId > 0x7ff) throw badValue(text, "a standard id must be at most 7FF");
    arbitrationId = rawId;
    isExtendedId = false;
  } else if (isErrorFrame) {
    if (rawId & CAN_RTR_FLAG) throw badValue(text, "an error frame cannot be a remote frame");
    arbitrationId = rawId & CAN_ERR_MASK;
    isExtendedId = (rawId & CAN_EFF_FLAG) !== 0 || arbitrationId > 0x7ff;
  } else {
    if (rawId > CAN_ERR_MASK) throw badValue(text, "an extended id must be at most 1FFFFFFF");
    arbitrationId = rawId;
    isExtendedId = true;
  }

  const c = text[idx];
  if (c === "R" || c === "r") {
    if (isErrorFrame) throw badValue(text, "an error frame cannot be a remote frame");
    idx++;
    let dlc = 0;
    if (idx < text.length) {
      dlc = nibble(text, idx);
      if (dlc < 0 || dlc > 8) throw bad(text, "the dlc of a remote frame must be a digit 0-8");
      idx++;
      if (dlc === 8) idx = skipLen8Dlc(text, idx);
    }
    if (idx < text.length) throw bad(text, "unexpected text after the remote frame");
    return validateFrame(
      createFrame({ arbitrationId, isExtendedId, isRemoteFrame: true, dlc }),
    );
  }

  let isFd = false;
  let flags = 0;
  if (c === "#") {
    isFd = true;
    flags = nibble(text, idx + 1);
    if (flags < 0) throw bad(text, "'##' must be followed by a hex digit of CAN FD flags");
    idx += 2;
  }

  const bytes: number[] = [];
  while (idx < text.length) {
    if (text[idx] === ".") {
      idx++;
      if (idx >= text.length) break;
    }
    if (!isFd && bytes.length === 8 && text[idx] === "_") {
      idx = skipLen8Dlc(text, idx);
      break;
    }
    const hi = nibble(text, idx);
    const lo = nibble(text, idx + 1);
    if (hi < 0 || lo < 0) {
      throw bad(text, `expected a hex byte at ${JSON.stringify(text.slice(idx, idx + 2))}`);
    }
    bytes.push(hi * 16 + lo);
    idx += 2;
  }
  if (idx < text.length) throw bad(text, "unexpected text after the data");
  if (isFd) {
    if (!CANFD_LENGTHS.includes(bytes.length)) {
      throw badValue(
        text,
        `CAN FD data must be 0-8, 12, 16, 20, 24, 32, 48 or 64 bytes, got ${bytes.length}`,
      );
    }
  } else if (bytes.length > 8) {
    throw badValue(text, `classic CAN data must be at most 8 bytes, got ${bytes.length}`);
  }
  return validateFrame(createFrame({
    arbitrationId,
    isExtendedId,
    isErrorFrame,
    isFd,
    bitrateSwitch: (flags & CANFD_BRS) !== 0,
    errorStateIndicator: (flags & CANFD_ESI) !== 0,
    data: bytes,
  }));
}

/** Reads `_` and a raw DLC 9-F at `idx` (lib.c `CC_DLC_DELIM`); returns the index after it. */
function skipLen8Dlc(text: string, idx: number): number {
  if (idx >= text.length) return idx;
  if (text[idx] !== "_") throw bad(text, "unexpected text after the dlc");
  const raw = nibble(text, idx + 1);
  if (raw < 9) throw bad(text, "'_' must be followed by a raw DLC 9-F");
  return idx + 2;
}

function hex(value: number, width: number): string {
  return value.toString(16).toUpperCase().padStart(width, "0");
}

/**
 * Writes a frame in `cansend` syntax, as can-utils' `sprint_canframe()` does
 * (uppercase hex, no separators).
 *
 * @param frame The frame; it is checked with `validateFrame()`.
 * @returns The text, e.g. `123#DEADBEEF`, `1F334455#112233`, `123#R8` or `123##3AABB`.
 * @throws {TypeError} When a field of `frame` has the wrong type.
 * @throws {RangeError} When `frame` breaks a CAN rule.
 * @example
 * ```ts
 * import { stringifyCansend } from "./candump.ts";
 * import { createFrame } from "./frame.ts";
 * const text = stringifyCansend(createFrame({ arbitrationId: 0x123, isExtendedId: false, data: [0xde, 0xad] }));
 * if (text !== "123#DEAD") throw new Error(text);
 * ```
 */
export function stringifyCansend(frame: CanFrame): string {
  const f = validateFrame(frame);
  let text: string;
  if (f.isErrorFrame) {
    text = hex((f.arbitrationId | CAN_ERR_FLAG | (f.isExtendedId ? CAN_EFF_FLAG : 0)) >>> 0, 8);
  } else if (f.isExtendedId) {
    text = hex(f.arbitrationId, 8);
  } else {
    text = hex(f.arbitrationId, 3);
  }
  text += "#";
  if (f.isRemoteFrame) return text + (f.dlc > 0 ? `R${f.dlc}` : "R");
  if (f.isFd) {
    text += "#" +
      hex((f.bitrateSwitch ? CANFD_BRS : 0) | (f.errorStateIndicator ? CANFD_ESI : 0), 1);
  }
  for (const byte of f.data) text += hex(byte, 2);
  return text;
}

/**
 * Parses a `candump -L` (or `candump -l` log file) line.
 *
 * Accepts what can-utils and python-can's `CanutilsLogWriter` write: a
 * timestamp in parentheses, a channel (padded with spaces when candump
 * listened on several), the frame, and an optional direction `R` or `T`
 * (python-can, newer candump with `-x`) that sets `isRx`. A channel of digits
 * only becomes a number, as in python-can's `CanutilsLogReader`. Spaces
 * around the line (and a trailing `\r`) are ignored.
 *
 * @param line One line, e.g. `(1700000000.250000) vcan0 123#11223344`.
 * @returns The frame with `timestamp` and `channel` set (`isRx` too when the line has a direction).
 * @throws {SyntaxError} When the line does not have this shape or its frame
 *   is not in `cansend` syntax; the message quotes it.
 * @throws {RangeError} When the frame's values do not fit the frame model.
 * @example
 * ```ts
 * import { parseCandump } from "./candump.ts";
 * const frame = parseCandump("(1700000000.250000) vcan0 123#11223344");
 * if (frame.timestamp !== 1700000000.25 || frame.channel !== "vcan0") throw new Error();
 * if (frame.arbitrationId !== 0x123 || frame.dlc !== 4) throw new Error();
 * ```
 */
export function parseCandump(line: string): CanFrame {
  if (typeof line !== "string") {
    throw new TypeError(`A candump line must be a string, got ${typeof line}`);
  }
  const fields = line.trim().split(/\s+/);
  const invalid = (why: string) =>
    new SyntaxError(`Invalid candump line ${JSON.stringify(line)}: ${why}`);
  if (fields.length < 3 || fields.length > 4) {
    throw invalid("expected '(timestamp) channel frame' and an optional direction R or T");
  }
  const [stamp, channel, text, direction] = fields;
  const match = /^\((\d+(?:\.\d+)?)\)$/.exec(stamp);
  if (!match) throw invalid(`${JSON.stringify(stamp)} is not a timestamp like (1700000000.250000)`);
  let isRx: boolean | undefined;
  if (direction !== undefined) {
    const d = direction.toUpperCase();
    if (d !== "R" && d !== "T") {
      throw invalid(`${JSON.stringify(direction)} is not a direction R or T`);
    }
    isRx = d === "R";
  }
  let frame: CanFrame;
  try {
    frame = parseCansend(text);
  } catch (error) {
    if (error instanceof SyntaxError) throw invalid(error.message);
    if (error instanceof RangeError) {
      throw new RangeError(`Invalid candump line ${JSON.stringify(line)}: ${error.message}`);
    }
    throw error;
  }
  frame.timestamp = parseFloat(match[1]);
  frame.channel = /^\d+$/.test(channel) ? Number(channel) : channel;
  if (isRx !== undefined) frame.isRx = isRx;
  return frame;
}

/**
 * Writes a frame as a `candump -L` line (without the line end): the
 * timestamp with 6 decimals and the seconds padded to 10 digits
 * (`%010lu.%06lu`), the channel, the frame in `cansend` syntax, and, when
 * `frame.isRx` is set, the direction ` R` or ` T` as python-can writes it.
 *
 * A numeric channel `n` is written `can<n>`, as python-can does.
 *
 * @param frame The frame; it is checked with `validateFrame()`.
 * @param channel Channel written when `frame.channel` is not set.
 * @default {"vcan0"} for `channel`.
 * @returns The line, e.g. `(1700000000.250000) vcan0 123#11223344`.
 * @throws {TypeError} When a field of `frame` has the wrong type.
 * @throws {RangeError} When `frame` breaks a CAN rule, its timestamp is
 *   negative (or 1e21 and above), or the channel is empty or contains spaces.
 * @example
 * ```ts
 * import { stringifyCandump } from "./candump.ts";
 * import { createFrame } from "./frame.ts";
 * const frame = createFrame({ timestamp: 1700000000.25, arbitrationId: 0x123, isExtendedId: false, data: [0x11, 0x22] });
 * const line = stringifyCandump(frame, "can1");
 * if (line !== "(1700000000.250000) can1 123#1122") throw new Error(line);
 * ```
 */
export function stringifyCandump(
  frame: CanFrame,
  channel: string | number = DEFAULT_CANDUMP_CHANNEL,
): string {
  const text = stringifyCansend(frame);
  if (!(frame.timestamp >= 0 && frame.timestamp < 1e21)) {
    throw new RangeError(`A candump timestamp must be 0 to 1e21 seconds, got ${frame.timestamp}`);
  }
  const [seconds, micros] = frame.timestamp.toFixed(6).split(".");
  let name = frame.channel ?? channel;
  if (typeof name === "number") name = `can${name}`;
  if (typeof name !== "string" || name === "" || /\s/.test(name)) {
    throw new RangeError(
      `A candump channel must be a name without spaces, got ${JSON.stringify(name)}`,
    );
  }
  let line = `(${seconds.padStart(10, "0")}.${micros}) ${name} ${text}`;
  if (frame.isRx !== undefined) line += frame.isRx ? " R" : " T";
  return line;
}
