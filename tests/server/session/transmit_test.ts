// The transmit path of one client (server/session/transmit.ts): frames reach the
// bus in the client's order, one send at a time, within maxPendingSends.
import { assertEquals } from "../../_helpers/assert.ts";
import type { Bus } from "../../../core/bus.ts";
import { type CanFrame, createFrame } from "../../../core/frame.ts";
import { DEFAULT_LIMITS, type Limits } from "../../../server/limits.ts";
import { Transmitter } from "../../../server/session/transmit.ts";
import { VirtualBus, VirtualNetwork } from "../../../core/virtual_bus.ts";

function setup(limits: Partial<Limits> = {}) {
  const network = new VirtualNetwork();
  const bus = VirtualBus.open({ channel: "t", network });
  const listener = VirtualBus.open({ channel: "t", network });
  const stats = { received: 0, sent: 0, dropped: 0, rateLimited: 0, errors: 0 };
  const errors: string[] = [];
  const transmitter = new Transmitter(
    { ...DEFAULT_LIMITS, maxSendRate: Infinity, ...limits },
    stats,
    (message) => errors.push(message),
  );
  return {
    bus,
    listener,
    stats,
    errors,
    transmitter,
    async [Symbol.asyncDispose]() {
      transmitter.close();
      await bus.close();
      await listener.close();
    },
  };
}

const frame = (i: number) =>
  createFrame({ arbitrationId: i & 0x7ff, isExtendedId: false, data: [i & 0xff, i >> 8] });
const index = (f: CanFrame) => f.data[0] | (f.data[1] << 8);

function received(listener: VirtualBus): number[] {
  const ids: number[] = [];
  for (let f = listener.poll(); f; f = listener.poll()) ids.push(index(f));
  return ids;
}

/** A real bus whose sends take longer the lower the frame's first data byte. */
function slowBus(inner: Bus): Bus {
  return Object.assign(Object.create(inner), {
    send: (f: CanFrame) =>
      new Promise<void>((resolve, reject) =>
        setTimeout(() => inner.send(f).then(resolve, reject), 10 - f.data[0])
      ),
  });
}

Deno.test("Transmitter: frames reach a slow bus in the client's order", async () => {
  await using t = setup();
  const slow = slowBus(t.bus);
  for (let i = 0; i < 10; i++) t.transmitter.send(slow, frame(i));
  const ids: number[] = [];
  while (ids.length < 10) {
    ids.push(index(await t.listener.receive({ signal: AbortSignal.timeout(2000) })));
  }
  assertEquals(ids, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assertEquals(t.errors, []);
});

Deno.test("Transmitter: a frame goes to an idle bus at once", async () => {
  await using t = setup();
  t.transmitter.send(t.bus, frame(7));
  assertEquals(received(t.listener), [7]);
});

Deno.test("Transmitter: frames arriving one per turn never fill a small queue", async () => {
  // A socket hands the server its messages in separate turns: with a
  // synchronous bus the queue must stay short, not pile up behind promises.
  await using t = setup({ maxPendingSends: 2 });
  for (let i = 0; i < 2000; i++) {
    t.transmitter.send(t.bus, frame(i));
    await Promise.resolve();
  }
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(t.errors, []);
  assertEquals(t.stats.received, 2000);
  assertEquals(received(t.listener), Array.from({ length: 2000 }, (_, i) => i));
});

Deno.test("Transmitter: beyond maxPendingSends frames are dropped with an error event", async () => {
  await using t = setup({ maxPendingSends: 3 });
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const gated: Bus = Object.assign(Object.create(t.bus), {
    send: (f: CanFrame) => gate.then(() => t.bus.send(f)),
  });
  for (let i = 0; i < 5; i++) t.transmitter.send(gated, frame(i));
  assertEquals(t.errors, [
    "Transmit queue full: frame dropped",
    "Transmit queue full: frame dropped",
  ]);
  release();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(received(t.listener), [0, 1, 2]);
  // The queue drained: sending works again.
  t.transmitter.send(t.bus, frame(5));
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(received(t.listener), [5]);
  assertEquals(t.stats.received, 4);
});

Deno.test("Transmitter: a failed send is reported and the frames after it still go", async () => {
  await using t = setup();
  const failing: Bus = Object.assign(Object.create(t.bus), {
    send(f: CanFrame) {
      if (f.data[0] === 1) throw new RangeError("no such frame here");
      if (f.data[0] === 2) return Promise.reject(new Error("interface down"));
      return t.bus.send(f);
    },
  });
  for (let i = 0; i < 4; i++) t.transmitter.send(failing, frame(i));
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(t.errors, ["Cannot send: no such frame here", "Cannot send: interface down"]);
  assertEquals(received(t.listener), [0, 3]);
});

Deno.test("Transmitter: a closed bus ends sends without error events", async () => {
  await using t = setup();
  await t.bus.close();
  t.transmitter.send(t.bus, frame(1));
  t.transmitter.send(t.bus, frame(2));
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(t.errors, []);
});
