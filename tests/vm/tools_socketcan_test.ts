// The tools and log formats against can-utils on a real kernel
// (tests/vm/run.sh): candump -L output parses to the frames cansend sent, our
// .log replays with canplayer, and our logger and player work on SocketCAN.
import { assertEquals } from "../_helpers/assert.ts";
import { frameFields } from "../_helpers/bus_conformance.ts";
import { main as logger } from "../../cli/logger.ts";
import { main as player } from "../../cli/player.ts";
import { parseCandump, parseCansend } from "../../core/candump.ts";
import { readLogFile } from "../../formats/log_file.ts";
import type { CanFrame } from "../../core/frame.ts";
import { Candump, needsVcan, run } from "./_vm.ts";

const SENT = [
  "123#DEADBEEF",
  "1F334455#1122334455667788",
  "7DF#R",
  "00000555#R2",
  "000#",
  "456##1000102030405060708090A0B",
  "18FEF100##3" + "AA".repeat(64),
];

function quietStream(): WritableStream<Uint8Array> {
  return new WritableStream();
}

async function collect(path: string): Promise<CanFrame[]> {
  const frames: CanFrame[] = [];
  for await (const frame of readLogFile(path)) frames.push(frame);
  return frames;
}

Deno.test({
  name: "candump -L lines of cansend frames parse to the frames cansend sent",
  ...needsVcan,
  fn: async () => {
    await using candump = new Candump("vcan1");
    await candump.ready();
    for (const text of SENT) await run("cansend", "vcan1", text);
    const lines = await candump.until();
    assertEquals(lines.length, SENT.length);
    assertEquals(
      lines.map((line) => frameFields(parseCandump(line))),
      SENT.map((text) => frameFields(parseCansend(text))),
    );
    for (const line of lines) assertEquals(parseCandump(line).channel, "vcan1");
  },
});

Deno.test({
  name: "logger -i socketcan records cansend traffic to a .log that canplayer replays exactly",
  ...needsVcan,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const file = `${dir}/trace.log`;
      const stop = new AbortController();
      let said = "";
      const decoder = new TextDecoder();
      const recording = logger(["-i", "socketcan", "-c", "vcan0", "-f", file], {
        signal: stop.signal,
        stdout: quietStream(),
        stderr: new WritableStream({ write: (chunk) => void (said += decoder.decode(chunk)) }),
        isTerminal: false,
      });
      // "Connected to ..." comes once the logger's socket is bound
      for (let i = 0; i < 500 && !said.includes("Connected"); i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      for (const text of SENT) await run("cansend", "vcan0", text);
      await new Promise((r) => setTimeout(r, 300));
      stop.abort();
      assertEquals(await recording, 0);
      const recorded = (await collect(file)).filter((f) => f.arbitrationId !== 0x7fe);
      assertEquals(recorded.map(frameFields), SENT.map((t) => frameFields(parseCansend(t))));
      // canplayer replays our file onto vcan1; candump there sees the same frames
      await using candump = new Candump("vcan1");
      await candump.ready();
      await run("canplayer", "-I", file, "vcan1=vcan0");
      const replayed = (await candump.until()).map(parseCandump).filter((f) =>
        f.arbitrationId !== 0x7fe
      );
      assertEquals(replayed.map(frameFields), SENT.map((t) => frameFields(parseCansend(t))));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "player -i socketcan replays a .log onto vcan1 as candump sees it",
  ...needsVcan,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const file = `${dir}/replay.log`;
      const lines = SENT.map((text, i) =>
        `(1700000000.${String(i * 1000).padStart(6, "0")}) vcan0 ${text}`
      );
      await Deno.writeTextFile(file, lines.join("\n") + "\n");
      await using candump = new Candump("vcan1");
      await candump.ready();
      const code = await player(["-i", "socketcan", "-c", "vcan1", file], {
        stdout: quietStream(),
        stderr: quietStream(),
      });
      assertEquals(code, 0);
      const seen = (await candump.until()).map(parseCandump);
      assertEquals(seen.map(frameFields), SENT.map((t) => frameFields(parseCansend(t))));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
