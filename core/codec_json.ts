/**
 * The JSON events of `can.json.v1` and `can.binary+json.v1`: every event is
 * `{"type": ..., "payload": ...}` (PROTOCOL.md, "Events").
 *
 * This file holds the one table between the frame model's camelCase names and
 * python-can's snake_case wire names ({@linkcode WIRE_NAMES}). Output is
 * byte-identical to Python's `json.dumps` as python-can-remote uses it
 * (`", "` and `": "` separators, ASCII only, floats in `repr` form such as
 * `0.0`), so both implementations put the same text on the wire.
 *
 * @module
 */

import { allocate } from "./_slab.ts";
import { checkEncodable, MAX_DATA_LENGTH } from "./codec_binary.ts";
import { type CanEvent, UnknownEventTypeError } from "./events.ts";
import type { CanFrame } from "./frame.ts";
import { type CanFilter, checkFilters, MAX_FILTERS } from "./bus.ts";
import { EVENT_TYPES } from "./protocol.ts";
import { busStateFromJson, busStateToJson } from "./codec_bus_state.ts";
import { filtersToJson } from "./_filters_json.ts";
import { mustBe, show } from "./_show.ts";

/**
 * camelCase name → python-can's snake_case wire name, for every name that
 * crosses the wire: `Message` fields, the `bus_response` payload, and the
 * `bus_request` config keys of `BusOptions` and `CanFilter` (bus.ts).
 *
 * @example
 * ```ts
 * import { WIRE_NAMES } from "./codec_json.ts";
 * if (WIRE_NAMES.receiveOwnMessages !== "receive_own_messages") throw new Error();
 * ```
 */
export const WIRE_NAMES: Readonly<Record<string, string>> = Object.freeze({
  // python-can Message
  timestamp: "timestamp",
  arbitrationId: "arbitration_id",
  isExtendedId: "is_extended_id",
  isRemoteFrame: "is_remote_frame",
  isErrorFrame: "is_error_frame",
  channel: "channel",
  dlc: "dlc",
  data: "data",
  isFd: "is_fd",
  isRx: "is_rx",
  bitrateSwitch: "bitrate_switch",
  errorStateIndicator: "error_state_indicator",
  // bus_response payload
  channelInfo: "channel_info",
  // bus_request config (BusOptions, CanFilter)
  receiveOwnMessages: "receive_own_messages",
  canFilters: "can_filters",
  bitrate: "bitrate",
  dataBitrate: "data_bitrate",
  fd: "fd",
  preserveTimestamps: "preserve_timestamps",
  canId: "can_id",
  canMask: "can_mask",
  extended: "extended",
});

/**
 * The inverse of {@linkcode WIRE_NAMES}: snake_case wire name → camelCase name.
 *
 * @example
 * ```ts
 * import { CAMEL_CASE_NAMES } from "./codec_json.ts";
 * if (CAMEL_CASE_NAMES.can_filters !== "canFilters") throw new Error();
 * ```
 */
export const CAMEL_CASE_NAMES: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(Object.entries(WIRE_NAMES).map(([camel, wire]) => [wire, camel])),
);

const MESSAGE_FIELDS = [
  "timestamp",
  "arbitrationId",
  "isExtendedId",
  "isRemoteFrame",
  "isErrorFrame",
  "channel",
  "dlc",
  "data",
  "isFd",
  "isRx",
  "bitrateSwitch",
  "errorStateIndicator",
] as const;

// The keyword arguments of python-can's Message(); `check` is accepted and ignored.
// "extended_id" is python-can 2's name of is_extended_id; the seed's protocol
// examples still use it (PROTOCOL.md, "message").
const LEGACY_EXTENDED_ID = "extended_id";
const MESSAGE_KEYS = new Set([
  ...MESSAGE_FIELDS.map((name) => WIRE_NAMES[name]),
  "check",
  LEGACY_EXTENDED_ID,
]);

