// The player against a real server: files python-can's can.Logger writes
// are replayed as python-can's LogReader reads them; timing (--speed,
// --skip, --ignore-timestamps/--gap), --loop, error frames and bad files.
import { main } from "../cli/player.ts";
import type { CanFrame } from "../frame.ts";
import type { VirtualBus } from "../virtual_bus.ts";
import { assert, assertEquals } from "./_assert.ts";
import {
  capture,
  python,
  READ_WITH_PYTHON,
  runOnServer,
  shape,
  startServer,
  waitFor,
} from "./_cli.ts";
import { requires } from "./_requires.ts";

// Writes each job's frames with can.Logger (the format follows the extension).
const WRITE_WITH_PYTHON = `
import json, sys
import can
for job in json.load(sys.stdin):
    with can.Logger(job["path"]) as logger:
        for f in job["frames"]:
            logger.on_message_received(can.Message(
                timestamp=float(f["t"]), arbitration_id=f["id"], is_extended_id=f["ext"],
                is_remote_frame=f.get("rtr", False), is_fd=f.get("fd", False),
                bitrate_switch=f.get("brs", False), dlc=f.get("dlc"),
                data=bytes.fromhex(f.get("data", "")), channel=0))
json.dump(None, sys.stdout)
`;

const CLASSIC = [
  { t: 1700000000.0, id: 0x123, ext: false, data: "deadbeef" },
  { t: 1700000000.001, id: 0x1f334455, ext: true, data: "0102030405060708" },
  { t: 1700000000.002, id: 0x7df, ext: false, rtr: true, dlc: 2 },
  { t: 1700000000.003, id: 0x000, ext: false, data: "" },
];
const FD = [
  {
    t: 1700000000.004,
    id: 0x456,
    ext: false,
    fd: true,
    brs: true,
    data: "00112233445566778899aabb",
  },
  { t: 1700000000.005, id: 0x18fef100, ext: true, fd: true, data: "ab".repeat(64) },
];

/** Collects what a peer receives. */
function collect(
  peer: VirtualBus,
): { frames: CanFrame[]; arrivals: number[]; done: Promise<void> } {
  const frames: CanFrame[] = [];
  const arrivals: number[] = [];
  const done = (async () => {
    try {
      for await (const frame of peer) {
        frames.push(frame);
        arrivals.push(performance.now());
      }
    } catch {
      // closed
    }
  })();
  return { frames, arrivals, done };
}

const play = (url: string, args: string[]) => runOnServer(main, url, args);

