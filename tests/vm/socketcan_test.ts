// SocketCanBus against can-utils as the independent peer, on a real kernel
// (tests/vm/run.sh). Tests that add, remove or toggle interfaces run only in
// the throw-away VM; they use interfaces of their own, never vcan0/vcan1.
import { assert, assertEquals, assertRejects } from "../_helpers/assert.ts";
import { collect, drain, frameFields, receiveUntil } from "../_helpers/bus_conformance.ts";
import { SocketCanBus } from "../../ffi/socketcan_bus.ts";
import { interfaceInfo, listCanInterfaces } from "../../ffi/can_interfaces.ts";
import { getState, setBitrate } from "../../ffi/libsocketcan.ts";
import { parseCandump, parseCansend, stringifyCansend } from "../../core/candump.ts";
import { type CanFrame, createFrame } from "../../core/frame.ts";
import { BusClosedError, CanError } from "../../core/errors.ts";
import { Candump, needsVcan, needsVm, run, withVcan } from "./_vm.ts";

const within = (ms = 3000) => ({ signal: AbortSignal.timeout(ms) });
const std = (id: number, data: number[] = []) =>
  createFrame({ arbitrationId: id, isExtendedId: false, data });

const FD64 = Array.from({ length: 64 }, (_, i) => (i * 7) & 0xff);
const FD64_HEX = FD64.map((b) => b.toString(16).padStart(2, "0").toUpperCase()).join("");

// cansend syntax -> what candump -L prints for it (can-utils 2020.11 on Linux
// 6.1 prints CANFD_FDF, set by the kernel, in the flags nibble: 1 -> 5).
const CASES: [string, string][] = [
  ["123#DEADBEEF", "123#DEADBEEF"],
  ["000#", "000#"],
  ["7FF#0102030405060708", "7FF#0102030405060708"],
  ["1ABCDEF0#CAFE", "1ABCDEF0#CAFE"],
  ["00000001#", "00000001#"],
  ["123#R", "123#R"],
  ["1FFFFFFF#R3", "1FFFFFFF#R3"],
  ["321##1" + FD64_HEX, "321##5" + FD64_HEX],
  ["0AB##3112233445566778899AABBCC", "0AB##7112233445566778899AABBCC"],
  ["1F334455##0", "1F334455##4"],
];

Deno.test({
  name: "SocketCanBus: frames from cansend arrive with the same id, flags and data",
  ...needsVcan,
  fn: async () => {
    await using bus = await SocketCanBus.open({ channel: "vcan1" });
    const before = Date.now() / 1000;
    for (const [text] of CASES) {
      await run("cansend", "vcan1", text);
      const frame = await bus.receive(within());
      assertEquals(frameFields(frame), frameFields(parseCansend(text)), text);
      assertEquals([frame.channel, frame.isRx], ["vcan1", true]);
      // the kernel's receive timestamp (generous bounds: the VM clock is fine)
      assert(frame.timestamp >= before - 1 && frame.timestamp <= Date.now() / 1000 + 1);
    }
  },
});

Deno.test({
  name: "SocketCanBus: frames it sends appear in candump -L exactly",
  ...needsVcan,
  fn: async () => {
    await using bus = await SocketCanBus.open({ channel: "vcan1" });
    await using dump = new Candump("vcan1");
    await dump.ready();
    for (const [text] of CASES) await bus.send(parseCansend(text));
    const lines = await dump.until();
    assertEquals(
      lines.map((line) => line.split(" ").slice(1).join(" ")),
      CASES.map(([, printed]) => `vcan1 ${printed}`),
    );
    // and the project's own codec reads candump's lines back to the same frames
    assertEquals(
      lines.map((line) => frameFields(parseCandump(line))),
      CASES.map(([text]) => frameFields(parseCansend(text))),
    );
  },
});

