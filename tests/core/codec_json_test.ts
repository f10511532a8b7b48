import fc from "fast-check";
import { assert, assertEquals, assertThrows } from "../_helpers/assert.ts";
import { validFrame } from "../_helpers/arbitraries.ts";
import {
  CAMEL_CASE_NAMES,
  decodeJson,
  encodeJson,
  messageFromJson,
  messageToJson,
  WIRE_NAMES,
} from "../../core/codec_json.ts";
import { type CanEvent, UnknownEventTypeError } from "../../core/events.ts";
import { type CanFrame, createFrame, framesEqual } from "../../core/frame.ts";

type ErrorClass = new (...args: never[]) => Error;

function message(text: string): CanFrame {
  const event = decodeJson(text);
  assert(event.type === "message", event.type);
  return event.frame;
}

function assertSane(event: CanEvent): void {
  const frames = event.type === "message" || event.type === "periodic_start" ? [event.frame] : [];
  for (const frame of frames) {
    assert(Number.isFinite(frame.timestamp), `timestamp ${frame.timestamp}`);
    assert(frame.arbitrationId >>> 0 === frame.arbitrationId, `id ${frame.arbitrationId}`);
    assert((frame.dlc & 0xff) === frame.dlc, `dlc ${frame.dlc}`);
    assert(frame.data instanceof Uint8Array && frame.data.length <= 64);
    for (const flag of [frame.isExtendedId, frame.isRemoteFrame, frame.isFd, frame.bitrateSwitch]) {
      assert(typeof flag === "boolean");
    }
    assert(
      typeof frame.isErrorFrame === "boolean" && typeof frame.errorStateIndicator === "boolean",
    );
  }
  switch (event.type) {
    case "bus_request":
      assert(event.config !== null && typeof event.config === "object");
      assert(!Array.isArray(event.config));
      break;
    case "bus_response":
      assert(typeof event.channelInfo === "string");
      break;
    case "error":
      assert(typeof event.message === "string");
      break;
    case "periodic_start":
      assert(Number.isFinite(event.period) && event.period > 0);
      assert(event.duration === null || (Number.isFinite(event.duration) && event.duration >= 0));
      break;
    case "periodic_stop":
      assert(event.arbitrationId >>> 0 === event.arbitrationId);
      break;
    case "dropped":
      assert(Number.isSafeInteger(event.count) && event.count >= 0);
      assert(Number.isSafeInteger(event.total) && event.total >= 0);
      break;
  }
}

function onlyDocumentedErrors(run: () => CanEvent): void {
  let event: CanEvent;
  try {
    event = run();
  } catch (error) {
    if (error instanceof RangeError || error instanceof TypeError || error instanceof SyntaxError) {
      return;
    }
    throw error;
  }
  assertSane(event);
}

Deno.test("WIRE_NAMES: one table, both directions, covering every frame field", () => {
  for (const [camel, wire] of Object.entries(WIRE_NAMES)) {
    assertEquals(CAMEL_CASE_NAMES[wire], camel);
  }
  assertEquals(Object.keys(CAMEL_CASE_NAMES).length, Object.keys(WIRE_NAMES).length);
  const frame = createFrame({ channel: "x", isRx: true });
  for (const field of Object.keys(frame)) assert(field in WIRE_NAMES, field);
  assertEquals(WIRE_NAMES.arbitrationId, "arbitration_id");
  assertEquals(WIRE_NAMES.errorStateIndicator, "error_state_indicator");
});

Deno.test("encodeJson: message text as python-can-remote writes it", () => {
  const classic = createFrame({ arbitrationId: 0x42, isExtendedId: false, data: [1] });
  assertEquals(
    encodeJson({ type: "message", frame: classic }),
    '{"type": "message", "payload": {"timestamp": 0.0, "arbitration_id": 66, "is_extended_id": false, "is_remote_frame": false, "is_error_frame": false, "dlc": 1, "data": [1]}}',
  );
  const fd = createFrame({
    timestamp: 1.5,
    arbitrationId: 0x18daf110,
    isFd: true,
    errorStateIndicator: true,
    data: [0, 255],
  });
  assertEquals(
    encodeJson({ type: "message", frame: fd }),
    '{"type": "message", "payload": {"timestamp": 1.5, "arbitration_id": 417001744, "is_extended_id": true, "is_remote_frame": false, "is_error_frame": false, "dlc": 2, "data": [0, 255], "is_fd": true, "bitrate_switch": false, "error_state_indicator": true}}',
  );
});

