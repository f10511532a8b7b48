// RemoteBus against a scripted fake server (Deno.serve on port 0) that plays
// python-can-remote's recorded behaviour from ../shared/conformance.
import { assert, assertEquals, assertRejects, assertThrows } from "../_helpers/assert.ts";
import {
  RemoteBus,
  type RemoteBusOptions,
  type StateChangeDetail,
  tokenProtocol,
} from "../../client.ts";
import { encodeEvent } from "../../core/codec.ts";
import { BusClosedError, RemoteError } from "../../core/errors.ts";
import { type CanFrame, createFrame } from "../../core/frame.ts";
import { BINARY_PROTOCOL, JSON_PROTOCOL } from "../../core/protocol.ts";
import { serve } from "../../server.ts";

const conformance = (name: string) =>
  Deno.readTextFile(new URL(`../../../shared/conformance/${name}`, import.meta.url)).then(
    JSON.parse,
  );
const events = await conformance("events.json");
const handshake = await conformance("handshake.json");
const messages = await conformance("messages.json");

const BUS_RESPONSE: string = events.bus_response_sent_by_server[0].frame.text;
const within = (ms = 2000) => ({ signal: AbortSignal.timeout(ms) });
const std = (id: number, data: number[] = []) =>
  createFrame({ arbitrationId: id, isExtendedId: false, data });
const hex = (text: string) => Uint8Array.from(text.match(/../g) ?? [], (h) => parseInt(h, 16));
const toHex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

type Data = string | Uint8Array;

/** The server side of one connection: what it received, in order, and a way to answer. */
class Peer {
  readonly offered: string | null;
  #inbox: Data[] = [];
  #waiting: ((data: Data) => void)[] = [];
  readonly closed: Promise<CloseEvent>;

  constructor(readonly socket: WebSocket, offered: string | null) {
    this.offered = offered;
    socket.binaryType = "arraybuffer";
    socket.onmessage = (e) => {
      const data = typeof e.data === "string" ? e.data : new Uint8Array(e.data);
      const wake = this.#waiting.shift();
      if (wake) wake(data);
      else this.#inbox.push(data);
    };
    this.closed = new Promise((resolve) => socket.addEventListener("close", resolve));
  }

  next(ms = 2000): Promise<Data> {
    const data = this.#inbox.shift();
    if (data !== undefined) return Promise.resolve(data);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.splice(this.#waiting.indexOf(wake), 1);
        reject(new Error(`The fake server received nothing within ${ms} ms`));
      }, ms);
      const wake = (d: Data) => {
        clearTimeout(timer);
        resolve(d);
      };
      this.#waiting.push(wake);
    });
  }

  async nextText(): Promise<string> {
    const data = await this.next();
    assert(typeof data === "string", `expected text, got ${data}`);
    return data;
  }

  /** Messages that arrive within `ms`. */
  async quiet(ms = 100): Promise<Data[]> {
    await new Promise((r) => setTimeout(r, ms));
    return this.#inbox.splice(0);
  }

  send(data: Data): void {
    this.socket.send(data);
  }
}

/** The 101 answer: the subprotocol to select, from the offered header value. */
type Select = (offered: string[]) => string | null;
const preferBinary: Select = (offered) =>
  offered.includes(BINARY_PROTOCOL) ? BINARY_PROTOCOL : JSON_PROTOCOL;

class FakeServer {
  #server: Deno.HttpServer<Deno.NetAddr>;
  #peers: Peer[] = [];
  #pending: Peer[] = [];
  #accepting: ((peer: Peer) => void)[] = [];
  select: Select;