Deno.test({
  name: "SocketCanBus: cangen at full speed arrives complete and in order",
  ...needsVcan,
  fn: async () => {
    const count = 20000;
    await using bus = await SocketCanBus.open({ channel: "vcan1", receiveBufferSize: 8 << 20 });
    const started = performance.now();
    await run("cangen", "vcan1", "-I", "i", "-L", "8", "-D", "i", "-g", "0", "-n", String(count));
    const got: CanFrame[] = [];
    while (got.length < count) got.push(await bus.receive(within(5000)));
    const seconds = (performance.now() - started) / 1000;
    console.log(`  ${count} frames in ${seconds.toFixed(2)} s (${Math.round(count / seconds)}/s)`);
    for (let i = 0; i < count; i++) {
      const frame = got[i];
      // cangen -I i counts ids 0-7FF; -D i puts a little-endian counter in the data
      const data = new Uint8Array(new BigUint64Array([BigInt(i)]).buffer);
      if (frame.arbitrationId !== (i & 0x7ff) || frame.data.join() !== data.join()) {
        throw new Error(`frame ${i}: got ${stringifyCansend(frame)}`);
      }
    }
    assertEquals(bus.dropped, 0);
    assertEquals(await drain(bus, 100), []);
  },
});

Deno.test({
  name: "SocketCanBus: filters pass what python-can's rule passes, error frames always",
  ...needsVcan,
  fn: async () => {
    await using bus = await SocketCanBus.open({
      channel: "vcan1",
      canFilters: [
        { canId: 0x100, canMask: 0x7f0, extended: false },
        { canId: 0x1abcdef0, canMask: 0x1fffffff, extended: true },
      ],
    });
    for (
      const text of ["105#01", "200#02", "00000105#03", "1ABCDEF0#04", "10F#05", "0ABCDEF0#06"]
    ) {
      await run("cansend", "vcan1", text);
    }
    // an error frame (a raw socket may send one; vcan loops it back)
    await using sender = await SocketCanBus.open({ channel: "vcan1" });
    await sender.send(createFrame({
      arbitrationId: 0x40, // CAN_ERR_BUSOFF
      isExtendedId: false,
      isErrorFrame: true,
      data: [0, 0, 0, 0, 0, 0, 0, 0],
    }));
    const got = (await collect(bus, 4, 200)).map((f) => stringifyCansend(f));
    assertEquals(got, ["105#01", "1ABCDEF0#04", "10F#05", "20000040#0000000000000000"]);
  },
});

Deno.test({
  name: "SocketCanBus: own messages come back with isRx false, others see isRx true",
  ...needsVcan,
  fn: async () => {
    await using a = await SocketCanBus.open({ channel: "vcan1", receiveOwnMessages: true });
    await using b = await SocketCanBus.open({ channel: "vcan1" });
    await using dump = new Candump("vcan1");
    await dump.ready();
    await a.send(std(0x42, [1]));
    // candump's ready markers (7FE) may still be on their way to a and b
    const notMarker = (frame: CanFrame) => frame.arbitrationId !== 0x7fe;
    const own = await receiveUntil(a, notMarker, 5000);
    const other = await receiveUntil(b, notMarker, 5000);
    assertEquals([own.arbitrationId, own.isRx, other.arbitrationId, other.isRx], [
      0x42,
      false,
      0x42,
      true,
    ]);
    assertEquals((await dump.until()).map((l) => l.split(" ")[2]), ["042#01"]);
  },
});

Deno.test({
  name: "SocketCanBus: a CAN FD frame on a classic interface (MTU 16) is a RangeError",
  ...needsVm,
  fn: () =>
    withVcan(async (name) => {
      await using bus = await SocketCanBus.open({ channel: name });
      const fd = createFrame({ arbitrationId: 1, isFd: true, data: [1, 2] });
      await assertRejects(
        () => bus.send(fd),
        RangeError,
        `"${name}": the interface is classic CAN only (MTU 16)`,
      );
      await bus.send(std(1, [1])); // classic frames still go
      assertEquals(interfaceInfo(name).fd, false);
    }, { mtu: 16 }),
});

Deno.test({
  name: "SocketCanBus: fd: false neither receives nor sends CAN FD frames",
  ...needsVcan,
  fn: async () => {
    await using bus = await SocketCanBus.open({ channel: "vcan1", fd: false });
    await run("cansend", "vcan1", "123##1AABB");
    await run("cansend", "vcan1", "123#AABB");
    assertEquals((await collect(bus, 1, 200)).map((f) => stringifyCansend(f)), ["123#AABB"]);
    await assertRejects(
      () => bus.send(createFrame({ arbitrationId: 1, isFd: true })),
      RangeError,
      "fd: false",
    );
  },
});