Deno.test("encodeJson: timestamps in Python's float repr", () => {
  const cases: [number, string][] = [
    [0, "0.0"],
    [-0, "-0.0"],
    [1700000000, "1700000000.0"],
    [1700000000.123456, "1700000000.123456"],
    [0.0001, "0.0001"],
    [0.00001, "1e-05"],
    [1.5e-7, "1.5e-07"],
    [9999999999999998, "9999999999999998.0"],
    [1e16, "1e+16"],
    [1.2345678901234568e16, "1.2345678901234568e+16"],
    [1e22, "1e+22"],
    [-2.5, "-2.5"],
    [5e-324, "5e-324"],
    [1.7976931348623157e308, "1.7976931348623157e+308"],
  ];
  for (const [timestamp, repr] of cases) {
    const text = encodeJson({ type: "message", frame: createFrame({ timestamp }) });
    assert(text.startsWith(`{"type": "message", "payload": {"timestamp": ${repr}, `), text);
    assert(Object.is(message(text).timestamp, timestamp));
  }
});

Deno.test("encodeJson: every other event", () => {
  const frame = createFrame({ arbitrationId: 291, isExtendedId: false, data: [1, 2, 3] });
  const cases: [CanEvent, string][] = [
    [
      { type: "bus_request", config: { bitrate: 500000, can_filters: [{ can_id: 1 }] } },
      '{"type": "bus_request", "payload": {"config": {"bitrate": 500000, "can_filters": [{"can_id": 1}]}}}',
    ],
    [
      { type: "bus_response", channelInfo: "Virtual bus channel 0" },
      '{"type": "bus_response", "payload": {"channel_info": "Virtual bus channel 0"}}',
    ],
    [
      { type: "error", message: 'caf\u00e9 "\u{1F68C}"\n' },
      '{"type": "error", "payload": "caf\\u00e9 \\"\\ud83d\\ude8c\\"\\n"}',
    ],
    [
      { type: "periodic_start", period: 0.01, duration: 0.5, frame },
      '{"type": "periodic_start", "payload": {"period": 0.01, "duration": 0.5, "msg": {"arbitration_id": 291, "is_extended_id": false, "is_remote_frame": false, "is_error_frame": false, "is_fd": false, "bitrate_switch": false, "dlc": 3, "data": [1, 2, 3]}}}',
    ],
    [
      { type: "periodic_start", period: 1, duration: null, frame },
      '{"type": "periodic_start", "payload": {"period": 1.0, "duration": null, "msg": {"arbitration_id": 291, "is_extended_id": false, "is_remote_frame": false, "is_error_frame": false, "is_fd": false, "bitrate_switch": false, "dlc": 3, "data": [1, 2, 3]}}}',
    ],
    [{ type: "periodic_stop", arbitrationId: 291 }, '{"type": "periodic_stop", "payload": 291}'],
    [
      { type: "dropped", count: 3, total: 10 },
      '{"type": "dropped", "payload": {"count": 3, "total": 10}}',
    ],
  ];
  for (const [event, text] of cases) {
    assertEquals(encodeJson(event), text);
    assertEquals(decodeJson(text), event);
  }
  // Strings with ":" and "," keep their text; only separators get Python's spaces.
  assertEquals(
    encodeJson({ type: "bus_request", config: { "a,b": "c:d", e: [] } }),
    '{"type": "bus_request", "payload": {"config": {"a,b": "c:d", "e": []}}}',
  );
});

Deno.test("encodeJson: periodic_start keeps ESI, which python-can-remote's client loses", () => {
  const frame = createFrame({ arbitrationId: 7, isFd: true, errorStateIndicator: true, data: [1] });
  const text = encodeJson({ type: "periodic_start", period: 0.1, duration: null, frame });
  assert(text.includes('"bitrate_switch": false, "error_state_indicator": true, "dlc": 1'), text);
  const event = decodeJson(text);
  assert(event.type === "periodic_start");
  assertEquals(event.frame.errorStateIndicator, true);
});

