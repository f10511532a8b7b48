// The edges of one client's session that the recorded probes do not reach:
// a filter list a kernel would refuse, a backend that throws, close codes
// with more frames right behind the offending one, limits counted in bytes,
// messages piling up while the bus opens, and a bus that cannot open. Each
// costs that client at most its connection; the server goes on.
import { assert, assertEquals } from "../../_helpers/assert.ts";
import { TestClient } from "../../_helpers/ws_client.ts";
import {
  closeOf,
  encodeFrame,
  FrameReader,
  type RawFrame,
  rawUpgrade,
} from "../../_helpers/raw_ws.ts";
import { serve, VirtualBackend } from "../../../server.ts";
import type { Bus, BusOptions, CanFilter } from "../../../core/bus.ts";
import { CloseCode, JSON_PROTOCOL, MAX_CLOSE_REASON_BYTES } from "../../../core/protocol.ts";
import { tokenProtocol } from "../../../client.ts";

const filter = (i: number) => ({ can_id: i & 0x7ff, can_mask: 0x7ff, extended: false });
const frameText = (id: number) =>
  JSON.stringify({ type: "message", payload: { arbitration_id: id, is_extended_id: false } });

/** A bystander that must keep receiving what another client sends. */
async function checkServed(url: string): Promise<void> {
  const a = await TestClient.connect(url, {}, [JSON_PROTOCOL]);
  const b = await TestClient.connect(url, {}, [JSON_PROTOCOL]);
  a.send(frameText(0x42));
  const event = await b.nextEvent();
  assert(event.type === "message" && event.frame.arbitrationId === 0x42, JSON.stringify(event));
  await Promise.all([a.close(), b.close()]);
}

/** Reads frames until a close frame or the end of the connection. */
async function closeFrame(reader: FrameReader): Promise<RawFrame | null> {
  while (true) {
    const frame = await reader.next(AbortSignal.timeout(3000));
    if (!frame || frame.opcode === 8) return frame;
  }
}

Deno.test("set_filters with more filters than a kernel takes: an error event, the old filters stay", async () => {
  await using server = await serve({ port: 0 });
  const client = await TestClient.connect(server.url, {}, [JSON_PROTOCOL]);
  client.sendJson({
    type: "set_filters",
    payload: Array.from({ length: 513 }, (_, i) => filter(i)),
  });
  const event = await client.nextEvent();
  assert(event.type === "error", JSON.stringify(event));
  assertEquals(
    event.message,
    'Invalid message: The "set_filters" payload has 513 filters; at most 512',
  );
  client.sendJson({
    type: "set_filters",
    payload: Array.from({ length: 512 }, (_, i) => filter(i)),
  });
  assertEquals(await client.drain(150), [], "512 are fine");
  await checkServed(server.url);
  await client.close();
});

/** A backend whose buses fail the way a kernel or a bug might, after opening. */
class FailingBackend extends VirtualBackend {
  override async open(channel: string, options: BusOptions): Promise<Bus> {
    const bus = await super.open(channel, options);
    bus.setFilters = (_filters?: CanFilter[] | null) => {
      throw new Error("setsockopt(CAN_RAW_FILTER): ENOMEM");
    };
    return bus;
  }
}

Deno.test("a bus that throws while handling a message: an error event for that client only", async () => {
  await using server = await serve({ port: 0, backend: new FailingBackend() });
  const client = await TestClient.connect(server.url, {}, [JSON_PROTOCOL]);
  client.sendJson({ type: "set_filters", payload: [filter(1)] });
  const event = await client.nextEvent();
  assert(event.type === "error", JSON.stringify(event));
  assertEquals(event.message, "Cannot set the filters: setsockopt(CAN_RAW_FILTER): ENOMEM");
  // the connection still works
  client.sendJson({ type: "periodic_stop", payload: 0x123 });
  assertEquals((await client.nextEvent()).type, "error");
  await checkServed(server.url);
  await client.close();
});

Deno.test("a close code arrives even with more frames right behind the offending message", async () => {
  await using server = await serve({ port: 0, maxMessageSize: 1000 });
  const port = Number(new URL(server.url).port);
  for (const trailing of [0, 1, 20]) {
    const up = await rawUpgrade(port, "/", { "Sec-WebSocket-Protocol": JSON_PROTOCOL });
    const reader = new FrameReader(up.conn, up.rest);
    await up.conn.write(encodeFrame(1, '{"type": "bus_request", "payload": {"config": {}}}'));
    assertEquals((await reader.next(AbortSignal.timeout(3000)))?.opcode, 1, "bus_response");
    const frames = [encodeFrame(1, "x".repeat(2000))];
    for (let i = 0; i < trailing; i++) frames.push(encodeFrame(1, frameText(i)));
    await up.conn.write(new Uint8Array(frames.flatMap((f) => [...f])));
    const frame = await closeFrame(reader);
    assert(frame, `${trailing} trailing frames: the connection ended without a close frame`);
    assertEquals(closeOf(frame).code, CloseCode.MESSAGE_TOO_BIG, `${trailing} trailing frames`);
    up.conn.close();
  }
});

