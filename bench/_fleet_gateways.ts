// The gateway side of bench/fleet_bench.ts, in its own process so that its
// CPU time is its own: N virtual buses, each with traffic at RATE frames/s,
// shared through MQTT gateways (`mqtt`), canremote servers (`ws`), or
// nobody (`none`, the traffic's own cost, subtracted by the driver).
//
//   deno run -A bench/_fleet_gateways.ts MODE N RATE SECONDS [BROKER [FLUSH_MS]]
//
// Prints one JSON line when ready ({ports} for ws), waits for a line on
// stdin, runs the traffic for SECONDS, then prints {sent, cpuUs, seconds}.
import process from "node:process";
import { VirtualBackend } from "../server/backends/backend.ts";
import { serve } from "../server/serve.ts";
import { MqttGateway } from "../server/mqtt/gateway.ts";
import { VirtualBus } from "../core/virtual_bus.ts";
import { createFrame } from "../core/frame.ts";

const [mode, n, rate, seconds, broker, flush] = Deno.args;
const count = Number(n);
const perSecond = Number(rate);
const closers: (() => Promise<void>)[] = [];
const senders: VirtualBus[] = [];
const ports: number[] = [];

for (let i = 0; i < count; i++) {
  const backend = new VirtualBackend(["can0"]);
  senders.push(VirtualBus.open({ channel: "can0", network: backend.network }));
  if (mode === "mqtt") {
    const gateway = await MqttGateway.start({
      broker,
      gateway: `bench-${i}`,
      backend,
      env: {},
      flushInterval: flush ? Number(flush) : undefined,
    });
    closers.push(() => gateway.close());
  } else if (mode === "ws") {
    const server = await serve({ port: 0, backend, maxSendRate: Infinity });
    ports.push(server.addr.port);
    closers.push(() => server.close());
  }
}
console.log(JSON.stringify({ ready: true, ports }));
const stdin = Deno.stdin.readable.pipeThrough(new TextDecoderStream()).getReader();
await stdin.read();

// One timer for every bus, catching up on the schedule so the rate holds
// whatever the timer's jitter: frame k of a bus leaves at k / RATE seconds.
let sent = 0;
const frames = new Uint8Array(8);
const cpuStart = process.cpuUsage();
const start = performance.now();
const end = start + Number(seconds) * 1000;
await new Promise<void>((resolve) => {
  const timer = setInterval(() => {
    const now = Math.min(performance.now(), end);
    const due = Math.floor(((now - start) / 1000) * perSecond);
    const perBus = sent / count;
    for (let k = perBus; k < due; k++) {
      frames[0] = k >>> 24;
      frames[1] = k >>> 16;
      frames[2] = k >>> 8;
      frames[3] = k;
      for (let b = 0; b < count; b++) {
        frames[4] = b;
        senders[b].send(createFrame({ arbitrationId: 0x100 + (k % 16), data: frames.slice() }));
      }
      sent += count;
    }
    if (now >= end) {
      clearInterval(timer);
      resolve();
    }
  }, 5);
});
const wall = (performance.now() - start) / 1000;
// Let the last batches leave before reading the clock.
await new Promise((r) => setTimeout(r, 50));
const cpu = process.cpuUsage(cpuStart);
console.log(JSON.stringify({ sent, cpuUs: cpu.user + cpu.system, seconds: wall }));
await stdin.read();
for (const sender of senders) await sender.close();
for (const close of closers) await close();
Deno.exit(0);
