// RemoteBus through a real server on port 0: the shared Bus conformance suite
// in both wire formats, plus what only a remote bus has.
import { assert, assertEquals, assertRejects } from "../_helpers/assert.ts";
import { defineBusConformance, type OpenBus, receiveUntil } from "../_helpers/bus_conformance.ts";
import { type CanServer, serve } from "../../server.ts";
import { RemoteBus } from "../../client.ts";
import type { Bus } from "../../core/bus.ts";
import { createFrame } from "../../core/frame.ts";
import { BusClosedError, RemoteError } from "../../core/errors.ts";
import { CloseCode } from "../../core/protocol.ts";

// Every test gets its own server, started by its first bus and stopped when
// its last bus closes, so Deno's sanitizers see nothing left over.
function serverScoped(protocol: "binary" | "json"): OpenBus {
  let server: Promise<CanServer> | undefined;
  let open = 0;
  return async (options = {}) => {
    server ??= serve({ port: 0 });
    const s = await server;
    open++;
    const bus = await RemoteBus.connect(s.url, { ...options, protocol });
    const close = bus.close.bind(bus);
    let closed = false;
    bus.close = async () => {
      await close();
      if (closed) return;
      closed = true;
      if (--open === 0) {
        server = undefined;
        await s.close();
      }
    };
    return bus as Bus;
  };
}

defineBusConformance("RemoteBus (binary)", serverScoped("binary"));
defineBusConformance("RemoteBus (json)", serverScoped("json"));

Deno.test("RemoteBus: channelInfo names the server's channel and the URL", async () => {
  await using server = await serve({ port: 0 });
  await using bus = await RemoteBus.connect(server.url);
  assertEquals(bus.channelInfo, `virtual channel 0 on ${server.url}`);
});

Deno.test("RemoteBus: a refused config rejects connect() with the close code and reason", async () => {
  await using server = await serve({ port: 0 });
  const error = await assertRejects(
    () => RemoteBus.connect(server.url, { config: { bitrate: "fast" } }),
    RemoteError,
  ) as RemoteError;
  assertEquals(error.code, CloseCode.BAD_CONFIG);
  assert(error.message.includes("bitrate"), error.message);
});

Deno.test("RemoteBus: server errors reach receive(), and the bus goes on", async () => {
  await using server = await serve({ port: 0, maxPeriodicTasks: 1 });
  await using a = await RemoteBus.connect(server.url);
  await using b = await RemoteBus.connect(server.url);
  const one = a.sendPeriodic(createFrame({ arbitrationId: 7, isExtendedId: false }), 0.5);
  const two = a.sendPeriodic(createFrame({ arbitrationId: 8, isExtendedId: false }), 0.5);
  // the server runs one task per client here: the second start gets an error event
  const error = await assertRejects(
    async () => {
      while (true) await a.receive({ signal: AbortSignal.timeout(2000) });
    },
    RemoteError,
  );
  assert(error.message.includes("At most 1 periodic tasks"), error.message);
  one.stop();
  two.stop();
  await a.send(createFrame({ arbitrationId: 9, isExtendedId: false }));
  const frame = await receiveUntil(b, (f) => f.arbitrationId !== 7);
  assertEquals(frame.arbitrationId, 9);
});

Deno.test("RemoteBus: a server shutdown ends receives with BusClosedError caused by 1001", async () => {
  const server = await serve({ port: 0 });
  const bus = await RemoteBus.connect(server.url);
  const pending = bus.receive();
  await server.close();
  const error = await assertRejects(() => pending, BusClosedError);
  assert(error.cause instanceof RemoteError && error.cause.code === CloseCode.GOING_AWAY);
  await bus.close();
});

Deno.test("RemoteBus: reconnects after a server restart and restores its periodic task", async () => {
  const first = await serve({ port: 0 });
  const port = first.addr.port;
  const bus = await RemoteBus.connect(first.url, {
    reconnect: { initialDelay: 50, maxDelay: 200 },
  });
  bus.sendPeriodic(createFrame({ arbitrationId: 0x77, isExtendedId: false, data: [7] }), 0.02);
  await first.close();
  const second = await serve({ port });
  try {
    await using watcher = await RemoteBus.connect(second.url);
    const frame = await watcher.receive({ signal: AbortSignal.timeout(5000) });
    assertEquals(frame.arbitrationId, 0x77);
    assertEquals(bus.state, "open");
  } finally {
    await bus.close();
    await second.close();
  }
});
