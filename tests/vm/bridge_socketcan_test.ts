// The whole bridge on a real kernel: a server sharing vcan interfaces to
// several clients at once, with can-utils as the independent peer on the
// other side (tests/vm/run.sh). Ignored where there is no vcan0.
import { assert, assertEquals } from "../_helpers/assert.ts";
import { collect, frameFields } from "../_helpers/bus_conformance.ts";
import { TestClient } from "../_helpers/ws_client.ts";
import { serve } from "../../server.ts";
import { RemoteBus } from "../../client.ts";
import { parseCansend, stringifyCandump } from "../../core/candump.ts";
import { type CanFrame, createFrame } from "../../core/frame.ts";
import { RemoteError } from "../../core/errors.ts";
import { JSON_PROTOCOL } from "../../core/protocol.ts";
import { Candump, needsVcan, needsVm, run } from "./_vm.ts";

const within = (ms = 5000) => ({ signal: AbortSignal.timeout(ms) });
// The ids of the `count` frames a test expects and of any extra ones; the VM
// is slow, so a longer quiet period than the shared default.
const ids = async (bus: RemoteBus, count: number) =>
  (await collect(bus, count, 300)).map((frame) => frame.arbitrationId);

const FD64 = Array.from({ length: 64 }, (_, i) => (255 - i) & 0xff);
const hex = (bytes: number[]) =>
  bytes.map((b) => b.toString(16).padStart(2, "0").toUpperCase()).join("");

Deno.test({
  name: "bridge on vcan0: cansend frames reach binary and JSON clients unchanged",
  ...needsVcan,
  fn: async () => {
    await using server = await serve({ port: 0, interface: "socketcan", channels: ["vcan0"] });
    await using binary = await RemoteBus.connect(server.url);
    await using json = await RemoteBus.connect(server.url, { protocol: "json" });
    assertEquals(binary.channelInfo, `socketcan channel 'vcan0' on ${server.url}`);
    const sent = [
      "123#DEADBEEF",
      "1ABCDEF0#CAFE",
      "7FF#R",
      "00000042#R8",
      "321##1" + hex(FD64),
      "0AB##2112233445566778899AABBCC",
    ];
    for (const text of sent) await run("cansend", "vcan0", text);
    for (const bus of [binary, json]) {
      const got = [];
      for (const _ of sent) got.push(frameFields(await bus.receive(within())));
      assertEquals(got, sent.map((text) => frameFields(parseCansend(text))));
    }
  },
});

