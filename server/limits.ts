// Every limit of a server is a named option with a documented default.

/** Limits and server-side choices that every session applies. */
export interface Limits {
  /**
   * Bytes queued for one client beyond which frames are dropped for it.
   * @default {1048576}
   */
  maxBufferedBytes: number;
  /**
   * Largest WebSocket message accepted from a client, in bytes; larger ones close with 1009.
   * @default {65536}
   */
  maxMessageSize: number;
  /**
   * Milliseconds a new connection has to send its bus_request (close 4408 after).
   * @default {10000}
   */
  requestTimeout: number;
  /**
   * Periodic tasks one client may run at once.
   * @default {64}
   */
  maxPeriodicTasks: number;
  /**
   * Shortest period of a periodic task, in seconds.
   * @default {0.001}
   */
  minPeriod: number;
  /**
   * Frames from one client waiting for the bus before new ones are refused.
   * @default {4096}
   */
  maxPendingSends: number;
  /**
   * Messages a client may send before its bus is open.
   * @default {1024}
   */
  maxPendingInput: number;
  /**
   * Largest `bus_request` (the first message), in bytes; larger ones close with 1009
   * before any bus is opened.
   * @default {16384}
   */
  maxConfigSize: number;
  /**
   * Frames per second one client may transmit (a token bucket of `sendBurst`);
   * frames beyond it are dropped with an `error` event. Its periodic tasks together
   * may not exceed it either. `Infinity` turns the limit off.
   * @default {10000}
   */
  maxSendRate: number;
  /**
   * Frames one client may transmit at once above `maxSendRate`.
   * @default {1000}
   */
  sendBurst: number;
  /**
   * Arbitration ids clients may transmit (send and periodic tasks), as
   * inclusive ranges; other ids get an `error` event. `undefined` allows every id.
   * @default {undefined}
   */
  allowedIds?: readonly IdRange[];
  /** Bit rate forced on every client's bus (from `--bitrate`). */
  bitrate?: number;
}

/** The defaults of {@linkcode Limits}. */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxBufferedBytes: 1 << 20,
  maxMessageSize: 1 << 16,
  requestTimeout: 10_000,
  maxPeriodicTasks: 64,
  minPeriod: 0.001,
  maxPendingSends: 4096,
  maxPendingInput: 1024,
  maxConfigSize: 16384,
  maxSendRate: 10_000,
  sendBurst: 1000,
});

/**
 * An inclusive range of arbitration ids. It matches the numeric id whether
 * the frame's id is standard or extended.
 *
 * @example
 * ```ts
 * import type { IdRange } from "./limits.ts";
 * const body: IdRange = { from: 0x100, to: 0x1ff };
 * if (body.to - body.from !== 255) throw new Error();
 * ```
 */
export interface IdRange {
  /** First id. */
  from: number;
  /** Last id (inclusive). */
  to: number;
}

/**
 * Parses an id range as CAN tools write ids: hexadecimal, with or without
 * `0x`, one id (`123`) or two joined by `-` (`100-1FF`).
 *
 * @param text The range.
 * @returns The range.
 * @throws {SyntaxError} When it is not hexadecimal ids.
 * @throws {RangeError} When an id exceeds 0x1FFFFFFF or the range is reversed.
 * @example
 * ```ts
 * import { parseIdRange } from "./limits.ts";
 * const range = parseIdRange("0x100-1ff");
 * if (range.from !== 0x100 || range.to !== 0x1ff) throw new Error();
 * if (parseIdRange("7DF").to !== 0x7df) throw new Error();
 * ```
 */
export function parseIdRange(text: string): IdRange {
  const match = /^\s*(?:0x)?([0-9a-f]{1,8})\s*(?:-\s*(?:0x)?([0-9a-f]{1,8})\s*)?$/i.exec(text);
  if (!match) {
    throw new SyntaxError(
      `An id range is hexadecimal ids like "123" or "100-1FF", got ${JSON.stringify(text)}`,
    );
  }
  const from = parseInt(match[1], 16);
  const to = match[2] === undefined ? from : parseInt(match[2], 16);
  if (to > 0x1fffffff) {
    throw new RangeError(`Ids go up to 0x1FFFFFFF, got ${JSON.stringify(text)}`);
  }
  if (to < from) throw new RangeError(`The range ${JSON.stringify(text)} ends before it starts`);
  return { from, to };
}

/**
 * Whether an id is in one of the ranges.
 *
 * @param ranges The allowed ranges, or `undefined` for all ids.
 * @param id The arbitration id.
 * @returns `true` when allowed.
 * @example
 * ```ts
 * import { idAllowed } from "./limits.ts";
 * if (!idAllowed(undefined, 0x7ff) || idAllowed([{ from: 1, to: 2 }], 3)) throw new Error();
 * ```
 */
export function idAllowed(ranges: readonly IdRange[] | undefined, id: number): boolean {
  return ranges === undefined || ranges.some((r) => id >= r.from && id <= r.to);
}

/**
 * Ranges as hexadecimal text for messages: `"0x100-0x1FF, 0x7DF"`.
 *
 * @param ranges The ranges.
 * @returns The text.
 * @example
 * ```ts
 * import { formatIdRanges } from "./limits.ts";
 * if (formatIdRanges([{ from: 0x7df, to: 0x7df }]) !== "0x7DF") throw new Error();
 * ```
 */
export function formatIdRanges(ranges: readonly IdRange[]): string {
  const hex = (n: number) => "0x" + n.toString(16).toUpperCase();
  return ranges.map((r) => r.from === r.to ? hex(r.from) : `${hex(r.from)}-${hex(r.to)}`).join(
    ", ",
  );
}
