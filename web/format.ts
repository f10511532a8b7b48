/**
 * Text forms of frames for the web page: identifiers, data bytes, flags and
 * times, all as plain strings (the page writes them with `textContent`).
 *
 * @module
 */

import type { CanFrame } from "../core/frame.ts";

const HEX_BYTES: readonly string[] = Array.from(
  { length: 256 },
  (_, i) => i.toString(16).toUpperCase().padStart(2, "0"),
);

/**
 * Formats one byte as two upper-case hex digits.
 *
 * @param byte A value 0-255.
 * @returns The two digits.
 * @example
 * ```ts
 * import { hexByte } from "./format.ts";
 * if (hexByte(10) !== "0A") throw new Error();
 * ```
 */
export function hexByte(byte: number): string {
  return HEX_BYTES[byte & 0xff];
}

/**
 * Formats an identifier as candump does: 3 hex digits for a standard id, 8 for an extended one.
 *
 * @param frame The frame.
 * @returns The id, e.g. `"123"` or `"18FEF100"`.
 * @example
 * ```ts
 * import { formatId } from "./format.ts";
 * import { createFrame } from "../core/frame.ts";
 * if (formatId(createFrame({ arbitrationId: 0x12, isExtendedId: false })) !== "012") throw new Error();
 * if (formatId(createFrame({ arbitrationId: 0x18fef100 })) !== "18FEF100") throw new Error();
 * ```
 */
export function formatId(frame: CanFrame): string {
  const digits = frame.isExtendedId ? 8 : 3;
  return frame.arbitrationId.toString(16).toUpperCase().padStart(digits, "0");
}

/**
 * Formats the data bytes separated by spaces; a remote frame shows its requested length.
 *
 * @param frame The frame.
 * @returns e.g. `"DE AD BE EF"`, `"R 8"` for a remote frame, `""` for no data.
 * @example
 * ```ts
 * import { formatData } from "./format.ts";
 * import { createFrame } from "../core/frame.ts";
 * if (formatData(createFrame({ data: [0xde, 0xad] })) !== "DE AD") throw new Error();
 * if (formatData(createFrame({ isRemoteFrame: true, dlc: 8 })) !== "R 8") throw new Error();
 * ```
 */
export function formatData(frame: CanFrame): string {
  if (frame.isRemoteFrame) return `R ${frame.dlc}`;
  let text = "";
  const data = frame.data;
  for (let i = 0; i < data.length; i++) text += (i ? " " : "") + HEX_BYTES[data[i]];
  return text;
}

/**
 * Lists the flags of a frame as short upper-case words, in a fixed order.
 *
 * @param frame The frame.
 * @returns A subset of `EXT`, `RTR`, `ERR`, `FD`, `BRS`, `ESI`.
 * @example
 * ```ts
 * import { frameFlags } from "./format.ts";
 * import { createFrame } from "../core/frame.ts";
 * const flags = frameFlags(createFrame({ isFd: true, bitrateSwitch: true }));
 * if (flags.join(" ") !== "EXT FD BRS") throw new Error(flags.join(" "));
 * ```
 */
export function frameFlags(frame: CanFrame): string[] {
  const flags: string[] = [];
  if (frame.isExtendedId) flags.push("EXT");
  if (frame.isRemoteFrame) flags.push("RTR");
  if (frame.isErrorFrame) flags.push("ERR");
  if (frame.isFd) flags.push("FD");
  if (frame.bitrateSwitch) flags.push("BRS");
  if (frame.errorStateIndicator) flags.push("ESI");
  return flags;
}

/** How the trace shows time: wall clock, seconds since a reference, or seconds since the previous frame. */
export type TimeMode = "absolute" | "relative" | "delta";

/**
 * Formats a timestamp (seconds since the epoch) for the trace.
 *
 * @param timestamp The frame's timestamp in seconds.
 * @param mode `"absolute"`: local time of day with microseconds; `"relative"`:
 *   seconds since `reference`; `"delta"`: seconds since `reference` with a sign.
 * @param reference Start of the recording (`"relative"`) or the previous frame's timestamp (`"delta"`).
 * @default {0} for `reference`
 * @returns e.g. `"14:03:27.250113"`, `"12.003150"` or `"+0.010002"`.
 * @example
 * ```ts
 * import { formatTime } from "./format.ts";
 * if (formatTime(100.5, "relative", 100) !== "0.500000") throw new Error();
 * if (formatTime(100.5, "delta", 100.25) !== "+0.250000") throw new Error();
 * if (!/^\d\d:\d\d:\d\d\.\d{6}$/.test(formatTime(1700000000.25, "absolute"))) throw new Error();
 * ```
 */
export function formatTime(timestamp: number, mode: TimeMode, reference = 0): string {
  if (mode === "relative") return (timestamp - reference).toFixed(6);
  if (mode === "delta") return "+" + Math.max(0, timestamp - reference).toFixed(6);
  const whole = Math.floor(timestamp);
  const date = new Date(whole * 1000);
  const micros = Math.round((timestamp - whole) * 1e6);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${
    String(Math.min(micros, 999999)).padStart(6, "0")
  }`;
}

/**
 * Formats a count with thin-space thousands separators, as a trace tool's status bar does.
 *
 * @param n A non-negative integer.
 * @returns e.g. `"12 345"`.
 * @example
 * ```ts
 * import { formatCount } from "./format.ts";
 * if (formatCount(1234567) !== "1\u202f234\u202f567") throw new Error();
 * ```
 */
export function formatCount(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, "\u202f");
}

/**
 * Parses data bytes typed as hex, with or without separators (space, `.`, `:`, `-`, `,`).
 *
 * @param text e.g. `"DE AD BE EF"`, `"deadbeef"` or `"de.ad"`.
 * @returns The bytes.
 * @throws {SyntaxError} When `text` is not whole hex bytes; the message quotes it.
 * @example
 * ```ts
 * import { parseHexBytes } from "./format.ts";
 * if (parseHexBytes("de ad.BE:ef").join() !== "222,173,190,239") throw new Error();
 * ```
 */
export function parseHexBytes(text: string): Uint8Array {
  const digits = text.replace(/[\s.:,-]+/g, "");
  if (!/^([0-9a-f]{2})*$/i.test(digits)) {
    throw new SyntaxError(`Data ${JSON.stringify(text)} is not hex bytes (like DE AD BE EF)`);
  }
  return Uint8Array.from(digits.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}
