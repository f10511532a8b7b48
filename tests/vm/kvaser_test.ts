// The server on real CAN controller drivers: two SJA1000 controllers
// (qemu's Kvaser PCIcan, kernel drivers kvaser_pci + sja1000 + can-dev) as
// can0 and can1 on one emulated bus, both DOWN at boot
// (VCANVM_HW=kvaser tests/vm/run.sh tests/vm/kvaser_test.ts; ignored elsewhere).
// qemu models no ACK, no bus errors and no bit timing: these tests check
// bring-up, link changes, the netlink view and the transmit queue, never
// error states (error_state_test.ts drives those with error frames on vcan).
import { assert, assertEquals } from "../_helpers/assert.ts";
import { TestClient } from "../_helpers/ws_client.ts";
import { serve } from "../../server.ts";
import { RemoteBus } from "../../client.ts";
import { createFrame } from "../../core/frame.ts";
import type { CanEvent } from "../../core/events.ts";
import { JSON_PROTOCOL } from "../../core/protocol.ts";
import { Candump, ipUp, lines, needsCanHw, netStat, resetControllers, run } from "./_vm.ts";

const assertMatch = (text: string, pattern: RegExp) =>
  assert(pattern.test(text), `${pattern} not in:\n${text}`);
const within = (ms = 5000) => ({ signal: AbortSignal.timeout(ms) });

async function channels(url: string) {
  return (await (await fetch(new URL("/api/channels", url))).json()).channels;
}

// Reads events until one matches, within a bounded time.
async function until(
  client: TestClient,
  match: (event: CanEvent) => boolean,
  ms = 5000,
): Promise<CanEvent[]> {
  const seen: CanEvent[] = [];
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const event = await client.nextEvent(deadline - Date.now());
    seen.push(event);
    if (match(event)) return seen;
  }
  throw new Error(`no matching event; got ${JSON.stringify(seen.map((e) => e.type))}`);
}

const stateIs = (state: string | null) => (event: CanEvent) =>
  event.type === "bus_state" && event.health.state === state;

Deno.test({
  name: "kvaser: -b 250000 brings can0 up from DOWN at that bit rate, as ip -details shows",
  ...needsCanHw,
  fn: async () => {
    await resetControllers();
    assertMatch(await run("ip", "-details", "link", "show", "can0"), /state DOWN/);
    await using server = await serve({
      port: 0,
      interface: "socketcan",
      channels: ["can0"],
      bitrate: 250000,
      socketcan: { restartMs: 100 },
    });
    const details = await run("ip", "-details", "link", "show", "can0");
    assertMatch(details, /state UP/);
    assertMatch(details, /can state ERROR-ACTIVE \(berr-counter tx 0 rx 0\) restart-ms 100/);
    assertMatch(details, /bitrate 250000 sample-point 0\.875/);
    const [channel] = await channels(server.httpUrl);
    assertEquals(channel.state, "error-active");
    assertEquals(channel.bitrate, 250000);
    assertEquals(channel.samplePoint, 0.875);
    assertEquals(channel.dataBitrate, null);
    assertEquals(channel.errorCounters, { tx: 0, rx: 0 });
    assertEquals(channel.stats, {
      busErrors: 0,
      errorWarning: 0,
      errorPassive: 0,
      busOff: 0,
      arbitrationLost: 0,
      restarts: 0,
      rxOverruns: 0,
      txDropped: 0,
    });
  },
});

