// Golden vectors recorded from python-can-remote 0.2.4 (../shared/conformance)
// pin the wire format: every recorded frame decodes to the recorded fields and
// encodes back to the recorded bytes or text.
import { requires } from "../_helpers/requires.ts";
import fc from "fast-check";
import { assert, assertEquals, assertThrows } from "../_helpers/assert.ts";
import { validFrame } from "../_helpers/arbitraries.ts";
import { python } from "../_helpers/cli.ts";
import { decodeEvent } from "../../core/codec.ts";
import { decodeBinary, encodeBinary } from "../../core/codec_binary.ts";
import { decodeJson, encodeJson } from "../../core/codec_json.ts";
import { type CanEvent, UnknownEventTypeError } from "../../core/events.ts";
import { type CanFrame, createFrame, framesEqual, validateFrame } from "../../core/frame.ts";

const load = async (name: string) =>
  JSON.parse(
    await Deno.readTextFile(new URL(`../../../shared/conformance/${name}`, import.meta.url)),
  );
const messages = await load("messages.json");
const events = await load("events.json");
const badInput = await load("bad_input.json");

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const unhex = (text: string) => Uint8Array.from(text.match(/../g) ?? [], (h) => parseInt(h, 16));

interface RecordedFields {
  timestamp: number;
  arbitration_id: number;
  is_extended_id: boolean;
  is_remote_frame: boolean;
  is_error_frame: boolean;
  dlc: number;
  data_hex: string;
  is_fd: boolean;
  bitrate_switch: boolean;
  error_state_indicator: boolean;
}

/** The python-can Message attributes the reference decoded, as a frame. */
function recordedFrame(fields: RecordedFields): CanFrame {
  return createFrame({
    timestamp: fields.timestamp,
    arbitrationId: fields.arbitration_id,
    isExtendedId: fields.is_extended_id,
    isRemoteFrame: fields.is_remote_frame,
    isErrorFrame: fields.is_error_frame,
    dlc: fields.dlc,
    data: unhex(fields.data_hex),
    isFd: fields.is_fd,
    bitrateSwitch: fields.bitrate_switch,
    errorStateIndicator: fields.error_state_indicator,
  });
}

function messageOf(event: CanEvent): CanFrame {
  assert(event.type === "message", `expected a message, got ${event.type}`);
  return event.frame;
}

const FLAG_NAMES = ["extended", "remote", "error", "fd", "brs", "esi"];

Deno.test("messages.json: every recorded binary message decodes and re-encodes byte for byte", () => {
  assert(messages.cases.length >= 25);
  for (const c of messages.cases) {
    for (const direction of ["client_to_server", "server_to_client"]) {
      const recorded = c[direction].binary;
      assertEquals([recorded.opcode, recorded.kind], [2, "binary"]);
      const frame = decodeBinary(unhex(recorded.hex));
      const expected = recordedFrame(c.decoded_by_client.from_binary);
      assertEquals(frame, expected, `${c.name} ${direction}`);
      // The layout fields the capture tool read from the bytes.
      const fields = recorded.fields;
      assertEquals(
        [frame.timestamp, frame.arbitrationId, frame.dlc, hex(frame.data)],
        [fields.timestamp, fields.arbitration_id, fields.dlc, fields.data_hex],
      );
      const flags = [
        frame.isExtendedId,
        frame.isRemoteFrame,
        frame.isErrorFrame,
        frame.isFd,
        frame.bitrateSwitch,
        frame.errorStateIndicator,
      ];
      assertEquals(FLAG_NAMES.filter((_, i) => flags[i]), fields.flag_names, c.name);
      assertEquals(hex(encodeBinary(frame)), recorded.hex, c.name);
    }
  }
});