const w = WIRE_NAMES;
const key = (camel: string) => `"${w[camel]}": `;
// Field prefixes of the hand-built message text, in python-can-remote's key order.
const K_TIMESTAMP = `{${key("timestamp")}`;
const K_ID = `, ${key("arbitrationId")}`;
const K_EXTENDED = `, ${key("isExtendedId")}`;
const K_REMOTE = `, ${key("isRemoteFrame")}`;
const K_ERROR = `, ${key("isErrorFrame")}`;
const K_DLC = `, ${key("dlc")}`;
const K_DATA = `, ${key("data")}`;
const K_FD = `, ${key("isFd")}`;
const K_BRS = `, ${key("bitrateSwitch")}`;
const K_ESI = `, ${key("errorStateIndicator")}`;
const TYPES = new Set<string>(EVENT_TYPES);
const MESSAGE_START = '{"type": "message", "payload": ';

/**
 * Formats a number as Python's `repr(float)` does. JavaScript and Python
 * print the same shortest round-trip digits; they differ in `1.0` against
 * `1` and in when and how they switch to exponent notation.
 */
function pyFloat(x: number): string {
  if (Number.isInteger(x)) {
    if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
    if (Math.abs(x) < 1e16) return x + ".0";
  } else if (Math.abs(x) >= 1e-4 && Math.abs(x) < 1e16) {
    return String(x);
  }
  // Python: exponent notation below 1e-4 and from 1e16 on, at least two exponent digits.
  return x.toExponential().replace(/e([+-])(\d)$/, (_, sign, digit) => `e${sign}0${digit}`);
}

/** JSON string literal with Python's `ensure_ascii` escaping. */
function pyString(text: string): string {
  return asciiEscape(JSON.stringify(text));
}

function asciiEscape(literal: string): string {
  return literal.replace(
    /[\u007f-\uffff]/g,
    (char) => "\\u" + char.charCodeAt(0).toString(16).padStart(4, "0"),
  );
}

/** Any JSON value in `json.dumps` layout (numbers keep JavaScript's form). */
function pyJson(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError(`Cannot encode ${typeof value} as JSON`);
  return text.replace(
    /"(?:[^"\\]|\\.)*"|[,:]/g,
    (token) => token === "," ? ", " : token === ":" ? ": " : asciiEscape(token),
  );
}

function bool(value: boolean): string {
  return value ? "true" : "false";
}

// Byte values as text, looked up rather than converted: 3x faster for 64 bytes.
const BYTE_TEXT = Array.from({ length: 256 }, (_, byte) => String(byte));
const NEXT_BYTE_TEXT = BYTE_TEXT.map((text) => ", " + text);

function dataText(data: Uint8Array): string {
  const length = data.length;
  if (length === 0) return "[]";
  let text = "[" + BYTE_TEXT[data[0]];
  for (let i = 1; i < length; i++) text += NEXT_BYTE_TEXT[data[i]];
  return text + "]";
}

function messageText(frame: CanFrame): string {
  checkEncodable(frame);
  let text = K_TIMESTAMP + pyFloat(frame.timestamp) + K_ID + frame.arbitrationId +
    K_EXTENDED + bool(frame.isExtendedId) + K_REMOTE + bool(frame.isRemoteFrame) +
    K_ERROR + bool(frame.isErrorFrame) + K_DLC + frame.dlc + K_DATA + dataText(frame.data);
  if (frame.isFd) {
    text += K_FD + "true" + K_BRS + bool(frame.bitrateSwitch) + K_ESI +
      bool(frame.errorStateIndicator);
  }
  return text + "}";
}

// python-can-remote's client sends no timestamp and no error_state_indicator
// here; canremote adds `"error_state_indicator": true` when set, which the
// reference server honours (conformance events.json, periodic_observed_on_server).
function periodicMessageText(frame: CanFrame): string {
  checkEncodable(frame);
  return `{${key("arbitrationId")}${frame.arbitrationId}` + K_EXTENDED +
    bool(frame.isExtendedId) + K_REMOTE + bool(frame.isRemoteFrame) + K_ERROR +
    bool(frame.isErrorFrame) + K_FD + bool(frame.isFd) + K_BRS + bool(frame.bitrateSwitch) +
    (frame.errorStateIndicator ? K_ESI + "true" : "") + K_DLC + frame.dlc + K_DATA +
    dataText(frame.data) + "}";
}

