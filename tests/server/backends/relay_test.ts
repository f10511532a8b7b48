// The relay (-i remote -c ws://gateway/): one upstream connection, any
// number of clients downstream, each with its own filters and periodic
// tasks; upstream loss and return reported; a relay of itself refused; and
// python-can-remote 0.2.4 on either side, as recorded in ../shared/conformance.
import { serve } from "../../../server.ts";
import { RemoteBus } from "../../../client.ts";
import { createFrame } from "../../../core/frame.ts";
import { decodeEvent } from "../../../core/codec.ts";
import { RelayBackend } from "../../../server/backends/relay.ts";
import { assert, assertEquals, assertRejects } from "../../_helpers/assert.ts";
import { TestClient } from "../../_helpers/ws_client.ts";
import { waitFor } from "../../_helpers/cli.ts";

const CONFORMANCE = new URL("../../../../shared/conformance/", import.meta.url);
const messages = JSON.parse(await Deno.readTextFile(new URL("messages.json", CONFORMANCE)));
const events = JSON.parse(await Deno.readTextFile(new URL("events.json", CONFORMANCE)));

const BUS_RESPONSE = events.bus_response_sent_by_server[0].frame.text as string;
const std = (id: number, data: number[] = []) =>
  createFrame({ arbitrationId: id, isExtendedId: false, data });
const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

Deno.test("relay: one upstream connection; each client's filters and periodic tasks run in the relay", async () => {
  await using gateway = await serve({ port: 0 });
  await using relay = await serve({ port: 0, interface: "remote", channels: [gateway.httpUrl] });
  assert(relay.backend instanceof RelayBackend);
  assertEquals(relay.backend.channels, ["0"]); // the gateway's channel name
  await using filtered = await RemoteBus.connect(relay.url, {
    canFilters: [{ canId: 0x123, canMask: 0x7ff }],
  });
  await using own = await RemoteBus.connect(relay.url, { receiveOwnMessages: true });
  await using local = await RemoteBus.connect(gateway.url);
  await local.send(std(0x124, [2]));
  await local.send(std(0x123, [1]));
  const got = (bus: RemoteBus) => bus.receive({ signal: AbortSignal.timeout(3000) });
  assertEquals((await got(filtered)).arbitrationId, 0x123);
  assertEquals((await got(own)).arbitrationId, 0x124);
  assertEquals((await got(own)).arbitrationId, 0x123);
  // a periodic task of a relay client: run by the relay, frames upstream, stopped with it
  const task = own.sendPeriodic(std(0x200, [3]), 0.02);
  for (let i = 0; i < 3; i++) assertEquals((await got(local)).arbitrationId, 0x200);
  assertEquals((await got(own)).arbitrationId, 0x200); // receive_own_messages, in the relay
  task.stop();
  await own.send(std(0x321)); // clients downstream hear each other, as on a bus
  let seen = 0;
  while (seen !== 0x321) seen = (await got(local)).arbitrationId;
});

Deno.test("relay: upstream loss and return are reported to clients; frames flow again", async () => {
  const port = freePort();
  let gateway = await serve({ port });
  await using relay = await serve({
    port: 0,
    interface: "remote",
    channels: [`ws://127.0.0.1:${port}/`],
  });
  const client = await TestClient.connect(relay.url, {}, ["can.json.v1"]);
  try {
    await gateway.close();
    const lost = await client.nextEvent(5000);
    assert(lost.type === "error" && lost.message.includes("is unreachable"), JSON.stringify(lost));
    gateway = await serve({ port });
    const back = await client.nextEvent(10_000);
    assert(back.type === "error" && back.message.includes("is back"), JSON.stringify(back));
    await using local = await RemoteBus.connect(gateway.url);
    await local.send(std(0x42, [4]));
    const frame = await client.nextEvent(3000);
    assert(frame.type === "message" && frame.frame.arbitrationId === 0x42, JSON.stringify(frame));
  } finally {
    await client.close();
    await gateway.close();
  }
});

Deno.test("relay: a configuration pointing at this very server is refused", async () => {
  const port = freePort();
  for (const host of ["127.0.0.1", "localhost"]) {
    await assertRejects(
      () => serve({ port, interface: "remote", channels: [`ws://${host}:${port}/`] }),
      RangeError,
      "is this server itself",
    );
  }
  await assertRejects(
    () => serve({ port: 0, interface: "remote", channels: ["ws://a:1/", "ws://b:1/"] }),
    RangeError,
    "relays one server",
  );
});

