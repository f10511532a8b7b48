// Benchmark of the bridge: one sender, K receivers through a server running
// in its own process, in both wire formats. Reports delivered frames/s, loss,
// latency (at 200 frames/s, timed by this process's receivers and, with
// python3, by the kernel; and of a burst after a request and its answer),
// the server's CPU time per delivered frame (from /proc), its RSS growth
// with 0, 1 and 20 stalled receivers, and its start-up time. `deno task
// bench`; docs/benchmark.md explains the figures. Linux only (reads /proc).
import { parseArgs } from "node:util";
import { decodeEvent } from "../core/codec.ts";
import { encodeBinary } from "../core/codec_binary.ts";
import { createFrame } from "../core/frame.ts";
import { BINARY_PROTOCOL, JSON_PROTOCOL } from "../core/protocol.ts";
import { isoTpBurstTimes } from "../tests/_helpers/iso_tp_burst.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    frames: { type: "string", default: "20000" },
    receivers: { type: "string", default: "1,10,50" },
    stall: { type: "string", default: "500000" },
    quick: { type: "boolean", default: false },
    "only-memory": { type: "boolean", default: false },
    "server-v8-flags": { type: "string" },
    "server-output": { type: "boolean", default: false },
    // Share this SocketCAN interface instead of the virtual bus (in the VM:
    // tests/vm/run-in-can-vm.sh deno run -A bench/bridge_bench.ts --socketcan vcan0).
    socketcan: { type: "string" },
    // Only the delivery table, for these variants (e.g. "binary,binary-batches"):
    // the VM runs under emulation, where the whole benchmark takes too long.
    "only-throughput": { type: "string" },
  },
}).values;
const FRAMES = args.quick ? 2000 : Number(args.frames);
const RECEIVERS = args.receivers.split(",").map(Number);
const STALL_FRAMES = args.quick ? 20000 : Number(args.stall);
const TICKS = 100; // USER_HZ of /proc/PID/stat on Linux

interface Server {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

// Milliseconds from spawn to the listening line, per script: how fast a
// gateway is back after a restart, beside a Deno server with no code of ours.
const starts = new Map<string, number[]>();

async function startServer(script = "../server.ts"): Promise<Server> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const path = new URL(script, import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      ...(args["server-v8-flags"] ? [`--v8-flags=${args["server-v8-flags"]}`] : []),
      path,
      ...(script === "../server.ts"
        ? [
          "-p",
          String(port),
          "--max-send-rate",
          "0",
          ...(args.socketcan ? ["-i", "socketcan", "-c", args.socketcan] : []),
        ]
        : [String(port)]),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const spawned = performance.now();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("Web page")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`server exited: ${seen}`);
    seen += value;
  }
  starts.set(script, [...starts.get(script) ?? [], performance.now() - spawned]);
  // Keeps the pipe flowing; --server-output shows what the server prints
  // (e.g. --server-v8-flags=--trace-gc) on stderr.
  const echo = args["server-output"]
    ? (text: string) => Deno.stderr.writeSync(new TextEncoder().encode(text))
    : () => {};
  echo(seen);
  const drain = (async () => {
    while (true) {
      const { value, done } = await reader.read();
      if (done) return;
      echo(value);
    }
  })();
  return {
    url: `ws://127.0.0.1:${port}/`,
    pid: child.pid,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await drain;
    },
  };
}

function cpuSeconds(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS; // utime + stime
}

function rssMiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

interface Receiver {
  ws: WebSocket;
  count: number;
  latencies: number[];
}

async function open(url: string, protocol: string): Promise<WebSocket> {
  const ws = new WebSocket(url, [protocol]);
  ws.binaryType = "arraybuffer";
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  return ws;
}

async function connect(url: string, protocol: string, config = {}): Promise<WebSocket> {
  const ws = await open(url, protocol);
  ws.send(JSON.stringify({ type: "bus_request", payload: { config } }));
  await new Promise<void>((resolve) => {
    ws.onmessage = () => resolve();
  });
  return ws;
}