  constructor(select: Select = preferBinary) {
    this.select = select;
    this.#server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, (request) => {
      const offered = request.headers.get("sec-websocket-protocol");
      // Deno's upgradeWebSocket({ protocol }) refuses "a,b" lists; set the header ourselves.
      const { socket, response } = Deno.upgradeWebSocket(request);
      const selected = this.select(offered?.split(",").map((p) => p.trim()) ?? []);
      if (selected !== null) response.headers.set("Sec-WebSocket-Protocol", selected);
      const peer = new Peer(socket, offered);
      this.#peers.push(peer);
      socket.addEventListener("open", () => {
        const accept = this.#accepting.shift();
        if (accept) accept(peer);
        else this.#pending.push(peer);
      });
      return response;
    });
  }

  get url(): string {
    return `ws://127.0.0.1:${this.#server.addr.port}/`;
  }

  accept(): Promise<Peer> {
    const peer = this.#pending.shift();
    if (peer) return Promise.resolve(peer);
    return new Promise((resolve) => this.#accepting.push(resolve));
  }

  /** Accepts a connection and answers its bus_request like python-can-remote. */
  async serve(response = BUS_RESPONSE): Promise<{ peer: Peer; request: string }> {
    const peer = await this.accept();
    const request = await peer.nextText();
    peer.send(response);
    return { peer, request };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const peer of this.#peers) {
      if (peer.socket.readyState === WebSocket.OPEN) peer.socket.close(1001);
    }
    await Promise.all(this.#peers.map((p) => p.closed));
    await this.#server.shutdown();
  }
}

async function open(server: FakeServer, options: RemoteBusOptions = {}) {
  const [bus, served] = await Promise.all([
    RemoteBus.connect(server.url, options),
    server.serve(),
  ]);
  return { bus, ...served };
}

function fields(frame: CanFrame) {
  return {
    timestamp: frame.timestamp,
    arbitration_id: frame.arbitrationId,
    is_extended_id: frame.isExtendedId,
    is_remote_frame: frame.isRemoteFrame,
    is_error_frame: frame.isErrorFrame,
    dlc: frame.dlc,
    data_hex: toHex(frame.data),
    is_fd: frame.isFd,
    bitrate_switch: frame.bitrateSwitch,
    error_state_indicator: frame.errorStateIndicator,
  };
}

function referenceFields(decoded: Record<string, unknown>) {
  const { data_len: _l, is_rx: _r, channel: _c, ...rest } = decoded;
  return rest;
}

function frameFromFields(f: Record<string, unknown>): CanFrame {
  return createFrame({
    timestamp: f.timestamp as number,
    arbitrationId: f.arbitration_id as number,
    isExtendedId: f.is_extended_id as boolean,
    isRemoteFrame: f.is_remote_frame as boolean,
    isErrorFrame: f.is_error_frame as boolean,
    isFd: f.is_fd as boolean,
    bitrateSwitch: f.bitrate_switch as boolean,
    errorStateIndicator: f.error_state_indicator as boolean,
    dlc: f.dlc as number,
    data: hex(f.data_hex as string),
  });
}

Deno.test("connect: handshake, channelInfo and the reference's first frame", async () => {
  await using server = new FakeServer();
  // without canremote's message_batches key, the first frame is the reference client's
  const { bus, peer, request } = await open(server, { messageBatches: false });
  await using _ = bus;
  assertEquals(peer.offered, "can.binary+json.v1, can.json.v1");
  assertEquals(request, handshake.client_upgrade_request.first_frame.text);
  assertEquals(bus.channelInfo, `Virtual bus channel 0 on ${server.url}`);
  assertEquals(bus.protocol, BINARY_PROTOCOL);
  assertEquals(bus.state, "open");
  assert(!bus.closed);
});

Deno.test("connect: bus_request text equals python-can-remote's for the same config", async () => {
  await using server = new FakeServer();
  for (const sent of events.bus_request_sent_by_client) {
    const { bus, request } = await open(server, { config: sent.kwargs, messageBatches: false });
    assertEquals(request, sent.frame.text, sent.call);
    await bus.close();
  }
  // The camelCase options map to the same wire names, in the order written.
  const { bus, request } = await open(server, {
    bitrate: 500000,
    receiveOwnMessages: true,
    canFilters: [{ canId: 291, canMask: 2047, extended: false }],
    timeout: 2000,
    messageBatches: false,
  });
  await bus.close();
  assertEquals(request, events.bus_request_sent_by_client[2].frame.text);
});

Deno.test("connect: camelCase options beyond the reference's", async () => {
  await using server = new FakeServer();
  const { bus, request } = await open(server, {
    config: { interface: "virtual" },
    channel: "vcan0",
    fd: true,
    dataBitrate: 2000000,
    preserveTimestamps: true,
    canFilters: [{ canId: 0x100, canMask: 0x700 }],
  });
  await bus.close();
  assertEquals(JSON.parse(request).payload.config, {
    interface: "virtual",
    channel: "vcan0",
    fd: true,
    data_bitrate: 2000000,
    preserve_timestamps: true,
    can_filters: [{ can_id: 0x100, can_mask: 0x700 }],
    message_batches: true, // canremote's own key, on by default, last
  });
});