Deno.test(
  "files python-can writes are replayed as python-can reads them",
  requires("python3-can"),
  async () => {
    await using test = await startServer();
    const dir = await Deno.makeTempDir();
    try {
      const names = ["p.log", "p.asc", "p.csv", "p.log.gz", "p.asc.gz", "p.csv.gz"];
      const jobs = names.map((name) => ({
        path: `${dir}/${name}`,
        frames: name.includes(".csv") ? CLASSIC : [...CLASSIC, ...FD],
      }));
      await python(WRITE_WITH_PYTHON, jobs);
      const theirs = await python(READ_WITH_PYTHON, jobs.map((j) => j.path)) as Record<
        string,
        unknown
      >[][];
      for (const [i, job] of jobs.entries()) {
        const peer = test.peer();
        const seen = collect(peer);
        const [code, text] = await play(test.url, [job.path, "--ignore-timestamps", "-g", "0"]);
        assertEquals(code, 0, text);
        assert(text.includes(`Sent ${job.frames.length} frames from ${job.path}`), text);
        await waitFor(() => seen.frames.length >= job.frames.length, job.path);
        await peer.close();
        await seen.done;
        const csv = job.path.includes(".csv");
        const expected = theirs[i].map(({ timestamp: _, ...rest }) =>
          csv ? { ...rest, fd: false, brs: false } : rest
        );
        assertEquals(seen.frames.map((f) => shape(f)), expected, job.path);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("replay keeps the recorded timing; --speed, --skip and --gap change it", async () => {
  await using test = await startServer();
  const dir = await Deno.makeTempDir();
  try {
    const even = `${dir}/even.log`;
    await Deno.writeTextFile(
      even,
      [0, 0.1, 0.2, 0.3, 0.4].map((t, i) => `(${(100 + t).toFixed(6)}) vcan0 10${i}#0${i}\n`).join(
        "",
      ),
    );
    const gap = `${dir}/gap.log`;
    await Deno.writeTextFile(gap, "(100.000000) vcan0 100#00\n(200.000000) vcan0 101#01\n");
    const span = async (path: string, args: string[], count: number) => {
      const peer = test.peer();
      const seen = collect(peer);
      const [code, text] = await play(test.url, [path, ...args]);
      assertEquals(code, 0, text);
      await waitFor(() => seen.frames.length >= count, path);
      await peer.close();
      await seen.done;
      assertEquals(seen.frames.map((f) => f.data[0]), Array.from({ length: count }, (_, i) => i));
      return (seen.arrivals.at(-1)! - seen.arrivals[0]) / 1000;
    };
    const normal = await span(even, [], 5);
    assert(normal >= 0.35 && normal < 2, `0.4 s of frames took ${normal} s`);
    const fast = await span(even, ["--speed", "4"], 5);
    assert(fast >= 0.07 && fast < normal / 2, `at --speed 4, 0.4 s took ${fast} s`);
    const skipped = await span(gap, ["--skip", "0.1"], 2);
    assert(skipped >= 0.08 && skipped < 2, `a 100 s pause with --skip 0.1 took ${skipped} s`);
    const gapped = await span(gap, ["--ignore-timestamps", "-g", "0.2"], 2);
    assert(gapped >= 0.15 && gapped < 2, `--gap 0.2 took ${gapped} s`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--loop starts over until stopped; error frames only with --error-frames", async () => {
  await using test = await startServer();
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/loop.log`;
    await Deno.writeTextFile(
      path,
      "(1.000000) vcan0 100#01\n(1.001000) vcan0 20000004#0004000000000000\n(1.002000) vcan0 101#02\n",
    );
    const peer = test.peer();
    const seen = collect(peer);
    const stop = new AbortController();
    const err = capture();
    const done = main(["-i", "remote", "-c", test.url, "--loop", path], {
      signal: stop.signal,
      stderr: err.stream,
      env: {},
      configPath: [],
    });
    await waitFor(() => seen.frames.length >= 6, "three passes");
    stop.abort();
    assertEquals(await done, 0, err.text());
    assert(seen.frames.every((f) => !f.isErrorFrame));

    const [code, text] = await play(test.url, [path, "--error-frames", "--ignore-timestamps"]);
    assertEquals(code, 0, text);
    await waitFor(() => seen.frames.some((f) => f.isErrorFrame), "the error frame");
    assertEquals(seen.frames.find((f) => f.isErrorFrame)?.arbitrationId, 4);
    await peer.close();
    await seen.done;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a bad line, a missing file and bad flags are reported", async () => {
  await using test = await startServer();
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/bad.log`;
    await Deno.writeTextFile(path, "(1.000000) vcan0 100#01\nnot a frame\n");
    let [code, text] = await play(test.url, [path, "--ignore-timestamps"]);
    assertEquals(code, 1);
    assert(text.includes(`${path}: line 2: `), text);
    [code, text] = await play(test.url, [`${dir}/missing.log`]);
    assertEquals(code, 1);
    assert(text.includes("missing.log"), text);
    [code, text] = await play(test.url, [path, "--speed", "0"]);
    assertEquals(code, 2);
    assert(text.includes("--speed must be a number"), text);
    [code, text] = await play(test.url, []);
    assertEquals(code, 2);
    assert(text.includes("give the file to replay"), text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