Deno.test({
  name: "bridge on vcan0: what a client sends appears in candump -L exactly",
  ...needsVcan,
  fn: async () => {
    await using server = await serve({ port: 0, interface: "socketcan", channels: ["vcan0"] });
    await using bus = await RemoteBus.connect(server.url);
    await using candump = new Candump("vcan0");
    await candump.ready();
    const frames = [
      createFrame({ arbitrationId: 0x123, isExtendedId: false, data: [0xde, 0xad] }),
      createFrame({
        arbitrationId: 0x1abcdef0,
        isExtendedId: true,
        data: [1, 2, 3, 4, 5, 6, 7, 8],
      }),
      createFrame({ arbitrationId: 0x55, isExtendedId: false, isRemoteFrame: true, dlc: 3 }),
      createFrame({
        arbitrationId: 0x456,
        isExtendedId: false,
        isFd: true,
        bitrateSwitch: true,
        data: FD64,
      }),
    ];
    await using observer = await RemoteBus.connect(server.url);
    for (const frame of frames) await bus.send(frame);
    // send() resolves once the frame left for the server; the observer, also
    // fed by the kernel, sees each one only after it is on vcan0
    for (const _ of frames) await observer.receive(within());
    const lines = await candump.until();
    // candump -L prints "(timestamp) vcan0 FRAME"; the kernel sets CANFD_FDF (4) in FD flags.
    const printed = lines.map((line) => line.split(" ").slice(1).join(" "));
    const expected = frames.map((f) =>
      stringifyCandump({ ...f, timestamp: 0 }, "vcan0").split(" ").slice(1).join(" ")
        .replace(/##(\d)/, (_, n) => `##${Number(n) | 4}`)
    );
    assertEquals(printed, expected);
  },
});

Deno.test({
  name: "bridge on vcan0: cangen at full speed arrives complete and in order through the server",
  ...needsVcan,
  fn: async () => {
    await using server = await serve({ port: 0, interface: "socketcan", channels: ["vcan0"] });
    await using bus = await RemoteBus.connect(server.url);
    const count = 3000;
    const cangen = run(
      "cangen",
      "vcan0",
      "-I",
      "i",
      "-L",
      "8",
      "-D",
      "i",
      "-g",
      "0",
      "-n",
      String(count),
    );
    const got: CanFrame[] = [];
    while (got.length < count) got.push(await bus.receive(within(10000)));
    await cangen;
    got.forEach((frame, i) => {
      assertEquals(frame.arbitrationId, i & 0x7ff, `frame ${i}`);
      // -D i: a little-endian counter in the data
      assertEquals(frame.data[0] | (frame.data[1] << 8), i & 0xffff, `frame ${i}`);
    });
    assertEquals(bus.dropped, 0);
  },
});

Deno.test({
  name: "bridge on vcan0: own messages and filters behave as on the virtual bus",
  ...needsVcan,
  fn: async () => {
    await using server = await serve({ port: 0, interface: "socketcan", channels: ["vcan0"] });
    await using own = await RemoteBus.connect(server.url, { receiveOwnMessages: true });
    await using filtered = await RemoteBus.connect(server.url, {
      canFilters: [{ canId: 0x100, canMask: 0x7f0, extended: false }],
    });
    await using plain = await RemoteBus.connect(server.url);
    await own.send(createFrame({ arbitrationId: 0x105, isExtendedId: false, data: [5] }));
    await own.send(createFrame({ arbitrationId: 0x205, isExtendedId: false, data: [6] }));
    assertEquals(await ids(own, 2), [0x105, 0x205]);
    assertEquals(await ids(filtered, 1), [0x105]);
    assertEquals(await ids(plain, 2), [0x105, 0x205]);
    // Widening the server-side filters after connecting (set_filters). The
    // server reads the update before the client's next frame, so once plain
    // has that frame the kernel filter is wide open for cansend's.
    filtered.setFilters(null);
    await filtered.send(createFrame({ arbitrationId: 0x7aa, isExtendedId: false }));
    assertEquals((await plain.receive(within())).arbitrationId, 0x7aa);
    await run("cansend", "vcan0", "205#07");
    assertEquals(await ids(filtered, 1), [0x205]);
  },
});

Deno.test({
  name: "bridge on vcan0 and vcan1: two channels, several clients each, kept apart",
  ...needsVcan,
  fn: async () => {
    await using server = await serve({
      port: 0,
      interface: "socketcan",
      channels: ["vcan0", "vcan1"],
    });
    const zero = await Promise.all([0, 1, 2].map(() => RemoteBus.connect(server.url)));
    const one = await Promise.all([0, 1].map(() => RemoteBus.connect(server.url + "vcan1")));
    try {
      await run("cansend", "vcan1", "111#11");
      await run("cansend", "vcan0", "000#00");
      for (const bus of one) assertEquals(await ids(bus, 1), [0x111]);
      for (const bus of zero) assertEquals(await ids(bus, 1), [0]);
    } finally {
      await Promise.all([...zero, ...one].map((bus) => bus.close()));
    }
  },
});

Deno.test({
  name: "bridge: interface down while streaming gives an error event, and it serves again when up",
  ...needsVm,
  fn: async () => {
    const iface = "vcanbridge";
    await run("ip", "link", "add", "dev", iface, "type", "vcan");
    await run("ip", "link", "set", iface, "mtu", "72");
    await run("ip", "link", "set", iface, "up");
    try {
      await using server = await serve({ port: 0, interface: "socketcan", channels: [iface] });
      await using bus = await RemoteBus.connect(server.url);
      await run("cansend", iface, "001#01");
      assertEquals((await bus.receive(within())).arbitrationId, 1);
      await run("ip", "link", "set", iface, "down");
      // the server reports the bus error; the connection stays open
      let error: unknown;
      try {
        while (true) await bus.receive(within());
      } catch (e) {
        error = e;
      }
      assert(error instanceof RemoteError, String(error));
      assert(/ENETDOWN|down/i.test(error.message), error.message);
      await run("ip", "link", "set", iface, "up");
      let frame: CanFrame | undefined;
      for (let i = 0; i < 50 && !frame; i++) {
        await run("cansend", iface, "002#02");
        frame = await bus.receive({ signal: AbortSignal.timeout(200) }).catch(() => undefined);
      }
      assertEquals(frame?.arbitrationId, 2);
      assertEquals(bus.state, "open");
    } finally {
      await run("ip", "link", "del", iface).catch(() => {});
    }
  },
});

Deno.test({
  name:
    "bridge on vcan0: python-can-remote's recorded messages cross SocketCAN as over the virtual bus",
  ...needsVcan,
  fn: async () => {
    const recorded = JSON.parse(
      await Deno.readTextFile(
        new URL("../../../shared/conformance/messages.json", import.meta.url),
      ),
    );
    await using server = await serve({ port: 0, interface: "socketcan", channels: ["vcan0"] });
    const sender = await TestClient.connect(server.url, { preserve_timestamps: true });
    const binary = await TestClient.connect(server.url);
    const json = await TestClient.connect(server.url, {}, [JSON_PROTOCOL]);
    try {
      // every recorded case, error frame included (a raw socket on vcan carries it)
      const cases = recorded.cases;
      for (const c of cases) {
        sender.send(hexBytes(c.client_to_server.binary.hex));
        const got = await binary.next();
        assert(got instanceof Uint8Array);
        // the kernel stamps frames: compare everything after the timestamp
        assertEquals(
          hex([...got.subarray(9)]),
          normalizeDlc(c.server_to_client.binary.hex).slice(18).toUpperCase(),
          c.name,
        );
        const text = JSON.parse(await json.next() as string);
        const expected = JSON.parse(c.server_to_client.json.text);
        delete text.payload.timestamp;
        delete expected.payload.timestamp;
        if (expected.payload.dlc > 8 && expected.payload.dlc < 16) {
          expected.payload.dlc = expected.payload.data.length; // ISO codes are normalized
        }
        assertEquals(text, expected, c.name);
      }
    } finally {
      await Promise.all([sender.close(), binary.close(), json.close()]);
    }
  },
});

function hexBytes(text: string): Uint8Array {
  return Uint8Array.from(text.match(/../g)!.map((b) => parseInt(b, 16)));
}

// A sender's ISO DLC code 9-15 comes back as the byte count (validateFrame normalizes it).
function normalizeDlc(text: string): string {
  const bytes = hexBytes(text);
  if (bytes[13] > 8 && bytes[13] < 16) bytes[13] = bytes.length - 15;
  return hex([...bytes]);
}
