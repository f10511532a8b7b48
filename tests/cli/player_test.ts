// The player against a real server: files python-can's can.Logger writes
// are replayed as python-can's LogReader reads them; timing (--speed,
// --skip, --ignore-timestamps/--gap), --loop and its pause, error frames,
// bad lines (skipped, or --strict), damaged and empty files, and frames the
// server refuses.
import { main } from "../../cli/player.ts";
import type { CanFrame } from "../../core/frame.ts";
import { VirtualBus, VirtualNetwork } from "../../core/virtual_bus.ts";
import { assert, assertEquals } from "../_helpers/assert.ts";
import {
  capture,
  python,
  READ_WITH_PYTHON,
  runOnServer,
  shape,
  startServer,
  waitFor,
} from "../_helpers/cli.ts";
import { requires } from "../_helpers/requires.ts";

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
    assertEquals(text, `player: No such file: ${dir}/missing.log\n`);
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

Deno.test("bad lines are reported with their number and skipped; --strict stops at the first", async () => {
  await using test = await startServer();
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/bad.log`;
    await Deno.writeTextFile(
      path,
      "(1.000000) vcan0 100#01\nnot a frame\n(1.002000) vcan0 101#02\n(1.003000) vcan0 1\n" +
        "(1.004000) vcan0 102#03\n",
    );
    const peer = test.peer();
    const seen = collect(peer);
    let [code, text] = await play(test.url, ["-f", path, "--ignore-timestamps"]);
    assertEquals(code, 1, text);
    const lines = text.trimEnd().split("\n");
    assertEquals(lines.length, 3, text);
    assert(
      lines[0].startsWith(`player: ${path}: line 2: `) && lines[0].endsWith(" (skipped)"),
      text,
    );
    assert(
      lines[1].startsWith(`player: ${path}: line 4: `) && lines[1].endsWith(" (skipped)"),
      text,
    );
    assertEquals(lines[2], `Sent 3 frames from ${path}; skipped 2 bad lines`);
    await waitFor(() => seen.frames.length >= 3, "the good frames");
    assertEquals(seen.frames.map((f) => f.arbitrationId), [0x100, 0x101, 0x102]);

    [code, text] = await play(test.url, [path, "--ignore-timestamps", "--strict"]);
    assertEquals(code, 1, text);
    assert(text.startsWith(`player: ${path}: line 2: `) && !text.includes("skipped"), text);
    await waitFor(() => seen.frames.length >= 4, "the frame before the bad line");
    await new Promise((resolve) => setTimeout(resolve, 50));
    await peer.close();
    await seen.done;
    assertEquals(seen.frames.map((f) => f.arbitrationId), [0x100, 0x101, 0x102, 0x100]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("damaged and empty files are named in the message", async () => {
  await using test = await startServer();
  const dir = await Deno.makeTempDir();
  try {
    const text = "(1.000000) vcan0 100#01\n(1.001000) vcan0 101#02\n";
    const gz = await new Response(
      new Blob([text]).stream().pipeThrough(new CompressionStream("gzip")),
    ).bytes();
    const truncated = `${dir}/truncated.log.gz`;
    await Deno.writeFile(truncated, gz.subarray(0, gz.length - 6));
    const garbage = `${dir}/garbage.log.gz`;
    await Deno.writeTextFile(garbage, text);
    const emptyGz = `${dir}/empty.log.gz`;
    await Deno.writeFile(emptyGz, new Uint8Array());
    const empty = `${dir}/empty.asc`;
    await Deno.writeTextFile(empty, "\n\n");
    for (
      const [path, message] of [
        [truncated, "corrupt gzip stream"],
        [garbage, "invalid gzip header"],
        [emptyGz, "the file is empty"],
        [empty, "the file is empty"],
      ]
    ) {
      const [code, err] = await play(test.url, [path, "--ignore-timestamps"]);
      assertEquals(code, 1, err);
      assert(err.startsWith(`player: ${path}: ${message}`), err);
      assert(!err.includes("Sent"), err);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("frames the server refuses are reported at once and make the exit code 1", async () => {
  const token = "dashboard-read-only-7c1e";
  await using test = await startServer({
    tokens: [{ token, role: "ro" }, "operator-read-write-3b9d"],
    allowedIds: [{ from: 0x100, to: 0x1ff }],
  });
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/six.log`;
    await Deno.writeTextFile(
      path,
      [0x100, 0x101, 0x102, 0x200, 0x103, 0x104]
        .map((id, i) => `(1.00${i}000) vcan0 ${id.toString(16)}#0${i}\n`).join(""),
    );
    let [code, text] = await play(test.url, [`--token=${token}`, path]);
    assertEquals(code, 1, text);
    assertEquals(
      text,
      "player: the server refused: read-only client: cannot send frames\n" +
        "player: the server refused 6 times in all\n",
    );
    // The message comes as the refusal arrives, not at the end of a long recording.
    const slow = `${dir}/slow.log`;
    await Deno.writeTextFile(slow, "(1.000000) vcan0 100#01\n(60.000000) vcan0 101#02\n");
    const stop = new AbortController();
    const err = capture();
    const done = main(["-i", "remote", "-c", test.url, `--token=${token}`, slow], {
      signal: stop.signal,
      stderr: err.stream,
      env: {},
      configPath: [],
    });
    await waitFor(() => err.text().includes("read-only client"), "the refusal");
    stop.abort();
    assertEquals(await done, 1);
    assertEquals(err.text(), "player: the server refused: read-only client: cannot send frames\n");
    const peer = test.peer();
    const seen = collect(peer);
    [code, text] = await play(test.url, ["--token=operator-read-write-3b9d", path]);
    assertEquals(code, 1, text);
    assert(
      text.startsWith("player: the server refused: Arbitration id 0x200 may not be sent"),
      text,
    );
    assert(!text.includes("Sent"), text);
    await waitFor(() => seen.frames.length >= 5, "the allowed frames");
    await peer.close();
    await seen.done;
    assertEquals(seen.frames.map((f) => f.arbitrationId), [0x100, 0x101, 0x102, 0x103, 0x104]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--loop refuses a file without frames and pauses between passes", async () => {
  await using test = await startServer();
  const dir = await Deno.makeTempDir();
  try {
    const header = `${dir}/header.csv`;
    await Deno.writeTextFile(header, "timestamp,arbitration_id,extended,remote,error,dlc,data\n");
    let [code, text] = await play(test.url, ["--loop", header]);
    assertEquals(code, 1, text);
    assertEquals(text, `player: --loop: ${header} has no frames to play\n`);
    const errors = `${dir}/errors.log`;
    await Deno.writeTextFile(errors, "(1.000000) vcan0 20000004#0004000000000000\n");
    [code, text] = await play(test.url, ["--loop", errors]);
    assertEquals(code, 1, text);
    assert(text.includes("(1 error frame: add --error-frames)"), text);

    // Three frames 0.1 s apart: the next pass starts 0.1 s (the mean interval) after the last.
    const three = `${dir}/three.log`;
    await Deno.writeTextFile(
      three,
      "(1.000000) vcan0 100#00\n(1.100000) vcan0 101#01\n(1.200000) vcan0 102#02\n",
    );
    // One frame: passes --gap apart.
    const one = `${dir}/one.log`;
    await Deno.writeTextFile(one, "(1.000000) vcan0 100#00\n");
    for (const [path, args, count] of [[three, [], 6], [one, ["-g", "0.05"], 4]] as const) {
      const peer = test.peer();
      const seen = collect(peer);
      const stop = new AbortController();
      const err = capture();
      const done = main(["-i", "remote", "-c", test.url, "--loop", ...args, path], {
        signal: stop.signal,
        stderr: err.stream,
        env: {},
        configPath: [],
      });
      await waitFor(() => seen.frames.length >= count, `${count} frames of ${path}`);
      stop.abort();
      assertEquals(await done, 0, err.text());
      await peer.close();
      await seen.done;
      const gaps = seen.arrivals.slice(1).map((t, i) => (t - seen.arrivals[i]) / 1000);
      assert(gaps.slice(0, count - 1).every((gap) => gap >= 0.035), `${path}: ${gaps.join()}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("python-can 4.1's player flags: -f FILE and -vv, on a local bus", async () => {
  const network = new VirtualNetwork();
  await using peer = VirtualBus.open({ channel: "0", network });
  const path = await Deno.makeTempFile({ suffix: ".log" });
  try {
    await Deno.writeTextFile(path, "(1.000000) vcan0 123#11\n(1.001000) vcan0 124#22\n");
    const out = capture();
    const err = capture();
    const code = await main(["-i", "virtual", "-c", "0", "-vv", "-f", path], {
      network,
      stdout: out.stream,
      stderr: err.stream,
      env: {},
      configPath: [],
    });
    assertEquals(code, 0, err.text());
    assertEquals(out.text().split("\n").map((line) => line.split(" ")[2]), [
      "123#11",
      "124#22",
      undefined,
    ]);
    assertEquals([peer.poll()?.arbitrationId, peer.poll()?.arbitrationId], [0x123, 0x124]);
    assertEquals(err.text(), `Sent 2 frames from ${path}\n`);
  } finally {
    await Deno.remove(path);
  }
});