Deno.test("encodeJson: refuses what a receiver could not decode", () => {
  const frame = createFrame();
  const bad: [unknown, ErrorClass][] = [
    [{ type: "message", frame: createFrame({ arbitrationId: 2 ** 32 }) }, RangeError],
    [{ type: "message", frame: createFrame({ arbitrationId: -1 }) }, RangeError],
    [{ type: "message", frame: createFrame({ dlc: 300 }) }, RangeError],
    [{ type: "message", frame: createFrame({ timestamp: NaN }) }, RangeError],
    [{ type: "message", frame: createFrame({ data: new Uint8Array(65) }) }, RangeError],
    [{ type: "message", frame: { ...frame, data: [1] } }, TypeError],
    [{ type: "periodic_start", period: 0, duration: null, frame }, RangeError],
    [{ type: "periodic_start", period: Infinity, duration: null, frame }, RangeError],
    [{ type: "periodic_start", period: 1, duration: -1, frame }, RangeError],
    [{ type: "periodic_start", period: "1", duration: null, frame }, TypeError],
    [{ type: "periodic_stop", arbitrationId: 2 ** 32 }, RangeError],
    [{ type: "dropped", count: -1, total: 0 }, RangeError],
    [{ type: "dropped", count: 1.5, total: 2 }, RangeError],
    [{ type: "bus_request", config: null }, TypeError],
    [{ type: "bus_request", config: [] }, TypeError],
    [{ type: "bus_request", config: { big: 1n } }, TypeError],
    [{ type: "bus_response", channelInfo: 7 }, TypeError],
    [{ type: "error", message: undefined }, TypeError],
    [{ type: "foo" }, UnknownEventTypeError],
    [{}, TypeError],
    [null, TypeError],
  ];
  for (const [event, type] of bad) assertThrows(() => encodeJson(event as CanEvent), type);
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assertThrows(() => encodeJson({ type: "bus_request", config: cyclic }), TypeError);
});

Deno.test("messageToJson: the payload object encodeJson writes", () => {
  fc.assert(
    fc.property(validFrame, (frame) => {
      const text = encodeJson({ type: "message", frame });
      assertEquals(JSON.parse(text), { type: "message", payload: messageToJson(frame) });
      assertEquals(Object.keys(messageToJson(frame)), Object.keys(JSON.parse(text).payload));
    }),
    { numRuns: 500 },
  );
});

Deno.test("messageFromJson: python-can's defaults for missing fields", () => {
  assertEquals(messageFromJson({}), createFrame());
  const frame = messageFromJson({ arbitration_id: 291, data: [1, 2] });
  assertEquals([frame.isExtendedId, frame.dlc, frame.timestamp], [true, 2, 0]);
  assertEquals(messageFromJson({ dlc: null, data: null }), createFrame());
  assertEquals(messageFromJson({ data: [1], dlc: 8 }).dlc, 8);
});

Deno.test("messageFromJson: structural, not a validation", () => {
  // Cases python-can-remote forwards unchanged (bad_input.json); validateFrame() decides later.
  assertEquals(
    messageFromJson({ arbitration_id: 2048, is_extended_id: false }).arbitrationId,
    2048,
  );
  assertEquals(messageFromJson({ arbitration_id: 2 ** 29 }).arbitrationId, 2 ** 29);
  assertEquals(messageFromJson({ data: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] }).dlc, 12);
  assertEquals(messageFromJson({ dlc: 9, is_fd: true, data: new Array(12).fill(0) }).dlc, 9);
  // A remote frame's data is discarded, as in python-can's Message.
  const remote = messageFromJson({ is_remote_frame: true, data: [1, 2], dlc: 2 });
  assertEquals([remote.data.length, remote.dlc], [0, 2]);
  assertEquals(messageFromJson({ is_remote_frame: true, data: [1, 2] }).dlc, 0);
  // channel and is_rx are kept; check is accepted and ignored.
  const full = messageFromJson({ channel: "vcan0", is_rx: false, check: true });
  assertEquals([full.channel, full.isRx], ["vcan0", false]);
  assertEquals(messageFromJson({ channel: 1 }).channel, 1);
  assertEquals("channel" in messageFromJson({ channel: null }), false);
});