Deno.test("messages.json: every recorded JSON message decodes and re-encodes to the same text", () => {
  for (const c of messages.cases) {
    for (const direction of ["client_to_server", "server_to_client"]) {
      const text: string = c[direction].json.text;
      const frame = messageOf(decodeJson(text));
      assertEquals(frame, recordedFrame(c.decoded_by_client.from_json), `${c.name} ${direction}`);
      assert(framesEqual(frame, recordedFrame(c.sent_message_fields)), c.name);
      const ours = encodeJson({ type: "message", frame });
      assertEquals(JSON.parse(ours), JSON.parse(text), c.name);
      assertEquals(ours, text, `${c.name}: byte-identical to python-can-remote`);
    }
    // The same python-can Message either way.
    assertEquals(c.decoded_by_client.from_json, c.decoded_by_client.from_binary);
  }
});

Deno.test("messages.json: server-stamped frames decode the same from JSON and binary", () => {
  const recorded = messages.timestamp_without_preserve_timestamps;
  const fromJson = messageOf(decodeEvent(recorded.server_json_frame.text));
  const fromBinary = messageOf(decodeEvent(unhex(recorded.server_binary_frame.hex)));
  assertEquals(fromJson, fromBinary);
  assertEquals(fromJson.timestamp, recorded.server_binary_frame.fields.timestamp);
  assertEquals(encodeJson({ type: "message", frame: fromJson }), recorded.server_json_frame.text);
  assertEquals(hex(encodeBinary(fromBinary)), recorded.server_binary_frame.hex);
});

Deno.test("events.json: bus_request and bus_response decode and re-encode to the same text", () => {
  assert(events.bus_request_sent_by_client.length >= 4);
  for (const recorded of events.bus_request_sent_by_client) {
    const text: string = recorded.frame.text;
    const event = decodeJson(text);
    assert(event.type === "bus_request");
    assertEquals(event.config, JSON.parse(text).payload.config);
    assertEquals(encodeJson(event), text);
  }
  for (const recorded of events.bus_response_sent_by_server) {
    const event = decodeJson(recorded.frame.text);
    assertEquals(event, { type: "bus_response", channelInfo: "Virtual bus channel 0" });
    assertEquals(encodeJson(event), recorded.frame.text);
  }
  for (
    const handshake of Object.values(messages.receiver_handshakes) as {
      bus_response: { text: string };
    }[]
  ) {
    assertEquals(encodeJson(decodeJson(handshake.bus_response.text)), handshake.bus_response.text);
  }
});

Deno.test("events.json: periodic_start and periodic_stop decode and re-encode to the same text", () => {
  const texts: string[] = [];
  for (const recorded of events.periodic_sent_by_client) {
    if (recorded.frame?.text) texts.push(recorded.frame.text);
    for (const frame of recorded.frames_sent_before_exception ?? []) texts.push(frame.text);
  }
  assertEquals(texts.length, 4);
  for (const text of texts) {
    const event = decodeJson(text);
    assert(event.type === "periodic_start" || event.type === "periodic_stop");
    assertEquals(encodeJson(event), text);
  }
  const first = decodeJson(texts[0]);
  assertEquals(first, {
    type: "periodic_start",
    period: 0.01,
    duration: 0.5,
    frame: createFrame({ arbitrationId: 291, isExtendedId: false, data: [1, 2, 3] }),
  });
  // What the capture sent to the server with ESI set: canremote writes the same object.
  const sent = events.periodic_observed_on_server["period_0.05_duration_0.5"].sent;
  const event = decodeJson(JSON.stringify(sent));
  assert(event.type === "periodic_start" && event.frame.errorStateIndicator);
  assertEquals(JSON.stringify(JSON.parse(encodeJson(event))), JSON.stringify(sent));
});

type Outcome = "ok" | (new (...args: never[]) => Error);

