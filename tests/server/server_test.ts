import { assert, assertEquals } from "../_helpers/assert.ts";
import { TestClient } from "../_helpers/ws_client.ts";
import { encodeFrame, FrameReader, rawUpgrade, textOf } from "../_helpers/raw_ws.ts";
import { serve, VirtualBackend } from "../../server.ts";
import { CanBridge } from "../../server/http/bridge.ts";
import { BINARY_PROTOCOL, CloseCode, JSON_PROTOCOL } from "../../core/protocol.ts";
import { decodeEvent } from "../../core/codec.ts";

const msg = (id: number, data: number[] = [], extra: Record<string, unknown> = {}) => ({
  type: "message",
  payload: { arbitration_id: id, is_extended_id: false, data, ...extra },
});

function upgradeRequest(path: string, protocol?: string): Request {
  const headers: Record<string, string> = {
    upgrade: "websocket",
    connection: "Upgrade",
    "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
    "sec-websocket-version": "13",
  };
  if (protocol !== undefined) headers["sec-websocket-protocol"] = protocol;
  return new Request(`http://localhost${path}`, { headers });
}

Deno.test("CanBridge: refusals come as HTTP statuses before any upgrade", async () => {
  const bridge = new CanBridge({ backend: new VirtualBackend(["0", "body"]) });
  const unknownChannel = bridge.fetch(upgradeRequest("/nope", JSON_PROTOCOL));
  assertEquals(unknownChannel.status, 404);
  assert((await unknownChannel.text()).includes('No channel "nope"'));
  const badProtocol = bridge.fetch(upgradeRequest("/", "chat, superchat"));
  assertEquals(badProtocol.status, 400);
  await badProtocol.body?.cancel();
  const page = bridge.fetch(new Request("http://localhost/"));
  assertEquals(page.status, 200);
  assert(page.headers.get("content-type")!.startsWith("text/html"));
  await page.body?.cancel();
  const missing = bridge.fetch(new Request("http://localhost/nothing-here"));
  assertEquals(missing.status, 404);
  await missing.body?.cancel();
  const post = bridge.fetch(new Request("http://localhost/", { method: "POST" }));
  assertEquals(post.status, 405);
  await post.body?.cancel();
  await bridge.close();
});