Deno.test("messageFromJson: wrong types and ranges say what was wrong", () => {
  const cases: [unknown, ErrorClass, string][] = [
    [null, TypeError, "must be a JSON object, got null"],
    [[1, 2], TypeError, "got [1,2]"],
    ["abc", TypeError, 'got "abc"'],
    [{ foo: 1 }, TypeError, '"foo"'],
    [{ arbitration_id: 1, __proto__x: 1 }, TypeError, "__proto__x"],
    [{ data: "abc" }, TypeError, '"data" must be a list of byte values, got "abc"'],
    [{ data: { 0: 1 } }, TypeError, '"data"'],
    [{ data: [256] }, RangeError, '"data"[0] must be an integer 0-255, got 256'],
    [{ data: [1, -1] }, RangeError, '"data"[1]'],
    [{ data: [1.5] }, RangeError, "1.5"],
    [{ data: [true] }, TypeError, '"data"[0] must be a number, got true'],
    [{ data: ["1"] }, TypeError, '"1"'],
    [{ data: new Array(65).fill(0) }, RangeError, "at most 64 bytes, got 65"],
    [
      { arbitration_id: -1 },
      RangeError,
      '"arbitration_id" must be an integer 0-4294967295, got -1',
    ],
    [{ arbitration_id: 4294967296 }, RangeError, "4294967296"],
    [{ arbitration_id: 1.5 }, RangeError, "1.5"],
    [{ arbitration_id: "291" }, TypeError, '"291"'],
    [{ arbitration_id: null }, TypeError, "null"],
    [{ dlc: 300 }, RangeError, '"dlc" must be an integer 0-255, got 300'],
    [{ dlc: -1 }, RangeError, "-1"],
    [{ dlc: "8" }, TypeError, '"8"'],
    [{ timestamp: "now" }, TypeError, '"timestamp" must be a number, got "now"'],
    [{ timestamp: null }, TypeError, "null"],
    [{ timestamp: Infinity }, RangeError, "finite"],
    [{ is_extended_id: 1 }, TypeError, '"is_extended_id" must be true or false, got 1'],
    [{ is_remote_frame: "yes" }, TypeError, "is_remote_frame"],
    [{ is_error_frame: null }, TypeError, "is_error_frame"],
    [{ is_fd: 0 }, TypeError, "is_fd"],
    [{ bitrate_switch: [] }, TypeError, "bitrate_switch"],
    [{ error_state_indicator: {} }, TypeError, "error_state_indicator"],
    [{ is_rx: 1 }, TypeError, "is_rx"],
    [{ check: "no" }, TypeError, "check"],
    [{ channel: [] }, TypeError, "channel"],
  ];
  for (const [payload, type, includes] of cases) {
    assertThrows(() => messageFromJson(payload), type, includes);
  }
});

Deno.test("decodeJson: every event type", () => {
  assertEquals(decodeJson('{"type": "bus_request", "payload": {"config": {"fd": true}}}'), {
    type: "bus_request",
    config: { fd: true },
  });
  // python-can-remote-js sends no config when none is given.
  assertEquals(decodeJson('{"type": "bus_request", "payload": {}}'), {
    type: "bus_request",
    config: {},
  });
  assertEquals(decodeJson('{"type": "bus_request", "payload": {"config": null}}'), {
    type: "bus_request",
    config: {},
  });
  assertEquals(decodeJson('{"type": "bus_response", "payload": {"channel_info": 7}}'), {
    type: "bus_response",
    channelInfo: "7",
  });
  assertEquals(decodeJson('{"type": "error", "payload": "nope"}'), {
    type: "error",
    message: "nope",
  });
  assertEquals(decodeJson('{"type": "error", "payload": {"a": [1]}}'), {
    type: "error",
    message: '{"a":[1]}',
  });
  assertEquals(decodeJson('{"type": "error", "payload": null}'), {
    type: "error",
    message: "null",
  });
  const periodic = decodeJson('{"type": "periodic_start", "payload": {"period": 0.5, "msg": {}}}');
  assert(periodic.type === "periodic_start");
  assertEquals([periodic.period, periodic.duration], [0.5, null]);
  assertEquals(decodeJson('{"type": "periodic_stop", "payload": 0}'), {
    type: "periodic_stop",
    arbitrationId: 0,
  });
  assertEquals(decodeJson('{"type": "dropped", "payload": {"count": 0, "total": 5}}'), {
    type: "dropped",
    count: 0,
    total: 5,
  });
});