Deno.test("message and config limits count UTF-8 bytes, not characters", async () => {
  await using server = await serve({ port: 0, maxMessageSize: 3000, maxConfigSize: 1000 });
  // 400 characters but 1,200 bytes of config
  const big = await TestClient.open(server.url, [JSON_PROTOCOL]);
  big.sendJson({ type: "bus_request", payload: { config: { note: "€".repeat(400) } } });
  const refused = await big.closed;
  assertEquals(refused.code, CloseCode.MESSAGE_TOO_BIG);
  assert(
    /^bus_request of 12\d\d bytes exceeds the limit of 1000$/.test(refused.reason),
    refused.reason,
  );
  // 1,100 characters but 3,300 bytes of message, and one of 4-byte characters
  for (const text of ["€".repeat(1100), "😀".repeat(800)]) {
    const client = await TestClient.connect(server.url, {}, [JSON_PROTOCOL]);
    const message = JSON.stringify({ type: "error", payload: text });
    client.send(message);
    const closed = await client.closed;
    assertEquals(closed.code, CloseCode.MESSAGE_TOO_BIG);
    const bytes = new TextEncoder().encode(message).length;
    assertEquals(closed.reason, `Message of ${bytes} bytes exceeds the limit of 3000`);
  }
  await checkServed(server.url);
});

/** A backend whose buses open when told to, or never. */
class SlowBackend extends VirtualBackend {
  release!: () => void;
  #ready = new Promise<void>((resolve) => this.release = resolve);
  override async open(channel: string, options: BusOptions): Promise<Bus> {
    await this.#ready;
    return await super.open(channel, options);
  }
}

Deno.test("messages piling up before the bus is open: close 1008 beyond maxPendingInput", async () => {
  const backend = new SlowBackend();
  await using server = await serve({ port: 0, backend, maxPendingInput: 10 });
  const client = await TestClient.open(server.url, [JSON_PROTOCOL]);
  client.sendJson({ type: "bus_request", payload: { config: {} } });
  for (let i = 0; i < 11; i++) client.send(frameText(i));
  const closed = await client.closed;
  assertEquals([closed.code, closed.reason], [
    CloseCode.POLICY_VIOLATION,
    "Too many messages before bus_response",
  ]);
  backend.release();
  // ten are fine, and are relayed once the bus is open
  const patient = await TestClient.open(server.url, [JSON_PROTOCOL]);
  const watcher = await TestClient.connect(server.url, {}, [JSON_PROTOCOL]);
  patient.sendJson({ type: "bus_request", payload: { config: {} } });
  for (let i = 0; i < 10; i++) patient.send(frameText(i));
  const ids = [];
  for (let i = 0; i < 10; i++) {
    const event = await watcher.nextEvent();
    if (event.type === "message") ids.push(event.frame.arbitrationId);
  }
  assertEquals(ids, [...Array(10).keys()]);
  await Promise.all([patient.close(), watcher.close()]);
});

class BrokenBackend extends VirtualBackend {
  override open(): Promise<Bus> {
    return Promise.reject(new Error(`Cannot bind to "can9": ${"no such device ".repeat(20)}`));
  }
}

Deno.test("a bus that cannot open: close 4500 with the reason, cut to 123 bytes", async () => {
  await using server = await serve({ port: 0, backend: new BrokenBackend() });
  const client = await TestClient.open(server.url, [JSON_PROTOCOL]);
  client.sendJson({ type: "bus_request", payload: { config: {} } });
  const closed = await client.closed;
  assertEquals(closed.code, CloseCode.BUS_ERROR);
  assert(closed.reason.startsWith('Cannot open the bus: Cannot bind to "can9"'), closed.reason);
  assert(new TextEncoder().encode(closed.reason).length <= MAX_CLOSE_REASON_BYTES);
});

Deno.test("a refusal naming a long channel is cut to 123 bytes, and the server goes on", async () => {
  const long = "c".repeat(100);
  await using server = await serve({
    port: 0,
    backend: new VirtualBackend(["0", long]),
    tokens: [{ token: "only-zero-0123456789abcdef", channels: ["0"] }],
  });
  const socket = new WebSocket(server.url + long, [
    JSON_PROTOCOL,
    tokenProtocol("only-zero-0123456789abcdef"),
  ]);
  const closed = await new Promise<CloseEvent>((resolve) => socket.onclose = resolve);
  assertEquals(closed.code, CloseCode.FORBIDDEN);
  assert(closed.reason.startsWith("The access token does not open channel"), closed.reason);
  assert(new TextEncoder().encode(closed.reason).length <= MAX_CLOSE_REASON_BYTES);
  const ok = await TestClient.connect(server.url, { token: "only-zero-0123456789abcdef" });
  await ok.close();
});