/**
 * Converts a frame to the JSON object of a `message` payload, with
 * python-can-remote's keys in its order; `is_fd`, `bitrate_switch` and
 * `error_state_indicator` follow `data` for CAN FD frames only.
 *
 * @param frame The frame; `channel` and `isRx` are not sent.
 * @returns A plain object ready for `JSON.stringify`.
 * @throws {TypeError} When `data` is not a `Uint8Array`.
 * @throws {RangeError} When a value does not fit the wire (see `checkEncodable` in codec_binary.ts).
 * @example
 * ```ts
 * import { messageToJson } from "./codec_json.ts";
 * import { createFrame } from "./frame.ts";
 * const payload = messageToJson(createFrame({ arbitrationId: 0x123, isExtendedId: false, data: [1] }));
 * if (payload.arbitration_id !== 291 || payload.is_extended_id !== false) throw new Error();
 * ```
 */
export function messageToJson(frame: CanFrame): Record<string, unknown> {
  checkEncodable(frame);
  const payload: Record<string, unknown> = {
    [w.timestamp]: frame.timestamp,
    [w.arbitrationId]: frame.arbitrationId,
    [w.isExtendedId]: frame.isExtendedId,
    [w.isRemoteFrame]: frame.isRemoteFrame,
    [w.isErrorFrame]: frame.isErrorFrame,
    [w.dlc]: frame.dlc,
    [w.data]: Array.from(frame.data),
  };
  if (frame.isFd) {
    payload[w.isFd] = true;
    payload[w.bitrateSwitch] = frame.bitrateSwitch;
    payload[w.errorStateIndicator] = frame.errorStateIndicator;
  }
  return payload;
}

/**
 * Builds a frame from a `message` payload as python-can's `Message(**payload)`
 * would, with its defaults for missing fields: `timestamp` 0,
 * `arbitration_id` 0, **`is_extended_id` true**, other flags false, `dlc` the
 * data length, `data` empty. As in python-can, a remote frame's data is
 * discarded. `channel` and `is_rx` are kept when given; `check` is accepted
 * and ignored.
 *
 * The decoding is structural, not a validation (`validateFrame` in frame.ts
 * is a separate step): dlc 8 with 2 data bytes and a standard id of 0x800
 * decode. What cannot be a frame on the wire at all is refused.
 *
 * @param payload The parsed payload.
 * @returns The frame.
 * @throws {TypeError} When the payload is not an object, has a field python-can's
 *   `Message` does not know, or a field has the wrong type (a boolean that is
 *   not `true`/`false`, data that is not a list of numbers).
 * @throws {RangeError} When an id is not an integer 0 to 2^32-1, dlc not 0-255,
 *   a data byte not 0-255, data longer than 64 bytes.
 * @example
 * ```ts
 * import { messageFromJson } from "./codec_json.ts";
 * const frame = messageFromJson({ arbitration_id: 291, data: [1, 2] });
 * if (!frame.isExtendedId || frame.dlc !== 2) throw new Error("python-can's defaults");
 * ```
 */
export function messageFromJson(payload: unknown): CanFrame {
  const fields = asObject(payload, "A message payload");
  for (const name of Object.keys(fields)) {
    if (!MESSAGE_KEYS.has(name)) {
      throw new TypeError(
        `Unexpected message field ${show(name)}: python-can's Message has no such argument`,
      );
    }
  }
  const isRemoteFrame = booleanField(fields, w.isRemoteFrame, false);
  const data = dataField(fields[w.data]);
  const frame: CanFrame = {
    timestamp: timestampField(fields[w.timestamp]),
    arbitrationId: fields[w.arbitrationId] === undefined
      ? 0
      : u32(fields[w.arbitrationId], `"${w.arbitrationId}"`),
    isExtendedId: booleanField(
      fields,
      fields[w.isExtendedId] === undefined && fields[LEGACY_EXTENDED_ID] !== undefined
        ? LEGACY_EXTENDED_ID
        : w.isExtendedId,
      true,
    ),
    isRemoteFrame,
    isErrorFrame: booleanField(fields, w.isErrorFrame, false),
    isFd: booleanField(fields, w.isFd, false),
    bitrateSwitch: booleanField(fields, w.bitrateSwitch, false),
    errorStateIndicator: booleanField(fields, w.errorStateIndicator, false),
    dlc: 0,
    data: isRemoteFrame ? allocate(0) : data,
  };
  const dlc = fields[w.dlc];
  frame.dlc = dlc === undefined || dlc === null ? frame.data.length : u8(dlc, `"${w.dlc}"`);
  const channel = fields[w.channel];
  if (channel !== undefined && channel !== null) {
    if (typeof channel !== "string" && typeof channel !== "number") {
      throw new TypeError(mustBe(`"${w.channel}"`, "a string or a number", channel));
    }
    frame.channel = channel;
  }
  if (fields[w.isRx] !== undefined) frame.isRx = booleanField(fields, w.isRx, true);
  booleanField(fields, "check", false);
  return frame;
}