Deno.test("decodeJson: bad events say what was wrong", () => {
  const cases: [string, ErrorClass, string][] = [
    ["{not json", SyntaxError, ""],
    ["", SyntaxError, ""],
    ["[1, 2, 3]", TypeError, "An event must be a JSON object, got [1,2,3]"],
    ['"hello"', TypeError, 'got "hello"'],
    ["null", TypeError, "got null"],
    ['{"payload": {}}', TypeError, 'An event must have a "type" key'],
    ['{"type": 5, "payload": {}}', TypeError, 'An event\'s "type" must be a string, got 5'],
    ['{"type": "foo", "payload": {}}', UnknownEventTypeError, 'Unknown event type "foo"'],
    ['{"type": "toString", "payload": {}}', UnknownEventTypeError, "toString"],
    ['{"type": "message"}', TypeError, 'A "message" event must have a "payload" key'],
    ['{"type": "message", "payload": null}', TypeError, "got null"],
    ['{"type": "bus_request", "payload": null}', TypeError, '"bus_request" payload'],
    ['{"type": "bus_request", "payload": {"config": [1]}}', TypeError, '"config"'],
    ['{"type": "bus_response", "payload": {}}', TypeError, '"channel_info"'],
    ['{"type": "bus_response"}', TypeError, "payload"],
    ['{"type": "error"}', TypeError, "payload"],
    ['{"type": "periodic_start", "payload": {"msg": {}}}', TypeError, '"period" is missing'],
    ['{"type": "periodic_start", "payload": {"period": 0, "msg": {}}}', RangeError, "positive"],
    ['{"type": "periodic_start", "payload": {"period": -1, "msg": {}}}', RangeError, "-1"],
    ['{"type": "periodic_start", "payload": {"period": 1e999, "msg": {}}}', RangeError, "Infinity"],
    [
      '{"type": "periodic_start", "payload": {"period": 1, "duration": -1, "msg": {}}}',
      RangeError,
      "duration",
    ],
    [
      '{"type": "periodic_start", "payload": {"period": 1, "duration": "1", "msg": {}}}',
      TypeError,
      "duration",
    ],
    ['{"type": "periodic_start", "payload": {"period": 1}}', TypeError, '"msg"'],
    ['{"type": "periodic_start", "payload": {"period": 1, "msg": {"foo": 1}}}', TypeError, "foo"],
    ['{"type": "periodic_stop", "payload": "kkk"}', TypeError, '"kkk"'],
    ['{"type": "periodic_stop", "payload": -1}', RangeError, "-1"],
    ['{"type": "dropped", "payload": {"count": 1}}', TypeError, '"total"'],
    ['{"type": "dropped", "payload": {"count": -1, "total": 1}}', RangeError, '"count"'],
  ];
  for (const [text, type, includes] of cases) assertThrows(() => decodeJson(text), type, includes);
  assertThrows(() => decodeJson(new Uint8Array(3) as unknown as string), TypeError);
});

Deno.test("JSON codec: decodeJson(encodeJson(message)) equals the frame for every valid frame", () => {
  fc.assert(
    fc.property(validFrame, (frame) => {
      const decoded = message(encodeJson({ type: "message", frame }));
      assert(framesEqual(decoded, frame), JSON.stringify(decoded));
      assert(framesEqual(messageFromJson(messageToJson(frame)), frame));
    }),
    { numRuns: 2000 },
  );
});

Deno.test("JSON codec: periodic_start round-trips except the timestamp, which is not sent", () => {
  const arbitrary = fc.record({
    frame: validFrame,
    period: fc.double({ min: 1e-6, max: 1e6, noNaN: true }),
    duration: fc.option(fc.double({ min: 0, max: 1e6, noNaN: true })),
  });
  fc.assert(
    fc.property(arbitrary, ({ frame, period, duration }) => {
      const event = decodeJson(encodeJson({ type: "periodic_start", period, duration, frame }));
      assert(event.type === "periodic_start");
      assertEquals([event.period, event.duration], [period, duration]);
      assert(framesEqual(event.frame, { ...frame, timestamp: 0 }));
    }),
    { numRuns: 500 },
  );
});

Deno.test("decodeJson: random JSON values only ever throw the documented errors", () => {
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      onlyDocumentedErrors(() => decodeJson(JSON.stringify(value)));
      onlyDocumentedErrors(() => ({ type: "message", frame: messageFromJson(value) }));
    }),
    { numRuns: 1000 },
  );
});

// Events with the right shape and random field values reach the field checks.
const messageField = fc.constantFrom(
  "timestamp",
  "arbitration_id",
  "is_extended_id",
  "is_remote_frame",
  "is_error_frame",
  "channel",
  "dlc",
  "data",
  "is_fd",
  "is_rx",
  "bitrate_switch",
  "error_state_indicator",
  "check",
  "foo",
);
const fieldValue = fc.oneof(
  fc.jsonValue(),
  fc.boolean(),
  fc.integer({ min: -10, max: 300 }),
  fc.constantFrom(0x7ff, 0x800, 0x1fffffff, 2 ** 32 - 1, 2 ** 32, -0, 1e999, 2 ** 53),
  fc.array(fc.integer({ min: -1, max: 256 }), { maxLength: 70 }),
);
const payload = fc.dictionary(messageField, fieldValue, { maxKeys: 8 });