async function receiver(
  url: string,
  protocol: string,
  measure: boolean,
  batches = false,
): Promise<Receiver> {
  const ws = await connect(url, protocol, batches ? { message_batches: true } : {});
  const r: Receiver = { ws, count: 0, latencies: [] };
  ws.onmessage = (e) => {
    if (batches) {
      const event = decodeEvent(typeof e.data === "string" ? e.data : new Uint8Array(e.data));
      r.count += event.type === "message_batch" ? event.frames.length : 1;
      return;
    }
    r.count++;
    if (!measure) return;
    // Arrival first, then the cheapest read of the sender's timestamp, so
    // the receivers' own work adds as little as possible to what is measured.
    const arrival = now();
    if (typeof e.data !== "string") {
      r.latencies.push(arrival - new DataView(e.data).getFloat64(1) * 1000);
      return;
    }
    const event = decodeEvent(e.data);
    if (event.type === "message") r.latencies.push(arrival - event.frame.timestamp * 1000);
  };
  return r;
}

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quantile = (sorted: number[], q: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN;

function frameBytes(i: number, timestamp = 0): Uint8Array {
  return encodeBinary(createFrame({
    arbitrationId: i & 0x7ff,
    isExtendedId: false,
    data: [i & 0xff, (i >> 8) & 0xff, 0, 1, 2, 3, 4, 5],
    timestamp,
  }));
}

async function closeAll(sockets: WebSocket[]) {
  await Promise.all(sockets.map((ws) =>
    new Promise((resolve) => {
      ws.onclose = resolve;
      ws.close();
    })
  ));
}

/** Max-rate run with a window: the sender stays at most `window` frames ahead of the slowest receiver. */
async function throughput(server: Server, protocol: string, k: number, batches = false) {
  const receivers = await Promise.all(
    Array.from({ length: k }, () => receiver(server.url, protocol, false, batches)),
  );
  const sender = await connect(server.url, BINARY_PROTOCOL);
  const window = 500;
  const cpu0 = cpuSeconds(server.pid);
  const t0 = performance.now();
  for (let i = 0; i < FRAMES; i++) {
    sender.send(frameBytes(i));
    if (i % 100 === 99) {
      const deadline = performance.now() + 5000;
      while (
        Math.min(...receivers.map((r) => r.count)) < i - window && performance.now() < deadline
      ) await sleep(1);
    }
  }
  const deadline = performance.now() + 10_000;
  while (receivers.some((r) => r.count < FRAMES) && performance.now() < deadline) await sleep(5);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(server.pid) - cpu0;
  const delivered = receivers.reduce((n, r) => n + r.count, 0);
  await closeAll([sender, ...receivers.map((r) => r.ws)]);
  return {
    delivered,
    lost: FRAMES * k - delivered,
    framesPerSecond: delivered / seconds,
    cpuMicrosPerFrame: (cpu / delivered) * 1e6,
  };
}

/** The same delivery through a bare Deno WebSocket server (bench/_floor_server.ts). */
async function floor(server: Server, k: number) {
  const receivers = await Promise.all(Array.from({ length: k }, async () => {
    const r = { ws: await open(server.url, BINARY_PROTOCOL), count: 0 };
    r.ws.onmessage = () => r.count++;
    return r;
  }));
  const control = await open(server.url, BINARY_PROTOCOL);
  await sleep(100);
  const cpu0 = cpuSeconds(server.pid);
  control.send(`go ${FRAMES}`);
  const deadline = performance.now() + 30_000;
  while (receivers.some((r) => r.count < FRAMES) && performance.now() < deadline) await sleep(5);
  const cpu = cpuSeconds(server.pid) - cpu0;
  const delivered = receivers.reduce((n, r) => n + r.count, 0);
  await closeAll([control, ...receivers.map((r) => r.ws)]);
  return { cpuMicrosPerFrame: (cpu / delivered) * 1e6 };
}

// Frames of the latency runs: the warm-up, then those measured.
const WARM_UP = args.quick ? 20 : 200;
const MEASURED = args.quick ? 100 : 1000;

/**
 * Sends `WARM_UP + MEASURED` frames at 200 frames/s, each stamped with the
 * sender's clock; `measuring` runs between the warm-up and the rest. The
 * first second is a warm-up: it meets code not compiled yet, and, on the
 * bare relay, the first exchange's delayed ACK (one run: frames 1 to 8
 * arrived 4 to 37 ms late).
 */
async function sendAt200(server: Server, measuring: () => void) {
  const sender = await connect(server.url, BINARY_PROTOCOL, { preserve_timestamps: true });
  const t0 = performance.now();
  for (let i = 0; i < WARM_UP + MEASURED; i++) {
    const due = t0 + i * 5;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    if (i === WARM_UP) measuring();
    sender.send(frameBytes(i, now() / 1000));
  }
  await sleep(200);
  return sender;
}

/** p50 and p99 of one latency run's ms, and how many of its frames never arrived. */
function summary(latencies: number[], k: number) {
  const all = latencies.toSorted((a, b) => a - b);
  return { p50: quantile(all, 0.5), p99: quantile(all, 0.99), lost: MEASURED * k - all.length };
}

/**
 * 200 frames/s to k receivers in this process; latency from the sender's
 * clock (same process) to the receiver's handler.
 */
async function latency(server: Server, protocol: string, k: number) {
  const receivers = await Promise.all(
    Array.from({ length: k }, () => receiver(server.url, protocol, true)),
  );
  const sender = await sendAt200(server, () => {
    for (const r of receivers) r.latencies.length = 0;
  });
  await closeAll([sender, ...receivers.map((r) => r.ws)]);
  return summary(receivers.flatMap((r) => r.latencies), k);
}

/**
 * The same traffic to k binary receivers in a python3 process
 * (bench/_kernel_arrivals.py) that times each frame by the kernel's receive
 * timestamp: the latency of the server and the kernel, without the wait
 * in a harness that serves 50 receivers on one thread.
 */
async function kernelLatency(server: Server, k: number) {
  const child = new Deno.Command("python3", {
    args: [
      new URL("./_kernel_arrivals.py", import.meta.url).pathname,
      "127.0.0.1",
      new URL(server.url).port,
      BINARY_PROTOCOL,
      String(k),
      String(WARM_UP),
      String(MEASURED),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  // The next line python3 prints; it ends each wait itself (10 s without a frame).
  const line = async () => {
    while (!text.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) throw new Error(`bench/_kernel_arrivals.py ended: ${text}`);
      text += value;
    }
    const [first] = text.split("\n", 1);
    text = text.slice(first.length + 1);
    return first;
  };
  try {
    if ((await line()) !== "ready") throw new Error("bench/_kernel_arrivals.py did not start");
    const sender = await sendAt200(server, () => {});
    const latencies = JSON.parse(await line()).latencies as number[];
    await closeAll([sender]);
    // The sender's clock is the kernel's CLOCK_REALTIME; a step in it would show here.
    const negative = latencies.find((ms) => ms < 0);
    if (negative !== undefined) {
      throw new Error(`A latency of ${negative} ms: the clock was set during the run`);
    }
    return summary(latencies, k);
  } finally {
    await lines.cancel();
    try {
      child.kill();
    } catch {
      // it has ended
    }
    await child.status;
  }
}

/**
 * A request and its answer, then a burst: two RemoteBus clients (Deno's
 * WebSocket, Nagle on) play an ISO-TP first frame, its flow control and
 * seven consecutive frames; ms from the flow control's arrival to the last
 * consecutive frame's, per round.
 */
async function burstAfterAnswer(server: Server, rounds = args.quick ? 10 : 100) {
  const times = await isoTpBurstTimes(server.url, { rounds, receiveTimeoutMs: 5000 });
  times.sort((x, y) => x - y);
  return { p50: quantile(times, 0.5), p99: quantile(times, 0.99), rounds };
}

/** A raw connection past its bus_request that never reads again. */
async function stalledReader(port: number): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const key = "dGhlIHNhbXBsZSBub25jZQ==";
  await conn.write(new TextEncoder().encode(
    `GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${BINARY_PROTOCOL}\r\n\r\n`,
  ));
  await conn.read(new Uint8Array(4096)); // the 101; from now on nothing is read
  const request = new TextEncoder().encode(
    JSON.stringify({ type: "bus_request", payload: { config: {} } }),
  );
  await conn.write(new Uint8Array([0x81, 0x80 | request.length, 0, 0, 0, 0, ...request]));
  return conn;
}

/**
 * `stalled` receivers stop reading (raw TCP, never read) while another
 * reads everything; with none, the same flood as the baseline of what the
 * heap grows anyway.
 */
async function flood(server: Server, stalled: number) {
  const port = Number(new URL(server.url).port);
  const conns = await Promise.all(Array.from({ length: stalled }, () => stalledReader(port)));
  const healthy = await receiver(server.url, BINARY_PROTOCOL, false);
  const sender = await connect(server.url, BINARY_PROTOCOL);
  await sleep(200);
  const rss0 = rssMiB(server.pid);
  let peak = rss0;
  for (let i = 0; i < STALL_FRAMES; i++) {
    sender.send(frameBytes(i));
    if (i % 1000 === 999) {
      while (healthy.count < i - 2000) await sleep(1);
      if (i % 20000 === 19999) peak = Math.max(peak, rssMiB(server.pid));
    }
  }
  const deadline = performance.now() + 10_000;
  while (healthy.count < STALL_FRAMES && performance.now() < deadline) await sleep(5);
  peak = Math.max(peak, rssMiB(server.pid));
  const result = { rssGrowthMiB: peak - rss0, healthyLost: STALL_FRAMES - healthy.count };
  for (const conn of conns) conn.close();
  await closeAll([sender, healthy.ws]);
  return result;
}

type Latency = Awaited<ReturnType<typeof latency>>;
const floors = new Map<number, number>();
let bareLatency: Latency | undefined;
let bareKernel: Latency | undefined;
// The kernel-timed rows need python3; without it they are left out.
const python = await new Deno.Command("python3", { args: ["-c", ""] }).output().then(
  (out) => out.success,
  () => false,
);
const only = args["only-throughput"]?.split(",");
if (!args["only-memory"] && !only) {
  const bare = await startServer("./_floor_server.ts");
  try {
    for (const k of RECEIVERS) floors.set(k, (await floor(bare, k)).cpuMicrosPerFrame);
    bareLatency = await latency(bare, BINARY_PROTOCOL, Math.max(...RECEIVERS));
    if (python) bareKernel = await kernelLatency(bare, Math.max(...RECEIVERS));
  } finally {
    await bare.stop();
  }
  // Two more starts, for the start-up line's median.
  for (let i = 0; i < 2; i++) await (await startServer("./_floor_server.ts")).stop();
}
const fmt = (n: number, digits = 2) => n.toFixed(digits);
if (!args["only-memory"]) {
  const server = await startServer();
  try {
    console.log(`# canremote bridge benchmark (${FRAMES} frames per run)\n`);
    console.log(
      "| format | receivers | delivered/s | lost | server CPU us/frame | bare Deno WebSocket us/frame | ratio |",
    );
    console.log("| --- | --- | --- | --- | --- | --- | --- |");
    const variants = [
      [BINARY_PROTOCOL, false, "binary"],
      [JSON_PROTOCOL, false, "json"],
      [BINARY_PROTOCOL, true, "binary, batches"],
      [JSON_PROTOCOL, true, "json, batches"],
    ] as const;
    for (const [protocol, batches, label] of variants) {
      if (only && !only.includes(label.replace(", ", "-"))) continue;
      for (const k of RECEIVERS) {
        const r = await throughput(server, protocol, k, batches);
        const bare = floors.get(k) ?? NaN;
        console.log(
          `| ${label} | ${k} | ${fmt(r.framesPerSecond, 0)} | ${r.lost} | ${
            fmt(r.cpuMicrosPerFrame)
          } | ${fmt(bare)} | ${fmt(r.cpuMicrosPerFrame / bare)} |`,
        );
      }
    }
    if (only) await server.stop().then(() => Deno.exit(0));
    const k = Math.max(...RECEIVERS);
    const row = (label: string, timedBy: string, r: Latency) =>
      console.log(
        `| ${label} | ${k} | 200/s | ${timedBy} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${r.lost} |`,
      );
    console.log("\n| server | receivers | rate | timed by | p50 ms | p99 ms | lost |");
    console.log("| --- | --- | --- | --- | --- | --- | --- |");
    row("canremote, binary", "harness", await latency(server, BINARY_PROTOCOL, k));
    row("canremote, json", "harness", await latency(server, JSON_PROTOCOL, k));
    row("bare Deno WebSocket relay", "harness", bareLatency!);
    if (python) {
      row("canremote, binary", "kernel", await kernelLatency(server, k));
      row("bare Deno WebSocket relay", "kernel", bareKernel!);
    }
    const burst = await burstAfterAnswer(server);
    console.log(
      `\nRemoteBus to RemoteBus, first frame, flow control, then 7 consecutive frames ` +
        `(${burst.rounds} rounds): p50 ${fmt(burst.p50)} ms, p99 ${fmt(burst.p99)} ms ` +
        `from the flow control's arrival to the last consecutive frame's`,
    );
  } finally {
    await server.stop();
  }
}
// Each memory run gets a fresh server process.
const rss = new Map<number, { rssGrowthMiB: number; healthyLost: number }>();
for (const stalled of [0, 1, 20]) {
  const fresh = await startServer();
  try {
    rss.set(stalled, await flood(fresh, stalled));
  } finally {
    await fresh.stop();
  }
}
console.log(`\nFlood of ${STALL_FRAMES} frames to one healthy receiver:\n`);
console.log("| stalled receivers | server RSS growth MiB | healthy receiver lost |");
console.log("| --- | --- | --- |");
for (const [stalled, r] of rss) {
  console.log(`| ${stalled} | ${fmt(r.rssGrowthMiB, 1)} | ${r.healthyLost} |`);
}
const median = (values: number[]) => {
  const sorted = values.toSorted((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const ours = starts.get("../server.ts") ?? [];
const bareStarts = starts.get("./_floor_server.ts");
if (ours.length && bareStarts) {
  const [a, b] = [median(ours), median(bareStarts)];
  console.log(
    `\nStart-up, spawn to listening (median of ${ours.length} and ${bareStarts.length}): ` +
      `server ${fmt(a, 0)} ms, bare Deno WebSocket relay ${fmt(b, 0)} ms, ratio ${fmt(a / b)}`,
  );
}
