// The logger against a real server: every format it writes reads back, in
// python-can's LogReader too, as the frames a peer sent; rotation (within a
// frame of the limit), append, filters, stdout, python-can's flags,
// --reconnect across a server restart; and a subprocess stopped with SIGTERM
// or SIGINT leaves a complete file with every frame it received.
import { main } from "../../cli/logger.ts";
import { readLogFile } from "../../formats/log_file.ts";
import { type CanFrame, createFrame } from "../../core/frame.ts";
import { parseCandump } from "../../core/candump.ts";
import { assert, assertEquals } from "../_helpers/assert.ts";
import {
  capture,
  denoEnv,
  python,
  READ_WITH_PYTHON,
  shape,
  startServer,
  waitFor,
} from "../_helpers/cli.ts";
import { requires } from "../_helpers/requires.ts";
import { gunzipSync } from "node:zlib";
import { serve, VirtualBackend } from "../../server.ts";
import { VirtualBus, VirtualNetwork } from "../../core/virtual_bus.ts";

const LOGGER = new URL("../../cli/logger.ts", import.meta.url).pathname;

const FRAMES: CanFrame[] = [
  createFrame({ arbitrationId: 0x123, isExtendedId: false, data: [0xde, 0xad, 0xbe, 0xef] }),
  createFrame({ arbitrationId: 0x1f334455, data: [1, 2, 3, 4, 5, 6, 7, 8] }),
  createFrame({ arbitrationId: 0x7df, isExtendedId: false, isRemoteFrame: true, dlc: 2 }),
  createFrame({ arbitrationId: 0x000, isExtendedId: false }),
  createFrame({
    arbitrationId: 0x456,
    isExtendedId: false,
    isFd: true,
    bitrateSwitch: true,
    data: Uint8Array.from({ length: 12 }, (_, i) => i),
  }),
  createFrame({
    arbitrationId: 0x18fef100,
    isFd: true,
    data: Uint8Array.from({ length: 64 }, (_, i) => 255 - i),
  }),
];

/** The frame count of the latest status line drawn on a (pretend) terminal. */
function shownCount(stderr: string): number {
  const lines = stderr.split("\r").filter((l) => / frames {2}/.test(l));
  return lines.length ? parseInt(lines.at(-1)!, 10) : 0;
}

interface Running {
  done: Promise<number>;
  stop: AbortController;
  err: ReturnType<typeof capture>;
  out: ReturnType<typeof capture>;
}

function runLogger(args: string[]): Running {
  const stop = new AbortController();
  const err = capture();
  const out = capture();
  const done = main(args, {
    signal: stop.signal,
    stderr: err.stream,
    stdout: out.stream,
    isTerminal: true,
    env: {},
    configPath: [],
  });
  return { done, stop, err, out };
}

async function stopAll(loggers: Running[], frames: number): Promise<void> {
  await waitFor(
    () => loggers.every((l) => shownCount(l.err.text()) >= frames),
    `the loggers to show ${frames} frames`,
  );
  for (const logger of loggers) logger.stop.abort();
  for (const logger of loggers) assertEquals(await logger.done, 0, logger.err.text());
}

