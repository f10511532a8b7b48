// createBus() opens the bus the configuration names: a real server for
// "remote", the virtual bus, and SocketCAN (whose VM tests live in tests/vm/).
import { createBus } from "../../config/create_bus.ts";
import { RemoteBus } from "../../client.ts";
import { CanError } from "../../core/errors.ts";
import { createFrame } from "../../core/frame.ts";
import { serve, VirtualBackend } from "../../server.ts";
import { VirtualBus, VirtualNetwork } from "../../core/virtual_bus.ts";
import { assert, assertEquals, assertRejects } from "../_helpers/assert.ts";

const frame = (id: number, data: number[] = []) =>
  createFrame({ arbitrationId: id, isExtendedId: false, data });

async function withHome(canrc: string, fn: (home: string) => Promise<void>): Promise<void> {
  const home = await Deno.makeTempDir({ prefix: "canrc_" });
  try {
    await Deno.writeTextFile(`${home}/.canrc`, canrc);
    await fn(home);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

Deno.test("interface = remote in ~/.canrc connects to the server with the file's options", async () => {
  await using server = await serve({ port: 0 });
  const canrc = `[default]\ninterface = remote\nchannel = ${server.url}\n` +
    `receive_own_messages = True\ncan_filters = [{"can_id": 256, "can_mask": 1792}]\n`;
  await withHome(canrc, async (home) => {
    await using bus = await createBus({ env: { HOME: home } });
    assert(bus instanceof RemoteBus);
    await bus.send(frame(0x200)); // filtered out
    await bus.send(frame(0x123, [1, 2]));
    const received = await bus.receive({ signal: AbortSignal.timeout(2000) });
    assertEquals([received.arbitrationId, [...received.data]], [0x123, [1, 2]]);
  });
});

Deno.test("a channel without a scheme is a ws:// URL; given options win over the file", async () => {
  const network = new VirtualNetwork();
  await using server = await serve({ port: 0, backend: new VirtualBackend(["0"], network) });
  const hostPort = server.url.slice("ws://".length);
  await withHome("[default]\ninterface = socketcan\nchannel = can0\n", async (home) => {
    await using bus = await createBus({
      interface: "remote",
      channel: hostPort,
      env: { HOME: home },
    });
    assert(bus instanceof RemoteBus);
    assertEquals(bus.url, server.url);
    await using peer = VirtualBus.open({ channel: "0", network });
    await peer.send(frame(0x7ff));
    assertEquals((await bus.receive({ signal: AbortSignal.timeout(2000) })).arbitrationId, 0x7ff);
  });
});

Deno.test("virtual: file keys become the bus options; the context picks a section", async () => {
  const network = new VirtualNetwork();
  const canrc = "[default]\ninterface = remote\nchannel = ws://nowhere:1/\n" +
    "[loop]\ninterface = virtual\nchannel = loop\nreceive_own_messages = yes\n";
  await withHome(canrc, async (home) => {
    await using bus = await createBus({ context: "loop", env: { HOME: home }, network });
    assert(bus instanceof VirtualBus);
    assertEquals(bus.channel, "loop");
    await bus.send(frame(1));
    assertEquals((await bus.receive({ signal: AbortSignal.timeout(1000) })).arbitrationId, 1);
  });
});

Deno.test("camelCase options and CAN_* variables fill a virtual bus", async () => {
  const network = new VirtualNetwork();
  await using bus = await createBus({
    env: {
      CAN_INTERFACE: "virtual",
      CAN_CHANNEL: "env",
      CAN_CONFIG: '{"receive_own_messages": true}',
    },
    configPath: [],
    canFilters: [{ canId: 0x100, canMask: 0x700 }],
    network,
  });
  assert(bus instanceof VirtualBus);
  assertEquals(bus.channel, "env");
  await bus.send(frame(0x000));
  await bus.send(frame(0x101));
  assertEquals((await bus.receive({ signal: AbortSignal.timeout(1000) })).arbitrationId, 0x101);
});

Deno.test("keys an interface does not take are refused, naming their source", async () => {
  await withHome("[default]\ninterface = virtual\nlocal_loopback = True\n", async (home) => {
    await assertRejects(
      () => createBus({ env: { HOME: home } }),
      TypeError,
      `The virtual interface does not take "local_loopback" (from ${home}/.canrc:3 [default])`,
    );
  });
  await assertRejects(
    () =>
      createBus({
        interface: "virtual",
        config: { receive_own_messages: "maybe" },
        env: {},
        configPath: [],
      }),
    TypeError,
    'receive_own_messages must be true or false (or yes/no, on/off, 1/0), got "maybe" (from the given options)',
  );
  await assertRejects(
    () => createBus({ interface: "remote", env: {}, configPath: [] }),
    RangeError,
    "The remote interface needs the server's URL as its channel",
  );
});

Deno.test("socketcan opens SocketCanBus: a missing interface is ENODEV", async () => {
  const error = await assertRejects(
    () => createBus({ interface: "socketcan", channel: "nocan7", env: {}, configPath: [] }),
    CanError,
    "nocan7",
  );
  assertEquals((error as CanError).code, "ENODEV");
});

Deno.test("the web page's address (http://) reaches the server; other schemes are named", async () => {
  await using server = await serve({ port: 0 });
  await using bus = await createBus({
    interface: "remote",
    channel: server.httpUrl,
    env: {},
    configPath: [],
  });
  assert(bus instanceof RemoteBus);
  assertEquals(bus.url, server.url);
  const error = await assertRejects(
    () => createBus({ interface: "remote", channel: "ftp://127.0.0.1/", env: {}, configPath: [] }),
    SyntaxError,
  );
  assert(error.message.includes("use ws://, wss://, http:// or https://"), error.message);
});

Deno.test("socketcan without a channel says so, never 'got undefined'", async () => {
  const error = await assertRejects(
    () => createBus({ interface: "socketcan", env: {}, configPath: [] }),
    RangeError,
    "needs a network interface as its channel, such as can0",
  );
  assertEquals(error.message.includes("undefined"), false, error.message);
});

Deno.test("remote without a channel says so, never 'got null'", async () => {
  const error = await assertRejects(
    () => createBus({ interface: "remote", env: {}, configPath: [] }),
    RangeError,
    "needs the server's URL as its channel",
  );
  assertEquals(error.message.includes("null"), false, error.message);
});

Deno.test("the README's ~/.canrc: receive_own_messages = False and the seed's filters", async () => {
  await using server = await serve({ port: 0 });
  const canrc = `[default]\ninterface = remote\nchannel = ${server.url}\n` +
    `receive_own_messages = False\ncan_filters = [{"can_id": 17}, {"can_mask": 255}]\n`;
  await withHome(canrc, async (home) => {
    await using bus = await createBus({ env: { HOME: home } });
    await using other = await RemoteBus.connect(server.url);
    for (const id of [0x12, 0x11, 0x111, 0x200]) await other.send(frame(id));
    const ids = [];
    for (let i = 0; i < 2; i++) {
      ids.push((await bus.receive({ signal: AbortSignal.timeout(2000) })).arbitrationId);
    }
    // 0x11 exactly, and 0x200 (low byte 0); 0x12 and 0x111 are filtered out
    assertEquals(ids, [0x11, 0x200]);
    await bus.send(frame(0x11)); // not received back: receive_own_messages is false
    await other.send(frame(0x300));
    assertEquals((await bus.receive({ signal: AbortSignal.timeout(2000) })).arbitrationId, 0x300);
  });
});
