import { assertEquals } from "../_helpers/assert.ts";
import { defineBusConformance } from "../_helpers/bus_conformance.ts";
import { VirtualBus, VirtualNetwork } from "../../core/virtual_bus.ts";
import { createFrame } from "../../core/frame.ts";

const network = new VirtualNetwork();
defineBusConformance(
  "VirtualBus",
  (options) => Promise.resolve(VirtualBus.open({ ...options, channel: "conformance", network })),
);

Deno.test("VirtualBus: channels are separate and timestamps are the receiver's clock", async () => {
  const net = new VirtualNetwork();
  await using a = VirtualBus.open({ channel: 1, network: net });
  await using b = VirtualBus.open({ channel: 1, network: net });
  await using c = VirtualBus.open({ channel: 2, network: net });
  const before = Date.now() / 1000;
  await a.send(createFrame({ arbitrationId: 1, timestamp: 5 }));
  const frame = await b.receive({ signal: AbortSignal.timeout(1000) });
  assertEquals(frame.timestamp >= before, true);
  assertEquals(frame.channel, "1");
  assertEquals(c.poll(), undefined);
});

Deno.test("VirtualBus: preserveTimestamps keeps the sender's timestamp", async () => {
  const net = new VirtualNetwork();
  await using a = VirtualBus.open({ network: net, preserveTimestamps: true });
  await using b = VirtualBus.open({ network: net });
  await a.send(createFrame({ arbitrationId: 1, timestamp: 1700000000.25 }));
  assertEquals((await b.receive()).timestamp, 1700000000.25);
});

Deno.test("VirtualBus: a reader that never reads loses the oldest frames, not memory", async () => {
  const net = new VirtualNetwork();
  await using a = VirtualBus.open({ network: net });
  await using b = VirtualBus.open({ network: net, queueLimit: 10 });
  for (let i = 0; i < 25; i++) await a.send(createFrame({ arbitrationId: i }));
  assertEquals(b.dropped, 15);
  assertEquals((await b.receive()).arbitrationId, 15);
});