Deno.test(
  "every format the logger writes reads back as the frames sent, in python-can too",
  requires("python3-can"),
  async () => {
    await using test = await startServer();
    const dir = await Deno.makeTempDir();
    try {
      const names = ["t.log", "t.asc", "t.csv", "t.jsonl", "t.log.gz", "t.asc.gz", "t.csv.gz"];
      const paths = names.map((name) => `${dir}/${name}`);
      const loggers = paths.map((path) => runLogger(["-i", "remote", "-c", test.url, "-f", path]));
      await test.clients(paths.length);
      await using peer = test.peer();
      for (const frame of FRAMES) await peer.send(frame);
      await stopAll(loggers, FRAMES.length);
      for (const logger of loggers) {
        assert(
          logger.err.text().includes(`Recorded ${FRAMES.length} frames to `),
          logger.err.text(),
        );
      }

      // .jsonl is canremote's own: python-can has no reader for it.
      const forPython = paths.filter((path) => !path.endsWith(".jsonl"));
      const theirs = await python(READ_WITH_PYTHON, forPython) as Record<string, unknown>[][];
      for (const path of paths) {
        const csv = path.includes(".csv"); // python-can's CSV has no CAN FD columns
        const ours = await Array.fromAsync(readLogFile(path));
        const expected = FRAMES.map((f) => shape(f, !csv));
        assertEquals(ours.map((f) => shape(f, !csv)), expected, path);
        const i = forPython.indexOf(path);
        if (i < 0) continue;
        assertEquals(
          theirs[i].map(({ timestamp: _, ...rest }) =>
            csv ? { ...rest, fd: undefined, brs: undefined } : rest
          ),
          csv ? expected.map((e) => ({ ...e, fd: undefined, brs: undefined })) : expected,
          `python-can reading ${path}`,
        );
        assertEquals(theirs[i].map((f) => f.timestamp), ours.map((f) => f.timestamp), path);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test(
  "-s rotates by size as python-can names it; every file is complete",
  requires("python3-can"),
  async () => {
    await using test = await startServer();
    const dir = await Deno.makeTempDir();
    try {
      const logger = runLogger([
        "-i",
        "remote",
        "-c",
        test.url,
        "-f",
        `${dir}/trace.asc`,
        "-s",
        "700",
      ]);
      await test.clients(1);
      await using peer = test.peer();
      const sent: CanFrame[] = [];
      for (let i = 0; i < 40; i++) {
        const frame = createFrame({
          arbitrationId: i,
          isExtendedId: false,
          data: [i, i, i, i, i, i, i, i],
        });
        await peer.send(frame);
        sent.push(frame);
        if (i % 8 === 7) await new Promise((resolve) => setTimeout(resolve, 250)); // a flush tick
      }
      await stopAll([logger], sent.length);
      const files = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
      const rotated = files.filter((name) => name !== "trace.asc");
      assert(rotated.length >= 2, files.join(" "));
      for (const [i, name] of rotated.entries()) {
        assert(
          new RegExp(`^trace_\\d{4}-\\d\\d-\\d\\dT\\d{6}_#${String(i).padStart(3, "0")}\\.asc$`)
            .test(name),
          name,
        );
      }
      const paths = [...rotated, "trace.asc"].map((name) => `${dir}/${name}`);
      const theirs = await python(READ_WITH_PYTHON, paths) as Record<string, unknown>[][];
      assertEquals(theirs.flat().map((f) => f.id), sent.map((f) => f.arbitrationId));
      const ours = [];
      for (const path of paths) ours.push(...await Array.fromAsync(readLogFile(path)));
      assertEquals(ours.map((f) => shape(f)), sent.map((f) => shape(f)));
      assert(logger.err.text().includes(`and ${rotated.length} rotated files`), logger.err.text());
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test(
  "-a appends: one CSV header, the frames of both runs",
  requires("python3-can"),
  async () => {
    await using test = await startServer();
    const dir = await Deno.makeTempDir();
    try {
      const path = `${dir}/trace.csv`;
      for (const id of [0x100, 0x200]) {
        const logger = runLogger(["-i", "remote", "-c", test.url, "-f", path, "-a"]);
        await test.clients(1);
        await using peer = test.peer();
        await peer.send(createFrame({ arbitrationId: id, isExtendedId: false, data: [1] }));
        await stopAll([logger], 1);
        await waitFor(() => test.network.channelSize("0") <= 1, "the logger to leave");
      }
      const text = await Deno.readTextFile(path);
      assertEquals(text.split("\n").filter((l) => l.startsWith("timestamp,")).length, 1);
      const [theirs] = await python(READ_WITH_PYTHON, [path]) as Record<string, unknown>[][];
      assertEquals(theirs.map((f) => f.id), [0x100, 0x200]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("without -f the logger writes candump -L lines to stdout; --filter applies", async () => {
  await using test = await startServer();
  const logger = runLogger([
    "-i",
    "remote",
    "-c",
    test.url,
    "--filter",
    "100:700",
    "--filter=18FEF100:1FFFFFFF",
  ]);
  await test.clients(1);
  await using peer = test.peer();
  for (const frame of FRAMES) await peer.send(frame);
  await peer.send(createFrame({ arbitrationId: 0x1ab, isExtendedId: false, data: [7] }));
  await stopAll([logger], 3);
  const lines = logger.out.text().trimEnd().split("\n");
  assertEquals(lines.map((line) => parseCandump(line).arbitrationId), [0x123, 0x18fef100, 0x1ab]);
  // the server's name of the channel ("0"), as its page and its log say
  assert(/^\(\d{10}\.\d{6}\) 0 123#DEADBEEF$/.test(lines[0]), lines[0]);
  const status = logger.err.text();
  assert(status.includes("frames/s") && status.includes("0 dropped  stdout"), status);
});

Deno.test("when the server goes away the file is still complete, and the exit code is 1", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const test = await startServer();
    const path = `${dir}/trace.asc`;
    const logger = runLogger(["-i", "remote", "-c", test.url, "-f", path]);
    await test.clients(1);
    const peer = test.peer();
    for (const frame of FRAMES) await peer.send(frame);
    await waitFor(() => shownCount(logger.err.text()) >= FRAMES.length, "the frames");
    await peer.close();
    await test.server.close();
    assertEquals(await logger.done, 1);
    assert(logger.err.text().includes(`Recorded ${FRAMES.length} frames`), logger.err.text());
    const text = await Deno.readTextFile(path);
    assert(text.trimEnd().endsWith("End TriggerBlock"), text);
    assertEquals((await Array.fromAsync(readLogFile(path))).length, FRAMES.length);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bad arguments and a missing configuration are reported", async () => {
  const run = async (args: string[], env: Record<string, string> = {}) => {
    const err = capture();
    const code = await main(args, { stderr: err.stream, env, configPath: [] });
    return [code, err.text()] as const;
  };
  let [code, text] = await run(["--nope"]);
  assertEquals(code, 2);
  assert(text.includes("--nope") && text.includes('Try "logger --help"'), text);
  [code, text] = await run(["-f", "x.asc"]);
  assertEquals(code, 1);
  assert(text.includes("No CAN interface configured"), text);
  [code, text] = await run(["-i", "virtual", "-f", "/tmp/x.txt"]);
  assertEquals(code, 1);
  assert(text.includes("Unknown log format"), text);
  [code, text] = await run(["-i", "virtual", "-s", "10k"]);
  assertEquals(code, 2);
  assert(text.includes("--file_size needs --file_name"), text);
  const out = capture();
  assertEquals(await main(["--help"], { stdout: out.stream }), 0);
  assert(out.text().includes("deno task logger -i remote -c ws://127.0.0.1:54701/ -f trace.asc"));
});

Deno.test(
  "a logger process stopped by SIGTERM or SIGINT closes its file with every frame",
  requires("python3-can"),
  async () => {
    await using test = await startServer();
    const dir = await Deno.makeTempDir();
    const count = 500;
    try {
      const cases = [["SIGTERM", `${dir}/term.asc.gz`], ["SIGINT", `${dir}/int.log`]] as const;
      const children = cases.map(([, path]) =>
        new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", LOGGER, "-i", "remote", "-c", test.url, "-f", path, "--status"],
          env: denoEnv(dir),
          stdout: "null",
          stderr: "piped",
        }).spawn()
      );
      const stderr = children.map(() => ({ text: "" }));
      const reading = children.map(async (child, i) => {
        for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
          stderr[i].text += chunk;
        }
      });
      await test.clients(children.length);
      await using peer = test.peer();
      for (let i = 0; i < count; i++) {
        await peer.send(
          createFrame({ arbitrationId: i % 0x800, isExtendedId: false, data: [i & 0xff, i >> 8] }),
        );
      }
      for (const [i, [signal]] of cases.entries()) {
        await waitFor(
          () =>
            stderr[i].text.includes(`${count} frames,`) ||
            stderr[i].text.includes(`${count} frames `),
          `${signal} logger to have ${count} frames`,
          10_000,
        );
        children[i].kill(signal);
      }
      for (const [i, child] of children.entries()) {
        const status = await child.status;
        await reading[i];
        assertEquals(status.code, 0, stderr[i].text);
        assert(stderr[i].text.includes(`Recorded ${count} frames`), stderr[i].text);
      }
      const paths = cases.map(([, path]) => path);
      const theirs = await python(READ_WITH_PYTHON, paths) as Record<string, unknown>[][];
      for (const [i, path] of paths.entries()) {
        const ours = await Array.fromAsync(readLogFile(path));
        assertEquals(ours.length, count, path);
        assertEquals(theirs[i].length, count, path);
        assertEquals(
          ours.map((f) => f.data[0] | f.data[1] << 8),
          Array.from({ length: count }, (_, k) => k),
        );
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test(
  "can-utils reads the logger's .log files: log2long shows every frame",
  requires("can-utils"),
  async () => {
    await using test = await startServer();
    const dir = await Deno.makeTempDir();
    try {
      const path = `${dir}/trace.log`;
      const logger = runLogger(["-i", "remote", "-c", test.url, "-f", path]);
      await test.clients(1);
      await using peer = test.peer();
      for (const frame of FRAMES) await peer.send(frame);
      await stopAll([logger], FRAMES.length);
      const child = new Deno.Command("sh", {
        args: ["-c", `log2long < "${path}"`],
        stdout: "piped",
      });
      const lines = new TextDecoder().decode((await child.output()).stdout).trimEnd().split("\n");
      assertEquals(lines.length, FRAMES.length);
      const ids = lines.map((line) => line.trim().split(/\s+/)[2]);
      assertEquals(ids, ["123", "1F334455", "7DF", "000", "456", "18FEF100"]);
      assert(lines[5].includes("[64]  FF FE FD"), lines[5]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("python-can 4.1's logger flags: several filters after one --filter, -v, --active, --passive", async () => {
  await using test = await startServer();
  const args = ["-i", "remote", "-c", test.url, "-v", "--filter", "100:700", "18FEF100:1FFFFFFF"];
  const logger = runLogger([...args, "--active"]);
  const passive = runLogger([...args, "--passive", "-vv"]);
  await test.clients(2);
  await using peer = test.peer();
  for (const frame of FRAMES) await peer.send(frame);
  await stopAll([logger, passive], 2);
  for (const { out } of [logger, passive]) {
    const ids = out.text().trimEnd().split("\n").map((line) => parseCandump(line).arbitrationId);
    assertEquals(ids, [0x123, 0x18fef100]);
  }
  assert(!logger.err.text().includes("--passive"), logger.err.text());
  assert(passive.err.text().includes("--passive: this interface has no bus state"));

  const err = capture();
  const code = await main(["-i", "virtual", "--active", "--passive"], {
    stderr: err.stream,
    env: {},
    configPath: [],
  });
  assertEquals(code, 2);
  assert(err.text().includes("--active and --passive exclude each other"), err.text());
});

Deno.test("-s counts each frame's text: a file rotates within one frame of the limit", async () => {
  await using test = await startServer();
  const dir = await Deno.makeTempDir();
  try {
    const names = ["burst.asc", "burst.log", "burst.csv.gz"];
    const loggers = names.map((name) =>
      runLogger(["-i", "remote", "-c", test.url, "-f", `${dir}/${name}`, "-s", "2k"])
    );
    await test.clients(names.length);
    await using peer = test.peer();
    // Faster than the logger's 200 ms flush: the whole burst lands between two ticks.
    const count = 300;
    for (let i = 0; i < count; i++) {
      await peer.send(
        createFrame({
          arbitrationId: i,
          isExtendedId: false,
          data: [i & 0xff, 1, 2, 3, 4, 5, 6, 7],
        }),
      );
    }
    await stopAll(loggers, count);
    const files = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    for (const name of names) {
      const [stem, ext] = [name.slice(0, 5), name.slice(5)];
      const rotated = files.filter((f) => f.startsWith(`${stem}_`) && f.endsWith(ext));
      assert(rotated.length >= 5, `${name}: ${files.join(" ")}`);
      const frames = [];
      for (const file of [...rotated, name]) {
        const path = `${dir}/${file}`;
        const bytes = await Deno.readFile(path);
        // gunzipSync: a flush may have started a second gzip member.
        const text = new TextDecoder().decode(ext.endsWith(".gz") ? gunzipSync(bytes) : bytes);
        const size = new TextEncoder().encode(text).length;
        const lastFrame = text.trimEnd().split("\n").filter((line) => /[0-9A-F]{2}/.test(line)).at(
          -1,
        )!;
        if (file !== name) {
          // At least the limit; over it by at most the last frame's line and the trailer.
          assert(size >= 2000 && size <= 2000 + lastFrame.length + 40, `${file}: ${size} bytes`);
        }
        frames.push(...await Array.fromAsync(readLogFile(path)));
      }
      assertEquals(frames.map((f) => f.arbitrationId), Array.from({ length: count }, (_, i) => i));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--reconnect keeps recording into the same file across a server restart", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/trace.log`;
    const first = await startServer();
    const port = first.server.addr.port;
    const logger = runLogger(["-i", "remote", "-c", first.url, "-f", path, "--reconnect"]);
    await first.clients(1);
    const before = first.peer();
    await before.send(FRAMES[0]);
    await before.send(FRAMES[1]);
    await waitFor(() => shownCount(logger.err.text()) >= 2, "the frames before the restart");
    await before.close();
    await first.server.close();
    await waitFor(() => logger.err.text().includes("; reconnecting"), "the logger to notice");

    const network = new VirtualNetwork();
    await using second = await serve({
      port,
      backend: new VirtualBackend(["0"], network),
    });
    await waitFor(() => network.channelSize("0") >= 1, "the logger to reconnect", 10_000);
    await using after = VirtualBus.open({ channel: "0", network });
    await after.send(FRAMES[2]);
    await after.send(FRAMES[3]);
    await stopAll([logger], 4);
    const text = logger.err.text();
    assert(text.includes("Disconnected (") && text.includes(`Reconnected to `), text);
    assert(text.includes("Recorded 4 frames"), text);
    assertEquals(
      (await Array.fromAsync(readLogFile(path))).map((f) => shape(f)),
      FRAMES.slice(0, 4).map((f) => shape(f)),
    );
    assertEquals(second.url, first.url);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a CAN FD frame written to .csv gets one warning; classic frames none", async () => {
  await using test = await startServer();
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/trace.csv`;
    const logger = runLogger(["-i", "remote", "-c", test.url, "-f", path]);
    await test.clients(1);
    await using peer = test.peer();
    await peer.send(FRAMES[0]);
    await waitFor(() => shownCount(logger.err.text()) >= 1, "the classic frame");
    assertEquals(logger.err.text().includes("CAN FD"), false);
    for (const frame of [FRAMES[4], FRAMES[5], FRAMES[4]]) await peer.send(frame);
    await stopAll([logger], 4);
    const warnings = logger.err.text().split("\n").filter((l) => l.includes("no CAN FD column"));
    assertEquals(warnings.length, 1, logger.err.text());
    assert(warnings[0].includes(`${path} is CSV`), warnings[0]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const DEMO_DBC = new URL("../../server/backends/demo.dbc", import.meta.url).pathname;

Deno.test("logger --dbc writes one CSV row per signal value, to a file or stdout", async () => {
  await using test = await startServer();
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/signals.csv`;
    const toFile = runLogger(["-i", "remote", "-c", test.url, "--dbc", DEMO_DBC, "-f", path]);
    const toStdout = runLogger(["-i", "remote", "-c", test.url, "--dbc", DEMO_DBC]);
    await test.clients(2);
    await using peer = test.peer();
    await peer.send(
      createFrame({ timestamp: 0, arbitrationId: 0x3e8, isExtendedId: false, data: [3, 0x81] }),
    );
    await peer.send(createFrame({ arbitrationId: 0x3e9, isExtendedId: false, data: [1] }));
    await peer.send(
      createFrame({ arbitrationId: 0x18fef100, data: [0xff, 0, 0x32, 0x1f, 0, 0, 0, 0xff] }),
    );
    await stopAll([toFile, toStdout], 3);
    for (const text of [await Deno.readTextFile(path), toStdout.out.text()]) {
      const rows = text.trimEnd().split("\n").map((line) => line.split(","));
      assertEquals(rows[0], ["timestamp", "message", "signal", "value", "unit", "label"]);
      assertEquals(rows.slice(1).map((r) => r.slice(1)), [
        ["Transmission", "Gear", "3", "", "Third"],
        ["Transmission", "EngineRunning", "1", "", "On"],
        ["Transmission", "BrakePressed", "1", "", "Pressed"],
        ["CCVS", "ParkingBrakeSwitch", "3", "", "NotAvailable"],
        ["CCVS", "WheelBasedVehicleSpeed", "50", "km/h", ""],
        ["CCVS", "CruiseControlActive", "3", "", "NotAvailable"],
        ["CCVS", "CruiseControlEnableSwitch", "3", "", "NotAvailable"],
        ["CCVS", "BrakeSwitch", "1", "", "Pressed"],
        ["CCVS", "ClutchSwitch", "0", "", "Released"],
      ]);
      assert(rows.slice(1).every((r) => Number(r[0]) > 1e9), "receive timestamps");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("logger --dbc needs a .csv file", async () => {
  const err = capture();
  const code = await main([
    "-i",
    "remote",
    "-c",
    "ws://127.0.0.1:1/",
    "--dbc",
    DEMO_DBC,
    "-f",
    "x.log",
  ], {
    stderr: err.stream,
    env: {},
    configPath: [],
  });
  assertEquals(code, 2);
  assert(
    err.text().includes('--dbc writes signal rows as CSV: name a .csv file, not "x.log"'),
    err.text(),
  );
});