function timestampField(value: unknown): number {
  if (value === undefined) return 0;
  if (typeof value !== "number") {
    throw new TypeError(mustBe(`"${w.timestamp}"`, "a number", value));
  }
  // JSON.parse turns 1e999 into Infinity.
  if (!Number.isFinite(value)) {
    throw new RangeError(`"${w.timestamp}" must be a finite number, got ${value}`);
  }
  return value;
}

function booleanField(fields: Record<string, unknown>, name: string, fallback: boolean): boolean {
  const value = fields[name];
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") {
    throw new TypeError(mustBe(`"${name}"`, "true or false", value));
  }
  return value;
}

function dataField(value: unknown): Uint8Array {
  if (value === undefined || value === null) return allocate(0);
  if (!Array.isArray(value)) {
    throw new TypeError(mustBe(`"${w.data}"`, "a list of byte values", value));
  }
  const length = value.length;
  if (length > MAX_DATA_LENGTH) {
    throw new RangeError(`"${w.data}" must be at most ${MAX_DATA_LENGTH} bytes, got ${length}`);
  }
  const data = allocate(length);
  for (let i = 0; i < length; i++) {
    const byte = value[i];
    if (typeof byte !== "number") {
      throw new TypeError(mustBe(`"${w.data}"[${i}]`, "a number", byte));
    }
    if ((byte & 0xff) !== byte) {
      throw new RangeError(`"${w.data}"[${i}] must be an integer 0-255, got ${byte}`);
    }
    data[i] = byte;
  }
  return data;
}

function u32(value: unknown, what: string): number {
  if (typeof value !== "number") {
    throw new TypeError(mustBe(what, "a number", value));
  }
  if (value >>> 0 !== value) {
    throw new RangeError(`${what} must be an integer 0-4294967295, got ${value}`);
  }
  return value;
}

function u8(value: unknown, what: string): number {
  if (typeof value !== "number") {
    throw new TypeError(mustBe(what, "a number", value));
  }
  if ((value & 0xff) !== value) {
    throw new RangeError(`${what} must be an integer 0-255, got ${value}`);
  }
  return value;
}