Deno.test({
  name: "SocketCanBus: interface down while streaming: ENETDOWN, then it works again when up",
  ...needsVm,
  fn: () =>
    withVcan(async (name) => {
      await using bus = await SocketCanBus.open({ channel: name });
      const cangen = new Deno.Command("cangen", {
        args: [name, "-I", "i", "-L", "2", "-g", "2"],
        stdout: "null",
        stderr: "null",
      }).spawn();
      try {
        for (let i = 0; i < 20; i++) await bus.receive(within());
        await run("ip", "link", "set", name, "down");
        const error = await assertRejects(() => drain(bus, 2000), CanError);
        assertEquals((error as CanError).code, "ENETDOWN");
        assert(
          error.message.startsWith(`Cannot receive on "${name}": network is down`),
          error.message,
        );
        const sendError = await assertRejects(() => bus.send(std(1)), CanError, "network is down");
        assertEquals((sendError as CanError).code, "ENETDOWN");
      } finally {
        try {
          cangen.kill("SIGTERM");
        } catch { /* cangen stops by itself on ENETDOWN */ }
        await cangen.status;
      }
      await run("ip", "link", "set", name, "up");
      await run("cansend", name, "321#0102");
      // Frames cangen sent before the link went down may still be queued in
      // the socket behind the error; only cangen's (2 data bytes) may come first.
      const stale: string[] = [];
      let frame = await bus.receive(within());
      while (stringifyCansend(frame) !== "321#0102") {
        stale.push(stringifyCansend(frame));
        assert(frame.dlc === 2 && stale.length < 1000, stale.join(" "));
        frame = await bus.receive(within());
      }
      await using peer = await SocketCanBus.open({ channel: name });
      await bus.send(std(0x55, [5]));
      assertEquals(stringifyCansend(await peer.receive(within())), "055#05");
    }),
});

Deno.test({
  name: "SocketCanBus: interface removed: ENODEV, then it rebinds when the interface is back",
  ...needsVm,
  fn: () =>
    withVcan(async (name) => {
      await using bus = await SocketCanBus.open({
        channel: name,
        canFilters: [{ canId: 0x321, canMask: 0x7ff }],
      });
      await run("ip", "link", "del", name);
      // deleting takes the interface down first: ENETDOWN may come before ENODEV
      let error = await assertRejects(() => bus.receive(within()), CanError, `"${name}"`);
      if ((error as CanError).code === "ENETDOWN") {
        error = await assertRejects(() => bus.receive(within()), CanError, `"${name}"`);
      }
      assertEquals((error as CanError).code, "ENODEV");
      assert(error.message.includes("the bus rebinds when it is back"), error.message);
      await assertRejects(() => bus.send(std(1)), CanError, "no such device");
      assert(!bus.closed);
      await run("ip", "link", "add", "dev", name, "type", "vcan");
      await run("ip", "link", "set", name, "up");
      // the bus looks for the interface every 200 ms; cansend until a frame gets through
      let frame: CanFrame | undefined;
      for (let i = 0; i < 30 && !frame; i++) {
        await run("cansend", name, "123#01"); // filtered out: the filters survive the rebind
        await run("cansend", name, "321#0102");
        frame = await bus.receive(within(200)).catch(() => undefined);
      }
      assertEquals(frame && stringifyCansend(frame), "321#0102");
      await bus.send(std(0x7, [7]));
    }),
});