Deno.test({
  name: "kvaser: without link flags the server leaves a DOWN can0 down and says how to fix it",
  ...needsCanHw,
  fn: async () => {
    await resetControllers();
    const server = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "server.ts", "-i", "socketcan", "-c", "can0", "-p", "0"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const output: string[] = [];
    const read = async (stream: ReadableStream<Uint8Array>) => {
      for await (const line of lines(stream)) output.push(line);
    };
    const reading = Promise.all([read(server.stdout), read(server.stderr)]);
    const deadline = Date.now() + 20000;
    while (!output.some((l) => l.includes("Web page")) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    server.kill("SIGTERM");
    await server.status;
    await reading;
    const text = output.join("\n");
    assertMatch(text, /can0 is down: frames sent to it are lost/);
    assertMatch(text, /sudo ip link set can0 up type can bitrate 500000/);
    assertMatch(await run("ip", "link", "show", "can0"), /state DOWN/);
  },
});

Deno.test({
  name: "kvaser: can0 going down and up while clients are connected: told, then served again",
  ...needsCanHw,
  fn: async () => {
    await resetControllers();
    await ipUp("can1");
    await using server = await serve({
      port: 0,
      interface: "socketcan",
      channels: ["can0"],
      bitrate: 250000,
    });
    const watcher = await TestClient.connect(server.url, { bus_state: true }, [JSON_PROTOCOL]);
    // A python-can-remote client asks for no bus_state: it gets the error event only.
    const plain = await TestClient.connect(server.url, {}, [JSON_PROTOCOL]);
    try {
      await until(watcher, stateIs("error-active"));
      await run("ip", "link", "set", "can0", "down");
      await until(watcher, stateIs("down"));
      const told = await until(plain, (e) => e.type === "error");
      assertMatch((told.at(-1) as { message: string }).message, /"can0" is down/);
      assertEquals(told.filter((e) => e.type === "bus_state").length, 0);
      assertEquals((await channels(server.httpUrl))[0].state, "down");
      await run("ip", "link", "set", "can0", "up");
      await until(watcher, stateIs("error-active"));
      // Served again without reconnecting: a frame from can1 reaches both.
      await run("cansend", "can1", "321#C0FFEE");
      for (const client of [watcher, plain]) {
        await until(client, (e) => e.type === "message" && e.frame.arbitrationId === 0x321);
      }
    } finally {
      await watcher.close();
      await plain.close();
    }
  },
});

Deno.test({
  name: "kvaser: frames both ways between a client on can0 and can-utils on can1",
  ...needsCanHw,
  fn: async () => {
    await resetControllers();
    await ipUp("can1");
    await using server = await serve({
      port: 0,
      interface: "socketcan",
      channels: ["can0"],
      bitrate: 250000,
    });
    await using bus = await RemoteBus.connect(server.url);
    await using candump = new Candump("can1");
    await candump.ready();
    await bus.send(createFrame({ arbitrationId: 0x123, isExtendedId: false, data: [1, 2, 3] }));
    await bus.send(createFrame({ arbitrationId: 0x1abcdef0, data: [0xca, 0xfe] }));
    const dumped = await candump.until();
    assertEquals(dumped.map((l) => l.split(" ").slice(1).join(" ")), [
      "can1 123#010203",
      "can1 1ABCDEF0#CAFE",
    ]);
    // candump's markers went out on can1 too: skip them.
    await run("cansend", "can1", "456#DEADBEEF");
    let frame;
    do frame = await bus.receive(within()); while (frame.arbitrationId === 0x7fe);
    assertEquals(frame.arbitrationId, 0x456);
    assertEquals([...frame.data], [0xde, 0xad, 0xbe, 0xef]);
  },
});

Deno.test({
  name: "kvaser: 5,000 frames back to back from one client all leave can0, in order",
  ...needsCanHw,
  fn: async () => {
    await resetControllers();
    await ipUp("can1");
    await using server = await serve({
      port: 0,
      interface: "socketcan",
      channels: ["can0"],
      bitrate: 1000000,
      maxSendRate: Infinity,
    });
    const before = netStat("can0", "tx_packets");
    const candump = new Deno.Command("candump", {
      args: ["-L", "can1"],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const received: string[] = [];
    const reading = (async () => {
      for await (const line of lines(candump.stdout)) received.push(line);
    })();
    await new Promise((resolve) => setTimeout(resolve, 300)); // candump binds
    const client = await TestClient.connect(server.url, {}, [JSON_PROTOCOL]);
    const errors: string[] = [];
    try {
      const count = 5000;
      for (let i = 0; i < count; i++) {
        const id = i & 0x7ff;
        client.sendJson({
          type: "message",
          payload: {
            arbitration_id: id,
            is_extended_id: false,
            dlc: 2,
            data: [i >> 8, i & 0xff],
          },
        });
      }
      // Every frame either left can0 or was reported as lost, with its count.
      let lost = 0;
      const deadline = Date.now() + 60000;
      while (netStat("can0", "tx_packets") - before + lost < count && Date.now() < deadline) {
        try {
          const event = await client.nextEvent(200);
          if (event.type === "error") {
            errors.push(event.message);
            lost += Number(/(\d+) frames? (?:not sent|dropped)/.exec(event.message)?.[1] ?? 0);
          }
        } catch { /* no event: keep waiting for tx_packets */ }
      }
      const sent = netStat("can0", "tx_packets") - before;
      assertEquals(sent + lost, count, `sent ${sent}, reported lost ${lost}: ${errors.join(" | ")}`);
      assertEquals(lost, 0, `every frame left, none reported lost: ${errors.join(" | ")}`);
      // can1 saw them in the order sent (qemu's can1 may overrun its RX
      // FIFO, which its statistics count: then a subsequence in order).
      await new Promise((resolve) => setTimeout(resolve, 500));
      const payloads = received.map((line) => parseInt(line.split("#")[1], 16));
      for (let i = 1; i < payloads.length; i++) {
        assert(payloads[i] > payloads[i - 1], `frame ${payloads[i]} after ${payloads[i - 1]}`);
      }
      const overruns = netStat("can1", "rx_over_errors") + netStat("can1", "rx_fifo_errors");
      assert(payloads.length + overruns >= count * 0.8, `${payloads.length} + ${overruns}`);
    } finally {
      candump.kill("SIGTERM");
      await candump.status;
      await reading;
      await client.close();
    }
  },
});