Deno.test("connect: bad options reject before any connection", async () => {
  await assertRejects(() => RemoteBus.connect("ws://127.0.0.1:1/", { timeout: 0 }), RangeError);
  await assertRejects(
    () => RemoteBus.connect("ws://127.0.0.1:1/", { canFilters: [{ canId: -1, canMask: 0 }] }),
    RangeError,
  );
  await assertRejects(
    () => RemoteBus.connect("ws://127.0.0.1:1/", { protocol: "xml" as "json" }),
    TypeError,
    '"xml"',
  );
  await assertRejects(() => RemoteBus.connect("ws://127.0.0.1:1/", { queueLimit: 0 }), RangeError);
  await assertRejects(
    () => RemoteBus.connect("ws://127.0.0.1:1/", { reconnect: { maxDelay: -1 } }),
    RangeError,
  );
  await assertRejects(() => RemoteBus.connect("not a url"), SyntaxError);
});

Deno.test("connect: the server may select either protocol; none means can.json.v1", async () => {
  for (const selected of [BINARY_PROTOCOL, JSON_PROTOCOL, null]) {
    await using server = new FakeServer(() => selected);
    const { bus } = await open(server);
    assertEquals(bus.protocol, selected ?? JSON_PROTOCOL);
    await bus.close();
  }
});

Deno.test("connect: a subprotocol that was not offered is refused", async () => {
  for (const [selected, protocol] of [["chat.v2", "binary"], [BINARY_PROTOCOL, "json"]] as const) {
    await using server = new FakeServer(() => selected);
    const peer = server.accept();
    const error = await assertRejects(
      () => RemoteBus.connect(server.url, { protocol }),
      RemoteError,
      JSON.stringify(selected),
    );
    assertEquals((error as RemoteError).code, undefined);
    // Nothing but the close went out.
    assertEquals((await (await peer).closed).code, 1000);
    assertEquals(await (await peer).quiet(0), []);
  }
});

Deno.test('connect: protocol "json" offers only can.json.v1 and sends JSON text', async () => {
  await using server = new FakeServer();
  const { bus, peer } = await open(server, { protocol: "json" });
  await using _ = bus;
  assertEquals(peer.offered, JSON_PROTOCOL);
  assertEquals(bus.protocol, JSON_PROTOCOL);
  const sent = messages.cases[0];
  await bus.send(frameFromFields(sent.sent_message_fields));
  assertEquals(await peer.next(), sent.client_to_server.json.text);
});

Deno.test("connect: an error event instead of bus_response rejects with its text", async () => {
  await using server = new FakeServer();
  const served = server.serve('{"type": "error", "payload": "nope"}');
  const error = await assertRejects(() => RemoteBus.connect(server.url), RemoteError, "nope");
  assertEquals(error.message, "nope");
  assertEquals((error as RemoteError).code, undefined);
  await (await served).peer.closed;
});

Deno.test("connect: a close before bus_response rejects with its code and reason", async () => {
  await using server = new FakeServer();
  const closing = server.accept().then(async (peer) => {
    await peer.next();
    peer.socket.close(1011, "config rejected");
  });
  const error = await assertRejects(() => RemoteBus.connect(server.url), RemoteError);
  assertEquals([(error as RemoteError).code, error.message], [1011, "config rejected"]);
  await closing;
});

Deno.test("connect: no bus_response within the timeout", async () => {
  await using server = new FakeServer();
  const peer = server.accept();
  const error = await assertRejects(
    () => RemoteBus.connect(server.url, { timeout: 100 }),
    DOMException,
    "bus_response",
  );
  assertEquals(error.name, "TimeoutError");
  assertEquals((await (await peer).closed).code, 1000);
});

Deno.test("connect: aborting rejects with the signal's reason", async () => {
  await using server = new FakeServer();
  const controller = new AbortController();
  const peer = server.accept();
  const connecting = RemoteBus.connect(server.url, { signal: controller.signal });
  await (await peer).next(); // the bus_request arrived; the answer never comes
  const reason = new Error("user gave up");
  controller.abort(reason);
  const error = await connecting.catch((e) => e);
  assert(error === reason);
  await (await peer).closed;
  await assertRejects(
    () => RemoteBus.connect(server.url, { signal: AbortSignal.abort(reason) }),
    Error,
    "user gave up",
  );
});

