import { assert, assertEquals, assertThrows } from "../_helpers/assert.ts";
import { decodeEvent, encodeEvent } from "../../core/codec.ts";
import { encodeBinary } from "../../core/codec_binary.ts";
import { encodeJson } from "../../core/codec_json.ts";
import { type CanEvent, UnknownEventTypeError } from "../../core/events.ts";
import { createFrame } from "../../core/frame.ts";
import { BINARY_PROTOCOL, JSON_PROTOCOL } from "../../core/protocol.ts";

const frame = createFrame({
  timestamp: 12.5,
  arbitrationId: 0x123,
  isExtendedId: false,
  data: [1, 2],
});
const events: CanEvent[] = [
  { type: "bus_request", config: { bitrate: 500000, receive_own_messages: true } },
  { type: "bus_response", channelInfo: "Virtual bus channel 0" },
  { type: "message", frame },
  { type: "error", message: "nope" },
  { type: "periodic_start", period: 0.1, duration: null, frame: { ...frame, timestamp: 0 } },
  { type: "periodic_stop", arbitrationId: 0x123 },
  { type: "dropped", count: 2, total: 9 },
];

Deno.test("encodeEvent: only messages of can.binary+json.v1 are binary", () => {
  for (const event of events) {
    const json = encodeEvent(event, JSON_PROTOCOL);
    assertEquals(json, encodeJson(event));
    const mixed = encodeEvent(event, BINARY_PROTOCOL);
    if (event.type === "message") assertEquals(mixed, encodeBinary(event.frame));
    else assertEquals(mixed, json);
  }
});

Deno.test("encodeEvent: refuses an unknown subprotocol", () => {
  for (const protocol of ["", "chat.v2", "CAN.JSON.V1"]) {
    assertThrows(() => encodeEvent(events[2], protocol), RangeError, "Unknown subprotocol");
  }
});

Deno.test("decodeEvent(encodeEvent(e)) gives e back on both subprotocols", () => {
  for (const protocol of [JSON_PROTOCOL, BINARY_PROTOCOL]) {
    for (const event of events) assertEquals(decodeEvent(encodeEvent(event, protocol)), event);
  }
});

Deno.test("decodeEvent: text is JSON, bytes are a binary message", () => {
  const bytes = encodeBinary(frame);
  assertEquals(decodeEvent(bytes), { type: "message", frame });
  assertEquals(decodeEvent(bytes.slice().buffer), { type: "message", frame });
  assertEquals(decodeEvent('{"type": "periodic_stop", "payload": 5}'), {
    type: "periodic_stop",
    arbitrationId: 5,
  });
  assertThrows(() => decodeEvent("{oops"), SyntaxError);
  assertThrows(() => decodeEvent(new Uint8Array([2, 0])), UnknownEventTypeError, "type 2");
  assertThrows(() => decodeEvent(new Blob([bytes]) as unknown as Uint8Array), TypeError, "Blob");
  assertThrows(() => decodeEvent(null as unknown as string), TypeError, "got null");
  assertThrows(() => decodeEvent(42 as unknown as string), TypeError, "got number");
});

Deno.test("codec over a real WebSocket: pooled binary messages arrive as exactly their bytes", async () => {
  const received: CanEvent[] = [];
  const serverDone = Promise.withResolvers<void>();
  await using server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, (request) => {
    const { socket, response } = Deno.upgradeWebSocket(request, { protocol: BINARY_PROTOCOL });
    socket.binaryType = "arraybuffer";
    socket.onmessage = ({ data }) => {
      // Echo each event back, encoded for the negotiated subprotocol.
      socket.send(encodeEvent(decodeEvent(data), BINARY_PROTOCOL)); // Deno leaves socket.protocol empty here
    };
    socket.onclose = () => serverDone.resolve();
    return response;
  });
  const client = new WebSocket(`ws://127.0.0.1:${server.addr.port}/`, [
    BINARY_PROTOCOL,
    JSON_PROTOCOL,
  ]);
  client.binaryType = "arraybuffer";
  const kinds: string[] = [];
  const allReceived = Promise.withResolvers<void>();
  client.onmessage = ({ data }) => {
    kinds.push(typeof data === "string" ? "text" : "binary");
    received.push(decodeEvent(data));
    if (received.length === events.length) allReceived.resolve();
  };
  await new Promise((resolve) => client.onopen = resolve);
  assertEquals(client.protocol, BINARY_PROTOCOL);
  for (const event of events) client.send(encodeEvent(event, client.protocol));
  await allReceived.promise;
  const closed = new Promise((resolve) => client.onclose = resolve);
  client.close();
  await closed;
  await serverDone.promise;
  assertEquals(received, events);
  assertEquals(kinds, events.map((e) => e.type === "message" ? "binary" : "text"));
  assert(encodeBinary(frame).buffer.byteLength > 17, "the test should exercise a pooled view");
});
