// bus_state events and link notices through a real server and client
// (server/session/bus_health_events.ts). The health source is the one part
// made up here: a virtual backend whose channel health the test sets, as
// SocketCanBackend sets it from netlink (tests/vm/kvaser_test.ts runs that).
import { assert, assertEquals } from "../../_helpers/assert.ts";
import { serve } from "../../../server.ts";
import { RemoteBus } from "../../../client.ts";
import { WatchedBackend } from "../../_helpers/watched_backend.ts";
import { VirtualBackend } from "../../../server/backends/backend.ts";
import { VirtualBus, VirtualNetwork } from "../../../core/virtual_bus.ts";
import { createFrame } from "../../../core/frame.ts";
import type { CanEvent } from "../../../core/events.ts";
import type { SessionStats } from "../../../server/session/stats.ts";
import { BusHealthEvents } from "../../../server/session/bus_health_events.ts";
import { getLogger } from "@logtape/logtape";
import { type BusHealth, zeroStats } from "../../../core/bus_health.ts";
import { TestClient } from "../../_helpers/ws_client.ts";
import { JSON_PROTOCOL } from "../../../core/protocol.ts";

const nextState = (bus: RemoteBus) =>
  new Promise<BusHealth>((resolve) =>
    bus.addEventListener("busstate", (e) => resolve((e as CustomEvent<BusHealth>).detail), {
      once: true,
    })
  );

Deno.test("bus_state: a client that asks gets the health at once and every change of state", async () => {
  const backend = new WatchedBackend();
  await using server = await serve({ port: 0, backend });
  await using bus = await RemoteBus.connect(server.url, { busState: true });
  for (let i = 0; i < 20 && bus.busState === null; i++) await new Promise((r) => setTimeout(r, 10));
  assertEquals(bus.busState?.state, "error-active");
  assertEquals(bus.busState?.bitrate, 500000);
  const warned = nextState(bus);
  backend.set(
    { ...backend.current, state: "error-warning", errorCounters: { tx: 96, rx: 0 } },
    "state",
  );
  assertEquals((await warned).state, "error-warning");
  assertEquals(bus.busState?.errorCounters, { tx: 96, rx: 0 });
  // Counters alone: reported, at most once a second; the last value arrives.
  for (let tx = 97; tx <= 100; tx++) {
    backend.set({ ...backend.current, errorCounters: { tx, rx: 0 } }, "counters");
  }
  for (let i = 0; i < 300 && bus.busState?.errorCounters?.tx !== 100; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assertEquals(bus.busState?.errorCounters, { tx: 100, rx: 0 });
});

Deno.test("bus_state: a python-can-remote client gets none; a down link is an error event at connect", async () => {
  const backend = new WatchedBackend();
  backend.current = { ...backend.current, state: "down" };
  await using server = await serve({ port: 0, backend });
  const client = await TestClient.connect(server.url, {}, [JSON_PROTOCOL]);
  try {
    const event = await client.nextEvent();
    assert(event.type === "error");
    assertEquals(
      event.message,
      '"0" is down: frames sent now are lost and none arrive until the server\'s operator brings it up',
    );
    backend.set({ ...backend.current, state: "error-active" }, "state");
    assertEquals(await client.drain(200), []);
  } finally {
    await client.close();
  }
});

Deno.test("bus_state: controller overruns reach every client as dropped notices", async () => {
  const backend = new WatchedBackend();
  await using server = await serve({ port: 0, backend });
  await using bus = await RemoteBus.connect(server.url);
  const notice = new Promise<{ count: number; total: number }>((resolve) =>
    bus.addEventListener("dropped", (e) => resolve((e as CustomEvent).detail), { once: true })
  );
  backend.set({ ...backend.current, stats: { ...zeroStats(), rxOverruns: 3 } }, "counters");
  assertEquals(await notice, { count: 3, total: 3 });
  assertEquals(bus.dropped, 3);
});

Deno.test("bus_state: frames a client's own bus lost (its socket overran) reach it as a dropped notice", async () => {
  // A bus that loses what nobody reads in time, as a SocketCAN socket does
  // when its receive buffer overruns (SO_RXQ_OVFL): its `dropped` grows.
  const network = new VirtualNetwork();
  await using bus = VirtualBus.open({ channel: "0", network, queueLimit: 2 });
  await using peer = VirtualBus.open({ channel: "0", network });
  const events: CanEvent[] = [];
  const stats: SessionStats = { received: 0, sent: 0, dropped: 0, rateLimited: 0, errors: 0 };
  const reporter = new BusHealthEvents({
    id: 1,
    channel: "0",
    backend: new VirtualBackend(),
    bus,
    busState: false,
    stats,
    log: getLogger("test"),
    sendEvent: (event) => events.push(event),
    sendError: () => {},
  });
  try {
    for (let i = 0; i < 5; i++) await peer.send(createFrame({ arbitrationId: i, data: [] }));
    for (let i = 0; i < 150 && events.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assertEquals(events, [{ type: "dropped", count: 3, total: 3 }]);
    assertEquals(stats.dropped, 3);
  } finally {
    reporter.close();
  }
});