Deno.test("receive: binary and JSON messages decode as python-can-remote decodes them", async () => {
  await using server = new FakeServer();
  const binary = await open(server);
  const json = await open(server, { protocol: "json" });
  await using _b = binary.bus;
  await using _j = json.bus;
  for (const c of messages.cases) {
    binary.peer.send(hex(c.server_to_client.binary.hex));
    json.peer.send(c.server_to_client.json.text);
  }
  for (const c of messages.cases) {
    assertEquals(
      fields(await binary.bus.receive(within())),
      referenceFields(c.decoded_by_client.from_binary),
      c.name,
    );
    assertEquals(
      fields(await json.bus.receive(within())),
      referenceFields(c.decoded_by_client.from_json),
      c.name,
    );
  }
});

Deno.test("send: the bytes python-can-remote's client sends, in both protocols", async () => {
  await using server = new FakeServer();
  const binary = await open(server);
  const json = await open(server, { protocol: "json" });
  await using _b = binary.bus;
  await using _j = json.bus;
  // validateFrame turns an ISO DLC code (9-15) into the byte count, so those
  // cases leave with the python-can dlc instead of the code the reference passes through.
  const cases = messages.cases.filter((c: { name: string }) => !c.name.startsWith("fd_dlc_code"));
  assert(cases.length >= 19);
  for (const c of cases) {
    const frame = frameFromFields(c.sent_message_fields);
    await binary.bus.send(frame);
    await json.bus.send(frame);
    assertEquals(
      toHex((await binary.peer.next()) as Uint8Array),
      c.client_to_server.binary.hex,
      c.name,
    );
    assertEquals(await json.peer.next(), c.client_to_server.json.text, c.name);
  }
});

Deno.test("send: an invalid frame throws and nothing is sent", async () => {
  await using server = new FakeServer();
  const { bus, peer } = await open(server);
  await using _ = bus;
  await assertRejects(() => bus.send(std(0x800)), RangeError, "0x800");
  await assertRejects(() => bus.send({ ...std(1), isFd: "yes" } as unknown as CanFrame), TypeError);
  assertEquals(await peer.quiet(50), []);
});

Deno.test("send: frames stay in order when every send waits for the socket to drain", async () => {
  await using server = new FakeServer();
  const { bus, peer } = await open(server, { maxBufferedAmount: 0 });
  await using _ = bus;
  const sends = Array.from({ length: 50 }, (_, i) => bus.send(std(i, [i])));
  await Promise.all(sends);
  for (let i = 0; i < 50; i++) {
    const bytes = (await peer.next()) as Uint8Array;
    assertEquals([bytes[12], bytes[15]], [i, i]);
  }
});

Deno.test("receive: error events reject the next receive; the connection stays usable", async () => {
  await using server = new FakeServer();
  const { bus, peer } = await open(server);
  await using _ = bus;
  const seen: ErrorEvent[] = [];
  bus.addEventListener("error", (e) => seen.push(e));
  const pending = bus.receive(within());
  peer.send('{"type": "error", "payload": "Message is not a dictionary"}');
  const error = await assertRejects(() => pending, RemoteError, "Message is not a dictionary");
  assertEquals((error as RemoteError).code, undefined);
  assertEquals(seen.length, 1);
  assert(seen[0].error === error);
  peer.send(hex(messages.cases[0].server_to_client.binary.hex));
  assertEquals((await bus.receive(within())).arbitrationId, 291);
  // Unknown event types are ignored, as python-can-remote ignores them.
  peer.send('{"type": "future_thing", "payload": {}}');
  peer.send(hex(messages.cases[1].server_to_client.binary.hex));
  assertEquals((await bus.receive(within())).arbitrationId, 0x7ff);
});

Deno.test("receive: dropped notices add up and are dispatched", async () => {
  await using server = new FakeServer();
  const { bus, peer } = await open(server);
  await using _ = bus;
  const notices: unknown[] = [];
  bus.addEventListener("dropped", (e) => notices.push(e.detail));
  peer.send('{"type": "dropped", "payload": {"count": 3, "total": 3}}');
  peer.send('{"type": "dropped", "payload": {"count": 2, "total": 5}}');
  peer.send(hex(messages.cases[0].server_to_client.binary.hex));
  await bus.receive(within());
  assertEquals(bus.dropped, 5);
  assertEquals(notices, [{ count: 3, total: 3 }, { count: 2, total: 5 }]);
});