// What canremote's decoders make of every input python-can-remote was probed
// with (PROTOCOL.md, "Errors"). "raw" probes break the WebSocket framing
// itself and never reach a decoder.
const BAD_INPUT: Record<string, Outcome[] | "raw" | "none"> = {
  invalid_json: [SyntaxError],
  json_array: [TypeError],
  json_string: [TypeError],
  json_without_type: [TypeError],
  unknown_type: [UnknownEventTypeError],
  bus_request_again: ["ok"],
  message_without_payload: [TypeError],
  message_payload_null: [TypeError],
  message_empty_payload: ["ok"],
  message_missing_is_extended_id: ["ok"],
  message_unknown_field: [TypeError],
  message_data_string: [TypeError],
  message_data_byte_out_of_range: [RangeError],
  message_dlc_greater_than_data: ["ok"],
  message_classic_12_bytes: ["ok"],
  message_std_id_too_large: ["ok"],
  message_ext_id_too_large: ["ok"],
  message_id_2pow32: [RangeError],
  message_id_negative: [RangeError],
  message_dlc_300: [RangeError],
  error_event_from_client: ["ok"],
  periodic_stop_unknown_id: ["ok"],
  periodic_stop_twice: ["ok", "ok", "ok"],
  periodic_stop_long_unknown_key: [TypeError],
  periodic_start_missing_period: [TypeError],
  binary_unknown_type_byte: [UnknownEventTypeError],
  binary_empty: [RangeError],
  binary_truncated_header: [RangeError],
  binary_dlc_greater_than_data: ["ok"],
  binary_on_json_subprotocol: ["ok"],
  text_invalid_utf8: "raw",
  unmasked_client_frame: "raw",
  fragmented_text: "raw",
  first_frame_not_bus_request: ["ok"],
  first_frame_invalid_json: [SyntaxError],
  first_frame_without_type: [TypeError],
  first_frame_binary_message: ["ok"],
  bus_request_invalid_interface: ["ok"],
  bus_request_bitrate_not_a_number: ["ok"],
  bus_request_without_config: ["ok"],
  bus_request_config_null: ["ok"],
  bus_request_config_unknown_key: ["ok"],
  no_frame_at_all: "none",
};

Deno.test("bad_input.json: each probe decodes or fails with the documented error", () => {
  const names = badInput.probes.map((probe: { name: string }) => probe.name);
  assertEquals(names.toSorted(), Object.keys(BAD_INPUT).toSorted());
  for (const probe of badInput.probes) {
    const expected = BAD_INPUT[probe.name];
    if (expected === "raw") {
      assert(probe.sent.every((frame: object) => "raw_frame_hex" in frame), probe.name);
      continue;
    }
    if (expected === "none") {
      assertEquals(probe.sent, []);
      continue;
    }
    assertEquals(probe.sent.length, expected.length, probe.name);
    probe.sent.forEach((frame: { opcode: number; text?: string; hex?: string }, i: number) => {
      const data = frame.opcode === 1 ? frame.text! : unhex(frame.hex!);
      const outcome = expected[i];
      if (outcome === "ok") {
        const event = decodeEvent(data);
        if (event.type === "message") {
          // Structural decoding keeps what python-can-remote forwarded; validation is separate.
          if (/too_large|greater_than_data|classic_12/.test(probe.name)) {
            assertThrows(() => validateFrame(event.frame), RangeError);
          }
        }
      } else {
        const error = assertThrows(() => decodeEvent(data), outcome);
        assert(error.message.length > 0 && error.message.length < 200, error.message);
      }
    });
  }
  // The python-can defaults the reference applied (other_clients_received).
  const empty = messageOf(decodeJson('{"type": "message", "payload": {}}'));
  assertEquals([empty.arbitrationId, empty.isExtendedId, empty.dlc], [0, true, 0]);
  const unknownField = badInput.probes.find((p: { name: string }) =>
    p.name === "message_unknown_field"
  );
  assertThrows(() => decodeJson(unknownField.sent[0].text), TypeError, '"foo"');
});

// One python3 run checks that Python's json module, python-can's Message and
// python-can-remote's struct layout read our output as we meant it.
const PYTHON = `
import json, struct, sys
import can
out = []
for item in json.load(sys.stdin):
    obj = json.loads(item["text"])
    result = {"same_text": json.dumps(obj) == item["text"]}
    if item.get("recorded") is not None:
        result["equal"] = obj == json.loads(item["recorded"])
    payload = obj["payload"]
    msg = None
    if obj["type"] == "message":
        msg = can.Message(**payload)
    elif obj["type"] == "periodic_start":
        msg = can.Message(**payload["msg"])
    if msg is not None:
        result["message"] = [msg.timestamp, msg.arbitration_id, msg.is_extended_id,
            msg.is_remote_frame, msg.is_error_frame, msg.is_fd, msg.bitrate_switch,
            msg.error_state_indicator, msg.dlc, bytes(msg.data).hex()]
    if item.get("binary"):
        data = bytes.fromhex(item["binary"])
        ts, arb_id, dlc, flags = struct.unpack_from(">dIBB", data, 1)
        result["binary"] = [data[0], ts, arb_id, dlc, flags, data[15:].hex()]
    out.append(result)
json.dump(out, sys.stdout)
`;