Deno.test("handshake: the chosen subprotocol for each offer, sent only if offered", async (t) => {
  await using server = await serve({ port: 0 });
  const cases: [string | undefined, string | null][] = [
    ["can.binary+json.v1,can.json.v1", BINARY_PROTOCOL], // python-can-remote and npm ws: no space
    ["can.json.v1, can.binary+json.v1", BINARY_PROTOCOL],
    ["can.json.v1", JSON_PROTOCOL],
    [undefined, null], // no header: JSON, and no header in the answer
  ];
  for (const [offered, expected] of cases) {
    await t.step(`offered ${offered ?? "nothing"}`, async () => {
      const up = await rawUpgrade(server.addr.port, "/", { "Sec-WebSocket-Protocol": offered });
      assertEquals(up.status, 101);
      assertEquals(up.headers.get("sec-websocket-protocol"), expected);
      assertEquals(up.headers.get("sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
      // Nothing before the bus_request (the reference client would lose it).
      const reader = new FrameReader(up.conn, up.rest);
      const early = await reader.next(AbortSignal.timeout(200)).catch(() => "nothing");
      assertEquals(early, "nothing");
    });
  }
  const refused = await rawUpgrade(server.addr.port, "/", { "Sec-WebSocket-Protocol": "mqtt" });
  assertEquals(refused.status, 400);
  refused.conn.close();
});

Deno.test("channels: / is the first, /NAME each one, and they are separate", async () => {
  await using server = await serve({ port: 0, channels: ["0", "body"] });
  const a = await TestClient.connect(server.url);
  const b = await TestClient.connect(server.url + "body");
  const c = await TestClient.connect(server.url + "body");
  c.sendJson(msg(0x10, [1]));
  const got = await b.nextEvent();
  assertEquals(got.type === "message" && got.frame.arbitrationId, 0x10);
  assertEquals(await a.drain(), []);
  await Promise.all([a.close(), b.close(), c.close()]);
});

Deno.test("bus_response names the channel, and frames flow both ways in both formats", async () => {
  await using server = await serve({ port: 0 });
  const json = await TestClient.open(server.url, [JSON_PROTOCOL]);
  json.sendJson({ type: "bus_request", payload: { config: { receive_own_messages: false } } });
  assertEquals(
    await json.next(),
    '{"type": "bus_response", "payload": {"channel_info": "virtual channel 0"}}',
  );
  const binary = await TestClient.connect(server.url);
  json.sendJson(msg(0x123, [0x11, 0x22, 0x33, 0x44]));
  const raw = await binary.next();
  assert(raw instanceof Uint8Array, "a binary client gets binary messages");
  const event = decodeEvent(raw);
  assert(event.type === "message");
  assertEquals([...event.frame.data], [0x11, 0x22, 0x33, 0x44]);
  // the receiving side stamps unless the sender preserves timestamps
  assert(Math.abs(event.frame.timestamp - Date.now() / 1000) < 5);
  await Promise.all([json.close(), binary.close()]);
});

Deno.test("preserve_timestamps keeps the sender's timestamp", async () => {
  await using server = await serve({ port: 0 });
  const sender = await TestClient.connect(server.url, { preserve_timestamps: true });
  const receiver = await TestClient.connect(server.url);
  sender.sendJson(msg(1, [], { timestamp: 1700000000.25 }));
  const event = await receiver.nextEvent();
  assertEquals(event.type === "message" && event.frame.timestamp, 1700000000.25);
  await Promise.all([sender.close(), receiver.close()]);
});

Deno.test("bus_request config: refusals close with 4400 and a clear reason; unknown keys pass", async (t) => {
  await using server = await serve({ port: 0 });
  const cases: [Record<string, unknown>, string][] = [
    [{ interface: "socketcan" }, 'cannot choose "socketcan"'],
    [{ channel: "7" }, 'channel "7"'],
    [
      { bitrate: "fast" },
      'bitrate must be a bit rate in bit/s, such as 500000 or 500k, got "fast"',
    ],
    [{ receive_own_messages: "maybe" }, "receive_own_messages must be true or false"],
    [{ can_filters: [{ can_id: -1, can_mask: 0x7ff }] }, "can_id must be an integer"],
  ];
  for (const [config, reason] of cases) {
    await t.step(JSON.stringify(config), async () => {
      const client = await TestClient.open(server.url);
      client.sendJson({ type: "bus_request", payload: { config } });
      const closed = await client.closed;
      assertEquals(closed.code, CloseCode.BAD_CONFIG);
      assert(closed.reason.includes(reason), closed.reason);
    });
  }
  await t.step("unknown keys (python-can adds some) are ignored", async () => {
    const client = await TestClient.connect(server.url, { single_handle: true, bitrate: 500000 });
    await client.close();
  });
});

Deno.test("the first message must be a bus_request, and it must come in time", async () => {
  await using server = await serve({ port: 0, requestTimeout: 200 });
  const early = await TestClient.open(server.url);
  early.sendJson(msg(1));
  const closed = await early.closed;
  assertEquals(closed.code, CloseCode.PROTOCOL_ERROR);
  assertEquals(closed.reason, "Expected a bus_request first, got message");
  const silent = await TestClient.open(server.url);
  assertEquals((await silent.closed).code, CloseCode.REQUEST_TIMEOUT);
});

Deno.test("an invalid frame gets an error event, is not relayed, and the connection goes on", async () => {
  await using server = await serve({ port: 0 });
  const a = await TestClient.connect(server.url);
  const b = await TestClient.connect(server.url);
  a.sendJson(msg(0x800, [1]));
  const error = await a.nextEvent();
  assertEquals(error, {
    type: "error",
    message: "Invalid message: Standard arbitrationId must be at most 0x7FF, got 0x800",
  });
  a.send("{not json");
  assertEquals((await a.nextEvent()).type, "error");
  a.sendJson(msg(0x100, [1]));
  const ok = await b.nextEvent();
  assertEquals(ok.type === "message" && ok.frame.arbitrationId, 0x100);
  assertEquals(await b.drain(), []);
  await Promise.all([a.close(), b.close()]);
});

Deno.test("can_filters from the config filter what a client receives", async () => {
  await using server = await serve({ port: 0 });
  const a = await TestClient.connect(server.url);
  const b = await TestClient.connect(server.url, {
    can_filters: [{ can_id: 0x100, can_mask: 0x700, extended: false }],
  });
  a.sendJson(msg(0x1ff));
  a.sendJson(msg(0x200));
  a.sendJson(msg(0x100, [], { is_extended_id: true }));
  const ids = (await b.drain(150, 1)).map((m) => {
    const e = decodeEvent(m);
    return e.type === "message" ? e.frame.arbitrationId : -1;
  });
  assertEquals(ids, [0x1ff]);
  await Promise.all([a.close(), b.close()]);
});

Deno.test("periodic: start, modify, stop, unknown id, too short, and stop on disconnect", async () => {
  await using server = await serve({ port: 0 });
  const owner = await TestClient.connect(server.url);
  const watcher = await TestClient.connect(server.url);
  const start = (data: number[], period = 0.02) => ({
    type: "periodic_start",
    payload: {
      period,
      duration: null,
      msg: { arbitration_id: 0x321, is_extended_id: false, data },
    },
  });
  owner.sendJson(start([1]));
  const first = await watcher.nextEvent();
  assert(first.type === "message" && first.frame.data[0] === 1);
  owner.sendJson(start([2]));
  let seen = 1;
  for (let i = 0; i < 10 && seen !== 2; i++) {
    const e = await watcher.nextEvent();
    seen = e.type === "message" ? e.frame.data[0] : -1;
  }
  assertEquals(seen, 2);
  owner.sendJson({ type: "periodic_stop", payload: 0x321 });
  await watcher.drain(100);
  assertEquals(await watcher.drain(150), []);
  owner.sendJson({ type: "periodic_stop", payload: 0x321 });
  assertEquals(await owner.nextEvent(), {
    type: "error",
    message: "No periodic task with arbitration id 801 (0x321)",
  });
  owner.sendJson(start([3], 0.0001));
  const tooShort = await owner.nextEvent();
  assert(tooShort.type === "error" && tooShort.message.includes("period must be at least"));
  // tasks end with their connection, not half a second later
  owner.sendJson(start([4], 0.01));
  await watcher.nextEvent();
  await owner.close();
  await watcher.drain(50);
  assertEquals(await watcher.drain(200), []);
  await watcher.close();
});

Deno.test("a message above the size limit closes with 1009; others are unaffected", async () => {
  await using server = await serve({ port: 0, maxMessageSize: 1000 });
  const big = await TestClient.connect(server.url);
  const other = await TestClient.connect(server.url);
  big.send("x".repeat(2000));
  assertEquals((await big.closed).code, CloseCode.MESSAGE_TOO_BIG);
  big.ws.close();
  const third = await TestClient.connect(server.url);
  third.sendJson(msg(5));
  assertEquals((await other.nextEvent()).type, "message");
  await Promise.all([other.close(), third.close()]);
});

Deno.test("a stalled client loses frames alone, and is told how many", async () => {
  // No transmit rate limit: the sender floods faster than the default 10000 frames/s.
  await using server = await serve({
    port: 0,
    maxBufferedBytes: 64 * 1024,
    maxSendRate: Infinity,
  });
  const port = server.addr.port;
  const up = await rawUpgrade(port, "/", { "Sec-WebSocket-Protocol": BINARY_PROTOCOL });
  await up.conn.write(
    encodeFrame(1, JSON.stringify({ type: "bus_request", payload: { config: {} } })),
  );
  const reader = new FrameReader(up.conn, up.rest);
  assertEquals(JSON.parse(textOf((await reader.next())!)).type, "bus_response");
  // the stalled client now reads nothing while a sender floods
  const sender = await TestClient.connect(server.url);
  const watcher = await TestClient.connect(server.url);
  // Kernel socket buffers on loopback hold megabytes, so the flood goes on
  // (64-byte FD frames, bounded) until the server starts dropping for the
  // stalled client; the healthy one must still get every frame.
  const data = Array.from({ length: 64 }, (_, i) => i);
  const stalledSession = () => [...server.bridge.sessions].find((s) => s.stats.dropped > 0);
  let sent = 0;
  let received = 0;
  while (!stalledSession() && sent < 400_000) {
    // a batch (500 x 79 bytes) stays below the 64 KiB limit of the healthy client
    for (let i = 0; i < 500; i++, sent++) {
      sender.sendJson(msg(sent & 0x7ff, data, { is_fd: true }));
    }
    while (received < sent) {
      await watcher.next(5000);
      received++;
    }
  }
  assertEquals(received, sent, "the healthy client lost nothing");
  assertEquals(await watcher.drain(100), []);
  const stalled = stalledSession();
  assert(stalled, `the stalled client's frames were dropped (after ${sent} frames)`);
  // once it reads again, it gets a dropped notice with the same count
  let notice: Record<string, unknown> | undefined;
  while (!notice) {
    const frame = await reader.next(AbortSignal.timeout(5000));
    if (frame && frame.opcode === 1) {
      const event = JSON.parse(textOf(frame));
      if (event.type === "dropped") notice = event.payload;
    }
  }
  assertEquals(notice.total, stalled.stats.dropped);
  up.conn.close();
  await Promise.all([sender.close(), watcher.close()]);
});

Deno.test("shutdown closes every client with 1001", async () => {
  const server = await serve({ port: 0 });
  const a = await TestClient.connect(server.url);
  const b = await TestClient.open(server.url);
  await server.close();
  assertEquals((await a.closed).code, CloseCode.GOING_AWAY);
  assertEquals((await b.closed).code, CloseCode.GOING_AWAY);
});

Deno.test("python-can-remote's client bytes: its upgrade and bus_request get a bus_response", async () => {
  const recorded = JSON.parse(
    await Deno.readTextFile(new URL("../../../shared/conformance/handshake.json", import.meta.url)),
  ).client_upgrade_request;
  await using server = await serve({ port: 0 });
  const port = server.addr.port;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const request = (recorded.request_raw as string).replace(
    /Host: [^\r]+/,
    `Host: 127.0.0.1:${port}`,
  );
  await conn.write(new TextEncoder().encode(request));
  const buf = new Uint8Array(4096);
  const n = await conn.read(buf);
  const head = new TextDecoder().decode(buf.subarray(0, n!));
  assert(head.startsWith("HTTP/1.1 101"), head);
  assert(/\r\nsec-websocket-protocol: can\.binary\+json\.v1\r\n/i.test(head), head);
  assert(head.endsWith("\r\n\r\n"), "nothing follows the 101 head before the bus_request");
  await conn.write(encodeFrame(1, recorded.first_frame.text));
  const reader = new FrameReader(conn);
  assertEquals(
    textOf((await reader.next())!),
    '{"type": "bus_response", "payload": {"channel_info": "virtual channel 0"}}',
  );
  conn.close();
});

Deno.test("message batches: a busy client that asked gets batches, all frames in order; others never", async () => {
  // No transmit rate limit: the sender floods.
  await using server = await serve({ port: 0, maxSendRate: Infinity });
  const sender = await TestClient.connect(server.url);
  const batched = await TestClient.connect(server.url, { message_batches: true });
  const batchedJson = await TestClient.connect(server.url, { message_batches: true }, [
    JSON_PROTOCOL,
  ]);
  const plain = await TestClient.connect(server.url); // as python-can-remote's client
  const total = 5000;
  for (let i = 0; i < total; i++) sender.sendJson(msg(i & 0x7ff, [i & 0xff, i >> 8]));
  // an error event amid the flood goes out between frames, never inside a batch
  batched.sendJson(msg(0x800));
  const read = async (client: TestClient, expectError: boolean) => {
    const ids: number[] = [];
    let batches = 0;
    let errors = 0;
    while (ids.length < total || errors < (expectError ? 1 : 0)) {
      const event = decodeEvent(await client.next(5000));
      if (event.type === "message") ids.push(event.frame.arbitrationId);
      else if (event.type === "message_batch") {
        batches++;
        ids.push(...event.frames.map((f) => f.arbitrationId));
      } else if (event.type === "error" && expectError) errors++;
      else throw new Error(`unexpected ${event.type} after ${ids.length} frames`);
    }
    assertEquals(ids, Array.from({ length: total }, (_, i) => i & 0x7ff));
    assertEquals(errors, expectError ? 1 : 0);
    return batches;
  };
  const [b, j, p] = await Promise.all([
    read(batched, true),
    read(batchedJson, false),
    read(plain, false),
  ]);
  assert(b > 0, "the binary client got batches");
  assert(j > 0, "the JSON client got batches");
  assertEquals(p, 0, "a client that did not ask never gets one");
  await Promise.all([sender.close(), batched.close(), batchedJson.close(), plain.close()]);
});