Deno.test({
  name:
    "SocketCanBus: a full transmit queue (ENOBUFS) is retried in order, then rejected after sendTimeout",
  ...needsVm,
  fn: () =>
    withVcan(async (name) => {
      await using sender = await SocketCanBus.open({ channel: name, sendTimeout: 5 });
      await using receiver = await SocketCanBus.open({ channel: name });
      // A pfifo qdisc of length 0 drops every frame: can_send() returns ENOBUFS.
      await run("tc", "qdisc", "add", "dev", name, "root", "pfifo", "limit", "0");
      const sends = Array.from({ length: 50 }, (_, i) => sender.send(std(i, [i])));
      let settled = false;
      Promise.allSettled(sends).then(() => settled = true);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert(!settled, "sends wait while the queue is full");
      assertEquals(await drain(receiver, 100), []);
      await run("tc", "qdisc", "del", "dev", name, "root");
      await Promise.all(sends);
      const got = await collect(receiver, sends.length, 200);
      assertEquals(got.map((f) => f.arbitrationId), sends.map((_, i) => i));

      await using hasty = await SocketCanBus.open({ channel: name, sendTimeout: 0.1 });
      await run("tc", "qdisc", "add", "dev", name, "root", "pfifo", "limit", "0");
      const error = await assertRejects(
        () => hasty.send(std(1)),
        CanError,
        "transmit queue stayed full",
      );
      assertEquals((error as CanError).code, "ENOBUFS");
    }),
});

Deno.test({
  name: "SocketCanBus: open errors name the interface",
  ...needsVcan,
  fn: async () => {
    const missing = await assertRejects(
      () => SocketCanBus.open({ channel: "vcan9" }),
      CanError,
      'Cannot bind to "vcan9": no such device',
    );
    assertEquals((missing as CanError).code, "ENODEV");
    await assertRejects(
      () => SocketCanBus.open({ channel: "lo" }),
      CanError,
      "not a CAN interface",
    );
    await assertRejects(() => SocketCanBus.open({}), TypeError, "channel");
    await assertRejects(
      () => SocketCanBus.open({ channel: "vcan0", sendTimeout: -1 }),
      RangeError,
      "-1",
    );
  },
});

Deno.test({
  name: "SocketCanBus: a bitrate on vcan is a clear CanError; libsocketcan reports no state",
  ...needsVcan,
  fn: async () => {
    const error = await assertRejects(
      () => SocketCanBus.open({ channel: "vcan0", bitrate: 500000 }),
      CanError,
      'Cannot set bitrate on "vcan0": operation not supported',
    );
    assertEquals((error as CanError).code, "EOPNOTSUPP");
    assert(error.message.includes("vcan have no bitrate"), error.message);
    // the same again: errno stays right after libsocketcan's perror()
    assertEquals(
      (await assertRejects(
        () => Promise.resolve().then(() => setBitrate("vcan0", 250000)),
        CanError,
      ) as CanError).code,
      "EOPNOTSUPP",
    );
    await assertRejects(
      () => SocketCanBus.open({ channel: "vcan0", dataBitrate: 2000000 }),
      CanError,
      "dbitrate 2000000",
    );
    const state = await assertRejects(
      () => Promise.resolve().then(() => getState("vcan0")),
      CanError,
    );
    assertEquals((state as CanError).code, "EOPNOTSUPP");
  },
});

Deno.test({
  name: "listCanInterfaces and interfaceInfo describe vcan0",
  ...needsVcan,
  fn: () => {
    assert(listCanInterfaces().includes("vcan0"));
    assert(!listCanInterfaces().includes("lo"));
    const info = interfaceInfo("vcan0");
    assertEquals({ ...info, index: 0 }, {
      name: "vcan0",
      index: 0,
      mtu: 72,
      up: true,
      running: true,
      fd: true,
      virtual: true,
    });
    assert(info.index > 0);
  },
});

Deno.test({
  name: "SocketCanBus: close is prompt, leaves no FFI call pending, and rejects later use",
  ...needsVcan,
  fn: async () => {
    const bus = await SocketCanBus.open({ channel: "vcan1" });
    await new Promise((resolve) => setTimeout(resolve, 50)); // poll() is now waiting
    const started = performance.now();
    const pending = bus.receive();
    await bus.close();
    assert(performance.now() - started < 1000, "close waits for poll() at most briefly");
    await assertRejects(() => pending, BusClosedError);
    assert(bus.closed);
    assertEquals(bus.channelInfo, "socketcan channel 'vcan1'");
  },
});
