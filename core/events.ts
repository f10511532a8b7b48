/**
 * The decoded event model: what travels over a canremote WebSocket once the
 * codecs (`codec_json.ts`, `codec_binary.ts`, `codec.ts`) have parsed it.
 * PROTOCOL.md describes the wire form of every event.
 *
 * @module
 */

import type { CanFilter } from "./bus.ts";
import type { CanFrame } from "./frame.ts";
import type { BusHealth } from "./bus_health.ts";

/**
 * One protocol event, decoded.
 *
 * - `bus_request`: the client's first event. `config` is the raw JSON object
 *   with python-can's snake_case keys (`bitrate`, `receive_own_messages`,
 *   `can_filters`, ...); the server interprets it.
 * - `bus_response`: the server's answer, describing the bus.
 * - `message`: one CAN frame, either direction.
 * - `error`: a failure report; a non-string wire payload arrives as its JSON text.
 * - `periodic_start` / `periodic_stop`: start (or replace) and stop a periodic
 *   transmission on the server, keyed by arbitration id. `period` and
 *   `duration` are seconds; `duration` is `null` for "until stopped".
 * - `dropped`: canremote's addition. The server tells a slow client how many
 *   frames it dropped for it: `count` since the last notice, `total` since
 *   the connection opened.
 * - `message_batch`: canremote's addition. Several `message` events in one
 *   WebSocket message, sent only to a client whose config asked for
 *   `message_batches` (binary type byte 0x80, or a JSON list of payloads).
 * - `set_filters`: canremote's addition. A client replaces its receive
 *   filters on the server (`null` passes everything); python-can-remote's
 *   server ignores it, so clients filter locally as well.
 * - `bus_state`: canremote's addition. The channel's health (controller
 *   state, bit rate, error counters, statistics), sent only to a client
 *   whose config asked for `bus_state`: at once, on every change of state,
 *   and at most once a second while counters move.
 *
 * @example
 * ```ts
 * import type { CanEvent } from "./events.ts";
 * import { createFrame } from "./frame.ts";
 * const events: CanEvent[] = [
 *   { type: "bus_request", config: { bitrate: 500000 } },
 *   { type: "message", frame: createFrame({ arbitrationId: 0x123, isExtendedId: false }) },
 *   { type: "periodic_stop", arbitrationId: 0x123 },
 *   { type: "dropped", count: 12, total: 40 },
 * ];
 * if (events[3].type !== "dropped") throw new Error();
 * ```
 */
export type CanEvent =
  | { type: "bus_request"; config: Record<string, unknown> }
  | { type: "bus_response"; channelInfo: string }
  | { type: "message"; frame: CanFrame }
  | { type: "error"; message: string }
  | { type: "periodic_start"; period: number; duration: number | null; frame: CanFrame }
  | { type: "periodic_stop"; arbitrationId: number }
  | { type: "dropped"; count: number; total: number }
  | { type: "set_filters"; filters: CanFilter[] | null }
  | { type: "message_batch"; frames: CanFrame[] }
  | { type: "bus_state"; health: BusHealth };

/**
 * The event of one type, for narrowing: `CanEventOf<"message">` is
 * `{ type: "message"; frame: CanFrame }`.
 *
 * @example
 * ```ts
 * import type { CanEventOf } from "./events.ts";
 * const stop: CanEventOf<"periodic_stop"> = { type: "periodic_stop", arbitrationId: 7 };
 * if (stop.arbitrationId !== 7) throw new Error();
 * ```
 */
export type CanEventOf<T extends CanEvent["type"]> = Extract<CanEvent, { type: T }>;

/**
 * Thrown by the decoders for an event type they do not know: a JSON event
 * whose `type` is not one of canremote's, or a binary message whose type byte
 * is not 1. It is a `RangeError`, so it is bad input like any other; a peer
 * may choose to ignore it, as python-can-remote silently ignores unknown
 * types (PROTOCOL.md, "Errors").
 *
 * @example
 * ```ts
 * import { decodeJson } from "./codec_json.ts";
 * import { UnknownEventTypeError } from "./events.ts";
 * try {
 *   decodeJson('{"type": "foo", "payload": {}}');
 *   throw new Error("unreachable");
 * } catch (e) {
 *   if (!(e instanceof UnknownEventTypeError) || e.eventType !== "foo") throw e;
 * }
 * ```
 */
export class UnknownEventTypeError extends RangeError {
  /** The unknown JSON `type` string, or the binary type byte. */
  readonly eventType: string | number;
  /**
   * Creates the error for an event type the codecs do not know.
   *
   * @param eventType The unknown JSON `type` string or binary type byte.
   * @param options Standard error options (`cause`).
   */
  constructor(eventType: string | number, options?: ErrorOptions) {
    super(
      typeof eventType === "number"
        ? `Unknown binary message type ${eventType}`
        : `Unknown event type ${JSON.stringify(truncate(eventType))}`,
      options,
    );
    this.name = "UnknownEventTypeError";
    this.eventType = eventType;
  }
}

function truncate(text: string): string {
  return text.length > 40 ? text.slice(0, 40) + "\u2026" : text;
}