function count(value: unknown, what: string): number {
  if (typeof value !== "number") {
    throw new TypeError(mustBe(what, "a number", value));
  }
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${what} must be a non-negative integer, got ${value}`);
  }
  return value;
}

function seconds(value: unknown, what: string, allowZero: boolean): number {
  if (typeof value !== "number") {
    throw new TypeError(mustBe(what, "a number", value));
  }
  if (!Number.isFinite(value) || value < 0 || (value === 0 && !allowZero)) {
    const bound = allowZero ? "non-negative" : "positive";
    throw new RangeError(`${what} must be a finite ${bound} number of seconds, got ${value}`);
  }
  return value;
}

function asObject(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(mustBe(what, "a JSON object", value));
  }
  return value as Record<string, unknown>;
}

/**
 * Encodes an event as JSON text, byte-identical to what python-can-remote
 * sends for the same event. A `message` or `periodic_start` frame only has to
 * fit the wire (see `checkEncodable` in codec_binary.ts), not the CAN rules.
 *
 * @param event The event.
 * @returns The text of one WebSocket text message.
 * @throws {TypeError} When a field has the wrong type (`config` not an object, bad `data`).
 * @throws {RangeError} When a value is out of range (an id beyond 2^32-1, a
 *   period that is not positive, counts that are not non-negative integers)
 *   or the type is unknown ({@linkcode UnknownEventTypeError}).
 * @example
 * ```ts
 * import { encodeJson } from "./codec_json.ts";
 * import { createFrame } from "./frame.ts";
 * const text = encodeJson({
 *   type: "message",
 *   frame: createFrame({ timestamp: 1700000000.25, arbitrationId: 291, isExtendedId: false, data: [17] }),
 * });
 * const expected = '{"type": "message", "payload": {"timestamp": 1700000000.25, ' +
 *   '"arbitration_id": 291, "is_extended_id": false, "is_remote_frame": false, ' +
 *   '"is_error_frame": false, "dlc": 1, "data": [17]}}';
 * if (text !== expected) throw new Error(text);
 * ```
 */
export function encodeJson(event: CanEvent): string {
  switch (event?.type) {
    case "message":
      return MESSAGE_START + messageText(event.frame) + "}";
    case "bus_request":
      return `{"type": "bus_request", "payload": {"config": ${
        pyJson(asObject(event.config, "config"))
      }}}`;
    case "bus_response":
      if (typeof event.channelInfo !== "string") {
        throw new TypeError(mustBe("channelInfo", "a string", event.channelInfo));
      }
      return `{"type": "bus_response", "payload": {${key("channelInfo")}${
        pyString(event.channelInfo)
      }}}`;
    case "error":
      if (typeof event.message !== "string") {
        throw new TypeError(mustBe("message", "a string", event.message));
      }
      return `{"type": "error", "payload": ${pyString(event.message)}}`;
    case "periodic_start": {
      const period = pyFloat(seconds(event.period, "period", false));
      const duration = event.duration === null
        ? "null"
        : pyFloat(seconds(event.duration, "duration", true));
      return `{"type": "periodic_start", "payload": {"period": ${period}, "duration": ${duration}, "msg": ${
        periodicMessageText(event.frame)
      }}}`;
    }
    case "periodic_stop":
      return `{"type": "periodic_stop", "payload": ${u32(event.arbitrationId, "arbitrationId")}}`;
    case "dropped":
      return `{"type": "dropped", "payload": {"count": ${count(event.count, "count")}, "total": ${
        count(event.total, "total")
      }}}`;
    case "set_filters":
      return `{"type": "set_filters", "payload": ${filtersText(event.filters)}}`;
    case "bus_state":
      return `{"type": "bus_state", "payload": ${busStateToJson(event.health)}}`;
    case "message_batch":
      if (!Array.isArray(event.frames) || event.frames.length === 0) {
        throw new RangeError("A message_batch needs at least one frame");
      }
      return `{"type": "message_batch", "payload": [${event.frames.map(messageText).join(", ")}]}`;
    default: {
      const type: unknown = (event as { type?: unknown } | null)?.type;
      if (typeof type !== "string") {
        throw new TypeError(`An event must have a string "type", got ${show(type)}`);
      }
      throw new UnknownEventTypeError(type);
    }
  }
}

/**
 * Decodes the text of one WebSocket text message into an event.
 *
 * Decoding is structural: every event python-can-remote sends decodes (see
 * {@linkcode messageFromJson} for messages), and nothing that is not an
 * event comes back half-decoded. A `bus_request` without `config` (or with
 * `null`) decodes to an empty config. A non-string `error` payload or
 * `channel_info` decodes to its JSON text, as python-can-remote formats any
 * value.
 *
 * @param text The message text.
 * @returns The event.
 * @throws {SyntaxError} When the text is not JSON.
 * @throws {TypeError} When the JSON is not an event object, lacks `type` or
 *   `payload`, or a field has the wrong type or is unknown to a message.
 * @throws {RangeError} When a value is out of range, and
 *   {@linkcode UnknownEventTypeError} (a `RangeError`) for an unknown `type`.
 * @example
 * ```ts
 * import { decodeJson } from "./codec_json.ts";
 * const event = decodeJson('{"type": "periodic_stop", "payload": 291}');
 * if (event.type !== "periodic_stop" || event.arbitrationId !== 291) throw new Error();
 * ```
 */
export function decodeJson(text: string): CanEvent {
  if (typeof text !== "string") throw new TypeError(`Expected JSON text, got ${typeof text}`);
  const event = asObject(JSON.parse(text), "An event");
  if (!Object.hasOwn(event, "type")) throw new TypeError('An event must have a "type" key');
  const type = event.type;
  if (typeof type !== "string") {
    throw new TypeError(mustBe(`An event's "type"`, "a string", type));
  }
  if (!TYPES.has(type)) throw new UnknownEventTypeError(type);
  if (!Object.hasOwn(event, "payload")) {
    throw new TypeError(`A ${show(type)} event must have a "payload" key`);
  }
  const payload = event.payload;
  switch (type) {
    case "message":
      return { type, frame: messageFromJson(payload) };
    case "bus_request": {
      const config = asObject(payload, 'The "bus_request" payload').config ?? {};
      return { type, config: asObject(config, '"config"') };
    }
    case "bus_response": {
      const fields = asObject(payload, 'The "bus_response" payload');
      const channelInfo = fields[w.channelInfo];
      if (channelInfo === undefined) {
        throw new TypeError(`The "bus_response" payload must have a "${w.channelInfo}" key`);
      }
      return {
        type,
        channelInfo: typeof channelInfo === "string" ? channelInfo : JSON.stringify(channelInfo),
      };
    }
    case "error":
      return { type, message: typeof payload === "string" ? payload : JSON.stringify(payload) };
    case "periodic_start": {
      const fields = asObject(payload, 'The "periodic_start" payload');
      const duration = fields.duration;
      if (fields.msg === undefined) {
        throw new TypeError('The "periodic_start" payload must have a "msg" key');
      }
      return {
        type,
        period: seconds(fields.period, '"period"', false),
        duration: duration === undefined || duration === null
          ? null
          : seconds(duration, '"duration"', true),
        frame: messageFromJson(fields.msg),
      };
    }
    case "periodic_stop":
      return { type, arbitrationId: u32(payload, 'The "periodic_stop" payload') };
    case "set_filters":
      return { type, filters: filtersFromJson(payload) };
    case "bus_state":
      return { type, health: busStateFromJson(payload) };
    case "message_batch": {
      if (!Array.isArray(payload) || payload.length === 0) {
        throw new TypeError(
          mustBe(`The "message_batch" payload`, "a non-empty list", payload),
        );
      }
      return {
        type,
        frames: payload.map((item, i) => {
          try {
            return messageFromJson(item);
          } catch (error) {
            const message = `Message ${i} of the batch: ${(error as Error).message}`;
            throw error instanceof RangeError ? new RangeError(message) : new TypeError(message);
          }
        }),
      };
    }
    default: { // "dropped"
      const fields = asObject(payload, 'The "dropped" payload');
      return {
        type: "dropped",
        count: count(fields.count, '"count"'),
        total: count(fields.total, '"total"'),
      };
    }
  }
}

