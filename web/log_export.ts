/**
 * The page's "Save log": recorded frames as a `candump -L` log that
 * can-utils' `canplayer`, python-can's `CanutilsLogReader` and canremote's
 * `parseCandump` read back.
 *
 * @module
 */

import { stringifyCandump } from "../core/candump.ts";
import type { CanFrame } from "../core/frame.ts";

/**
 * The interface name a log line carries for a server channel: the server's
 * own name of it (the virtual bus's `0` stays `0`, as the tools write it and
 * the server says it); spaces become `_`.
 *
 * @param channel The server's channel name.
 * @returns A name without spaces.
 * @example
 * ```ts
 * import { logChannelName } from "./log_export.ts";
 * if (logChannelName("0") !== "0" || logChannelName("vcan0") !== "vcan0") throw new Error();
 * ```
 */
export function logChannelName(channel: string): string {
  return channel.replace(/\s+/g, "_") || "0";
}

/**
 * Writes frames as `candump -L` lines, one per frame with a `\n` after each,
 * all on `channel` and without a direction (as `candump -L` writes them).
 *
 * @param frames The frames, oldest first.
 * @param channel Interface name for every line.
 * @returns The log text.
 * @throws {RangeError} When a frame cannot be written (see `stringifyCandump`).
 * @example
 * ```ts
 * import { toCandumpLog } from "./log_export.ts";
 * import { createFrame } from "../core/frame.ts";
 * const frame = createFrame({ timestamp: 1700000000.5, arbitrationId: 0x123, isExtendedId: false, data: [1], isRx: true });
 * if (toCandumpLog([frame], "can0") !== "(1700000000.500000) can0 123#01\n") throw new Error();
 * ```
 */
export function toCandumpLog(frames: Iterable<CanFrame>, channel: string): string {
  const lines: string[] = [];
  for (const frame of frames) {
    const { channel: _channel, isRx: _isRx, ...plain } = frame;
    lines.push(stringifyCandump(plain, channel));
  }
  return lines.length ? lines.join("\n") + "\n" : "";
}
