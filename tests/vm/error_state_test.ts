// Error frames on a real kernel (tests/vm/run.sh; ignored elsewhere):
// describeErrorFrame reads what the kernel delivers exactly as can-utils'
// candump -e does, and the server's bus health follows injected controller
// error frames on vcan (which has no controller state of its own) through
// warning, passive, bus-off and restarted.
import { assertEquals } from "../_helpers/assert.ts";
import { TestClient } from "../_helpers/ws_client.ts";
import { serve } from "../../server.ts";
import { SocketCanBus } from "../../ffi/socketcan_bus.ts";
import { describeErrorFrame } from "../../core/error_frame.ts";
import type { CanEvent } from "../../core/events.ts";
import { JSON_PROTOCOL } from "../../core/protocol.ts";
import { needsVm, run, withVcan } from "./_vm.ts";

const FRAMES = new URL("./error_frames.txt", import.meta.url);

Deno.test({
  name: "describeErrorFrame: the words of candump -e for every error frame the kernel delivers",
  ...needsVm,
  fn: () =>
    withVcan(async (name) => {
      // Classes above CAN_ERR_CNT: candump 2020.11 calls them invalid.
      const frames = (await Deno.readTextFile(FRAMES)).split("\n").filter((l) =>
        l && !/^200003FF|^20000400/.test(l)
      );
      const candump = new Deno.Command("candump", {
        args: ["-e", "-n", String(frames.length), `${name},0:0,#FFFFFFFF`],
        stdout: "piped",
        stderr: "null",
      }).spawn();
      await using bus = await SocketCanBus.open({
        channel: name,
        canFilters: [{ canId: 0x1fffffff, canMask: 0x1fffffff, extended: true }],
      });
      await new Promise((resolve) => setTimeout(resolve, 300)); // candump binds
      for (const frame of frames) await run("cansend", name, frame);
      const ours: string[][] = [];
      for (const _ of frames) {
        ours.push(describeErrorFrame(await bus.receive({ signal: AbortSignal.timeout(5000) })));
      }
      const output = new TextDecoder().decode((await candump.output()).stdout);
      const theirs: string[][] = [];
      for (const line of output.split("\n")) {
        if (line.includes("ERRORFRAME")) theirs.push([]);
        else if (line.startsWith("\t") && line.trim()) theirs.at(-1)!.push(line.trim());
      }
      assertEquals(ours, theirs);
      assertEquals(ours.length, 58);
    }),
});

async function until(client: TestClient, match: (e: CanEvent) => boolean): Promise<CanEvent> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const event = await client.nextEvent(deadline - Date.now());
    if (match(event)) return event;
  }
  throw new Error("no matching event");
}

const state = (s: string) => (e: CanEvent) => e.type === "bus_state" && e.health.state === s;

Deno.test({
  name:
    "bus health on vcan: injected error frames move it through warning, passive, bus-off, restarted",
  ...needsVm,
  fn: () =>
    withVcan(async (name) => {
      await using server = await serve({ port: 0, interface: "socketcan", channels: [name] });
      const client = await TestClient.connect(server.url, { bus_state: true }, [JSON_PROTOCOL]);
      try {
        await until(client, state("error-active"));
        await run("cansend", name, "20000004#0004000000000060"); // rx-error-warning, rx counter 96
        const warned = await until(client, state("error-warning"));
        assertEquals(warned.type === "bus_state" && warned.health.errorCounters, { tx: 0, rx: 96 });
        await run("cansend", name, "20000004#0010000000000080"); // rx-error-passive, rx counter 128
        await until(client, state("error-passive"));
        await run("cansend", name, "20000040#0000000000000000"); // bus-off
        await until(client, state("bus-off"));
        await run("cansend", name, "20000100#0000000000000000"); // restarted-after-bus-off
        await until(client, state("error-active"));
        const [channel] = (await (await fetch(server.httpUrl + "api/channels")).json()).channels;
        assertEquals(channel.state, "error-active");
        assertEquals(channel.bitrate, null); // vcan has no bit timing
        assertEquals(channel.stats.errorWarning, 1);
        assertEquals(channel.stats.errorPassive, 1);
        assertEquals(channel.stats.busOff, 1);
        assertEquals(channel.stats.restarts, 1);
        await run("ip", "link", "set", name, "down");
        await until(client, state("down"));
      } finally {
        await client.close();
      }
    }),
});