function filtersText(filters: CanFilter[] | null): string {
  const checked = checkFilters(filters);
  return checked === null ? "null" : pyJson(filtersToJson(checked));
}

/**
 * Reads filters in python-can's wire shape (`{can_id, can_mask, extended}`),
 * as a `bus_request` config's `can_filters` and a `set_filters` payload carry them.
 * A filter without `can_mask` matches its `can_id` exactly ({@linkcode FULL_ID_MASK});
 * one without `can_id` compares with id 0.
 *
 * @param payload The JSON value.
 * @param what How to name the value in an error message.
 * @returns The filters, or `null` for none.
 * @throws {TypeError} / {RangeError} Naming the bad entry.
 * @example
 * ```ts
 * import { filtersFromJson } from "./codec_json.ts";
 * const [filter] = filtersFromJson([{ can_id: 291, can_mask: 2047, extended: false }])!;
 * if (filter.canId !== 291 || filter.extended !== false) throw new Error();
 * ```
 */
export function filtersFromJson(
  payload: unknown,
  what = 'The "set_filters" payload',
): CanFilter[] | null {
  if (payload === null || payload === undefined) return null;
  if (!Array.isArray(payload)) {
    throw new TypeError(mustBe(what, "a list or null", payload));
  }
  if (payload.length > MAX_FILTERS) {
    throw new RangeError(`${what} has ${payload.length} filters; at most ${MAX_FILTERS}`);
  }
  return checkFilters(payload.map((item, i) => {
    const fields = asObject(item, `Filter ${i}`);
    // The seed's example {"can_id": 0x11} means that id exactly, and
    // {"can_mask": 0xff} the ids whose masked bits are 0 (PROTOCOL.md, "Filters").
    const canId = fields.can_id === undefined ? 0 : fields.can_id;
    const canMask = fields.can_mask === undefined ? FULL_ID_MASK : fields.can_mask;
    // The wire's names in the messages: checkFilters speaks camelCase.
    for (const [key, value] of [["can_id", canId], ["can_mask", canMask]] as const) {
      if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 0xffffffff) {
        throw new RangeError(
          mustBe(`Filter ${i}: ${key}`, "an integer 0-0xFFFFFFFF", value),
        );
      }
    }
    const filter: Record<string, unknown> = { canId, canMask };
    if (fields.extended !== undefined && fields.extended !== null) {
      filter.extended = fields.extended;
    }
    return filter;
  }));
}