function messageFields(frame: CanFrame): unknown[] {
  return [
    frame.timestamp,
    frame.arbitrationId,
    frame.isExtendedId,
    frame.isRemoteFrame,
    frame.isErrorFrame,
    frame.isFd,
    frame.bitrateSwitch,
    frame.errorStateIndicator,
    frame.dlc,
    hex(frame.data),
  ];
}

function flagsOf(frame: CanFrame): number {
  return [
    frame.isExtendedId,
    frame.isRemoteFrame,
    frame.isErrorFrame,
    frame.isFd,
    frame.bitrateSwitch,
    frame.errorStateIndicator,
  ].reduce((flags, set, bit) => flags | (set ? 1 << bit : 0), 0);
}

Deno.test({
  name: "python3 reads our JSON and binary output as python-can-remote's own",
  ...requires("python3-can"),
  async fn() {
    interface Item {
      text: string;
      recorded?: string;
      binary?: string;
      frame?: CanFrame;
      periodic?: boolean;
    }
    const items: Item[] = [];
    for (const c of messages.cases) {
      const recorded: string = c.server_to_client.json.text;
      const frame = messageOf(decodeJson(recorded));
      items.push({
        text: encodeJson({ type: "message", frame }),
        recorded,
        frame,
        binary: hex(encodeBinary(frame)),
      });
    }
    for (const recorded of events.bus_request_sent_by_client) {
      items.push({
        text: encodeJson(decodeJson(recorded.frame.text)),
        recorded: recorded.frame.text,
      });
    }
    const random = fc.sample(validFrame, { numRuns: 300, seed: 20261126 });
    const edgeTimestamps = [
      0,
      -0,
      1e-5,
      1.5e-7,
      0.0001,
      1e16,
      123456789012345680,
      1e22,
      5e-324,
      0.1,
      1 / 3,
    ];
    for (const timestamp of edgeTimestamps) random.push(createFrame({ timestamp, data: [1] }));
    for (const frame of random) {
      items.push({
        text: encodeJson({ type: "message", frame }),
        frame,
        binary: hex(encodeBinary(frame)),
      });
      items.push({
        text: encodeJson({ type: "periodic_start", period: 0.25, duration: null, frame }),
        frame: { ...frame, timestamp: 0 },
        periodic: true,
      });
    }
    for (
      const event of [
        { type: "error", message: 'caf\u00e9 \u{1F68C} \u007f \u0000 "quoted" \\ \t' },
        { type: "bus_response", channelInfo: "\u00fcber vcan0" },
        { type: "bus_request", config: { a: { "b,c": [1, "x:y", null, true] }, "\u00e9": 1.5 } },
        { type: "periodic_stop", arbitrationId: 4294967295 },
        { type: "dropped", count: 0, total: 123456789 },
      ] satisfies CanEvent[]
    ) items.push({ text: encodeJson(event) });

    const results = await python(PYTHON, items) as Record<string, unknown>[];
    assertEquals(results.length, items.length);
    items.forEach((item, i) => {
      const result = results[i];
      assert(result.same_text, `json.dumps(json.loads(x)) != x for ${item.text}`);
      if (item.recorded !== undefined) assert(result.equal, item.text);
      if (item.frame) {
        assertEquals(result.message, messageFields(item.frame), item.text);
      }
      if (item.binary) {
        const frame = item.frame!;
        assertEquals(result.binary, [
          1,
          frame.timestamp,
          frame.arbitrationId,
          frame.dlc,
          flagsOf(frame),
          hex(frame.data),
        ]);
      }
    });
  },
});
