// Buses sharing one socket (ffi/socketcan_channel.ts, socketcan_channel_bus.ts)
// against the kernel's own rules: for each set of options, a bus of its own
// socket (SocketCanBus: the kernel filters) and a bus on the shared socket
// must receive the same frames, in the same order, with the same direction.
// Run in the VM (tests/vm/run.sh); ignored where there is no vcan0.
import { assertEquals } from "../_helpers/assert.ts";
import { collect, collectIds, frameFields } from "../_helpers/bus_conformance.ts";
import { defineBusConformance } from "../_helpers/bus_conformance.ts";
import type { BusOptions } from "../../core/bus.ts";
import { type CanFrame, createFrame } from "../../core/frame.ts";
import { SocketCanBus } from "../../ffi/socketcan_bus.ts";
import { SocketCanChannel } from "../../ffi/socketcan_channel.ts";
import { SocketCanChannelBus } from "../../ffi/socketcan_channel_bus.ts";
import { needsVcan } from "./_vm.ts";

const IFACE = "vcan1";
const std = (id: number, data: number[] = []) =>
  createFrame({ arbitrationId: id, isExtendedId: false, data });
const ext = (id: number, data: number[] = []) =>
  createFrame({ arbitrationId: id, isExtendedId: true, data });

let shared: SocketCanChannel | undefined;
defineBusConformance(
  "SocketCanChannelBus",
  (options = {}) => {
    // The last bus to leave closes the channel, as the server's backend does.
    if (!shared || shared.closed) shared = SocketCanChannel.open("vcan0");
    return Promise.resolve(SocketCanChannelBus.open(shared, options));
  },
  { test: needsVcan },
);

// Frames from another socket: standard, extended, remote, CAN FD, an error frame.
const FOREIGN: CanFrame[] = [
  std(0x105, [1]),
  std(0x200, [2]),
  ext(0x105, [3]),
  ext(0x1abcdef0, [4]),
  std(0x10f, [5]),
  ext(0x0abcdef0, [6]),
  createFrame({ arbitrationId: 0x123, isExtendedId: false, isRemoteFrame: true, dlc: 4 }),
  ext(0x123, [7]),
  createFrame({ arbitrationId: 0x7ff, isExtendedId: false, isRemoteFrame: true }),
  createFrame({ arbitrationId: 0x123, isFd: true, data: Array.from({ length: 64 }, (_, i) => i) }),
  createFrame({ arbitrationId: 0x105, isExtendedId: true, isFd: true, bitrateSwitch: true }),
  createFrame({
    arbitrationId: 0x40,
    isExtendedId: false,
    isErrorFrame: true,
    data: Array(8).fill(0),
  }),
  std(0x125, [8]),
];

// Each bus's own frames; identical frames on purpose, so the echo has to be
// told apart by who wrote it, not by what it is.
const OWN: CanFrame[] = [std(0x105, [9]), std(0x105, [9]), ext(0x123, [10]), std(0x7ff)];

const CASES: [string, BusOptions][] = [
  ["no options", {}],
  ["receiveOwnMessages", { receiveOwnMessages: true }],
  ["standard and extended filters", {
    canFilters: [
      { canId: 0x100, canMask: 0x7f0, extended: false },
      { canId: 0x1abcdef0, canMask: 0x1fffffff, extended: true },
    ],
  }],
  ["overlapping filters (a frame once), own frames", {
    receiveOwnMessages: true,
    canFilters: [{ canId: 0x100, canMask: 0x700 }, { canId: 0x105, canMask: 0x7ff }],
  }],
  ["a filter without extended matches both kinds", {
    canFilters: [{ canId: 0x123, canMask: 0x7ff }],
  }],
  ["a filter no identifier can match: error frames only", {
    canFilters: [{ canId: 0x40000000, canMask: 0xffffffff }],
  }],
  ["fd: false", { fd: false }],
  ["fd: false, own frames, a remote frame's filter", {
    fd: false,
    receiveOwnMessages: true,
    canFilters: [{ canId: 0x7ff, canMask: 0x7ff, extended: false }, {
      canId: 0x105,
      canMask: 0x7ff,
    }],
  }],
];

const key = (frame: CanFrame) => JSON.stringify({ ...frameFields(frame), isRx: frame.isRx });
// What one bus received, as two lists in arrival order: frames from others, and its own.
const split = (frames: CanFrame[]) => ({
  received: frames.filter((f) => f.isRx).map(key),
  own: frames.filter((f) => !f.isRx).map(key),
});

for (const [title, options] of CASES) {
  Deno.test({
    name: `SocketCanChannelBus receives what a socket of its own receives: ${title}`,
    ...needsVcan,
    fn: async () => {
      await using peer = await SocketCanBus.open({ channel: IFACE });
      await using kernel = await SocketCanBus.open({ ...options, channel: IFACE });
      await using fanned = SocketCanChannelBus.open(SocketCanChannel.open(IFACE), options);
      for (const frame of FOREIGN) await peer.send(frame);
      for (const frame of OWN) await kernel.send(frame);
      for (const frame of OWN) await fanned.send(frame);
      const expected = split(await collect(kernel, 0, 500));
      const got = split(await collect(fanned, 0, 500));
      assertEquals(got, expected);
      assertEquals(expected.received.length > 0, true);
    },
  });
}

Deno.test({
  name: "SocketCanChannelBus: buses sending the same frame each get their own echo, once",
  ...needsVcan,
  fn: async () => {
    const channel = SocketCanChannel.open(IFACE);
    await using a = SocketCanChannelBus.open(channel, { receiveOwnMessages: true });
    await using b = SocketCanChannelBus.open(channel, { receiveOwnMessages: true });
    await using c = SocketCanChannelBus.open(channel, {});
    const frame = std(0x321, [1, 2]);
    await a.send(frame);
    await b.send(frame);
    await b.send(frame);
    const direction = (frames: CanFrame[]) => frames.map((f) => f.isRx);
    assertEquals(direction(await collect(a, 3, 300)), [false, true, true]);
    assertEquals(direction(await collect(b, 3, 300)), [true, false, false]);
    assertEquals(direction(await collect(c, 3, 300)), [true, true, true]);
    assertEquals(channel.size, 3);
  },
});

Deno.test({
  name: "SocketCanChannelBus: the last bus to close closes the shared socket",
  ...needsVcan,
  fn: async () => {
    const channel = SocketCanChannel.open(IFACE);
    const a = SocketCanChannelBus.open(channel, {});
    const b = SocketCanChannelBus.open(channel, {});
    await a.close();
    assertEquals([channel.size, channel.closed], [1, false]);
    await b.close();
    assertEquals([channel.size, channel.closed], [0, true]);
  },
});

Deno.test({
  name: "SocketCanChannelBus: a bus whose listener throws costs the others nothing",
  ...needsVcan,
  fn: async () => {
    const channel = SocketCanChannel.open(IFACE);
    await using broken = SocketCanChannelBus.open(channel, {});
    await using healthy = SocketCanChannelBus.open(channel, {});
    await using peer = await SocketCanBus.open({ channel: IFACE });
    let calls = 0;
    broken.subscribe((entry) => {
      if (entry instanceof Error) return;
      calls++;
      throw new Error("this listener breaks");
    });
    const sent = [0x100, 0x101, 0x102, 0x103, 0x104];
    for (const id of sent) await peer.send(std(id, [1]));
    assertEquals(await collectIds(healthy, sent.length, 300), sent);
    assertEquals(calls, sent.length);
  },
});