Deno.test("receive: filters apply locally; poll and iteration", async () => {
  await using server = new FakeServer();
  const { bus, peer } = await open(server, {
    canFilters: [{ canId: 0x100, canMask: 0x700, extended: false }],
  });
  const json = (id: number, extended = false) =>
    encodeEvent({
      type: "message",
      frame: createFrame({ arbitrationId: id, isExtendedId: extended }),
    }, JSON_PROTOCOL);
  peer.send(json(0x200));
  peer.send(json(0x101, true));
  peer.send(json(0x1ff));
  assertEquals((await bus.receive(within())).arbitrationId, 0x1ff);
  assertEquals(bus.poll(), undefined);
  bus.setFilters([{ canId: 0x200, canMask: 0x7ff }]);
  peer.send(json(0x1ff));
  peer.send(json(0x200));
  assertEquals((await bus.receive(within())).arbitrationId, 0x200);
  bus.setFilters(null);
  peer.send(json(0x1ff));
  peer.send(json(0x300));
  const got: number[] = [];
  for await (const frame of bus) {
    got.push(frame.arbitrationId);
    if (got.length === 2) break;
  }
  assertEquals(got, [0x1ff, 0x300]);
  await bus.close();
  assertThrows(() => bus.poll(), BusClosedError);
});

Deno.test("periodic: start, stop and modify put the reference's text on the wire", async () => {
  await using server = new FakeServer();
  const { bus, peer } = await open(server);
  await using _ = bus;
  const [start, stop, fdStart] = events.periodic_sent_by_client;
  const task = bus.sendPeriodic(std(0x123, [1, 2, 3]), 0.01, { duration: 0.5 });
  assertEquals(await peer.next(), start.frame.text);
  assertEquals([task.period, task.frame.arbitrationId, task.stopped], [0.01, 0x123, false]);
  task.stop();
  task.stop();
  assert(task.stopped);
  assertEquals(await peer.next(), stop.frame.text);
  // The reference drops error_state_indicator here; canremote sends it when set.
  const fd = createFrame({
    arbitrationId: 0x18DAF110,
    isFd: true,
    bitrateSwitch: true,
    data: Array.from({ length: 12 }, (_, i) => i),
  });
  const fdTask = bus.sendPeriodic(fd, 0.1);
  assertEquals(await peer.next(), fdStart.frame.text);
  const changed = { ...fd, data: new Uint8Array(12).fill(7) };
  fdTask.modify(changed);
  assertEquals(
    await peer.next(),
    encodeEvent(
      { type: "periodic_start", period: 0.1, duration: null, frame: changed },
      JSON_PROTOCOL,
    ),
  );
  assertEquals(fdTask.frame.data[0], 7);
  assertThrows(() => fdTask.modify({ ...fd, arbitrationId: 0x18DAF111 }), RangeError, "0x18daf110");
  assertEquals(await peer.quiet(30), []);
});

Deno.test("periodic: bad periods, same-id replacement and the duration ending a task", async () => {
  await using server = new FakeServer();
  const { bus, peer } = await open(server);
  await using _ = bus;
  assertThrows(() => bus.sendPeriodic(std(1), 0.0001), RangeError, "0.0001");
  assertThrows(() => bus.sendPeriodic(std(1), 0.1, { duration: -1 }), RangeError);
  assertThrows(() => bus.sendPeriodic(std(0x800), 0.1), RangeError);
  const first = bus.sendPeriodic(std(0x10, [1]), 0.05);
  const second = bus.sendPeriodic(std(0x10, [2]), 0.05);
  assert(first.stopped && !second.stopped);
  first.stop(); // replaced: no periodic_stop for the id second still uses
  const short = bus.sendPeriodic(std(0x20), 0.01, { duration: 0.05 });
  const sent = [await peer.next(), await peer.next(), await peer.next()] as string[];
  assertEquals(sent.map((t) => JSON.parse(t).type), [
    "periodic_start",
    "periodic_start",
    "periodic_start",
  ]);
  await new Promise((r) => setTimeout(r, 120));
  assert(short.stopped);
  short.stop(); // ended on the server already: nothing is sent
  assertEquals(await peer.quiet(30), []);
  second.stop();
  assertEquals(await peer.next(), '{"type": "periodic_stop", "payload": 16}');
});