/**
 * The mask a filter without `can_mask` gets: every bit of a 29-bit id, so
 * it passes its `can_id` alone (for a standard id the upper bits are 0 anyway).
 */
export const FULL_ID_MASK = 0x1fffffff;

/**
 * Which filters of a `can_filters` list leave out `can_id` or `can_mask`,
 * for a log line saying how they were read.
 *
 * @param payload The JSON value, as {@linkcode filtersFromJson} takes it.
 * @returns One note per such filter, e.g. `filter 0 has no can_mask: id 0x11 exactly`.
 * @example
 * ```ts
 * import { filterDefaults } from "./codec_json.ts";
 * const notes = filterDefaults([{ can_id: 0x11 }, { can_mask: 0xff }]);
 * if (notes.join("; ") !== "filter 0 has no can_mask: id 0x11 exactly; filter 1 has no can_id: id 0") {
 *   throw new Error(notes.join("; "));
 * }
 * ```
 */
export function filterDefaults(payload: unknown): string[] {
  if (!Array.isArray(payload)) return [];
  const notes: string[] = [];
  for (const [i, item] of payload.entries()) {
    if (item === null || typeof item !== "object") continue;
    if (item.can_mask === undefined) {
      const id = typeof item.can_id === "number" ? item.can_id : 0;
      notes.push(`filter ${i} has no can_mask: id 0x${id.toString(16).toUpperCase()} exactly`);
    } else if (item.can_id === undefined) {
      notes.push(`filter ${i} has no can_id: id 0`);
    }
  }
  return notes;
}

/**
 * Joins the texts of `message` events (as {@linkcode encodeJson} writes
 * them) into the text of one `message_batch` event, without re-encoding.
 *
 * @param texts `{"type": "message", "payload": ...}` texts from {@linkcode encodeJson}.
 * @returns The batch's text.
 * @throws {RangeError} When there is no text, or one is not a `message` event from encodeJson.
 * @example
 * ```ts
 * import { decodeJson, encodeJson, joinJsonMessages } from "./codec_json.ts";
 * import { createFrame } from "./frame.ts";
 * const texts = [1, 2].map((id) => encodeJson({ type: "message", frame: createFrame({ arbitrationId: id }) }));
 * const batch = decodeJson(joinJsonMessages(texts));
 * if (batch.type !== "message_batch" || batch.frames.length !== 2) throw new Error();
 * ```
 */
export function joinJsonMessages(texts: readonly string[]): string {
  if (texts.length === 0) throw new RangeError("A batch needs at least one message");
  const payloads = texts.map((text) => {
    if (!text.startsWith(MESSAGE_START) || !text.endsWith("}")) {
      throw new RangeError(`Not a message event from encodeJson: ${text.slice(0, 40)}`);
    }
    return text.slice(MESSAGE_START.length, -1);
  });
  return `{"type": "message_batch", "payload": [${payloads.join(", ")}]}`;
}
