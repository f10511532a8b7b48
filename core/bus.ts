/**
 * The `Bus` contract that every backend implements: the virtual bus,
 * SocketCAN and `RemoteBus`. One conformance suite (`tests/bus_conformance.ts`)
 * runs against each.
 *
 * @module
 */

import type { CanFrame } from "./frame.ts";
import { mustBe } from "./_show.ts";

/**
 * A receive filter with python-can's matching rule: a frame passes when
 * `(frame.arbitrationId ^ canId) & canMask` is zero and, if `extended` is
 * given, `frame.isExtendedId === extended`.
 */
export interface CanFilter {
  /** Identifier bits to compare. */
  canId: number;
  /** Which bits of the identifier take part. */
  canMask: number;
  /** When given, only frames with this kind of identifier pass. */
  extended?: boolean;
}

/** Options every backend understands; backends document any others they take. */
export interface BusOptions {
  /** Channel to open (`"vcan0"`, `0`, ...). */
  channel?: string | number;
  /**
   * Deliver this bus instance's own transmitted frames to itself.
   * @default {false}
   */
  receiveOwnMessages?: boolean;
  /**
   * Receive filters; none, `null` or an empty list means every frame.
   * @default {null}
   */
  canFilters?: CanFilter[] | null;
  /** Nominal bit rate in bit/s. */
  bitrate?: number;
  /** CAN FD data phase bit rate in bit/s. */
  dataBitrate?: number;
  /** Open the bus for CAN FD frames. */
  fd?: boolean;
  /**
   * Keep the sender's timestamp instead of stamping frames on reception
   * (python-can's virtual bus option of the same name).
   * @default {false}
   */
  preserveTimestamps?: boolean;
}

/** Options of {@linkcode Bus.receive}. */
export interface ReceiveOptions {
  /** Aborts the wait; the promise rejects with the signal's reason. Use `AbortSignal.timeout(ms)` for a timeout. */
  signal?: AbortSignal;
}

/** Options of {@linkcode Bus.sendPeriodic}. */
export interface PeriodicOptions {
  /** Stop by itself after this many seconds; runs until stopped when left out. */
  duration?: number;
}

/** A frame sent again and again by {@linkcode Bus.sendPeriodic}. */
export interface PeriodicTask {
  /** The frame being sent. */
  readonly frame: CanFrame;
  /** Seconds between two transmissions. */
  readonly period: number;
  /** `true` once stopped, by `stop()`, by its duration or by the bus closing. */
  readonly stopped: boolean;
  /**
   * Sends another frame from the next period on.
   * @param frame The new frame; it must have the same arbitration id.
   * @throws {RangeError} When the id differs or the frame is invalid.
   */
  modify(frame: CanFrame): void;
  /** Stops transmitting. Stopping twice does nothing. */
  stop(): void;
}

/** A CAN bus: send, receive, periodic transmission and filters. */
export interface Bus extends AsyncIterable<CanFrame>, AsyncDisposable {
  /** Human-readable description such as `"virtual channel 0"`. */
  readonly channelInfo: string;
  /** `true` once `close()` was called or the bus went away. */
  readonly closed: boolean;
  /**
   * Transmits one frame after validating it.
   * @throws {TypeError} / {RangeError} for an invalid frame (nothing is sent).
   * @throws {BusClosedError} When the bus is closed.
   */
  send(frame: CanFrame): Promise<void>;
  /**
   * Waits for the next frame that passes the filters.
   * @throws {BusClosedError} When the bus closes while waiting.
   */
  receive(options?: ReceiveOptions): Promise<CanFrame>;
  /**
   * Starts sending `frame` every `period` seconds.
   * @throws {RangeError} For an invalid frame or period.
   */
  sendPeriodic(frame: CanFrame, period: number, options?: PeriodicOptions): PeriodicTask;
  /** Replaces the receive filters; `null`, `undefined` or `[]` passes everything. */
  setFilters(filters?: CanFilter[] | null): void;
  /** Stops periodic tasks, rejects pending receives and releases the bus. Idempotent. */
  close(): Promise<void>;
  /**
   * Optional fast path: hands every frame (or bus error) to `listener`
   * synchronously as it arrives, instead of queueing it for `receive()`.
   * After this call `receive()` and iteration get nothing more. The server
   * uses it to relay frames without a promise per frame.
   */
  subscribe?(listener: (entry: CanFrame | Error) => void): void;
}

/**
 * Applies python-can's filter rule.
 *
 * @param frame The frame to test.
 * @param filters Filters; `null`, `undefined` or empty passes everything.
 * @returns `true` when the frame passes.
 * @example
 * ```ts
 * import { matchesFilters } from "./bus.ts";
 * import { createFrame } from "./frame.ts";
 * const frame = createFrame({ arbitrationId: 0x123, isExtendedId: false });
 * if (!matchesFilters(frame, [{ canId: 0x120, canMask: 0x7f0 }])) throw new Error();
 * if (matchesFilters(frame, [{ canId: 0x123, canMask: 0x7ff, extended: true }])) throw new Error();
 * ```
 */
export function matchesFilters(frame: CanFrame, filters?: readonly CanFilter[] | null): boolean {
  if (!filters || filters.length === 0) return true;
  for (const filter of filters) {
    if (filter.extended !== undefined && filter.extended !== frame.isExtendedId) continue;
    if (((filter.canId ^ frame.arbitrationId) & filter.canMask) === 0) return true;
  }
  return false;
}

/**
 * Checks filters given by a user or a client's config.
 *
 * @param filters Filters to check.
 * @returns The same filters, or `null` for none.
 * @throws {TypeError} When the list or an entry has the wrong shape.
 * @throws {RangeError} When an id or mask is not a 32-bit unsigned integer,
 * or there are more than {@linkcode MAX_FILTERS}.
 * @example
 * ```ts
 * import { checkFilters } from "./bus.ts";
 * checkFilters([{ canId: 0x100, canMask: 0x700 }]);
 * ```
 */
export function checkFilters(filters: unknown): CanFilter[] | null {
  if (filters === null || filters === undefined) return null;
  if (!Array.isArray(filters)) throw new TypeError("can_filters must be a list of filters");
  if (filters.length > MAX_FILTERS) {
    throw new RangeError(`At most ${MAX_FILTERS} filters, got ${filters.length}`);
  }
  for (const [i, filter] of filters.entries()) {
    if (filter === null || typeof filter !== "object") {
      throw new TypeError(mustBe(`Filter ${i}`, "an object", filter));
    }
    for (const key of ["canId", "canMask"] as const) {
      const value = filter[key];
      if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
        throw new RangeError(
          mustBe(`Filter ${i}: ${key}`, "an integer 0-0xFFFFFFFF", value),
        );
      }
    }
    if (filter.extended !== undefined && typeof filter.extended !== "boolean") {
      throw new TypeError(mustBe(`Filter ${i}: extended`, "a boolean", filter.extended));
    }
  }
  return filters.length === 0 ? null : filters;
}

/**
 * The most filters one bus takes: Linux's `CAN_RAW_FILTER_MAX`
 * (include/uapi/linux/can/raw.h), so every backend refuses the same lists.
 */
export const MAX_FILTERS = 512;