Deno.test("close: a close frame 1000, stopped tasks, rejected receives and sends", async () => {
  await using server = new FakeServer();
  const { bus, peer } = await open(server);
  const states: string[] = [];
  bus.addEventListener("statechange", (e) => states.push(e.detail.state));
  const task = bus.sendPeriodic(std(0x42), 0.1);
  await peer.next();
  const pending = bus.receive(); // rejected only as close() resolves: no unhandled rejection
  const iterating = (async () => {
    for await (const _ of bus) { /* nothing arrives */ }
  })();
  await Promise.all([bus.close(), bus.close()]);
  assert(bus.closed && task.stopped);
  assertEquals(bus.state, "closed");
  assertEquals(states, ["closed"]);
  assertEquals(await peer.next(), '{"type": "periodic_stop", "payload": 66}');
  assertEquals((await peer.closed).code, 1000);
  await assertRejects(() => pending, BusClosedError);
  await iterating;
  await assertRejects(() => bus.receive(), BusClosedError);
  await assertRejects(() => bus.send(std(1)), BusClosedError);
  assertThrows(() => bus.sendPeriodic(std(1), 0.1), BusClosedError);
  await bus.close();
});

Deno.test("close by the server: frames first, then BusClosedError caused by the close", async () => {
  await using server = new FakeServer();
  const { bus, peer } = await open(server);
  const task = bus.sendPeriodic(std(0x42), 0.1);
  await peer.next();
  const states: StateChangeDetail[] = [];
  bus.addEventListener("statechange", (e) => states.push(e.detail));
  peer.send(hex(messages.cases[0].server_to_client.binary.hex));
  peer.socket.close(4500, "bus gone");
  await peer.closed;
  while (!bus.closed) await new Promise((r) => setTimeout(r, 5));
  assert(task.stopped);
  assertEquals((await bus.receive()).arbitrationId, 291);
  const error = await assertRejects(() => bus.receive(), BusClosedError);
  const cause = error.cause as RemoteError;
  assert(cause instanceof RemoteError);
  assertEquals([cause.code, cause.message], [4500, "bus gone"]);
  assertEquals(states.map((s) => s.state), ["closed"]);
  assert(states[0].error === cause);
  const sendError = await assertRejects(() => bus.send(std(1)), BusClosedError);
  assert(sendError.cause === cause);
  await bus.close();
});

Deno.test("reconnect: same bus_request, periodic tasks restored, receives keep waiting", async () => {
  await using server = new FakeServer();
  const { bus, peer, request } = await open(server, {
    canFilters: [{ canId: 0x100, canMask: 0x700 }],
    reconnect: { initialDelay: 10 },
  });
  await using _ = bus;
  const states: string[] = [];
  bus.addEventListener("statechange", (e) => states.push(e.detail.state));
  const task = bus.sendPeriodic(std(0x123, [1, 2, 3]), 0.01);
  const started = await peer.nextText();
  const pending = bus.receive(within());
  peer.socket.close(1001, "restarting");
  const second = await server.serve();
  assertEquals(second.request, request);
  assertEquals(await second.peer.next(), started);
  second.peer.send(hex(messages.cases[0].server_to_client.binary.hex));
  assertEquals((await pending).arbitrationId, 291);
  assertEquals(states, ["reconnecting", "open"]);
  assert(!task.stopped && !bus.closed);
  // New filters go into the next bus_request; a send waits for the connection.
  bus.setFilters([{ canId: 0x7ff, canMask: 0x7ff, extended: false }]);
  second.peer.socket.close(1011, "oops");
  while (bus.state === "open") await new Promise((r) => setTimeout(r, 5));
  const sending = bus.send(std(0x7ff, [9]));
  const third = await server.serve();
  assertEquals(
    JSON.parse(third.request).payload.config.can_filters,
    [{ can_id: 0x7ff, can_mask: 0x7ff, extended: false }],
  );
  assertEquals(await third.peer.next(), started);
  await sending;
  assertEquals(toHex((await third.peer.next()) as Uint8Array).slice(-14), "000007ff010009");
});

