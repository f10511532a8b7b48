// Benchmark of the fleet path: N virtual gateways at RATE frames/s each,
// published through Mosquitto and through a three-node NATS cluster
// (gateways on node 1, the consumer on node 3) to one consumer process,
// beside the same traffic read directly over WebSocket from N canremote
// servers. Reports delivered frames/s, loss, latency from the gateway's
// receive timestamp to the consumer (p50, p99), the gateway process's CPU per
// frame (minus the traffic generator's own, measured alone), and the
// broker's CPU. `deno run -A bench/fleet_bench.ts`; docs/fleet.md explains
// the figures. Linux only (reads /proc); needs mosquitto and nats-server.
import { parseArgs } from "node:util";
import { startMosquitto, startNatsCluster } from "../tests/_helpers/brokers.ts";
import { MqttBus } from "../server/mqtt/mqtt_bus.ts";
import { RemoteBus } from "../client.ts";
import type { Bus } from "../core/bus.ts";
import type { CanFrame } from "../core/frame.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    gateways: { type: "string", default: "1,10,50" },
    rate: { type: "string", default: "1000" },
    seconds: { type: "string", default: "5" },
    paths: { type: "string", default: "ws,mosquitto,nats" },
    flush: { type: "string", default: "10" },
  },
}).values;
const COUNTS = args.gateways.split(",").map(Number);
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const FLUSH = args.flush;
const TICKS = 100; // USER_HZ of /proc/PID/stat on Linux

function cpuTicks(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
  }
  return ticks;
}

interface GatewayRun {
  sent: number;
  cpuUs: number;
  seconds: number;
}

/** Starts the gateway process; resolves once it is ready. */
async function gatewayProcess(mode: string, n: number, broker = "") {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./_fleet_gateways.ts", import.meta.url).pathname,
      mode,
      String(n),
      String(RATE),
      String(SECONDS),
      broker,
      FLUSH,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const nextLine = async (): Promise<string> => {
    while (!buffered.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) throw new Error("the gateway process ended");
      buffered += value;
    }
    const line = buffered.slice(0, buffered.indexOf("\n"));
    buffered = buffered.slice(line.length + 1);
    return line;
  };
  const ready = JSON.parse(await nextLine()) as { ports: number[] };
  const writer = child.stdin.getWriter();
  return {
    ports: ready.ports,
    async run(): Promise<GatewayRun> {
      await writer.write(new TextEncoder().encode("go\n"));
      return JSON.parse(await nextLine());
    },
    async stop() {
      await writer.write(new TextEncoder().encode("stop\n"));
      await writer.close();
      await child.status;
      lines.releaseLock();
      await child.stdout.cancel().catch(() => {});
    },
  };
}

interface Row {
  path: string;
  gateways: number;
  delivered: number;
  loss: number;
  p50: number;
  p99: number;
  gatewayUs: number | null;
  brokerCpu: number | null;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] : NaN;
}

const baseline = new Map<number, number>(); // gateways -> generator µs per frame

async function generatorCost(n: number): Promise<number> {
  if (!baseline.has(n)) {
    const gw = await gatewayProcess("none", n);
    const run = await gw.run();
    await gw.stop();
    baseline.set(n, run.cpuUs / run.sent);
  }
  return baseline.get(n)!;
}

async function measure(
  path: string,
  n: number,
  open: (gw: { ports: number[] }, i: number) => Promise<Bus>,
  mode: string,
  broker: string,
  brokerPids: number[],
): Promise<Row> {
  const gw = await gatewayProcess(mode, n, broker);
  const consumers: Bus[] = [];
  for (let i = 0; i < n; i++) consumers.push(await open(gw, i));
  if (mode === "mqtt") {
    // the retained status says the gateway is up and the subscription is live
    for (const bus of consumers as MqttBus[]) {
      for (let t = 0; t < 500 && !bus.gatewayStatus; t++) {
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  }
  const latencies = new Float64Array(n * RATE * SECONDS + 1000);
  let received = 0;
  const record = (frame: CanFrame) => {
    if (received < latencies.length) latencies[received] = Date.now() - frame.timestamp * 1000;
    received++;
  };
  const pumps: Promise<void>[] = [];
  for (const bus of consumers) {
    if (bus.subscribe) {
      bus.subscribe((entry) => entry instanceof Error || record(entry));
    } else {
      pumps.push(
        (async () => {
          for await (const frame of bus) record(frame);
        })().catch(() => {}),
      );
    }
  }
  const brokerBefore = brokerPids.length ? cpuTicks(brokerPids) : 0;
  const wallStart = performance.now();
  const run = await gw.run();
  // what is in flight arrives within a second
  for (let t = 0; t < 100 && received < run.sent; t++) await new Promise((r) => setTimeout(r, 10));
  const wall = (performance.now() - wallStart) / 1000;
  const brokerCpu = brokerPids.length ? (cpuTicks(brokerPids) - brokerBefore) / TICKS / wall : null;
  for (const bus of consumers) await bus.close();
  await Promise.all(pumps);
  await gw.stop();
  const sorted = latencies.slice(0, Math.min(received, latencies.length)).sort();
  const gatewayUs = run.cpuUs / run.sent - await generatorCost(n);
  return {
    path,
    gateways: n,
    delivered: Math.round(received / run.seconds),
    loss: 1 - received / run.sent,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    gatewayUs,
    brokerCpu,
  };
}

const rows: Row[] = [];
const paths = args.paths.split(",");
if (paths.includes("ws")) {
  for (const n of COUNTS) {
    rows.push(
      await measure(
        "WebSocket (direct)",
        n,
        (gw, i) => RemoteBus.connect(`ws://127.0.0.1:${gw.ports[i]}/`),
        "ws",
        "",
        [],
      ),
    );
  }
}
if (paths.includes("mosquitto")) {
  await using broker = await startMosquitto();
  const pid = broker.pid()!;
  for (const n of COUNTS) {
    rows.push(
      await measure(
        "MQTT, Mosquitto",
        n,
        (_gw, i) => MqttBus.open({ channel: `${broker.url}/bench-${i}/can0`, env: {} }),
        "mqtt",
        broker.url,
        [pid],
      ),
    );
  }
}
if (paths.includes("nats")) {
  await using cluster = await startNatsCluster();
  const pids = cluster.nodes.map((node) => node.pid()!);
  for (const n of COUNTS) {
    rows.push(
      await measure(
        "MQTT, NATS cluster (1 → 3)",
        n,
        (_gw, i) => MqttBus.open({ channel: `${cluster.nodes[2].url}/bench-${i}/can0`, env: {} }),
        "mqtt",
        cluster.nodes[0].url,
        pids,
      ),
    );
  }
}

const fmt = (v: number | null, digits = 1) => v === null ? "-" : v.toFixed(digits);
console.log(
  `${RATE} frames/s per gateway, ${SECONDS} s each, MQTT batches flushed every ${FLUSH} ms, ${navigator.hardwareConcurrency} CPUs\n`,
);
console.log(
  "| path | gateways | delivered frames/s | loss | latency p50 / p99 (ms) | gateway CPU per frame (µs) | broker CPU |",
);
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const r of rows) {
  console.log(
    `| ${r.path} | ${r.gateways} | ${r.delivered} | ${(r.loss * 100).toFixed(2)} % | ${
      fmt(r.p50, 0)
    } / ${fmt(r.p99, 0)} | ${fmt(r.gatewayUs, 2)} | ${
      r.brokerCpu === null ? "-" : `${(r.brokerCpu * 100).toFixed(1)} %`
    } |`,
  );
}