Deno.test("decodeJson: events with random field values only ever throw the documented errors", () => {
  const event = fc.oneof(
    payload.map((p) => ({ type: "message", payload: p })),
    fc.record({
      period: fieldValue,
      duration: fieldValue,
      msg: payload,
    }, { requiredKeys: [] }).map((p) => ({ type: "periodic_start", payload: p })),
    fc.record({
      type: fc.constantFrom("periodic_stop", "error", "dropped", "bus_request", "bus_response"),
      payload: fc.oneof(
        fieldValue,
        fc.dictionary(fc.constantFrom("config", "channel_info", "count", "total"), fieldValue),
      ),
    }),
  );
  fc.assert(
    fc.property(event, (value) => {
      onlyDocumentedErrors(() => decodeJson(JSON.stringify(value)));
    }),
    { numRuns: 3000 },
  );
});

Deno.test("decodeJson: mutated valid texts only ever throw the documented errors", () => {
  const mutation = fc.record({
    frame: validFrame,
    edits: fc.array(
      fc.tuple(fc.nat(), fc.nat({ max: 2 }), fc.constantFrom(...'{}[]",:-.0123456789eatrufnl x')),
      {
        minLength: 1,
        maxLength: 4,
      },
    ),
  });
  fc.assert(
    fc.property(mutation, ({ frame, edits }) => {
      let text = encodeJson({ type: "message", frame });
      for (const [at, kind, char] of edits) {
        const i = at % (text.length + 1);
        text = kind === 0
          ? text.slice(0, i) + text.slice(i + 1)
          : kind === 1
          ? text.slice(0, i) + char + text.slice(i + 1)
          : text.slice(0, i) + char + text.slice(i);
      }
      onlyDocumentedErrors(() => decodeJson(text));
    }),
    { numRuns: 3000 },
  );
});

Deno.test("decodeJson: random text only ever throws the documented errors", () => {
  fc.assert(
    fc.property(
      fc.string({ maxLength: 60 }),
      (text) => onlyDocumentedErrors(() => decodeJson(text)),
    ),
    { numRuns: 1000 },
  );
});

Deno.test("messageFromJson: extended_id, python-can 2's name in the seed's examples", () => {
  assertEquals(messageFromJson({ arbitration_id: 0x11, extended_id: false }).isExtendedId, false);
  assertEquals(messageFromJson({ arbitration_id: 0x11, extended_id: true }).isExtendedId, true);
  // is_extended_id wins when both are given
  const both = messageFromJson({ arbitration_id: 0x11, extended_id: true, is_extended_id: false });
  assertEquals(both.isExtendedId, false);
  assertThrows(
    () => messageFromJson({ extended_id: "no" }),
    TypeError,
    '"extended_id" must be true or false, got "no"',
  );
  // in a periodic_start's msg too, as the seed's protocol example writes it
  const event = decodeJson(
    '{"type": "periodic_start", "payload": {"period": 0.1, "duration": null, "msg": ' +
      '{"arbitration_id": 291, "extended_id": false, "data": [1]}}}',
  );
  assert(event.type === "periodic_start");
  assertEquals(event.frame.isExtendedId, false);
  // never written
  assertEquals("extended_id" in messageToJson(both), false);
});

Deno.test("decodeJson: a missing value says it is missing, never 'got nothing'", () => {
  const error = assertThrows(
    () => decodeJson('{"type": "periodic_start", "payload": {"msg": {}}}'),
    TypeError,
    '"period" is missing',
  );
  assertEquals(error.message.includes("nothing"), false, error.message);
});

Deno.test("filtersFromJson: a filter without can_mask is an exact match, without can_id id 0", () => {
  const event = decodeJson(
    '{"type": "set_filters", "payload": [{"can_id": 17}, {"can_mask": 255, "extended": false}]}',
  );
  assert(event.type === "set_filters");
  assertEquals(event.filters, [
    { canId: 17, canMask: 0x1fffffff },
    { canId: 0, canMask: 255, extended: false },
  ]);
});