Deno.test("reconnect: a refusal or too many failed attempts close the bus", async () => {
  const server = new FakeServer();
  const { bus, peer } = await open(server, { reconnect: { initialDelay: 5, maxRetries: 2 } });
  const states: string[] = [];
  bus.addEventListener("statechange", (e) => states.push(e.detail.state));
  const pending = bus.receive();
  peer.socket.close(1001, "going away");
  await peer.closed;
  await server[Symbol.asyncDispose](); // nobody listens any more: attempts fail with 1006
  const error = await assertRejects(() => pending, BusClosedError);
  assertEquals((error.cause as RemoteError).code, 1006);
  assertEquals(states, ["reconnecting", "closed"]);
  await bus.close();

  await using other = new FakeServer();
  const refused = await open(other, { reconnect: { initialDelay: 5 } });
  refused.peer.socket.close(4401, "token revoked");
  const closed = await assertRejects(() => refused.bus.receive(within()), BusClosedError);
  assertEquals((closed.cause as RemoteError).code, 4401);
  assertEquals(refused.bus.state, "closed");
});

Deno.test("reconnect: close() during the back-off ends it", async () => {
  await using server = new FakeServer();
  const { bus, peer } = await open(server, { reconnect: { initialDelay: 10_000 } });
  peer.socket.close(1001);
  while (bus.state !== "reconnecting") await new Promise((r) => setTimeout(r, 5));
  const sending = bus.send(std(1));
  await bus.close();
  await assertRejects(() => sending, BusClosedError);
  assertEquals(bus.state, "closed");
});

// setTimeout() runs a delay beyond 2^31 - 1 ms (about 24.8 days) at once;
// the client's timers must wait instead.
const LONG_MS = 2 ** 31;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("connect: a timeout beyond setTimeout's range still waits for the bus_response", async () => {
  await using server = new FakeServer();
  const result = RemoteBus.connect(server.url, { timeout: LONG_MS }).catch((error) => error);
  const early = await Promise.race([result, pause(100)]);
  assert(early === undefined, `connect() settled without a bus_response: ${early}`);
  const peer = await server.accept();
  await peer.nextText();
  peer.send(BUS_RESPONSE);
  const bus = await result;
  assert(bus instanceof RemoteBus, String(bus));
  await bus.close();
});

Deno.test("reconnect: a back-off beyond setTimeout's range does not retry at once", async () => {
  await using server = new FakeServer();
  const { bus, peer } = await open(server, { reconnect: { initialDelay: LONG_MS } });
  await using _ = bus;
  peer.socket.close(1001);
  while (bus.state !== "reconnecting") await pause(5);
  const retried = await Promise.race([server.accept().then(() => true), pause(150)]);
  assert(!retried, "reconnected without waiting");
});

Deno.test("periodic: a duration beyond setTimeout's range does not end the task at once", async () => {
  await using server = new FakeServer();
  const { bus, peer } = await open(server);
  await using _ = bus;
  const task = bus.sendPeriodic(std(0x123), 1, { duration: LONG_MS / 1000 });
  assertEquals(JSON.parse(await peer.nextText()).type, "periodic_start");
  await pause(50);
  assert(!task.stopped, "stopped after 50 ms");
  task.stop();
  assertEquals(JSON.parse(await peer.nextText()).type, "periodic_stop");
});

Deno.test("periodic: a period beyond setTimeout's range sends once, not every millisecond", async () => {
  await using server = await serve({ port: 0 });
  await using sender = await RemoteBus.connect(server.url);
  await using listener = await RemoteBus.connect(server.url);
  const task = sender.sendPeriodic(std(0x123, [1]), LONG_MS / 1000);
  assertEquals((await listener.receive(within())).arbitrationId, 0x123);
  await pause(150);
  assertEquals(listener.poll(), undefined, "a second frame within 150 ms");
  task.stop();
});