/**
 * python-can-remote 0.2.4's server as recorded: answers the bus_request with
 * its bus_response, sends recorded binary messages, and keeps what it gets.
 */
class RecordedUpstream implements AsyncDisposable {
  received: Uint8Array[] = [];
  sockets: WebSocket[] = [];
  #server: Deno.HttpServer<Deno.NetAddr>;

  constructor() {
    this.#server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, (request) => {
      const { socket, response } = Deno.upgradeWebSocket(request);
      // the reference picks binary whenever it is offered
      response.headers.set("Sec-WebSocket-Protocol", "can.binary+json.v1");
      socket.binaryType = "arraybuffer";
      socket.onmessage = (e) => {
        if (typeof e.data === "string") {
          if (e.data.includes('"bus_request"')) {
            socket.send(BUS_RESPONSE);
          }
        } else this.received.push(new Uint8Array(e.data));
      };
      this.sockets.push(socket);
      return response;
    });
  }

  get url(): string {
    return `ws://127.0.0.1:${this.#server.addr.port}/`;
  }

  send(bytes: Uint8Array): void {
    for (const socket of this.sockets) socket.send(bytes);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    const closed = this.sockets.filter((s) => s.readyState !== WebSocket.CLOSED).map((s) =>
      new Promise((resolve) => s.addEventListener("close", resolve))
    );
    for (const socket of this.sockets) socket.close(1001);
    await Promise.all(closed);
    await this.#server.shutdown();
  }
}

const unhex = (text: string) => Uint8Array.from(text.match(/../g) ?? [], (b) => parseInt(b, 16));
// canremote normalizes ISO DLC codes (PROTOCOL.md); every other case passes unchanged.
interface Case {
  name: string;
  server_to_client: { binary: { hex: string } };
  client_to_server: { json: { text: string }; binary: { hex: string } };
}
const CASES = (messages.cases as Case[]).filter((c) => !c.name.startsWith("fd_dlc_code"));

Deno.test("relay in front of python-can-remote's recorded server, with its client downstream, both ways", async () => {
  await using upstream = new RecordedUpstream();
  await using relay = await serve({ port: 0, interface: "remote", channels: [upstream.url] });
  assertEquals(relay.backend.channels, ["0"]); // "Virtual bus channel 0"
  // python-can-remote's client downstream: its recorded frames, on the binary subprotocol
  const client = await TestClient.connect(relay.url, { preserve_timestamps: true });
  try {
    // upstream → relay → client: the recorded server frames arrive byte for byte
    for (const c of CASES) upstream.send(unhex(c.server_to_client.binary.hex));
    for (const c of CASES) {
      const data = await client.next(3000);
      assert(data instanceof Uint8Array, c.name);
      assertEquals(hex(data), c.server_to_client.binary.hex, c.name);
    }
    // client → relay → upstream: python-can-remote's client frames arrive as it sent them
    for (const c of CASES) client.send(c.client_to_server.json.text);
    await waitFor(() => upstream.received.length >= CASES.length, "the frames upstream");
    for (const [i, c] of CASES.entries()) {
      assertEquals(hex(upstream.received[i]), c.client_to_server.binary.hex, c.name);
    }
    assertEquals(upstream.sockets.length, 1, "one upstream connection");
  } finally {
    await client.close();
  }
});

Deno.test("relay: python-can-remote's periodic_start (extended_id spelling too) runs in the relay", async () => {
  await using upstream = new RecordedUpstream();
  await using relay = await serve({ port: 0, interface: "remote", channels: [upstream.url] });
  const client = await TestClient.connect(relay.url);
  try {
    const recorded = events.periodic_sent_by_client[0].frame.text as string;
    client.send(recorded.replace('"is_extended_id"', '"extended_id"'));
    await waitFor(() => upstream.received.length >= 3, "periodic frames upstream");
    const event = decodeEvent(upstream.received[0]);
    assert(event.type === "message");
    assertEquals([event.frame.arbitrationId, event.frame.isExtendedId], [291, false]);
    client.send(events.periodic_sent_by_client[1].frame.text);
  } finally {
    await client.close();
  }
});