Deno.test("setFilters between a reconnection's bus_request and bus_response reaches the server", async () => {
  await using server = new FakeServer(() => JSON_PROTOCOL);
  const { bus, peer } = await open(server, { reconnect: { initialDelay: 5 } });
  await using _ = bus;
  peer.socket.close(1001, "restarting");
  const next = await server.accept();
  const request = JSON.parse(await next.nextText());
  assertEquals(request.payload.config.can_filters, undefined);
  // the bus_request left with the old (no) filters; the server has not answered yet
  bus.setFilters([{ canId: 0x123, canMask: 0x7ff, extended: false }]);
  next.send(BUS_RESPONSE);
  assertEquals(JSON.parse(await next.nextText()), {
    type: "set_filters",
    payload: [{ can_id: 0x123, can_mask: 0x7ff, extended: false }],
  });
  // unchanged filters on the next reconnection: no extra event, the config carries them
  next.socket.close(1001, "restarting");
  const third = await server.serve();
  assertEquals(JSON.parse(third.request).payload.config.can_filters, [
    { can_id: 0x123, can_mask: 0x7ff, extended: false },
  ]);
  await bus.send(createFrame({ arbitrationId: 1, isExtendedId: false }));
  assertEquals(JSON.parse(await third.peer.nextText()).type, "message");
});

Deno.test("send keeps call order across a reconnection, also for a send from a statechange listener", async () => {
  await using server = new FakeServer(() => JSON_PROTOCOL);
  const { bus, peer } = await open(server, { reconnect: { initialDelay: 5 } });
  await using _ = bus;
  const frame = (id: number) => createFrame({ arbitrationId: id, isExtendedId: false });
  peer.socket.close(1001, "restarting");
  while (bus.state === "open") await new Promise((r) => setTimeout(r, 5));
  const waiting = [bus.send(frame(1)), bus.send(frame(2))];
  bus.addEventListener("statechange", (event) => {
    if (event.detail.state === "open") waiting.push(bus.send(frame(3)));
  }, { once: true });
  const next = await server.serve();
  await Promise.all(waiting);
  assertEquals(waiting.length, 3);
  const ids = [];
  for (let i = 0; i < 3; i++) {
    ids.push(JSON.parse(await next.peer.nextText()).payload.arbitration_id);
  }
  assertEquals(ids, [1, 2, 3]);
});

Deno.test("sends waiting for a connection reject when the bus closes, and later sends too", async () => {
  await using server = new FakeServer(() => JSON_PROTOCOL);
  const { bus, peer } = await open(server, { reconnect: { initialDelay: 5000 } });
  peer.socket.close(1001, "restarting");
  while (bus.state === "open") await new Promise((r) => setTimeout(r, 5));
  const frame = createFrame({ arbitrationId: 1, isExtendedId: false });
  const waiting = [bus.send(frame), bus.send(frame)];
  await bus.close();
  for (const send of waiting) await assertRejects(() => send, BusClosedError);
  await assertRejects(() => bus.send(frame), BusClosedError);
});

Deno.test("frames left when the server ends the bus are handed out until close() discards them", async () => {
  await using server = new FakeServer(() => JSON_PROTOCOL);
  const { bus, peer } = await open(server);
  const frame = (id: number) =>
    encodeEvent({ type: "message", frame: createFrame({ arbitrationId: id }) }, JSON_PROTOCOL);
  peer.send(frame(1));
  peer.send(frame(2));
  peer.send(frame(3));
  peer.socket.close(1001, "going away");
  while (bus.state !== "closed") await new Promise((r) => setTimeout(r, 5));
  assertEquals(bus.poll()?.arbitrationId, 1);
  await bus.close();
  assertThrows(() => bus.poll(), BusClosedError, "going away");
});

Deno.test("tokenProtocol encodes a long token (no argument-count limit)", () => {
  const token = "x".repeat(200_000);
  const entry = tokenProtocol(token);
  assertEquals(entry.length, "canremote.token.".length + Math.ceil(200_000 * 4 / 3));
});

Deno.test("close(): the server's refusals of frames sent just before still arrive as error events", async () => {
  await using server = await serve({
    port: 0,
    tokens: [{ token: "ro-close-0123456789abcdef", role: "ro" }],
  });
  const bus = await RemoteBus.connect(server.url, { token: "ro-close-0123456789abcdef" });
  const errors: string[] = [];
  bus.addEventListener("error", (event) => errors.push(event.message));
  const pending = bus.receive();
  await bus.send(createFrame({ arbitrationId: 0x123, isExtendedId: false }));
  await bus.close();
  assertEquals(errors, ["read-only client: cannot send frames"]);
  await assertRejects(() => pending, BusClosedError);
  await assertRejects(() => bus.receive(), BusClosedError);
});
